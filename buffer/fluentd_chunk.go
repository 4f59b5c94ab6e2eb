package buffer

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// Fluentd file-buffer chunks. fluent-plugin-cloudwatch-logs buffers each event
// as the msgpack array [tag, time, record] (its format method,
// fluent-plugins-nursery/fluent-plugin-cloudwatch-logs
// lib/fluent/plugin/out_cloudwatch_logs.rb; v0.12
// BufferedOutput and v1 alike), concatenated in a chunk file (buffer.b<id>.log /
// buffer.q<id>.log, https://docs.fluentd.org/buffer/file, and the v0.12
// <prefix>.<key>.b<id>.log). time is an integer (v0.12: whole seconds), a
// float, or Fluentd's EventTime (msgpack ext type 0: 4-byte seconds and 4-byte
// nanoseconds, big-endian; https://github.com/fluent/fluentd/wiki/Forward-Protocol-Specification-v1#eventtime-ext-format).
// ReadFluentdChunk reads such a file so that `logship replay` can send what a
// stopped Fluentd left in its buffer.

// ErrFluentdChunk is wrapped by ReadFluentdChunk for malformed input.
var ErrFluentdChunk = errors.New("malformed Fluentd buffer chunk")

// maxMsgpackDepth bounds nesting; maxMsgpackLen bounds one string or
// container so that a corrupt length cannot make the reader allocate wildly.
const (
	maxMsgpackDepth = 256
	maxMsgpackLen   = 64 << 20
)

// ReadFluentdChunk reads the events of a Fluentd buffer chunk and returns them
// as records with Tag, Time and Fields set (Source 0). A torn last event (a
// chunk Fluentd was writing when it stopped) ends the read without error;
// anything else malformed is an error naming the event's index.
func ReadFluentdChunk(r io.Reader) ([]Record, error) {
	d := msgpackReader{r: bufio.NewReader(r)}
	var recs []Record
	for i := 0; ; i++ {
		if _, err := d.r.Peek(1); err == io.EOF {
			return recs, nil
		}
		rec, err := d.event()
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return recs, nil // torn tail
		}
		if err != nil {
			return recs, fmt.Errorf("event %d: %w", i, err)
		}
		recs = append(recs, rec)
	}
}

type msgpackReader struct {
	r *bufio.Reader
}

func (d *msgpackReader) fail(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFluentdChunk, fmt.Sprintf(format, args...))
}

// event reads [tag, time, record].
func (d *msgpackReader) event() (Record, error) {
	n, err := d.arrayLen()
	if err != nil {
		return Record{}, err
	}
	if n != 3 {
		return Record{}, d.fail("event is an array of %d, want [tag, time, record]", n)
	}
	tag, err := d.value(0)
	if err != nil {
		return Record{}, err
	}
	if tag.Kind != String {
		return Record{}, d.fail("tag is not a string")
	}
	t, err := d.time()
	if err != nil {
		return Record{}, err
	}
	body, err := d.value(0)
	if err != nil {
		return Record{}, err
	}
	if body.Kind != Map {
		return Record{}, d.fail("record is not a map")
	}
	return Record{Tag: string(tag.Bytes), Time: t, Fields: body.Kids}, nil
}

func (d *msgpackReader) byte1() (byte, error) {
	b, err := d.r.ReadByte()
	if err == io.EOF {
		return 0, io.ErrUnexpectedEOF
	}
	return b, err
}

