package tail

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"go.uber.org/zap"
)

// genCRI writes files CRI files of about size bytes each under dir: lines of
// about 250 bytes, and (mixed) one 20 KiB line in every 10, written as
// containerd splits it (a 16 KiB P record and an F record).
func genCRI(b *testing.B, dir string, files, size int, mixed bool) int64 {
	b.Helper()
	var total int64
	short := strings.Repeat("x", 250-len("2026-01-02T03:04:05.123456789Z stdout F ")-12)
	long := strings.Repeat("y", 20<<10)
	for i := 0; i < files; i++ {
		var sb strings.Builder
		for n := 0; sb.Len() < size; n++ {
			if mixed && n%10 == 9 {
				fmt.Fprintf(&sb, "2026-01-02T03:04:05.123456789Z stdout P %s\n", long[:16<<10])
				fmt.Fprintf(&sb, "2026-01-02T03:04:05.123456789Z stdout F %s\n", long[16<<10:])
				continue
			}
			fmt.Fprintf(&sb, "2026-01-02T03:04:05.123456789Z stdout F %010d %s\n", n, short)
		}
		p := filepath.Join(dir, fmt.Sprintf("%d.log", i))
		if err := os.WriteFile(p, []byte(sb.String()), 0o644); err != nil {
			b.Fatal(err)
		}
		total += int64(sb.Len())
	}
	return total
}

type countHandler struct {
	lines int
	w     *Watcher
	ack   bool
}

func (c *countHandler) Handle(_ context.Context, lines []Line) error {
	c.lines += len(lines)
	if c.ack {
		c.w.mu.Lock()
		for i := range lines {
			c.w.ackLocked(lines[i].Source, lines[i].Offset)
		}
		c.w.mu.Unlock()
	}
	return nil
}

// BenchmarkWatcher_ReadAll measures discovery + read + framing (+ acks) over
// a generated CRI file set, from a fresh Watcher each iteration.
func BenchmarkWatcher_ReadAll(b *testing.B) {
	for _, tc := range []struct {
		name  string
		mixed bool
		ack   bool
	}{
		{"250B", false, false},
		{"250B+ack", false, true},
		{"mix20KiB", true, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			dir := b.TempDir()
			total := genCRI(b, dir, 4, 16<<20, tc.mixed)
			b.SetBytes(total)
			b.ReportAllocs()
			var lines int
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				h := &countHandler{ack: tc.ack}
				w, err := New(Config{Paths: []string{dir + "/*.log"}, ReadFromHead: true, DisableNotify: true, Format: FormatCRI}, h, zap.NewNop())
				if err != nil {
					b.Fatal(err)
				}
				h.w = w
				ctx := context.Background()
				if err := w.Sync(ctx); err != nil {
					b.Fatal(err)
				}
				for {
					before := w.stats.bytesRead.Load()
					if err := w.Poll(ctx); err != nil {
						b.Fatal(err)
					}
					if w.stats.bytesRead.Load() == before {
						break
					}
				}
				w.Close()
				lines += h.lines
			}
			b.StopTimer()
			runtime.ReadMemStats(&ms1)
			b.ReportMetric(float64(lines)/b.Elapsed().Seconds(), "lines/s")
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(lines), "allocs/line")
		})
	}
}

// BenchmarkFollower_Next measures framing alone: records already in memory
// are split, parsed and assembled into Lines (no I/O).
func BenchmarkFollower_Next(b *testing.B) {
	for _, tc := range []struct {
		name  string
		mixed bool
	}{{"250B", false}, {"mix20KiB", true}} {
		b.Run(tc.name, func(b *testing.B) {
			dir := b.TempDir()
			genCRI(b, dir, 1, 8<<20, tc.mixed)
			data, err := os.ReadFile(filepath.Join(dir, "0.log"))
			if err != nil {
				b.Fatal(err)
			}
			h := &countHandler{}
			w := newWatcher(b, Config{Paths: []string{"x"}, Format: FormatCRI}, h)
			f := &file{id: 1, lin: &lineage{}, format: formatCRI}
			w.files[1] = f
			ctx := context.Background()
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f.tr = tracker{}
				// Frame the data in read-block sized steps, as read does.
				for off := 0; off < len(data); {
					n := min(DefaultReadBufferSize, len(data)-off)
					f.buf, f.start, f.end = data[:off+n], off, off+n
					f.off = int64(off + n)
					w.frame(f)
					if err := w.flush(ctx, f); err != nil {
						b.Fatal(err)
					}
					off = f.start
					if n < DefaultReadBufferSize && f.start == f.end {
						break
					}
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&ms1)
			b.ReportMetric(float64(h.lines)/b.Elapsed().Seconds(), "lines/s")
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(h.lines), "allocs/line")
		})
	}
}

// BenchmarkWatcher_IdlePoll measures one Poll over many idle files (the
// periodic safety-net poll), with and without inotify.
func BenchmarkWatcher_IdlePoll(b *testing.B) {
	dir := b.TempDir()
	const files = 2000
	for i := 0; i < files; i++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%04d.log", i)), []byte("2024-01-01T00:00:00Z stdout F x\n"), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for _, notify := range []bool{false, true} {
		b.Run(fmt.Sprintf("files=%d/notify=%v", files, notify), func(b *testing.B) {
			w, err := New(Config{Paths: []string{dir + "/*.log"}, DisableNotify: !notify}, &countHandler{}, zap.NewNop())
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close() // each call of this function (b.N rounds) closes its watcher's 2000 files
			ctx := context.Background()
			if err := w.Sync(ctx); err != nil {
				b.Fatal(err)
			}
			w.startNotify()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := w.Poll(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/files, "ns/file")
		})
	}
}
