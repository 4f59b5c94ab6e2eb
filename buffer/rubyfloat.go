package buffer

import (
	"math"
	"strconv"
)

// AppendRubyFloat appends f as Ruby's Float#to_s writes it, which is how a
// number parsed from JSON as a Float reaches Fluentd's outputs (the JSON
// generators, yajl-ruby's and json's, render a Float with to_s): the
// shortest digits that read back as f, in fixed notation with at least one
// digit after the point when the decimal exponent allows (1500.0, 165.78,
// 0.0001, 2759342950471320.5), else in scientific notation with a two-digit
// exponent at least (1.0e+15, 1.0e-05). The bounds were checked against
// Ruby 3.1.2 on 33,000 values (buffer/testdata/ruby_float.tsv). See flo_to_s in Ruby's numeric.c
// (https://github.com/ruby/ruby/blob/v3_1_2/numeric.c). f must be finite.
func AppendRubyFloat(dst []byte, f float64) []byte {
	if f == 0 {
		if math.Signbit(f) {
			return append(dst, "-0.0"...)
		}
		return append(dst, "0.0"...)
	}
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, 64) // [-]d[.ddd]e±XX
	if e[0] == '-' {
		dst = append(dst, '-')
		e = e[1:]
	}
	var digits [24]byte
	nd, i := 0, 0
	for ; e[i] != 'e'; i++ {
		if e[i] != '.' {
			digits[nd] = e[i]
			nd++
		}
	}
	x, _ := strconv.Atoi(string(e[i+1:]))
	decpt := x + 1 // f = 0.d1d2… × 10^decpt
	d := digits[:nd]
	switch {
	case decpt > 0 && decpt < nd && decpt <= 16: // digits on both sides of the point
		dst = append(dst, d[:decpt]...)
		dst = append(dst, '.')
		return append(dst, d[decpt:]...)
	case decpt > 0 && decpt >= nd && decpt <= 15: // a whole number
		dst = append(dst, d...)
		for range decpt - nd {
			dst = append(dst, '0')
		}
		return append(dst, ".0"...)
	case decpt <= 0 && decpt > -4:
		dst = append(dst, "0."...)
		for range -decpt {
			dst = append(dst, '0')
		}
		return append(dst, d...)
	}
	dst = append(dst, d[0], '.')
	if nd > 1 {
		dst = append(dst, d[1:]...)
	} else {
		dst = append(dst, '0')
	}
	dst = append(dst, 'e')
	if x < 0 {
		dst = append(dst, '-')
		x = -x
	} else {
		dst = append(dst, '+')
	}
	if x < 10 {
		dst = append(dst, '0')
	}
	return strconv.AppendInt(dst, int64(x), 10)
}
