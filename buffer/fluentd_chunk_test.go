package buffer_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"testing"

	"logship/buffer"
)

// mp is a tiny msgpack encoder for the tests.
type mp struct{ bytes.Buffer }

func (m *mp) str(s string) *mp {
	switch {
	case len(s) < 32:
		m.WriteByte(0xa0 | byte(len(s)))
	default:
		m.WriteByte(0xd9)
		m.WriteByte(byte(len(s)))
	}
	m.WriteString(s)
	return m
}
func (m *mp) arr(n int) *mp  { m.WriteByte(0x90 | byte(n)); return m }
func (m *mp) mapN(n int) *mp { m.WriteByte(0x80 | byte(n)); return m }
func (m *mp) u32(v uint32) *mp {
	m.WriteByte(0xce)
	binary.Write(&m.Buffer, binary.BigEndian, v)
	return m
}
func (m *mp) i8(v int8) *mp { m.WriteByte(0xd0); m.WriteByte(byte(v)); return m }
func (m *mp) f64(v float64) *mp {
	m.WriteByte(0xcb)
	binary.Write(&m.Buffer, binary.BigEndian, math.Float64bits(v))
	return m
}
func (m *mp) eventTime(sec, nsec uint32) *mp {
	m.WriteByte(0xd7)
	m.WriteByte(0)
	binary.Write(&m.Buffer, binary.BigEndian, sec)
	binary.Write(&m.Buffer, binary.BigEndian, nsec)
	return m
}

