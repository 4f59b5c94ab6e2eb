package cloudwatch

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"logship/buffer"
	"logship/sink/emulator/emulatortest"
)

var benchSizes = []struct {
	name string
	size int
}{{"200B", 200}, {"2KiB", 2048}}

// benchRecords returns about total bytes of records of size-byte messages
// (JSON-like text with a few escapes and non-ASCII characters), one
// millisecond apart, ending at nowMs.
func benchRecords(size, total int) ([]buffer.Record, int) {
	n := total / size
	rng := rand.New(rand.NewPCG(1, 2))
	recs := make([]buffer.Record, n)
	bytes := 0
	for i := range recs {
		var sb strings.Builder
		fmt.Fprintf(&sb, `{"log":"%d GET /api/v1/items?id=%d HTTP/1.1 200 — é \"ok\"`, i, rng.IntN(1e6))
		for sb.Len() < size-len(`","stream":"stdout"}`) {
			sb.WriteByte(byte('a' + rng.IntN(26)))
		}
		sb.WriteString(`","stream":"stdout"}`)
		msg := []byte(sb.String())[:size]
		recs[i] = buffer.Record{Time: (nowMs - int64(n-i)) * 1e6, Message: msg}
		bytes += len(msg)
	}
	return recs, bytes
}

// reportPerEvent adds events/s and allocs/event to a benchmark that handled
// events events per iteration; mallocs is the allocation count of the loop.
// cpu is the process CPU time the loop used (all goroutines, GC included):
// on a shared, loaded machine wall-clock MB/s understates what one core
// does, so "MB/cpu-s" (message bytes per CPU second) is reported too.
func reportPerEvent(b *testing.B, events int, mallocs uint64, cpu time.Duration, bytes int) {
	total := float64(b.N) * float64(events)
	b.ReportMetric(total/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(mallocs)/total, "allocs/event")
	if cpu > 0 {
		b.ReportMetric(float64(b.N)*float64(bytes)/1e6/cpu.Seconds(), "MB/cpu-s")
	}
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func mallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

// BenchmarkBuildRequests measures request building for one chunk: sort
// check, UTF-8 validation, cutting within every limit and the SDK input
// events, for about 8 MiB of messages per iteration. MB/s counts message
// bytes.
func BenchmarkBuildRequests(b *testing.B) {
	for _, bs := range benchSizes {
		b.Run(bs.name, func(b *testing.B) {
			recs, n := benchRecords(bs.size, 8<<20)
			var p plan
			events := 0
			b.SetBytes(int64(n))
			b.ReportAllocs()
			m0, c0 := mallocs(), cpuTime()
			b.ResetTimer()
			for range b.N {
				sortRecords(recs)
				cut(recs, nowMs, defaultLimits, &p)
				events = 0
				for k := range p.requests {
					events += len(p.input(k))
				}
			}
			b.StopTimer()
			reportPerEvent(b, events, mallocs()-m0, cpuTime()-c0, n)
		})
	}
}

// BenchmarkSend measures Send end to end through the real SDK client
// (JSON serialisation, SigV4 signing with a body hash, HTTP) against a
// 127.0.0.1 server that discards the body and answers {}: the cost the sink
// cannot avoid per byte. "onepass" is the sink as it runs (putProtocol),
// "sdk" the same with the SDK's own serialiser. MB/s counts message bytes.
func BenchmarkSend(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("x-amzn-RequestId", "bench")
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		io.WriteString(w, "{}")
	}))
	defer srv.Close()
	client := emulatortest.NewClient(srv.URL, "us-east-1", "AKID", "SECRET")
	for _, bs := range benchSizes {
		for _, body := range []string{"onepass", "sdk"} {
			b.Run(bs.name+"/"+body, func(b *testing.B) {
				recs, n := benchRecords(bs.size, 4<<20)
				c, err := New(Config{LogGroupName: "g", LogStreamName: "s"}, client, zap.NewNop())
				if err != nil {
					b.Fatal(err)
				}
				c.now = func() time.Time { return time.UnixMilli(nowMs) }
				if body == "sdk" {
					c.opts = c.opts[:1] // without putProtocol: the SDK's serialiser
				}
				ch := &buffer.Chunk{Key: buffer.StreamKey{Group: "g", Stream: "s"}, Records: recs}
				b.SetBytes(int64(n))
				b.ReportAllocs()
				m0, c0 := mallocs(), cpuTime()
				b.ResetTimer()
				for range b.N {
					ch.Sent = 0
					if err := c.Send(context.Background(), ch); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				reportPerEvent(b, len(recs), mallocs()-m0, cpuTime()-c0, n)
				if st := c.Stats(); st.Events != uint64(b.N*len(recs)) {
					b.Fatalf("sent %d events, want %d", st.Events, b.N*len(recs))
				}
			})
		}
	}
}

