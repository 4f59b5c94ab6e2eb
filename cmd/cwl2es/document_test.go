package main

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

func TestAppendDocument_Fields(t *testing.T) {
	p := &payload{Owner: "1", LogGroup: "g", LogStream: "s"}
	tests := []struct {
		name      string
		ev        logEvent
		wantTail  string // the document after the six @ fields
		wantValid bool
	}{
		{"json message", logEvent{ID: "a", Message: `{"level":"info","n":1.50,"ok":true}`}, `,"level":"info","n":1.50,"ok":true}`, true},
		{"prefix before the object", logEvent{ID: "a", Message: `2026-01-01 INFO {"k":"v"}`}, `,"k":"v"}`, true},
		{"pretty-printed object is compacted", logEvent{ID: "a", Message: "{\n  \"a\": {\n    \"b\": [1, 2]\n  }\n}\n"}, `,"a":{"b":[1,2]}}`, true},
		{"reserved fields are ours", logEvent{ID: "a", Message: `{"@id":"x","@timestamp":"y","z":1}`}, `,"z":1}`, true},
		{"duplicate key keeps first place, last value", logEvent{ID: "a", Message: `{"a":1,"b":2,"a":3}`}, `,"a":3,"b":2}`, true},
		{"trailing garbage is not json", logEvent{ID: "a", Message: `{"a":1} trailing`}, `"@log_stream":"s"}`, true},
		{"array is not an object", logEvent{ID: "a", Message: `[{"a":1}]`}, `"@log_stream":"s"}`, true},
		{"truncated object", logEvent{ID: "a", Message: `{"a":{"b":1}`}, `"@log_stream":"s"}`, true},
		{"extracted fields", logEvent{ID: "a", Message: `1.2.3.4 GET 200 {"u":"x"}`, ExtractedFields: map[string]string{
			"ip": "1.2.3.4", "status": "200", "bytes": "", "ratio": "0.5", "neg": "-3", "lead": "012", "payload": `req {"u":"x"}`,
		}}, `,"ip":"1.2.3.4","lead":12,"neg":-3,"payload":"req {\"u\":\"x\"}","$payload":{"u":"x"},"ratio":0.5,"status":200}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(appendDocument(nil, p, &tt.ev))
			if !strings.HasSuffix(got, tt.wantTail) {
				t.Errorf("document %s, want suffix %s", got, tt.wantTail)
			}
			if strings.Contains(got, "\n") {
				t.Errorf("document spans lines: %q", got)
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(got), &m); (err == nil) != tt.wantValid {
				t.Errorf("json.Unmarshal(%s)=%v", got, err)
			}
			if m["@message"] != tt.ev.Message || m["@id"] != "a" {
				t.Errorf("@message/@id %v %v", m["@message"], m["@id"])
			}
		})
	}
}

func TestIndexName(t *testing.T) {
	tests := []struct {
		prefix string
		ms     int64
		want   string
	}{
		{"cwl", 1432826855000, "cwl-2015.05.28"},
		{"cwl", 1767225600000, "cwl-2026.01.01"},
		{"logs-k8s", 1767225599999, "logs-k8s-2025.12.31"},
	}
	for _, tt := range tests {
		if got := indexName(tt.prefix, tt.ms); got != tt.want {
			t.Errorf("indexName(%q, %d)=%q, want %q", tt.prefix, tt.ms, got, tt.want)
		}
	}
}

func BenchmarkBuildItems(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run("events="+strconv.Itoa(n), func(b *testing.B) {
			p := &payload{Owner: "123456789012", LogGroup: "/k8s/c/containers", LogStream: "kubernetes.var.log.containers.web_default_web-0123.log", MessageType: messageData}
			msg := `{"log":"GET /healthz 200 1.2ms","stream":"stdout","kubernetes":{"pod_name":"web-7d9c","namespace_name":"default","container_name":"web","labels":{"app":"web"}}}`
			var size int
			for i := range n {
				p.LogEvents = append(p.LogEvents, logEvent{ID: "3796473828472837283846294627384619283746192837461928" + strconv.Itoa(1000+i), Timestamp: 1767225600000 + int64(i), Message: msg})
				size += len(msg)
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				buildItems(p, DefaultIndexPrefix)
			}
		})
	}
}

// FuzzObjectMembers compares the top-level scanner with encoding/json: it
// accepts exactly the JSON objects, and yields the same keys and values
// (last value wins) on one line each.
func FuzzObjectMembers(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, ` {"a" : [1, {"b":"}"}] , "c":"\"x\\"} `, `{"a":1,"a":2}`, `[1]`, `{"a":1} x`, `{"\u0041":true,"b":null}`, "{\n\"k\":\n{\"z\": \"a b\"}\n}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := objectMembers(b)
		var want map[string]json.RawMessage
		werr := json.Unmarshal(b, &want)
		if werr != nil || want == nil {
			if err == nil {
				t.Fatalf("objectMembers(%q) accepted what encoding/json refuses as an object (%v)", b, werr)
			}
			return
		}
		if err != nil {
			t.Fatalf("objectMembers(%q)=%v, encoding/json accepts it", b, err)
		}
		if len(got) != len(want) {
			t.Fatalf("objectMembers(%q): %d members, want %d", b, len(got), len(want))
		}
		for _, m := range got {
			w, ok := want[m.key]
			if !ok {
				t.Fatalf("objectMembers(%q): key %q not in %v", b, m.key, want)
			}
			var a, c any
			if json.Unmarshal(m.value, &a) != nil || json.Unmarshal(w, &c) != nil {
				t.Fatalf("objectMembers(%q): value %q invalid", b, m.value)
			}
			if ja, jc := mustJSON(t, a), mustJSON(t, c); ja != jc {
				t.Fatalf("objectMembers(%q): %q=%s, want %s", b, m.key, ja, jc)
			}
			if bytes.ContainsAny(m.value, "\n\r") {
				t.Fatalf("objectMembers(%q): value %q spans lines", b, m.value)
			}
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestBuildItems_DayBoundary(t *testing.T) {
	p := &payload{Owner: "1", LogGroup: "g", LogStream: "s", MessageType: messageData, LogEvents: []logEvent{
		{ID: "a", Timestamp: 1767225599999}, // 2025-12-31T23:59:59.999Z
		{ID: "b", Timestamp: 1767225600000}, // 2026-01-01T00:00:00.000Z
		{ID: "c", Timestamp: 1767225599000}, // back to 2025-12-31
		{ID: "d", Timestamp: -1},            // 1969-12-31T23:59:59.999Z
	}}
	items := buildItems(p, "cwl")
	want := []string{"cwl-2025.12.31", "cwl-2026.01.01", "cwl-2025.12.31", "cwl-1969.12.31"}
	for i, it := range items {
		if it.index != want[i] || !strings.Contains(string(it.lines), `"_index":"`+want[i]+`"`) {
			t.Errorf("item %d: index %q lines %s, want %q", i, it.index, it.lines, want[i])
		}
		if cap(it.lines) != len(it.lines) {
			t.Errorf("item %d: capacity %d beyond its lines (%d)", i, cap(it.lines), len(it.lines))
		}
	}
	if !strings.Contains(string(items[3].lines), `"@timestamp":"1969-12-31T23:59:59.999Z"`) {
		t.Errorf("negative timestamp: %s", items[3].lines)
	}
}
