package enrich

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// TimeFormat parses times written in a Ruby strptime format, as Fluentd's
// time_format parameter gives it (%Y-%m-%dT%H:%M:%S.%NZ, %FT%T.%L%z, %m%d
// %H:%M:%S.%N, %b %d %H:%M:%S, %s …). It is compiled once; Parse does not
// allocate.
type TimeFormat struct {
	ops []timeOp
	loc *time.Location
	// now supplies the year for formats without one (glog, syslog).
	now func() time.Time
}

type timeOp struct {
	lit  string // literal to match when verb == 0
	verb byte
}

// ErrTimeFormat is returned (wrapped) for an unsupported directive.
var ErrTimeFormat = errors.New("unsupported time_format")

// ErrTimeMismatch is returned (wrapped) when a value does not match the format.
var ErrTimeMismatch = errors.New("time does not match time_format")

// NewTimeFormat compiles a strptime format. loc is the zone for times without
// an offset (Fluentd: local time, UTC in containers, unless utc/timezone says
// otherwise); nil means UTC. now supplies the current year where the format
// has none; nil means time.Now.
func NewTimeFormat(format string, loc *time.Location, now func() time.Time) (*TimeFormat, error) {
	if loc == nil {
		loc = time.UTC
	}
	if now == nil {
		now = time.Now
	}
	tf := &TimeFormat{loc: loc, now: now}
	// Expand the composite directives first.
	r := strings.NewReplacer("%F", "%Y-%m-%d", "%T", "%H:%M:%S", "%D", "%m/%d/%y", "%R", "%H:%M", "%r", "%I:%M:%S %p", "%%", "\x00")
	format = r.Replace(format)
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			tf.ops = append(tf.ops, timeOp{lit: strings.ReplaceAll(lit.String(), "\x00", "%")})
			lit.Reset()
		}
	}
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 >= len(format) {
			lit.WriteByte(c)
			continue
		}
		i++
		v := format[i]
		// Flags and widths (%-d, %3N, %9N, %:z) are accepted and ignored.
		for (v == '-' || v == '_' || v == '0' || v == '^' || v == ':' || (v >= '1' && v <= '9')) && i+1 < len(format) {
			i++
			v = format[i]
		}
		switch v {
		case 'Y', 'y', 'm', 'd', 'e', 'H', 'k', 'I', 'l', 'M', 'S', 'N', 'L', 'z', 'Z', 'b', 'h', 'B', 'a', 'A', 'p', 'P', 'j', 's', 'f':
			flush()
			tf.ops = append(tf.ops, timeOp{verb: v})
		case 't', 'n':
			lit.WriteByte(' ')
		default:
			return nil, fmt.Errorf("%w: %%%c in %q", ErrTimeFormat, v, format)
		}
	}
	flush()
	return tf, nil
}

