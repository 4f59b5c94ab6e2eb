package cloudwatch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"logship/buffer"
	"logship/sink/emulator/emulatortest"
)

// capture is a 127.0.0.1 server that records request headers and bodies.
type capture struct {
	mu      sync.Mutex
	bodies  []string
	targets []string
	types   []string
}

func (c *capture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.bodies = append(c.bodies, string(b))
	c.targets = append(c.targets, r.Header.Get("X-Amz-Target"))
	c.types = append(c.types, r.Header.Get("Content-Type"))
	c.mu.Unlock()
	w.Header().Set("x-amzn-RequestId", "r")
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	io.WriteString(w, `{"nextSequenceToken":"1"}`)
}

// TestPutProtocol_SameDocument sends the same PutLogEvents input through
// the SDK's serialiser and through putProtocol and compares the JSON
// documents the server receives, and the headers.
func TestPutProtocol_SameDocument(t *testing.T) {
	var cap capture
	srv := httptest.NewServer(&cap)
	defer srv.Close()
	client := emulatortest.NewClient(srv.URL, "us-east-1", "AKID", "SECRET")
	proto := putProtocol{client.Options().Protocol}
	withProto := func(o *cloudwatchlogs.Options) { o.Protocol = proto }

	var ctl strings.Builder
	for c := range 0x20 {
		ctl.WriteByte(byte(c))
	}
	inputs := []*cloudwatchlogs.PutLogEventsInput{
		{
			LogGroupName: aws.String("/k8s/prod"), LogStreamName: aws.String("kubernetes.var.log.containers.web_prod_app-1.log"),
			LogEvents: []types.InputLogEvent{
				{Message: aws.String(`{"log":"hello \"world\"\n","stream":"stdout"}`), Timestamp: aws.Int64(1767225600000)},
				{Message: aws.String("control " + ctl.String() + " \x7f"), Timestamp: aws.Int64(1767225600001)},
				{Message: aws.String("unicode é 世界 😀 \u2028\u2029 </script> & \\"), Timestamp: aws.Int64(0)},
				{Message: aws.String(strings.Repeat("x", 100_000)), Timestamp: aws.Int64(1 << 50)},
			},
		},
		{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), SequenceToken: aws.String("tok\"en"),
			LogEvents: []types.InputLogEvent{{Message: aws.String("a"), Timestamp: aws.Int64(1)}}},
		{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), LogEvents: []types.InputLogEvent{}},
	}
	for i, in := range inputs {
		if _, err := client.PutLogEvents(context.Background(), in); err != nil {
			t.Fatalf("input %d through the SDK: %v", i, err)
		}
		if _, err := client.PutLogEvents(context.Background(), in, withProto); err != nil {
			t.Fatalf("input %d through putProtocol: %v", i, err)
		}
		sdk, ours := cap.bodies[2*i], cap.bodies[2*i+1]
		var a, b any
		if err := json.Unmarshal([]byte(sdk), &a); err != nil {
			t.Fatalf("SDK body: %v", err)
		}
		if err := json.Unmarshal([]byte(ours), &b); err != nil {
			t.Fatalf("our body %q: %v", ours, err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("input %d: documents differ\nSDK:  %.300s\nours: %.300s", i, sdk, ours)
		}
		if cap.targets[2*i] != cap.targets[2*i+1] || cap.types[2*i] != cap.types[2*i+1] {
			t.Errorf("input %d: headers differ: %s %s vs %s %s", i, cap.targets[2*i], cap.types[2*i], cap.targets[2*i+1], cap.types[2*i+1])
		}
	}
	// Other operations go through the SDK's serialiser unchanged.
	if _, err := client.CreateLogStream(context.Background(), &cloudwatchlogs.CreateLogStreamInput{
		LogGroupName: aws.String("g"), LogStreamName: aws.String("s")}, withProto); err != nil {
		t.Fatal(err)
	}
	if got := cap.targets[len(cap.targets)-1]; got != "Logs_20140328.CreateLogStream" {
		t.Errorf("CreateLogStream target %q", got)
	}
}

