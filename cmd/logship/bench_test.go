package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"logship/sink/emulator"
)

// metricsServer serves a /metrics page with the given skipped count and
// buffer bytes on 127.0.0.1, as the agent's ops listener would.
func metricsServer(t *testing.T, skipped, buffered int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "# TYPE %s counter\n", metricFormatSkipped)
		// Two label sets: waitEvents must sum them.
		fmt.Fprintf(w, "%s{output=\"a\",reason=\"empty_message\"} %d\n", metricFormatSkipped, skipped-skipped/2)
		fmt.Fprintf(w, "%s{output=\"b\",reason=\"empty_message\"} %d\n", metricFormatSkipped, skipped/2)
		fmt.Fprintf(w, "%s %d\n", metricBufferBytes, buffered)
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// benchEmulator is the bench's count-only emulator, stopped at the test's
// end.
func benchEmulator(t *testing.T) *emulator.Server {
	t.Helper()
	emu, _, stop, err := startBenchEmulator(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return emu
}

func TestWaitEventsFailsFastWhenRecordsAreSkipped(t *testing.T) {
	ctx := context.Background()
	emu := benchEmulator(t)
	const want = 1000
	ops := metricsServer(t, want, 4096)
	var hw float64
	// An hour's limit: only the skipped records can end the wait early.
	err := waitEvents(ctx, emu, ops, want, time.Hour, &hw)
	if err == nil {
		t.Fatal("waitEvents returned nil although no event can arrive")
	}
	if !strings.Contains(err.Error(), "skipped 1000 records") || !strings.Contains(err.Error(), "0 of 1000") {
		t.Errorf("error %q does not name the skipped records", err)
	}
	if hw != 4096 {
		t.Errorf("buffer high-water %v, want 4096 from /metrics", hw)
	}
}

func TestWaitEventsTimesOutWhenSkippedDoNotAccountForTheRest(t *testing.T) {
	ctx := context.Background()
	emu := benchEmulator(t)
	ops := metricsServer(t, 10, 0) // 10 skipped of 1000: 990 still due
	err := waitEvents(ctx, emu, ops, 1000, 3*pollInterval, nil)
	if err == nil || !strings.Contains(err.Error(), "delivered within") {
		t.Fatalf("waitEvents = %v, want the deadline error", err)
	}
}

func TestBenchRefusesAPeerWithAnotherShape(t *testing.T) {
	for _, args := range [][]string{
		{"--peer", "/nonexistent/fluent-bit", "--message-keys", "message"},
		{"--peer", "/nonexistent/fluent-bit", "--metadata=false"},
	} {
		var out, errOut strings.Builder
		err := runBench(context.Background(), args, &out, &errOut)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "default shape") {
			t.Errorf("bench %v = %v, want the usage error about the shape", args, err)
		}
		if out.Len() > 0 {
			t.Errorf("bench %v ran: %s", args, out.String())
		}
	}
}
