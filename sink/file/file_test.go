package file_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"logship/buffer"
	"logship/sink/file"
)

type recorder struct{ offsets []int64 }

func (r *recorder) Ack(recs []buffer.Record) {
	for _, rec := range recs {
		r.offsets = append(r.offsets, rec.Offset)
	}
}

// TestOutput_Emit: records are appended in out_file's format and
// acknowledged once written; a second Open appends.
func TestOutput_Emit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.log")
	var ack recorder
	for round := 0; round < 2; round++ {
		o, err := file.Open(path, time.UTC, &ack)
		if err != nil {
			t.Fatal(err)
		}
		recs := []buffer.Record{{Tag: "a.b", Time: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano(), Offset: int64(round),
			Fields: buffer.Fields{{Key: "m", Value: buffer.Str([]byte("hi"))}}}}
		if err := o.Emit(context.Background(), recs); err != nil {
			t.Fatal(err)
		}
		if err := o.Close(); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	line := "2024-01-02T03:04:05Z\ta.b\t{\"m\":\"hi\"}\n"
	if got, want := string(data), strings.Repeat(line, 2); got != want {
		t.Errorf("file = %q, want %q", got, want)
	}
	if len(ack.offsets) != 2 || ack.offsets[0] != 0 || ack.offsets[1] != 1 {
		t.Errorf("acknowledged %v, want [0 1]", ack.offsets)
	}
}

func TestOpen_Error(t *testing.T) {
	if _, err := file.Open(filepath.Join(t.TempDir(), "missing", "out.log"), nil, nil); err == nil {
		t.Fatal("Open in a missing directory succeeded")
	}
}
