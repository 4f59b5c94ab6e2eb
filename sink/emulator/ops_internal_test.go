package emulator

import (
	"encoding/json"
	"go/parser"
	"go/token"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// documentedOperations reads the "Operations:" paragraph of the package
// documentation (emulator.go), an oracle for the table written by hand.
func documentedOperations(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "emulator.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	doc := f.Doc.Text()
	_, rest, ok := strings.Cut(doc, "Operations:")
	if !ok {
		t.Fatal("package doc has no Operations: paragraph")
	}
	list, _, ok := strings.Cut(rest, ". Any other target")
	if !ok {
		t.Fatal("package doc Operations: paragraph does not end with '. Any other target'")
	}
	var names []string
	for _, n := range strings.Split(list, ",") {
		names = append(names, strings.TrimSpace(n))
	}
	return names
}

func serve(t *testing.T, s *Server, method, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", contentType)
	if target != "" {
		r.Header.Set("X-Amz-Target", target)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

func TestOperations_TableMatchesDoc(t *testing.T) {
	var table []string
	for _, o := range operations {
		table = append(table, o.name)
	}
	if doc := documentedOperations(t); !slices.Equal(table, doc) {
		t.Errorf("operation table %v\npackage doc lists %v", table, doc)
	}
	if len(operationByName) != len(operations) {
		t.Errorf("operation table has %d rows but %d distinct names", len(operations), len(operationByName))
	}
}

// TestOperations_EveryOneDispatched sends each operation of the table an
// empty object and checks that it reached that row's handler: counted under
// its name, and answered as the handler answers the same body directly.
func TestOperations_EveryOneDispatched(t *testing.T) {
	for _, o := range operations {
		t.Run(o.name, func(t *testing.T) {
			s, err := New(Config{AllowUnsigned: true}, nil)
			if err != nil {
				t.Fatal(err)
			}
			w := serve(t, s, http.MethodPost, targetPrefix+o.name, `{}`)
			if got := w.Header().Get("X-Amzn-ErrorType"); got == CodeUnknownOperation {
				t.Fatalf("%s answered %s", o.name, got)
			}
			if got, want := s.Stats().Requests, map[string]int64{o.name: 1}; !maps.Equal(got, want) {
				t.Errorf("Stats().Requests = %v, want %v", got, want)
			}

			direct, err := New(Config{AllowUnsigned: true}, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, aerr := o.serve(direct, []byte(`{}`))
			if aerr != nil {
				var body errorBody
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
					t.Fatalf("error body %q: %v", w.Body, err)
				}
				if w.Code != aerr.status || body.Type != aerr.code || body.Message != aerr.message {
					t.Errorf("over HTTP: %d %s %q; handler: %d %s %q", w.Code, body.Type, body.Message, aerr.status, aerr.code, aerr.message)
				}
				return
			}
			want := ""
			if resp != nil {
				b, err := json.Marshal(resp)
				if err != nil {
					t.Fatal(err)
				}
				want = string(b)
			}
			if w.Code != http.StatusOK || w.Body.String() != want {
				t.Errorf("over HTTP: %d %q; handler: 200 %q", w.Code, w.Body, want)
			}
		})
	}
}

// TestOperations_UnknownTarget checks that whatever is not a row of the table
// gets UnknownOperationException (HTTP 400) before authentication, counted
// under "Unknown".
func TestOperations_UnknownTarget(t *testing.T) {
	const msg = "The action or operation requested is invalid. Verify that the action is typed correctly."
	tests := []struct {
		name, method, target string
	}{
		{"no_such_operation", http.MethodPost, "Logs_20140328.NoSuchOperation"},
		{"wrong_case", http.MethodPost, "Logs_20140328.putlogevents"},
		{"empty_operation", http.MethodPost, "Logs_20140328."},
		{"stats_bucket_name", http.MethodPost, "Logs_20140328." + opUnknown},
		{"no_prefix", http.MethodPost, "PutLogEvents"},
		{"other_service", http.MethodPost, "DynamoDB_20120810.PutItem"},
		{"missing_target", http.MethodPost, ""},
		{"get", http.MethodGet, "Logs_20140328.PutLogEvents"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(Config{}, nil) // signatures required: unknown comes first
			if err != nil {
				t.Fatal(err)
			}
			w := serve(t, s, tc.method, tc.target, `{}`)
			var body errorBody
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("error body %q: %v", w.Body, err)
			}
			if w.Code != http.StatusBadRequest || body.Type != "UnknownOperationException" || body.Message != msg {
				t.Errorf("got %d %s %q, want 400 UnknownOperationException %q", w.Code, body.Type, body.Message, msg)
			}
			if got := w.Header().Get("X-Amzn-ErrorType"); got != "UnknownOperationException" {
				t.Errorf("X-Amzn-ErrorType = %q", got)
			}
			if w.Header().Get("x-amzn-RequestId") == "" {
				t.Error("no x-amzn-RequestId")
			}
			if got, want := s.Stats().Requests, map[string]int64{"Unknown": 1}; !maps.Equal(got, want) {
				t.Errorf("Stats().Requests = %v, want %v", got, want)
			}
		})
	}
}
