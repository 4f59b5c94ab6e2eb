package buffer

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// encodeSegment builds a segment file holding recs.
func encodeSegment(t testing.TB, created int64, key StreamKey, recs []Record) []byte {
	t.Helper()
	data, err := appendSegmentHeader(nil, created, key)
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		fr := make([]byte, frameLen(&recs[i]))
		putFrame(fr, &recs[i])
		data = append(data, fr...)
	}
	return data
}

func sampleRecords(key StreamKey) []Record {
	return []Record{
		{Time: 1, Tag: "kube.a", Key: key, Message: []byte(`{"log":"hello"}`)},
		{Time: -5, Tag: "", Key: key, Message: []byte{}},
		{Time: 1 << 62, Tag: string(bytes.Repeat([]byte("t"), 200)), Key: key, Message: []byte("x\x00\xff\n")},
	}
}

func TestDecodeSegment_RoundTrip(t *testing.T) {
	key := StreamKey{Group: "/aws/group", Stream: "node-1"}
	want := sampleRecords(key)
	data := encodeSegment(t, 42, key, want)
	seg, good, err := decodeSegment(data)
	if err != nil || good != len(data) {
		t.Fatalf("decodeSegment: good=%d/%d err=%v", good, len(data), err)
	}
	if seg.created != 42 || seg.key != key {
		t.Fatalf("header %d %v", seg.created, seg.key)
	}
	for i := range want {
		g, w := seg.recs[i], want[i]
		if g.Time != w.Time || g.Tag != w.Tag || g.Key != w.Key || !bytes.Equal(g.Message, w.Message) {
			t.Fatalf("record %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestDecodeSegment_Damage(t *testing.T) {
	key := StreamKey{Group: "g", Stream: "s"}
	data := encodeSegment(t, 7, key, sampleRecords(key))
	hdr, _ := appendSegmentHeader(nil, 7, key)
	hl := len(hdr)
	first := frameLen(&sampleRecords(key)[0])

	t.Run("every truncation", func(t *testing.T) {
		for n := 0; n < len(data); n++ {
			seg, good, err := decodeSegment(data[:n])
			switch {
			case n < hl:
				if !errors.Is(err, errTornHeader) {
					t.Fatalf("len %d: err=%v, want torn header", n, err)
				}
			case err == nil:
				if good != n {
					t.Fatalf("len %d: good=%d", n, good)
				}
			case errors.Is(err, errTornTail):
				if good > n || good < hl {
					t.Fatalf("len %d: good=%d", n, good)
				}
			default:
				t.Fatalf("len %d: err=%v", n, err)
			}
			for i, r := range seg.recs {
				if !bytes.Equal(r.Message, sampleRecords(key)[i].Message) {
					t.Fatalf("len %d: record %d differs", n, i)
				}
			}
		}
	})
	flip := func(i int) []byte {
		d := bytes.Clone(data)
		d[i] ^= 0x40
		return d
	}
	tests := []struct {
		name string
		data []byte
		want error
		recs int
	}{
		{"bad magic", flip(0), errCorrupt, 0},
		{"bad version", flip(5), errCorrupt, 0},
		{"header checksum", flip(10), errCorrupt, 0},
		{"first record payload", flip(hl + frameOverhead + 2), errCorrupt, 0},
		{"last record payload", flip(len(data) - 1), errTornTail, 2},
		{"first record crc", flip(hl + 5), errCorrupt, 0},
		{"second record length", flip(hl + first + 1), errTornTail, 1},
		{"empty file", nil, errTornHeader, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seg, _, err := decodeSegment(tt.data)
			if !errors.Is(err, tt.want) || len(seg.recs) != tt.recs {
				t.Fatalf("err=%v recs=%d, want %v and %d", err, len(seg.recs), tt.want, tt.recs)
			}
		})
	}
}

// TestArena_Room: blocks grow by doubling but never past the room the owner
// has left, so a full chunk's arena holds little more than the chunk.
func TestArena_Room(t *testing.T) {
	const limit = 1 << 20
	for _, size := range []int{100, 700, 5000} {
		var a arena
		used := 0
		for used+size <= limit {
			a.alloc(size, limit-used, nil)
			used += size
		}
		capacity := 0
		for _, blk := range a.blocks {
			capacity += cap(blk)
		}
		if slack := limit/32 + max(minBlock, ceilPow2(size)); capacity > limit+slack {
			t.Errorf("records of %d bytes: arena capacity %d for %d bytes used, want at most %d", size, capacity, used, limit+slack)
		}
	}
}

// TestBlockPool: blocks of a released arena are reused by size, up to the
// pool's limit.
func TestBlockPool(t *testing.T) {
	p := &blockPool{limit: 3 * minBlock}
	var a arena
	first := a.alloc(100, 1<<20, p)
	a.alloc(minBlock, 1<<20, p)   // a second block of 8 KiB
	a.alloc(3*minBlock, 1<<20, p) // 16 KiB: over the limit once the others are in
	p.put(&a, 1<<30)
	if p.bytes != 3*minBlock || len(a.blocks) != 0 {
		t.Fatalf("pool holds %d bytes (arena %d blocks), want 4 KiB + 8 KiB", p.bytes, len(a.blocks))
	}
	var b arena
	again := b.alloc(10, 1<<20, p)
	if &again[:1][0] != &first[:1][0] {
		t.Fatal("the 4 KiB block was not reused")
	}
	if p.bytes != 2*minBlock {
		t.Fatalf("pool holds %d bytes after reuse, want 8 KiB", p.bytes)
	}
}

func TestArena_StableSlices(t *testing.T) {
	var a arena
	var got [][]byte
	for i := range 5000 {
		b := a.alloc(i%300, 1<<20, nil)
		for j := range b {
			b[j] = byte(i)
		}
		got = append(got, b)
	}
	for i, b := range got {
		for _, c := range b {
			if c != byte(i) {
				t.Fatalf("slice %d overwritten", i)
			}
		}
	}
	var total int
	for _, b := range a.takeUnwritten(nil) {
		total += len(b)
	}
	want := 0
	for i := range 5000 {
		want += i % 300
	}
	if total != want || len(a.takeUnwritten(nil)) != 0 {
		t.Fatalf("unwritten %d bytes, want %d then none", total, want)
	}
}

func TestRetryPolicy_Overflow(t *testing.T) {
	p := newRetryPolicy(Config{RetryForever: true}.withDefaults())
	if d := p.delay(10000, 0.5); d != maxDelay {
		t.Fatalf("delay(10000)=%v, want the %v bound", d, maxDelay)
	}
}

// FuzzDiskSegmentDecode checks that the segment decoder never panics, that
// what it accepts re-encodes to the same bytes, and that a torn tail keeps
// exactly the records before it.
func FuzzDiskSegmentDecode(f *testing.F) {
	key := StreamKey{Group: "g", Stream: "s"}
	valid := encodeSegment(f, 1, key, sampleRecords(key))
	f.Add(valid)
	f.Add(valid[:len(valid)-3])
	f.Add([]byte("LSBC"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		seg, good, err := decodeSegment(data)
		if good < 0 || good > len(data) {
			t.Fatalf("good=%d of %d", good, len(data))
		}
		if err != nil && !errors.Is(err, errTornHeader) && !errors.Is(err, errTornTail) && !errors.Is(err, errCorrupt) {
			t.Fatalf("unexpected error class: %v", err)
		}
		if err == nil && good != len(data) {
			t.Fatalf("nil error but good=%d of %d", good, len(data))
		}
		if err == nil || errors.Is(err, errTornTail) {
			re := encodeSegment(t, seg.created, seg.key, seg.recs)
			if !bytes.Equal(re, data[:good]) || !bytes.Equal(encodeRecords(seg), re) {
				t.Fatalf("re-encoding differs from the accepted prefix")
			}
			again, g2, err2 := decodeSegment(data[:good])
			if err2 != nil || g2 != good || !reflect.DeepEqual(len(again.recs), len(seg.recs)) {
				t.Fatalf("prefix does not decode cleanly: %v", err2)
			}
		}
	})
}

// TestBlockPool_RoomAndTrim: put keeps no more than the room it is given
// (what the chunks leave of the buffer's bound), and trim gives back the
// largest blocks first until the pool fits a smaller room.
func TestBlockPool_RoomAndTrim(t *testing.T) {
	p := &blockPool{limit: 1 << 30}
	var a arena
	for _, n := range []int{minBlock, 2 * minBlock, 4 * minBlock, 8 * minBlock} {
		a.blocks = append(a.blocks, make([]byte, 0, n))
	}
	p.put(&a, 7*minBlock) // 4+8+16 KiB fit, the 32 KiB block does not
	if p.bytes != 7*minBlock {
		t.Fatalf("pool holds %d bytes, want %d", p.bytes, 7*minBlock)
	}
	p.trim(5 * minBlock) // drops the 16 KiB block first
	if p.bytes != 3*minBlock || len(p.free[blockClass(4*minBlock)]) != 0 || len(p.free[blockClass(minBlock)]) != 1 {
		t.Fatalf("after trim to 20 KiB the pool holds %d bytes, classes %v", p.bytes, [3]int{len(p.free[0]), len(p.free[1]), len(p.free[2])})
	}
	p.trim(-1)
	if p.bytes != 0 || len(p.free[0])+len(p.free[1]) != 0 {
		t.Fatalf("trim to nothing leaves %d bytes", p.bytes)
	}
}