// BenchmarkFormat measures the Formatter on a Kubernetes-shaped record: the
// log line, the stream, and the metadata as a pre-encoded Raw object.
func BenchmarkFormat(b *testing.B) {
	meta := []byte(`{"namespace_name":"prod","pod_name":"web-7d9c-abcde","container_name":"app","host":"ip-10-0-1-2.ec2.internal","labels":{"app":"web","tier":"frontend"}}`)
	for _, bs := range benchSizes {
		b.Run(bs.name, func(b *testing.B) {
			f, err := NewFormatter(Config{LogGroupName: "g", UseTagAsStream: true})
			if err != nil {
				b.Fatal(err)
			}
			// A typical line: plain ASCII ending in a newline (one escape).
			text := `10.0.1.7 - - [01/Jun/2026:12:00:00 +0000] "GET /api/v1/items?id=42 HTTP/1.1" 200 512 "-" "curl/8.0" `
			line := []byte(strings.Repeat(text, bs.size/len(text)+1)[:bs.size-1] + "\n")
			fields := buffer.Fields{
				{Key: "log", Value: buffer.Str(line)},
				{Key: "stream", Value: buffer.Str([]byte("stdout"))},
				{Key: "kubernetes", Value: buffer.RawJSON(meta)},
			}
			b.SetBytes(int64(len(line)))
			b.ReportAllocs()
			m0, c0 := mallocs(), cpuTime()
			for range b.N {
				r := buffer.Record{Tag: "kubernetes.var.log.containers.web", Fields: fields}
				if err := f.Format(&r); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			reportPerEvent(b, 1, mallocs()-m0, cpuTime()-c0, len(line))
		})
	}
}

// BenchmarkAppendRecords measures the formatter as the agent calls it, on a
// Kubernetes record of the bench's shape and on a 2 MiB one (split into
// whole-record pieces). MB/s counts the log text.
func BenchmarkAppendRecords(b *testing.B) {
	docker := []byte(`{"container_id":"5992133e7dba3a1757380f1c52198124c5dc2983251463e5e65bf56b9b57b1c5"}`)
	kube := []byte(`{"container_name":"app","namespace_name":"default","pod_name":"svc-00-5d8f7","pod_id":"04d115e4-90f9-64fe-0ab2-65059b3bf158"}`)
	small := []byte(`{"level":"info","logger":"http","msg":"request served","seq":1234,"container":"app","path":"/api/v1/items/237","status":200,"pad":"` + strings.Repeat("x", 70) + `"}`)
	big := []byte(strings.Repeat(`{"k":"v \"q\" é"} `, (2<<20)/20))
	for _, tc := range []struct {
		name string
		text []byte
	}{{"bench-line", small}, {"2MiB-split", big}} {
		b.Run(tc.name, func(b *testing.B) {
			f, err := NewFormatter(Config{LogGroupName: "g", UseTagAsStream: true})
			if err != nil {
				b.Fatal(err)
			}
			fields := buffer.Fields{
				{Key: "stream", Value: buffer.Str([]byte("stdout"))},
				{Key: "logtag", Value: buffer.Str([]byte("F"))},
				{Key: "message", Value: buffer.Str(tc.text)},
				{Key: "time", Value: buffer.Str([]byte("2026-12-07T00:47:36.783504241Z"))},
				{Key: "docker", Value: buffer.RawJSON(docker)},
				{Key: "kubernetes", Value: buffer.RawJSON(kube)},
			}
			var dst []byte
			var out []buffer.Record
			b.SetBytes(int64(len(tc.text)))
			b.ReportAllocs()
			for b.Loop() {
				r := buffer.Record{Tag: "kubernetes.var.log.containers.svc", Fields: fields}
				var err error
				if dst, out, err = f.AppendRecords(dst[:0], out[:0], &r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