func TestReadFluentdChunk(t *testing.T) {
	var m mp
	// v0.12: integer seconds.
	m.arr(3).str("kube.default.nginx").u32(1700000000).mapN(3).
		str("log").str("hi\n").str("stream").str("stdout").
		str("docker").mapN(1).str("container_id").str("abc")
	// v1: EventTime, numbers, nested array, nil, bool.
	m.arr(3).str("kube.x").eventTime(1700000001, 250000000).mapN(5).
		str("n").i8(-5).str("f").f64(2).str("a").arr(2).str("x").u32(7).
		str("z").Buffer.WriteByte(0xc0)
	m.str("t").Buffer.WriteByte(0xc3)
	full := m.Len()
	// A torn event at the end (Fluentd stopped mid-write).
	m.arr(3).str("kube.torn")

	recs, err := buffer.ReadFluentdChunk(bytes.NewReader(m.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2 (the torn one dropped)", len(recs))
	}
	want := []struct {
		tag  string
		time int64
		json string
	}{
		{"kube.default.nginx", 1700000000e9, `{"log":"hi\n","stream":"stdout","docker":{"container_id":"abc"}}`},
		{"kube.x", 1700000001250000000, `{"n":-5,"f":2.0,"a":["x",7],"z":null,"t":true}`},
	}
	for i, w := range want {
		r := recs[i]
		if r.Tag != w.tag || r.Time != w.time || string(r.Fields.AppendJSON(nil)) != w.json || r.Source != 0 {
			t.Errorf("record %d = %q %d %s (source %d), want %q %d %s", i, r.Tag, r.Time, r.Fields.AppendJSON(nil), r.Source, w.tag, w.time, w.json)
		}
	}
	if _, err := buffer.ReadFluentdChunk(bytes.NewReader(m.Bytes()[:full])); err != nil {
		t.Errorf("whole events only: %v", err)
	}
	for _, bad := range [][]byte{{0x92, 0xa1, 'a', 0x01}, {0x93, 0x01, 0x01, 0x80}, {0x93, 0xa1, 'a', 0x01, 0xa1, 'x'}, {0x93, 0xa1, 'a', 0x01, 0x81, 0xc1, 0x01}, {'{'},
		// A time of another ext type is an error even when the chunk ends inside it.
		{0x93, 0xa1, 't', 0x01, 0x80, 0x93, 0xa1, 't', 0xd7, 0x01, 0x00, 0x00}} {
		if _, err := buffer.ReadFluentdChunk(bytes.NewReader(bad)); !errors.Is(err, buffer.ErrFluentdChunk) {
			t.Errorf("ReadFluentdChunk(% x) err=%v, want ErrFluentdChunk", bad, err)
		}
	}
}

func FuzzReadFluentdChunk(f *testing.F) {
	var m mp
	m.arr(3).str("t").eventTime(1, 2).mapN(1).str("k").str("v")
	f.Add(m.Bytes())
	f.Add([]byte{0x93, 0xa1, 'a', 0x01, 0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, _ := buffer.ReadFluentdChunk(bytes.NewReader(data))
		for _, r := range recs {
			if out := r.Fields.AppendJSON(nil); !json.Valid(out) {
				t.Fatalf("decoded record encodes to invalid JSON %q", out)
			}
		}
	})
}

// TestReadFluentdChunk_EveryType: a record holding one value of every
// msgpack type a Fluentd chunk may carry, each width of the sized ones.
func TestReadFluentdChunk_EveryType(t *testing.T) {
	var m mp
	m.arr(3).str("t").u32(1)
	f32 := make([]byte, 4)
	binary.BigEndian.PutUint32(f32, math.Float32bits(1.5))
	fields := []struct {
		key string
		val []byte
	}{
		{"u8", []byte{0xcc, 200}},
		{"u16", []byte{0xcd, 0x01, 0x00}},
		{"u32", []byte{0xce, 0, 1, 0, 0}},
		{"u64", []byte{0xcf, 0, 0, 0, 1, 0, 0, 0, 0}},
		// The high bit set: unsigned, not negative.
		{"u16h", []byte{0xcd, 0xff, 0xff}},
		{"u32h", []byte{0xce, 0xff, 0xff, 0xff, 0xff}},
		{"u64h", []byte{0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{"i8", []byte{0xd0, 0xff}},
		{"i16", []byte{0xd1, 0xff, 0xfe}},
		{"i32", []byte{0xd2, 0xff, 0xff, 0xff, 0xfd}},
		{"i64", []byte{0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfc}},
		{"s8", []byte{0xd9, 1, 'a'}},
		{"s16", []byte{0xda, 0, 1, 'b'}},
		{"s32", []byte{0xdb, 0, 0, 0, 1, 'c'}},
		{"b8", []byte{0xc4, 1, 'd'}},
		{"b16", []byte{0xc5, 0, 1, 'e'}},
		{"b32", []byte{0xc6, 0, 0, 0, 1, 'f'}},
		{"a16", []byte{0xdc, 0, 1, 0x01}},
		{"a32", []byte{0xdd, 0, 0, 0, 1, 0x02}},
		{"m16", []byte{0xde, 0, 1, 0xa1, 'k', 0x03}},
		{"m32", []byte{0xdf, 0, 0, 0, 1, 0xa1, 'k', 0x04}},
		{"f32", append([]byte{0xca}, f32...)},
		{"f64", []byte{0xcb, 0xc0, 0x04, 0, 0, 0, 0, 0, 0}},
		{"nil", []byte{0xc0}},
		{"true", []byte{0xc3}},
		{"et", []byte{0xd7, 0, 0, 0, 0, 1, 0x1d, 0xcd, 0x65, 0x00}},
		{"false", []byte{0xc2}},
		{"neg", []byte{0xe0}},
	}
	m.WriteByte(0xde)
	binary.Write(&m.Buffer, binary.BigEndian, uint16(len(fields)))
	for _, f := range fields {
		m.str(f.key).Write(f.val)
	}
	recs, err := buffer.ReadFluentdChunk(bytes.NewReader(m.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"u8":200,"u16":256,"u32":65536,"u64":4294967296,"u16h":65535,"u32h":4294967295,"u64h":18446744073709551615,"i8":-1,"i16":-2,"i32":-3,"i64":-4,` +
		`"s8":"a","s16":"b","s32":"c","b8":"d","b16":"e","b32":"f","a16":[1],"a32":[2],"m16":{"k":3},"m32":{"k":4},` +
		`"f32":1.5,"f64":-2.5,"nil":null,"true":true,"et":1.5,"false":false,"neg":-32}`
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	if got := string(recs[0].Fields.AppendJSON(nil)); got != want {
		t.Fatalf("record %s\nwant %s", got, want)
	}
}