func (d *msgpackReader) bytes(n int) ([]byte, error) {
	if n > maxMsgpackLen {
		return nil, d.fail("length %d too large", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(d.r, b); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}

func (d *msgpackReader) uint(n int) (uint64, error) {
	b, err := d.bytes(n)
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v, nil
}

func (d *msgpackReader) arrayLen() (int, error) {
	c, err := d.byte1()
	if err != nil {
		return 0, err
	}
	switch {
	case c&0xf0 == 0x90:
		return int(c & 0x0f), nil
	case c == 0xdc:
		n, err := d.uint(2)
		return int(n), err
	case c == 0xdd:
		n, err := d.uint(4)
		return int(n), err
	}
	return 0, d.fail("event is not an array (byte 0x%02x)", c)
}

// time reads an event time: an integer or float of seconds, or EventTime.
func (d *msgpackReader) time() (int64, error) {
	c, err := d.r.Peek(1)
	if err != nil {
		return 0, io.ErrUnexpectedEOF
	}
	if c[0] == 0xd7 { // fixext 8
		d.r.ReadByte()
		// The ext type is checked before its data is read: a time of another
		// ext type is an error even when the chunk ends inside it.
		typ, err := d.byte1()
		if err != nil {
			return 0, err
		}
		if typ != 0 {
			return 0, d.fail("time is ext type %d, want EventTime (0)", typ)
		}
		sec, nsec, err := d.eventTime()
		if err != nil {
			return 0, err
		}
		return int64(sec)*1e9 + int64(nsec), nil
	}
	v, err := d.value(0)
	if err != nil {
		return 0, err
	}
	if v.Kind != Raw {
		return 0, d.fail("time is not a number")
	}
	f, err := strconv.ParseFloat(string(v.Bytes), 64)
	if err != nil {
		return 0, d.fail("time %q is not a number", v.Bytes)
	}
	return int64(f * 1e9), nil
}

// eventTime reads the data of a fixext 8 after its ext type, as an
// EventTime holds it: seconds and nanoseconds.
func (d *msgpackReader) eventTime() (sec, nsec uint64, err error) {
	if sec, err = d.uint(4); err != nil {
		return 0, 0, err
	}
	if nsec, err = d.uint(4); err != nil {
		return 0, 0, err
	}
	return sec, nsec, nil
}

// value reads one msgpack value as a record Value.
func (d *msgpackReader) value(depth int) (Value, error) {
	if depth > maxMsgpackDepth {
		return Value{}, d.fail("nesting deeper than %d", maxMsgpackDepth)
	}
	c, err := d.byte1()
	if err != nil {
		return Value{}, err
	}
	raw := func(s string) (Value, error) { return RawJSON([]byte(s)), nil }
	num := func(n int, signed bool) (Value, error) {
		u, err := d.uint(n)
		if err != nil {
			return Value{}, err
		}
		if signed {
			shift := 64 - 8*uint(n)
			return raw(strconv.FormatInt(int64(u<<shift)>>shift, 10))
		}
		return raw(strconv.FormatUint(u, 10))
	}
	str := func(n int) (Value, error) {
		b, err := d.bytes(n)
		if err != nil {
			return Value{}, err
		}
		return Str(b), nil
	}
	// sized reads a length of size bytes, then read that many.
	sized := func(size int, read func(n int) (Value, error)) (Value, error) {
		n, err := d.uint(size)
		if err != nil {
			return Value{}, err
		}
		return read(int(n))
	}
	array := func(n int) (Value, error) { return d.array(n, depth) }
	mapping := func(n int) (Value, error) { return d.mapping(n, depth) }
	switch {
	case c <= 0x7f:
		return raw(strconv.Itoa(int(c)))
	case c >= 0xe0:
		return raw(strconv.Itoa(int(int8(c))))
	case c&0xe0 == 0xa0:
		return str(int(c & 0x1f))
	case c&0xf0 == 0x90:
		return d.array(int(c&0x0f), depth)
	case c&0xf0 == 0x80:
		return d.mapping(int(c&0x0f), depth)
	case c >= 0xcc && c <= 0xcf: // uint 8, 16, 32, 64
		return num(1<<(c-0xcc), false)
	case c >= 0xd0 && c <= 0xd3: // int 8, 16, 32, 64
		return num(1<<(c-0xd0), true)
	case c >= 0xd9 && c <= 0xdb: // str 8, 16, 32
		return sized(1<<(c-0xd9), str)
	case c >= 0xc4 && c <= 0xc6: // bin 8, 16, 32
		return sized(1<<(c-0xc4), str)
	case c == 0xdc || c == 0xdd: // array 16, 32
		return sized(2<<(c-0xdc), array)
	case c == 0xde || c == 0xdf: // map 16, 32
		return sized(2<<(c-0xde), mapping)
	}
	switch c {
	case 0xc0:
		return raw("null")
	case 0xc2:
		return raw("false")
	case 0xc3:
		return raw("true")
	case 0xca, 0xcb:
		var f float64
		if c == 0xca {
			u, err := d.uint(4)
			if err != nil {
				return Value{}, err
			}
			f = float64(math.Float32frombits(uint32(u)))
		} else {
			u, err := d.uint(8)
			if err != nil {
				return Value{}, err
			}
			f = math.Float64frombits(u)
		}
		return raw(rubyFloat(f))
	case 0xd7: // fixext 8: EventTime inside a record
		if _, err := d.byte1(); err != nil {
			return Value{}, err
		}
		sec, nsec, err := d.eventTime()
		if err != nil {
			return Value{}, err
		}
		return raw(rubyFloat(float64(sec) + float64(nsec)/1e9))
	}
	return Value{}, d.fail("unsupported msgpack type 0x%02x", c)
}

func (d *msgpackReader) array(n, depth int) (Value, error) {
	if n > maxMsgpackLen {
		return Value{}, d.fail("array of %d too large", n)
	}
	items := make(Fields, 0, min(n, 1024))
	for i := 0; i < n; i++ {
		v, err := d.value(depth + 1)
		if err != nil {
			return Value{}, err
		}
		items = append(items, Field{Value: v})
	}
	return Value{Kind: Array, Kids: items}, nil
}

func (d *msgpackReader) mapping(n, depth int) (Value, error) {
	if n > maxMsgpackLen {
		return Value{}, d.fail("map of %d too large", n)
	}
	kids := make(Fields, 0, min(n, 1024))
	for i := 0; i < n; i++ {
		k, err := d.value(depth + 1)
		if err != nil {
			return Value{}, err
		}
		v, err := d.value(depth + 1)
		if err != nil {
			return Value{}, err
		}
		key := string(k.Bytes) // strings as they are; numbers and literals as their text
		if k.Kind == Map || k.Kind == Array {
			key = string(k.AppendJSON(nil))
		}
		kids = kids.Set(key, v)
	}
	return Value{Kind: Map, Kids: kids}, nil
}

// rubyFloat formats f as Ruby's Float#to_s does for the values logs carry:
// shortest representation, always with a fraction ("1.0", not "1").
func rubyFloat(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return "null"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	for i := 0; i < len(s); i++ {
		if s[i] == '.' || s[i] == 'e' || s[i] == 'n' || s[i] == 'N' {
			return s
		}
	}
	return s + ".0"
}
