// Package lambdatest is a fake of the three AWS Lambda API operations
// 'logship subscribe' calls (GetPolicy, AddPermission, RemovePermission),
// served over HTTP on 127.0.0.1 for tests. Point an aws-sdk-go-v2 Lambda
// client at it with BaseEndpoint.
package lambdatest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Statement is one statement of a function's resource-based policy, in the
// shape GetPolicy returns.
type Statement struct {
	Sid       string                       `json:"Sid"`
	Effect    string                       `json:"Effect"`
	Principal map[string]string            `json:"Principal"`
	Action    string                       `json:"Action"`
	Resource  string                       `json:"Resource"`
	Condition map[string]map[string]string `json:"Condition,omitempty"`
}

// Server is the fake. Its fields are guarded by its mutex; use the methods.
type Server struct {
	URL string

	mu       sync.Mutex
	policies map[string][]Statement // function name or ARN → statements
	calls    map[string]int         // operation → calls
}

// Start serves the fake on 127.0.0.1 until the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{policies: map[string][]Statement{}, calls: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2015-03-31/functions/{fn}/policy", s.getPolicy)
	mux.HandleFunc("POST /2015-03-31/functions/{fn}/policy", s.addPermission)
	mux.HandleFunc("DELETE /2015-03-31/functions/{fn}/policy/{sid}", s.removePermission)
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Calls returns how many times an operation ("GetPolicy", "AddPermission",
// "RemovePermission") was called.
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// Statements returns a copy of a function's policy statements.
func (s *Server) Statements(fn string) []Statement {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Statement(nil), s.policies[fn]...)
}

// SetStatements replaces a function's policy statements.
func (s *Server) SetStatements(fn string, sts []Statement) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.policies[fn] = append([]Statement(nil), sts...)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": msg})
}

func (s *Server) getPolicy(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls["GetPolicy"]++
	fn := r.PathValue("fn")
	sts := s.policies[fn]
	if len(sts) == 0 {
		writeError(w, http.StatusNotFound, "ResourceNotFoundException", "The resource you requested does not exist.")
		return
	}
	doc, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Id": "default", "Statement": sts})
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"Policy": string(doc), "RevisionId": "1"})
}

func (s *Server) addPermission(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Action        string `json:"Action"`
		Principal     string `json:"Principal"`
		SourceAccount string `json:"SourceAccount"`
		SourceArn     string `json:"SourceArn"`
		StatementID   string `json:"StatementId"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Action == "" || in.Principal == "" || in.StatementID == "" {
		writeError(w, http.StatusBadRequest, "InvalidParameterValueException", "Action, Principal and StatementId are required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls["AddPermission"]++
	fn := r.PathValue("fn")
	for _, st := range s.policies[fn] {
		if st.Sid == in.StatementID {
			writeError(w, http.StatusConflict, "ResourceConflictException", "The statement id ("+in.StatementID+") provided already exists. Please provide a new statement id, or remove the existing statement.")
			return
		}
	}
	st := Statement{Sid: in.StatementID, Effect: "Allow", Principal: map[string]string{"Service": in.Principal}, Action: in.Action, Resource: fn, Condition: map[string]map[string]string{}}
	if in.SourceAccount != "" {
		st.Condition["StringEquals"] = map[string]string{"AWS:SourceAccount": in.SourceAccount}
	}
	if in.SourceArn != "" {
		st.Condition["ArnLike"] = map[string]string{"AWS:SourceArn": in.SourceArn}
	}
	s.policies[fn] = append(s.policies[fn], st)
	b, _ := json.Marshal(st)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]string{"Statement": string(b)})
}

func (s *Server) removePermission(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls["RemovePermission"]++
	fn, sid := r.PathValue("fn"), r.PathValue("sid")
	sts := s.policies[fn]
	for i, st := range sts {
		if st.Sid == sid {
			s.policies[fn] = append(sts[:i:i], sts[i+1:]...)
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	writeError(w, http.StatusNotFound, "ResourceNotFoundException", "The resource you requested does not exist.")
}