var monthNames = [...]string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}
var dayNames = [...]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// Parse returns the time in s as Unix nanoseconds.
func (tf *TimeFormat) Parse(s []byte) (int64, error) {
	year, month, day, hour, min, sec, nsec := -1, 1, 1, 0, 0, 0, 0
	yday := 0
	pm := -1
	var loc *time.Location
	offset, hasOffset := 0, false
	unix, hasUnix := int64(0), false
	p := 0
	num := func(maxDigits int) (int, bool) {
		start := p
		n := 0
		for p < len(s) && p-start < maxDigits && s[p] >= '0' && s[p] <= '9' {
			n = n*10 + int(s[p]-'0')
			p++
		}
		return n, p > start
	}
	spaces := func() {
		for p < len(s) && s[p] == ' ' {
			p++
		}
	}
	mismatch := func() (int64, error) {
		return 0, fmt.Errorf("%w: %q at byte %d", ErrTimeMismatch, s, p)
	}
	for _, op := range tf.ops {
		if op.verb == 0 {
			if len(s)-p < len(op.lit) || string(s[p:p+len(op.lit)]) != op.lit {
				// A literal space in the format matches any run of spaces.
				if strings.TrimSpace(op.lit) == "" {
					spaces()
					continue
				}
				return mismatch()
			}
			p += len(op.lit)
			continue
		}
		var ok bool
		switch op.verb {
		case 'Y':
			neg := p < len(s) && s[p] == '-'
			if neg {
				p++
			}
			year, ok = num(5)
			if neg {
				year = -year
			}
		case 'y':
			year, ok = num(2)
			if year < 69 {
				year += 2000
			} else {
				year += 1900
			}
		case 'm':
			month, ok = num(2)
		case 'd', 'e':
			spaces()
			day, ok = num(2)
		case 'j':
			yday, ok = num(3)
		case 'H', 'k', 'I', 'l':
			spaces()
			hour, ok = num(2)
		case 'M':
			min, ok = num(2)
		case 'S':
			sec, ok = num(2)
		case 'N', 'L', 'f':
			start := p
			var frac int
			frac, ok = num(9)
			for d := p - start; d < 9; d++ {
				frac *= 10
			}
			for p < len(s) && s[p] >= '0' && s[p] <= '9' { // digits past ns are dropped
				p++
			}
			nsec = frac
		case 'p', 'P':
			if len(s)-p >= 2 {
				switch strings.ToLower(string(s[p : p+2])) {
				case "am":
					pm, ok = 0, true
				case "pm":
					pm, ok = 1, true
				}
				p += 2
			}
		case 'b', 'h', 'B':
			for i, m := range monthNames {
				if len(s)-p >= 3 && strings.EqualFold(string(s[p:p+3]), m) {
					month, ok = i+1, true
					p += 3
					if op.verb == 'B' {
						for p < len(s) && (s[p]|0x20) >= 'a' && (s[p]|0x20) <= 'z' {
							p++
						}
					}
					break
				}
			}
		case 'a', 'A':
			for _, d := range dayNames {
				if len(s)-p >= 3 && strings.EqualFold(string(s[p:p+3]), d) {
					ok = true
					p += 3
					for op.verb == 'A' && p < len(s) && (s[p]|0x20) >= 'a' && (s[p]|0x20) <= 'z' {
						p++
					}
					break
				}
			}
		case 's':
			neg := p < len(s) && s[p] == '-'
			if neg {
				p++
			}
			start := p
			for p < len(s) && s[p] >= '0' && s[p] <= '9' {
				unix = unix*10 + int64(s[p]-'0')
				p++
			}
			if neg {
				unix = -unix
			}
			ok, hasUnix = p > start, true
		case 'z', 'Z':
			if p < len(s) && (s[p] == 'Z' || s[p] == 'z') {
				p++
				offset, hasOffset, ok = 0, true, true
				break
			}
			if p < len(s) && (s[p] == '+' || s[p] == '-') {
				sign := 1
				if s[p] == '-' {
					sign = -1
				}
				p++
				hh, ok1 := num(2)
				if p < len(s) && s[p] == ':' {
					p++
				}
				mm, _ := num(2)
				offset, hasOffset, ok = sign*(hh*3600+mm*60), true, ok1
				break
			}
			// A zone abbreviation: UTC/GMT are known; others are read and
			// treated as the configured zone.
			start := p
			for p < len(s) && ((s[p]|0x20) >= 'a' && (s[p]|0x20) <= 'z') {
				p++
			}
			if name := strings.ToUpper(string(s[start:p])); name == "UTC" || name == "GMT" {
				loc = time.UTC
			}
			ok = p > start
		}
		if !ok {
			return mismatch()
		}
	}
	if p != len(s) {
		return mismatch()
	}
	if hasUnix {
		return unix*1e9 + int64(nsec), nil
	}
	if pm == 1 && hour < 12 {
		hour += 12
	} else if pm == 0 && hour == 12 {
		hour = 0
	}
	if year == -1 {
		year = tf.now().In(tf.loc).Year()
	}
	if loc == nil {
		loc = tf.loc
	}
	if hasOffset {
		loc = time.FixedZone("", offset)
	}
	var t time.Time
	if yday > 0 {
		t = time.Date(year, 1, yday, hour, min, sec, nsec, loc)
	} else {
		t = time.Date(year, time.Month(month), day, hour, min, sec, nsec, loc)
	}
	return t.UnixNano(), nil
}
