package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"

	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"logship/internal/e2etest"
)

// fakeOpenSearch is an OpenSearch _bulk endpoint on 127.0.0.1 that checks
// the NDJSON strictly, stores documents by (index, _id), and can refuse
// items: throttle429 answers 429 to each listed _id the first time it is
// seen; reject400 always answers 400 to the listed _ids.
type fakeOpenSearch struct {
	t        testing.TB
	mu       sync.Mutex
	docs     map[string]map[string]any // index/_id → source
	writes   map[string]int            // index/_id → successful writes
	seen     map[string]int            // _id → times received
	requests int
	throttle map[string]bool
	// throttleFirst answers 429 to every _id the first time it is seen.
	throttleFirst bool
	reject        map[string]bool
	authHeader    []string
	problems      []string
}

func newFakeOpenSearch(t testing.TB) (*fakeOpenSearch, *httptest.Server) {
	f := &fakeOpenSearch{t: t, docs: map[string]map[string]any{}, writes: map[string]int{}, seen: map[string]int{}, throttle: map[string]bool{}, reject: map[string]bool{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeOpenSearch) problem(format string, args ...any) {
	f.problems = append(f.problems, fmt.Sprintf(format, args...))
}

func (f *fakeOpenSearch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.authHeader = append(f.authHeader, r.Header.Get("Authorization"))
	if r.Method != http.MethodPost || r.URL.Path != "/_bulk" {
		f.problem("unexpected %s %s", r.Method, r.URL.Path)
		http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-ndjson") && !strings.HasPrefix(ct, "application/json") {
		f.problem("content-type %q", ct)
	}
	f.requests++
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if len(body) == 0 || body[len(body)-1] != '\n' {
		f.problem("body does not end with a newline")
		http.Error(w, `{"error":"The bulk request must be terminated by a newline"}`, http.StatusBadRequest)
		return
	}
	var items []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	errorsSeen := false
	for sc.Scan() {
		var action struct {
			Index *struct {
				Index string  `json:"_index"`
				ID    string  `json:"_id"`
				Type  *string `json:"_type"`
			} `json:"index"`
		}
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&action); err != nil || action.Index == nil {
			f.problem("bad action line %q: %v", sc.Text(), err)
			http.Error(w, "bad action", http.StatusBadRequest)
			return
		}
		if action.Index.Type != nil || action.Index.ID == "" || !strings.HasPrefix(action.Index.Index, "cwl-") {
			f.problem("action %+v: want _index cwl-*, an _id and no _type", *action.Index)
		}
		if !sc.Scan() {
			f.problem("action without a document")
			http.Error(w, "no document", http.StatusBadRequest)
			return
		}
		var doc map[string]any
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
			f.problem("document %q: %v", sc.Text(), err)
		}
		for _, k := range reservedFields {
			if _, ok := doc[k]; !ok {
				f.problem("document %s lacks %s", action.Index.ID, k)
			}
		}
		if doc["@id"] != action.Index.ID {
			f.problem("@id %v != _id %s", doc["@id"], action.Index.ID)
		}
		id := action.Index.ID
		key := action.Index.Index + "/" + id
		f.seen[id]++
		status := 201
		switch {
		case f.reject[id]:
			status = 400
		case (f.throttle[id] || f.throttleFirst) && f.seen[id] == 1:
			status = 429
		}
		res := map[string]any{"_index": action.Index.Index, "_id": id, "status": status}
		if status >= 300 {
			errorsSeen = true
			res["error"] = map[string]any{"type": map[int]string{400: "mapper_parsing_exception", 429: "es_rejected_execution_exception"}[status], "reason": "test"}
		} else {
			if _, exists := f.docs[key]; exists {
				res["status"] = 200
			}
			f.docs[key] = doc
			f.writes[key]++
		}
		items = append(items, map[string]any{"index": res})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"took": 1, "errors": errorsSeen, "items": items})
}

