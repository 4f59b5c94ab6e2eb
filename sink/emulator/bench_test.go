package emulator_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"logship/internal/testclock"
	"logship/sink/emulator"
	"logship/sink/emulator/emulatortest"
)

// fakeAuth is a well-formed SigV4 header; without configured keys the
// emulator checks its shape and scope only.
const fakeAuth = "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/logs/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"

// putBody builds a PutLogEvents body of as many msgSize-byte events at ts as
// fit one request, and returns it with the message bytes it carries.
func putBody(msgSize int, ts int64) ([]byte, int) {
	n := min(10000, 1048576/(msgSize+26))
	type event struct {
		Timestamp int64  `json:"timestamp"`
		Message   string `json:"message"`
	}
	in := struct {
		Group  string  `json:"logGroupName"`
		Stream string  `json:"logStreamName"`
		Events []event `json:"logEvents"`
	}{Group: "g", Stream: "s", Events: make([]event, n)}
	msg := strings.Repeat("x", msgSize-10)
	for i := range in.Events {
		in.Events[i] = event{ts, fmt.Sprintf("%09d %s", i, msg)}
	}
	b, _ := json.Marshal(in)
	return b, n * msgSize
}

func newPutRequest(url string, body []byte) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", "Logs_20140328.PutLogEvents")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Date", "20260101T000000Z")
	req.Header.Set("Authorization", fakeAuth)
	return req
}

// BenchmarkPutLogEvents measures the emulator's handling of full-size
// PutLogEvents requests in CountOnly mode, without the network.
func BenchmarkPutLogEvents(b *testing.B) {
	for _, size := range []int{200, 2048} {
		b.Run(fmt.Sprintf("msg=%dB", size), func(b *testing.B) {
			clk := testclock.New(t0)
			srv, err := emulator.New(emulator.Config{CountOnly: true, Now: clk.Now}, nil)
			if err != nil {
				b.Fatal(err)
			}
			env := emulatortest.Handler(b, srv, emulator.Config{})
			env.CreateStream(b, "g", "s")
			body, msgBytes := putBody(size, ms(t0))
			b.SetBytes(int64(msgBytes))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, newPutRequest("/", body))
				if rec.Code != 200 {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
			b.ReportMetric(float64(b.N)*float64(msgBytes/size)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkPutLogEvents_Loopback is the same over real HTTP on 127.0.0.1.
func BenchmarkPutLogEvents_Loopback(b *testing.B) {
	clk := testclock.New(t0)
	env := emulatortest.Start(b, emulator.Config{CountOnly: true, Now: clk.Now})
	env.CreateStream(b, "g", "s")
	body, msgBytes := putBody(200, ms(t0))
	b.SetBytes(int64(msgBytes))
	b.ReportAllocs()
	client := &http.Client{Timeout: 10 * time.Second}
	for b.Loop() {
		resp, err := client.Do(newPutRequest(env.URL+"/", body))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

// FuzzPutLogEvents feeds arbitrary bodies to PutLogEvents: the emulator must
// answer 200 or an AWS error document, never panic, and never store more
// events than were sent.
func FuzzPutLogEvents(f *testing.F) {
	f.Add([]byte(`{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":1767225600000,"message":"a"}]}`))
	f.Add([]byte(`{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":1767225600001,"message":"b"},{"timestamp":1767225600000,"message":"a"}]}`))
	f.Add([]byte(`{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":1,"message":"old"},{"timestamp":9767225600000,"message":"new"}]}`))
	f.Add([]byte(`{"logGroupName":"","logEvents":[{}]}`))
	f.Add([]byte(`{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":1767225600000,"message":"\xff\ud800"}]}`))
	clk := testclock.New(t0)
	srv, err := emulator.New(emulator.Config{Now: clk.Now}, nil)
	if err != nil {
		f.Fatal(err)
	}
	for _, r := range []string{`{"logGroupName":"g"}`, `{"logGroupName":"g","logStreamName":"s"}`} {
		op := "CreateLogGroup"
		if strings.Contains(r, "Stream") {
			op = "CreateLogStream"
		}
		req := newPutRequest("/", []byte(r))
		req.Header.Set("X-Amz-Target", "Logs_20140328."+op)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != 200 {
			f.Fatalf("%s: %d %s", op, rec.Code, rec.Body)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		before := srv.Stats().EventsAccepted
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, newPutRequest("/", body))
		accepted := srv.Stats().EventsAccepted - before
		switch rec.Code {
		case 200:
			var in struct {
				LogEvents []json.RawMessage `json:"logEvents"`
			}
			if err := json.Unmarshal(body, &in); err != nil {
				t.Fatalf("200 for a body encoding/json rejects: %v", err)
			}
			if accepted > int64(len(in.LogEvents)) {
				t.Fatalf("accepted %d events of %d sent", accepted, len(in.LogEvents))
			}
		case 400:
			var doc struct {
				Type    string `json:"__type"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil || doc.Type == "" || rec.Header().Get("X-Amzn-ErrorType") != doc.Type {
				t.Fatalf("400 with body %q (err %v)", rec.Body, err)
			}
			if accepted != 0 {
				t.Fatalf("error response but %d events accepted", accepted)
			}
		default:
			t.Fatalf("status %d", rec.Code)
		}
	})
}

// BenchmarkSave measures writing state.json with 100,000 stored 200-byte
// events (the whole state is rewritten on every save).
func BenchmarkSave(b *testing.B) {
	clk := testclock.New(t0)
	srv, err := emulator.New(emulator.Config{DataDir: b.TempDir(), Now: clk.Now}, nil)
	if err != nil {
		b.Fatal(err)
	}
	env := emulatortest.Handler(b, srv, emulator.Config{})
	env.CreateStream(b, "g", "s")
	body, msgBytes := putBody(200, ms(t0))
	total := 0
	for total < 100000 {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, newPutRequest("/", body))
		if rec.Code != 200 {
			b.Fatalf("status %d", rec.Code)
		}
		total += msgBytes / 200
	}
	b.SetBytes(int64(total * 200))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		// Mark dirty with a cheap mutation so Save rewrites the file.
		i++
		rec := httptest.NewRecorder()
		req := newPutRequest("/", []byte(`{"logGroupName":"x`+fmt.Sprint(i)+`"}`))
		req.Header.Set("X-Amz-Target", "Logs_20140328.CreateLogGroup")
		srv.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("CreateLogGroup: status %d", rec.Code)
		}
		if err := srv.Save(); err != nil {
			b.Fatal(err)
		}
	}
}
