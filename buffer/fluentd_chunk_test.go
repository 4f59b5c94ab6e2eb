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
	for _, bad := range [][]byte{{0x92, 0xa1, 'a', 0x01}, {0x93, 0x01, 0x01, 0x80}, {0x93, 0xa1, 'a', 0x01, 0xa1, 'x'}, {0x93, 0xa1, 'a', 0x01, 0x81, 0xc1, 0x01}, {'{'}} {
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