// TestHandle_FakeOpenSearch runs the handler with the real opensearch-go
// client against the fake _bulk endpoint: some items are throttled once,
// one is refused for good; everything else is indexed exactly once.
func TestHandle_FakeOpenSearch(t *testing.T) {
	fake, srv := newFakeOpenSearch(t)
	fake.throttle[ownID(1)] = true
	fake.throttle[ownID(3)] = true
	h, err := setup(context.Background(), env(map[string]string{"OPENSEARCH_ENDPOINT": srv.URL, "OPENSEARCH_SIGV4_SERVICE": "none"}), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	h.sleep = func(context.Context, time.Duration) error { return nil }
	ev := encodeEvent(t, readTestdata(t, "subscription-3events.json"))
	res, err := h.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempted != 3 || res.Indexed != 3 || res.Failed != 0 || res.Requests != 2 {
		t.Errorf("result %+v, want 3 indexed in 2 requests", res)
	}
	// Re-delivery of the same payload is idempotent: same _ids, no new docs.
	if _, err := h.Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	for _, p := range fake.problems {
		t.Error(p)
	}
	if len(fake.docs) != 3 {
		t.Errorf("%d documents stored, want 3", len(fake.docs))
	}
	for key, n := range fake.writes {
		if n != 2 {
			t.Errorf("%s written %d times, want 2 (once per delivery, never twice within one)", key, n)
		}
		if !strings.HasPrefix(key, "cwl-2026.01.02/") {
			t.Errorf("document key %s", key)
		}
	}
	if fake.seen[ownID(2)] != 2 || fake.seen[ownID(1)] != 3 {
		t.Errorf("sends per id %v: throttled ids once more", fake.seen)
	}
}

func TestHandle_FakeOpenSearchPermanentFailure(t *testing.T) {
	fake, srv := newFakeOpenSearch(t)
	fake.reject[ownID(3)] = true
	h, err := setup(context.Background(), env(map[string]string{"OPENSEARCH_ENDPOINT": srv.URL, "INDEX_PREFIX": "cwl-k8s"}), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	res, err := h.Handle(context.Background(), encodeEvent(t, readTestdata(t, "subscription-3events.json")))
	if err != nil {
		t.Fatal(err)
	}
	if res.Indexed != 2 || res.Failed != 1 || res.Requests != 1 || len(res.FailedItems) != 1 || res.FailedItems[0].Status != 400 || res.FailedItems[0].Index != "cwl-k8s-2026.01.02" || res.FailedItems[0].ID != ownID(3) {
		t.Errorf("result %+v, want 2 indexed, event 3 reported 400 in cwl-k8s-2026.01.02", res)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	for _, p := range fake.problems {
		t.Error(p)
	}
	doc := fake.docs["cwl-k8s-2026.01.02/"+ownID(1)]
	if doc == nil || doc["level"] != "info" || doc["msg"] != "order placed" || doc["@log_group"] != "/eks/shop/containers" {
		t.Errorf("document %v", doc)
	}
}

// TestSetup_SigV4 checks that requests to Amazon OpenSearch Service are
// signed for service "es" with the execution role's credentials.
func TestSetup_SigV4(t *testing.T) {
	fake, srv := newFakeOpenSearch(t)
	e2etest.StaticAWS(t, "AKIDTESTCWL2ES", "secret", "eu-west-1")
	h, err := setup(context.Background(), env(map[string]string{"OPENSEARCH_ENDPOINT": srv.URL, "OPENSEARCH_SIGV4_SERVICE": "es"}), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Handle(context.Background(), encodeEvent(t, readTestdata(t, "subscription-3events.json"))); err != nil {
		t.Fatal(err)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if len(fake.authHeader) != 1 || !strings.HasPrefix(fake.authHeader[0], "AWS4-HMAC-SHA256 Credential=AKIDTESTCWL2ES/") || !strings.Contains(fake.authHeader[0], "/eu-west-1/es/aws4_request") {
		t.Fatalf("Authorization %q, want SigV4 for es in eu-west-1", fake.authHeader)
	}
}

func TestParseSettings(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		sigv4   string
		wantErr string
	}{
		{"managed domain signs for es", map[string]string{"OPENSEARCH_ENDPOINT": "https://search-logs-abc.us-east-1.es.amazonaws.com/"}, "es", ""},
		{"serverless signs for aoss", map[string]string{"OPENSEARCH_ENDPOINT": "https://abc.us-east-1.aoss.amazonaws.com"}, "aoss", ""},
		{"self-managed is unsigned", map[string]string{"OPENSEARCH_ENDPOINT": "https://opensearch.internal:9200", "OPENSEARCH_USERNAME": "u", "OPENSEARCH_PASSWORD": "p"}, "", ""},
		{"explicit none", map[string]string{"OPENSEARCH_ENDPOINT": "https://search-x.us-east-1.es.amazonaws.com", "OPENSEARCH_SIGV4_SERVICE": "none"}, "", ""},
		{"no endpoint", map[string]string{}, "", "OPENSEARCH_ENDPOINT is not set"},
		{"bad scheme", map[string]string{"OPENSEARCH_ENDPOINT": "ftp://x"}, "", "want https://host"},
		{"bad service", map[string]string{"OPENSEARCH_ENDPOINT": "https://x", "OPENSEARCH_SIGV4_SERVICE": "s3"}, "", "want es, aoss or none"},
		{"basic auth with sigv4", map[string]string{"OPENSEARCH_ENDPOINT": "https://x", "OPENSEARCH_SIGV4_SERVICE": "es", "OPENSEARCH_USERNAME": "u"}, "", "choose one"},
		{"bad attempts", map[string]string{"OPENSEARCH_ENDPOINT": "https://x", "BULK_MAX_ATTEMPTS": "0"}, "", "BULK_MAX_ATTEMPTS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parseSettings(env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseSettings()=%v, want error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.sigv4 != tt.sigv4 {
				t.Errorf("sigv4=%q, want %q", s.sigv4, tt.sigv4)
			}
			if strings.HasSuffix(s.endpoint, "/") {
				t.Errorf("endpoint %q keeps a trailing slash", s.endpoint)
			}
		})
	}
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}
