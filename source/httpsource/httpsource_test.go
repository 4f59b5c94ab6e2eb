package httpsource

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"logship/buffer"
)

var testNow = time.Date(2026, 11, 27, 1, 2, 3, 456789000, time.UTC)

// drainQueue returns the records ServeHTTP enqueued, as "tag time json".
func drainQueue(s *Source) []string {
	var out []string
	for {
		select {
		case r := <-s.queue:
			out = append(out, fmt.Sprintf("%s %d %s", r.Tag, r.Time, r.Fields.AppendJSON(nil)))
		default:
			return out
		}
	}
}

func TestHTTPSource_Requests(t *testing.T) {
	v012 := Config{GetEmits: true, SecondPrecision: true}
	v1 := Config{TimeFromRecord: true}
	nowS := testNow.Truncate(time.Second).UnixNano()
	nowN := testNow.UnixNano()
	tests := []struct {
		name     string
		cfg      Config
		method   string
		target   string
		ctype    string
		body     string
		header   map[string]string
		wantCode int
		wantBody string
		want     []string
		// cfg2GetEmits makes a v1 source emit on GET (to test its time rules).
		cfg2GetEmits bool
	}{
		{name: "seed liveness probe", cfg: v012, method: "GET", target: "/fluentd.pod.healthcheck?json=%7B%22log%22%3A+%22health+check%22%7D",
			wantCode: 200, want: []string{`fluentd.pod.healthcheck ` + fmt.Sprint(nowS) + ` {"log":"health check"}`}},
		{name: "v1 GET answers without emitting", cfg: v1, method: "GET", target: "/fluentd.pod.healthcheck?json=%7B%7D", wantCode: 200},
		{name: "path parts become the tag", cfg: v012, method: "GET", target: "/a/b/c/?json={}", wantCode: 200,
			want: []string{"a.b.c " + fmt.Sprint(nowS) + " {}"}},
		{name: "POST json body", cfg: v1, method: "POST", target: "/app.x", ctype: "application/json", body: `{"a":1,"b":[true]}`,
			wantCode: 200, want: []string{`app.x ` + fmt.Sprint(nowN) + ` {"a":1,"b":[true]}`}},
		{name: "POST form body", cfg: v1, method: "POST", target: "/f", ctype: "application/x-www-form-urlencoded",
			body: "json=" + url.QueryEscape(`{"k":"v w"}`), wantCode: 200, want: []string{`f ` + fmt.Sprint(nowN) + ` {"k":"v w"}`}},
		{name: "ndjson body", cfg: v1, method: "POST", target: "/n", ctype: "application/x-ndjson", body: "{\"a\":1}\r\n{\"a\":2}\n",
			wantCode: 200, want: []string{"n " + fmt.Sprint(nowN) + ` {"a":1}`, "n " + fmt.Sprint(nowN) + ` {"a":2}`}},
		{name: "time parameter", cfg: v012, method: "GET", target: "/t?time=1700000000.5&json={}", wantCode: 200,
			want: []string{"t 1700000000000000000 {}"}},
		{name: "time parameter zero is now", cfg: v1, method: "GET", target: "/t?time=0&json={}", cfg2GetEmits: true, wantCode: 200,
			want: []string{"t " + fmt.Sprint(nowN) + " {}"}},
		{name: "v1 record time key", cfg: v1, method: "POST", target: "/t", ctype: "application/json", body: `{"time":1700000000.25,"x":1}`,
			wantCode: 200, want: []string{`t 1700000000250000000 {"x":1}`}},
		{name: "v0.12 single record keeps its time key", cfg: v012, method: "POST", target: "/t", ctype: "application/json", body: `{"time":5,"x":1}`,
			wantCode: 200, want: []string{`t ` + fmt.Sprint(nowS) + ` {"time":5,"x":1}`}},
		{name: "v0.12 batch takes each time", cfg: v012, method: "POST", target: "/b", ctype: "application/json", body: `[{"time":10,"x":1},{"x":2}]`,
			wantCode: 200, want: []string{`b 10000000000 {"x":1}`, `b ` + fmt.Sprint(nowS) + ` {"x":2}`}},
		{name: "null record is skipped", cfg: v012, method: "GET", target: "/x?json=null", wantCode: 200},
		{name: "headers, remote addr, query params", cfg: Config{GetEmits: true, AddHTTPHeaders: true, AddRemoteAddr: true, AddQueryParams: true},
			method: "POST", target: "/h?q-one=1", ctype: "application/json", body: `{}`, header: map[string]string{"X-Forwarded-For": "10.1.2.3, 10.0.0.1", "X-Trace": "t1"},
			wantCode: 200, want: []string{`h ` + fmt.Sprint(nowN) + ` {"HTTP_CONTENT_TYPE":"application/json","HTTP_HOST":"example.com","HTTP_X_FORWARDED_FOR":"10.1.2.3, 10.0.0.1","HTTP_X_TRACE":"t1","QUERY_Q_ONE":"1","REMOTE_ADDR":"10.1.2.3"}`}},
		{name: "gzip body", cfg: v1, method: "POST", target: "/z", ctype: "application/json", body: "gzip:" + `{"z":true}`,
			wantCode: 200, want: []string{`z ` + fmt.Sprint(nowN) + ` {"z":true}`}},
		{name: "bad json", cfg: v012, method: "GET", target: "/x?json=%7Bnope", wantCode: 400, wantBody: "400 Bad Request\ninvalid json"},
		{name: "no json parameter", cfg: v012, method: "GET", target: "/x?foo=1", wantCode: 400, wantBody: "'json', 'ndjson' or 'msgpack' parameter is required"},
		{name: "not an object", cfg: v012, method: "GET", target: "/x?json=%5B1%5D", wantCode: 400, wantBody: "must be a JSON object"},
		{name: "msgpack refused", cfg: v1, method: "POST", target: "/x", ctype: "application/msgpack", body: "\x80", wantCode: 400, wantBody: "msgpack"},
		{name: "body too large", cfg: Config{BodySizeLimit: 8}, method: "POST", target: "/x", ctype: "application/json",
			body: `{"aaaaaaaaaa":1}`, wantCode: 413},
		{name: "cors forbidden", cfg: Config{CORSAllowOrigins: []string{"https://*.ok.example"}}, method: "POST", target: "/x",
			ctype: "application/json", body: `{}`, header: map[string]string{"Origin": "https://evil.example"}, wantCode: 403},
		{name: "cors wildcard allowed", cfg: Config{CORSAllowOrigins: []string{"https://*.ok.example"}}, method: "POST", target: "/x",
			ctype: "application/json", body: `{}`, header: map[string]string{"Origin": "https://a.ok.example"}, wantCode: 200,
			want: []string{"x " + fmt.Sprint(nowN) + " {}"}},
		{name: "empty image", cfg: Config{GetEmits: true, RespondWithEmptyImg: true}, method: "GET", target: "/x?json={}",
			wantCode: 200, wantBody: "GIF89a", want: []string{"x " + fmt.Sprint(nowN) + " {}"}},
		{name: "204", cfg: Config{Use204Response: true}, method: "POST", target: "/x", ctype: "application/json", body: "{}",
			wantCode: 204, want: []string{"x " + fmt.Sprint(nowN) + " {}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if tt.cfg2GetEmits {
				cfg.GetEmits = true
			}
			s := New(cfg, "http", nil, zaptest.NewLogger(t))
			s.now = func() time.Time { return testNow }
			var body io.Reader
			if strings.HasPrefix(tt.body, "gzip:") {
				var buf bytes.Buffer
				zw := gzip.NewWriter(&buf)
				zw.Write([]byte(strings.TrimPrefix(tt.body, "gzip:")))
				zw.Close()
				body = &buf
			} else if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req := httptest.NewRequest(tt.method, "http://example.com"+tt.target, body)
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			if strings.HasPrefix(tt.body, "gzip:") {
				req.Header.Set("Content-Encoding", "gzip")
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != tt.wantCode {
				t.Errorf("code = %d, want %d (body %q)", rec.Code, tt.wantCode, rec.Body.String())
			}
			if !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("body = %q, want it to contain %q", rec.Body.String(), tt.wantBody)
			}
			got := drainQueue(s)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// blockingEmit blocks every emit until ctx is done, counting the calls.
type blockingEmit struct {
	mu    sync.Mutex
	calls int
}

func (b *blockingEmit) emit(ctx context.Context, _ []buffer.Record) error {
	b.mu.Lock()
	b.calls++
	b.mu.Unlock()
	<-ctx.Done()
	return ctx.Err()
}

// TestHTTPSource_BackPressure: with the pipeline blocked, every probe still
// gets 200 quickly over real HTTP, and the health records beyond the queue
// are dropped and counted.
func TestHTTPSource_BackPressure(t *testing.T) {
	be := &blockingEmit{}
	s := New(Config{Bind: "127.0.0.1", Port: 0, GetEmits: true, Queue: 2}, "http", be.emit, zaptest.NewLogger(t))
	addr, stop := serve(t, s)
	client := &http.Client{Timeout: 2 * time.Second}
	const probes = 10
	for i := range probes {
		start := time.Now()
		resp, err := client.Get("http://" + addr + "/fluentd.pod.healthcheck?json=%7B%22log%22%3A%22health+check%22%7D")
		if err != nil {
			t.Fatalf("probe %d: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("probe %d: status %d, want 200", i, resp.StatusCode)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("probe %d took %v (the kubelet's timeout is 1s)", i, d)
		}
		if i == 0 {
			// Let the emitter take the first record and block on it.
			deadline := time.Now().Add(5 * time.Second)
			for {
				be.mu.Lock()
				n := be.calls
				be.mu.Unlock()
				if n > 0 || time.Now().After(deadline) {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
	}
	// One record is in the blocked emit, two wait in the queue.
	if got, want := s.dropped.Load(), uint64(probes-1-2); got != want {
		t.Errorf("dropped = %d, want %d", got, want)
	}
	if err := stop(); err != nil {
		t.Errorf("run: %v", err)
	}
}

// serve runs s (Run) on its listener in the background until stop, which
// returns Run's error, or the end of the test.
func serve(t *testing.T, s *Source) (addr string, stop func() error) {
	t.Helper()
	ln, err := s.listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	return ln.Addr().String(), func() error {
		cancel()
		return <-done
	}
}

// TestHTTPSource_Run emits through a real listener into the emit function.
func TestHTTPSource_Run(t *testing.T) {
	got := make(chan buffer.Record, 10)
	emit := func(_ context.Context, recs []buffer.Record) error {
		for _, r := range recs {
			got <- r
		}
		return nil
	}
	s := New(Config{Bind: "127.0.0.1", GetEmits: true}, "http", emit, zaptest.NewLogger(t))
	addr, stop := serve(t, s)
	resp, err := http.Post("http://"+addr+"/a/b", "application/json", strings.NewReader(`{"m":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	select {
	case r := <-got:
		if r.Tag != "a.b" || string(r.Fields.AppendJSON(nil)) != `{"m":"x"}` {
			t.Errorf("record %s %s", r.Tag, r.Fields.AppendJSON(nil))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no record emitted")
	}
	if s.accepted.Load() != 1 {
		t.Errorf("accepted = %d, want 1", s.accepted.Load())
	}
	if err := stop(); err != nil {
		t.Errorf("run: %v", err)
	}
	// The port is free again.
	if l, err := net.Listen("tcp", addr); err != nil {
		t.Errorf("listener not closed: %v", err)
	} else {
		l.Close()
	}
}

func TestHTTPTag(t *testing.T) {
	for in, want := range map[string]string{"/": "", "/a": "a", "/a/b": "a.b", "/a//b": "a..b", "/a/b//": "a.b", "/fluentd.pod.healthcheck": "fluentd.pod.healthcheck"} {
		if got := httpTag(in); got != want {
			t.Errorf("httpTag(%q) = %q, want %q", in, got, want)
		}
	}
}
