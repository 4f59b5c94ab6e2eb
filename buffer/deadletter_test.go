package buffer_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"logship/buffer"
)

// TestDeadLetter_RoundTrip dead-letters records with awkward messages through
// the buffer and reads them back with ReadDeadLetter.
func TestDeadLetter_RoundTrip(t *testing.T) {
	want := []buffer.Record{
		{Time: 1700000000123456789, Tag: "kube.var.log.containers.a.log", Key: keyA, Message: []byte(`{"log":"hi \"there\"\n","n":1.0}`)},
		{Time: -1, Tag: "", Key: keyA, Message: []byte{}},
		{Time: 2, Tag: "t", Key: keyA, Message: []byte("ctl \x00\x01\x1f tab\t é ✓ \u2028 </script>")},
		{Time: 3, Tag: "t", Key: keyA, Message: []byte("invalid \xff\xfe utf-8")},
		{Time: 4, Tag: "t\"q", Key: buffer.StreamKey{Group: "/g/ü", Stream: "s\\x"}, Message: bytes.Repeat([]byte("z"), 300<<10)},
	}
	dl := t.TempDir()
	b, _, snd, _ := newBuf(t, buffer.Config{DeadLetterDir: dl})
	snd.fn = func(context.Context, *buffer.Chunk) error { return buffer.ErrPermanent }
	mustAdd(t, b, want)
	b.Flush(context.Background())
	files, _ := filepath.Glob(filepath.Join(dl, "*.jsonl"))
	var got []buffer.Record
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(data, []byte(`"error":"permanent error"`)) {
			t.Errorf("%s lacks the error field", f)
		}
		rs, err := buffer.ReadDeadLetter(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("ReadDeadLetter(%s): %v", f, err)
		}
		got = append(got, rs...)
	}
	if len(got) != len(want) {
		t.Fatalf("read %d records from %d files, want %d", len(got), len(files), len(want))
	}
	// Chunks are per key; match records by time.
	byTime := map[int64]buffer.Record{}
	for _, r := range got {
		byTime[r.Time] = r
	}
	for _, w := range want {
		g, ok := byTime[w.Time]
		if !ok || g.Tag != w.Tag || g.Key != w.Key || !bytes.Equal(g.Message, w.Message) || g.Source != 0 {
			t.Errorf("record %d: got %+.60v, want %+.60v", w.Time, g, w)
		}
	}
	if tmp, _ := filepath.Glob(filepath.Join(dl, "*.tmp*")); len(tmp) != 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
}

func TestReadDeadLetter_Errors(t *testing.T) {
	tests := []struct {
		name, in string
		ok       bool
		n        int
	}{
		{"empty", "", true, 0},
		{"blank lines", "\n\n  \n", true, 0},
		{"no trailing newline", `{"time":1,"group":"g","stream":"s","message":"m"}`, true, 1},
		{"unknown keys ignored", `{"time":1,"group":"g","stream":"s","message":"m","x":[1]}` + "\n", true, 1},
		{"missing message", `{"time":1,"group":"g","stream":"s"}`, false, 0},
		{"time not integer", `{"time":"1","group":"g","stream":"s","message":"m"}`, false, 0},
		{"time float", `{"time":1.5,"group":"g","stream":"s","message":"m"}`, false, 0},
		{"not json", `time=1`, false, 0},
		{"array", `[1]`, false, 0},
		{"bad base64", `{"time":1,"group":"g","stream":"s","message_b64":"!!"}`, false, 0},
		{"second line bad", `{"time":1,"group":"g","stream":"s","message":"m"}` + "\n{", false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := buffer.ReadDeadLetter(strings.NewReader(tt.in))
			if (err == nil) != tt.ok || len(recs) != tt.n {
				t.Fatalf("ReadDeadLetter=%d records, %v; want %d, ok=%v", len(recs), err, tt.n, tt.ok)
			}
			if err != nil && !errors.Is(err, buffer.ErrDeadLetter) {
				t.Fatalf("error %v does not wrap ErrDeadLetter", err)
			}
		})
	}
}
