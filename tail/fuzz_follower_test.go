package tail

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzFollower feeds arbitrary bytes (split in two appends) through discovery,
// reading, framing and assembly: no panic, every line's offset within the
// file and non-decreasing, every line acknowledged leaves the position at most at
// the end of what was read.
func FuzzFollower(f *testing.F) {
	f.Add([]byte("2024-01-01T00:00:00Z stdout P ab\n2024-01-01T00:00:00Z stderr F x\n2024-01-01T00:00:00Z stdout F c\n"), 10, uint8(0))
	f.Add([]byte(`{"log":"a","stream":"stdout","time":"x"}`+"\n"+`{"log":"b\n","stream":"stdout"}`+"\n"), 5, uint8(1))
	f.Add([]byte("\x00\x00\x00line\r\n\nlong line here\n"), 3, uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, cut int, mode uint8) {
		dir := t.TempDir()
		p := filepath.Join(dir, "0.log")
		if cut < 0 || cut > len(data) {
			cut = len(data) / 2
		}
		if err := os.WriteFile(p, data[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		format := []string{FormatAuto, FormatCRI, FormatDocker, FormatNone}[mode%4]
		action := OversizeSplit
		if mode&4 != 0 {
			action = OversizeTruncate
		}
		var w *Watcher
		var last = map[uint64]int64{}
		h := HandlerFunc(func(_ context.Context, lines []Line) error {
			for _, l := range lines {
				// Pieces of one oversize record share its end offset.
				if l.Source == 0 || l.Offset < last[l.Source] || l.Offset == 0 || l.Offset > int64(len(data)) {
					t.Fatalf("line %q source %d offset %d after %d (file %d bytes)", l.Text, l.Source, l.Offset, last[l.Source], len(data))
				}
				last[l.Source] = l.Offset
				w.Ack(l.Source, l.Offset)
			}
			return nil
		})
		w = newWatcher(t, Config{Paths: []string{p}, ReadFromHead: true, Format: format, MaxLineSize: 16, OversizeAction: action,
			ReadBufferSize: 4096, ReadBudget: 7, DisableNotify: true}, h)
		ctx := context.Background()
		if err := w.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2*len(data)+4; i++ {
			if i == len(data)/7+1 {
				fd, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				fd.Write(data[cut:])
				fd.Close()
			}
			if err := w.Poll(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for src := range last {
			if pos, ok := w.Position(src); !ok || pos > int64(len(data)) {
				t.Fatalf("position %d of %d bytes", pos, len(data))
			}
		}
	})
}