// FuzzAppendPutLogEvents checks that the body decodes, with encoding/json, to
// exactly the names, messages and timestamps written.
func FuzzAppendPutLogEvents(f *testing.F) {
	f.Add("g", "s", "hello \"world\"\n\t\x00\x1f é 😀 \u2028", int64(1767225600000))
	f.Add("/a", "b:c", "\\u0041 </script>", int64(-1))
	f.Fuzz(func(t *testing.T, group, stream, msg string, ts int64) {
		group = string(buffer.AppendValidUTF8(nil, []byte(group)))
		stream = string(buffer.AppendValidUTF8(nil, []byte(stream)))
		msg = string(buffer.AppendValidUTF8(nil, []byte(msg)))
		in := &cloudwatchlogs.PutLogEventsInput{
			LogGroupName: &group, LogStreamName: &stream,
			LogEvents: []types.InputLogEvent{{Message: &msg, Timestamp: &ts}, {Message: &stream, Timestamp: &ts}},
		}
		body := appendPutLogEvents(nil, in)
		var got struct {
			LogEvents []struct {
				Message   string `json:"message"`
				Timestamp int64  `json:"timestamp"`
			} `json:"logEvents"`
			LogGroupName  string `json:"logGroupName"`
			LogStreamName string `json:"logStreamName"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("body %q: %v", body, err)
		}
		if got.LogGroupName != group || got.LogStreamName != stream || len(got.LogEvents) != 2 ||
			got.LogEvents[0].Message != msg || got.LogEvents[0].Timestamp != ts || got.LogEvents[1].Message != stream {
			t.Fatalf("body %q decodes to %+v", body, got)
		}
	})
}

func TestAppendJSONMessage(t *testing.T) {
	var all strings.Builder
	for c := range 0x80 {
		all.WriteByte(byte(c))
	}
	for _, s := range []string{"", "a", "12345678", "1234567\"", "\"1234567", "abcdefgh\\ijklmnop\n", all.String(),
		"é世界😀 aaaaaaaaaaaaaaaaaa\x1f", "bad \xff utf-8 aaaaaaaa", strings.Repeat("x\"", 50)} {
		got := appendJSONMessage(nil, s)
		var dec string
		if err := json.Unmarshal(got, &dec); err != nil {
			t.Fatalf("appendJSONMessage(%q) = %s: %v", s, got, err)
		}
		if want := string(buffer.AppendValidUTF8(nil, []byte(s))); dec != want {
			t.Errorf("appendJSONMessage(%q) decodes to %q", s, dec)
		}
	}
}

func BenchmarkAppendJSONMessage(b *testing.B) {
	// A CloudWatch message as the formatter makes it: JSON holding escaped JSON.
	msg := `{"stream":"stdout","logtag":"F","message":"{\"level\":\"info\",\"logger\":\"http\",\"msg\":\"request served\",\"seq\":1500,\"path\":\"/api/v1/items/503\",\"status\":200}","time":"2026-11-27T00:26:03.084492022Z","docker":{"container_id":"935a99753f18ca43854bd81279eb824a0c1afc4b87a46e173af44a377c931560"},"kubernetes":{"container_name":"app","namespace_name":"default","pod_name":"web-0-7d9f","pod_id":"935a9975-3f18-ca43-854b-d81279eb824a","host":"node-1"}}`
	dst := make([]byte, 0, 4096)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		dst = appendJSONMessage(dst[:0], msg)
	}
}

// TestAppendPutLogEvents_SharedAffixes checks the escaped prefix and suffix
// cache: bodies of messages that share prefixes and suffixes in every
// pattern (same container, containers alternating, a suffix of the cached
// suffix, a message equal to it or shorter, prefix and suffix overlapping,
// invalid UTF-8 in between) decode to exactly the messages.
func TestAppendPutLogEvents_SharedAffixes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	suffixes := []string{
		`","stream":"stdout","docker":{"container_id":"0123"},"kubernetes":{"pod_name":"web-1","namespace_name":"prod"}}`,
		`","stream":"stderr","docker":{"container_id":"4567"},"kubernetes":{"pod_name":"api-é世","namespace_name":"prod"}}`,
		"\t\x01\"\\ tail shared by many, long enough to be cached \u2028😀",
	}
	prefixes := []string{
		`{"stream":"stdout","logtag":"F","message":"{\"level\":\"info\",\"seq\":`,
		`{"stream":"stderr","logtag":"P","message":"é世😀 \t\n \\ \"`,
		"\x01\x02\"\\\\\" shared start, and long enough to be cached ",
	}
	for round := range 300 {
		var msgs []string
		for i := range 1 + rng.IntN(40) {
			var m string
			switch rng.IntN(10) {
			case 8:
				m = prefixes[rng.IntN(len(prefixes))] + suffixes[rng.IntN(len(suffixes))][rng.IntN(10):]
			case 9:
				m = prefixes[rng.IntN(len(prefixes))][:rng.IntN(50)]
			case 0:
				m = suffixes[rng.IntN(len(suffixes))][rng.IntN(20):] // a suffix of a suffix
			case 1:
				m = "bad \xff\xe2\x82 " + suffixes[0]
			case 2:
				m = ""
			default:
				m = prefixes[(round+i/4)%len(prefixes)] + fmt.Sprintf(`line %d \"q\" %s`, i, strings.Repeat("x", rng.IntN(30))) + suffixes[(round+i/3)%len(suffixes)]
			}
			msgs = append(msgs, m)
		}
		in := &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s")}
		for i := range msgs {
			in.LogEvents = append(in.LogEvents, types.InputLogEvent{Message: &msgs[i], Timestamp: aws.Int64(int64(i))})
		}
		body := appendPutLogEvents(nil, in)
		var got struct {
			LogEvents []struct {
				Message string `json:"message"`
			} `json:"logEvents"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("round %d: body does not decode: %v", round, err)
		}
		if len(got.LogEvents) != len(msgs) {
			t.Fatalf("round %d: %d events, want %d", round, len(got.LogEvents), len(msgs))
		}
		for i, e := range got.LogEvents {
			if want := string(buffer.AppendValidUTF8(nil, []byte(msgs[i]))); e.Message != want {
				t.Fatalf("round %d, event %d: %q, want %q", round, i, e.Message, want)
			}
		}
	}
}

// kubeMessage is a message as the bench pipeline formats it (logship bench:
// CRI lines of a JSON application line, the v1.19 cri parser, path
// metadata), seq-th of its container.
func kubeMessage(seq int) string {
	pad := strings.Repeat("x", 72-len(fmt.Sprint(seq)))
	ua := ""
	if seq%5 == 0 {
		ua = `,\"user_agent\":\"curl/8.5 \\\"quoted\\\"\"`
	}
	return fmt.Sprintf(`{"stream":"stdout","logtag":"F","message":"{\"level\":\"info\",\"logger\":\"http\",\"msg\":\"request served\",\"seq\":%d,\"container\":\"app\",\"path\":\"/api/v1/items/%d\",\"status\":200%s,\"pad\":\"%s\"}","time":"2026-12-07T00:47:36.%09dZ","docker":{"container_id":"5992133e7dba3a1757380f1c52198124c5dc2983251463e5e65bf56b9b57b1c5"},"kubernetes":{"container_name":"app","namespace_name":"default","pod_name":"svc-00-5d8f7","pod_id":"04d115e4-90f9-64fe-0ab2-65059b3bf158"}}`,
		seq, seq%997, ua, pad, seq*1000)
}

// BenchmarkAppendPutLogEvents measures the body writer on a 1 MiB request of
// Kubernetes-shaped messages of one container. MB/s counts message bytes.
func BenchmarkAppendPutLogEvents(b *testing.B) {
	in := &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("bench"), LogStreamName: aws.String("kubernetes.var.log.containers.svc")}
	n := 0
	for i := 0; n < 1<<20; i++ {
		m := kubeMessage(i)
		in.LogEvents = append(in.LogEvents, types.InputLogEvent{Message: &m, Timestamp: aws.Int64(int64(i))})
		n += len(m) + EventOverhead
	}
	b.Run("shared-affixes", func(b *testing.B) {
		b.SetBytes(int64(n))
		b.ReportAllocs()
		dst := make([]byte, 0, n*5/4)
		for b.Loop() {
			dst = appendPutLogEvents(dst[:0], in)
		}
	})
	// The same messages each escaped in full, as the body writer did before
	// the suffix cache: the baseline.
	b.Run("escape-all", func(b *testing.B) {
		b.SetBytes(int64(n))
		b.ReportAllocs()
		dst := make([]byte, 0, n*5/4)
		for b.Loop() {
			dst = dst[:0]
			for i := range in.LogEvents {
				dst = appendJSONMessage(dst, *in.LogEvents[i].Message)
			}
		}
	})
}

// TestBodySlot_Recycle checks when a request body goes back to the pool:
// only once read to its end after the last rewind.
func TestBodySlot_Recycle(t *testing.T) {
	pool := newBodyPool(8)
	put := func() *putBody { return &putBody{buf: append(make([]byte, 0, 64), "0123456789"...)} }
	read := func(b *putBody, n int) {
		p := make([]byte, n)
		for {
			k, err := b.Read(p)
			if err != nil || k < n {
				if err == nil {
					continue
				}
				return
			}
			if n < len(b.buf) {
				return // a partial read
			}
		}
	}
	tests := []struct {
		name string
		use  func(b *putBody)
		want bool
	}{
		{"unread", func(*putBody) {}, false},
		{"read in part", func(b *putBody) { read(b, 4) }, false},
		{"read to the end", func(b *putBody) { read(b, 64) }, true},
		{"read, then rewound", func(b *putBody) { read(b, 64); b.Seek(0, io.SeekStart) }, false},
		{"hashed, rewound, sent", func(b *putBody) { read(b, 64); b.Seek(0, io.SeekStart); read(b, 3); read(b, 64) }, true},
	}
	for _, tt := range tests {
		b := put()
		tt.use(b)
		s := &bodySlot{pool: pool, body: b}
		s.recycle()
		if got := b.buf == nil; got != tt.want {
			t.Errorf("%s: recycled %v, want %v", tt.name, got, tt.want)
		}
	}
	// Kept buffers survive collections (a sync.Pool would be emptied) and
	// come back empty; the list holds at most its size.
	runtime.GC()
	runtime.GC()
	got := 0
	for buf := pool.get(); buf != nil; buf = pool.get() {
		if len(buf) != 0 || cap(buf) != 64 {
			t.Errorf("pooled buffer len %d cap %d, want 0 and 64", len(buf), cap(buf))
		}
		got++
	}
	if got != 2 {
		t.Errorf("pool gave back %d buffers after collections, want the 2 recycled", got)
	}
	small := newBodyPool(1)
	small.put(make([]byte, 3))
	small.put(make([]byte, 5))
	if b := small.get(); cap(b) != 3 || small.get() != nil {
		t.Errorf("a pool of one kept more than its first buffer")
	}
	var none *bodyPool
	none.put(make([]byte, 1))
	if none.get() != nil {
		t.Errorf("a nil pool gave a buffer")
	}
	b := put()
	if n := b.Len(); n != 10 {
		t.Errorf("Len() = %d, want 10", n)
	}
	if off, err := b.Seek(-3, io.SeekEnd); off != 7 || err != nil || b.Len() != 3 {
		t.Errorf("Seek(-3, end) = %d, %v; Len %d", off, err, b.Len())
	}
	if _, err := b.Seek(-1, io.SeekStart); err == nil {
		t.Errorf("Seek(-1) succeeded")
	}
}
