package buffer_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"logship/buffer"
)

type nopSender struct{}

func (nopSender) Send(context.Context, *buffer.Chunk) error { return nil }

type nopAcker struct{}

func (nopAcker) Ack([]buffer.Record) {}

// benchPipeline pushes b.N records of size bytes through Add → chunk → flush
// to a no-op sender, with Run's flush threads and timers on the real clock.
func benchPipeline(b *testing.B, cfg buffer.Config, size int) {
	buf, err := buffer.New(cfg, nopSender{}, nopAcker{}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := buf.Recover(); err != nil {
		b.Fatal(err)
	}
	const batch = 100
	keys := []buffer.StreamKey{{Group: "g", Stream: "a"}, {Group: "g", Stream: "b"}, {Group: "g", Stream: "c"}}
	recs := make([]buffer.Record, batch)
	msg := make([]byte, size)
	for i := range msg {
		msg[i] = 'a' + byte(i%26)
	}
	for i := range recs {
		recs[i] = buffer.Record{Time: int64(i), Tag: "kubernetes.var.log.containers.app.log", Key: keys[0], Message: msg, Source: 1, Offset: int64(i)}
	}
	for i := range recs { // runs of one key, as a follower's batch
		recs[i].Key = keys[i*len(keys)/batch]
	}
	run := runBuf(b, buf)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for n := 0; n < b.N; n += batch {
		if err := buf.Add(context.Background(), recs[:min(batch, b.N-n)]); err != nil {
			b.Fatal(err)
		}
	}
	for buf.Flush(context.Background()) != nil { // chunks still in flight
		time.Sleep(50 * time.Microsecond)
	}
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	run.stop(b)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/record")
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkBuffer_Add(b *testing.B) {
	for _, typ := range []string{buffer.TypeMemory, buffer.TypeFile} {
		for _, size := range []int{128, 1024} {
			b.Run(fmt.Sprintf("%s/%dB", typ, size), func(b *testing.B) {
				benchPipeline(b, buffer.Config{Type: typ, Path: b.TempDir(), ChunkLimitSize: 1 << 20,
					FlushThreadCount: 2, TotalLimitSize: 64 << 20}, size)
			})
		}
	}
}

// BenchmarkDisk_Put measures the file buffer with an fsync only when a chunk
// is closed (FsyncInterval < 0).
func BenchmarkDisk_Put(b *testing.B) {
	for _, chunk := range []int64{1 << 20, 8 << 20} {
		for _, size := range []int{128, 1024} {
			b.Run(fmt.Sprintf("chunk=%dMiB/%dB", chunk>>20, size), func(b *testing.B) {
				benchPipeline(b, buffer.Config{Type: buffer.TypeFile, Path: b.TempDir(), ChunkLimitSize: chunk,
					FsyncInterval: -1, FlushThreadCount: 2, TotalLimitSize: 16 * chunk}, size)
			})
		}
	}
}
