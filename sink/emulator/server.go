package emulator

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// targetPrefix is the X-Amz-Target prefix of CloudWatch Logs (the service
// model's targetPrefix; design.md, "Wire protocol").
const targetPrefix = "Logs_20140328."

// contentType is the awsJson1_1 media type of requests and responses.
const contentType = "application/x-amz-json-1.1"

// ServeHTTP answers one awsJson1_1 request. Any path is accepted (a
// BaseEndpoint may carry one); the operation comes from X-Amz-Target.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if down, http503 := s.faults.outage(); down {
		s.stats.outage.Add(1)
		if !http503 && closeConn(w) {
			return
		}
		e := errUnavailable()
		e.status = http.StatusServiceUnavailable
		s.writeError(w, newRequestID(), e)
		return
	}

	reqID := newRequestID()
	op, h := s.route(r)
	s.stats.request(op)
	if h == nil {
		s.writeError(w, reqID, errClient(CodeUnknownOperation, msgUnknownOp))
		return
	}

	body, aerr := s.readBody(r)
	if aerr == nil {
		aerr = s.authenticate(r, body)
	}
	if aerr != nil {
		s.writeError(w, reqID, aerr)
		return
	}

	reset, drop, noID := s.faults.connFault(op)
	if reset {
		s.stats.connFaults.Add(1)
		if !closeConn(w) {
			s.writeError(w, reqID, errUnavailable())
		}
		return
	}
	if d := s.faults.delay(); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}

	resp, aerr := h(s, body)
	if drop {
		s.stats.connFaults.Add(1)
		if !closeConn(w) {
			s.writeError(w, reqID, errUnavailable())
		}
		return
	}
	if noID {
		reqID = ""
	}
	if aerr != nil {
		if aerr.status >= 500 || aerr.code == CodeThrottling {
			s.log.Debug("injected fault", zap.String("op", op), zap.String("code", aerr.code))
		}
		s.writeError(w, reqID, aerr)
		return
	}
	s.writeOK(w, reqID, resp)
}

// route returns the operation named by the request and its handler; nil for
// a non-POST request or an unknown target.
func (s *Server) route(r *http.Request) (string, handler) {
	if r.Method != http.MethodPost {
		return opUnknown, nil
	}
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, targetPrefix)
	if !ok {
		return opUnknown, nil
	}
	o, ok := operationByName[op]
	if !ok {
		return opUnknown, nil
	}
	return op, o.serve
}

func (s *Server) readBody(r *http.Request) ([]byte, *apiError) {
	limit := s.cfg.MaxRequestBytes
	tooLarge := &apiError{status: http.StatusRequestEntityTooLarge, code: CodeSerialization,
		message: "Request body exceeds " + strconv.FormatInt(limit, 10) + " bytes."}
	if r.ContentLength > limit {
		return nil, tooLarge
	}
	if r.ContentLength >= 0 {
		// Known length: one exact allocation.
		body := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, body); err != nil {
			return nil, errClient(CodeSerialization, "request body: "+err.Error())
		}
		return body, nil
	}
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, errClient(CodeSerialization, "request body: "+err.Error())
	}
	if n > limit {
		return nil, tooLarge
	}
	return buf.Bytes(), nil
}

// closeConn closes the client connection without a response; false when the
// ResponseWriter cannot be hijacked (HTTP/2, httptest recorders).
func closeConn(w http.ResponseWriter) bool {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return false
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

func (s *Server) writeOK(w http.ResponseWriter, reqID string, resp any) {
	h := w.Header()
	if reqID != "" {
		h.Set("x-amzn-RequestId", reqID)
	}
	h.Set("Content-Type", contentType)
	if resp == nil {
		h.Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		return
	}
	b, err := json.Marshal(resp)
	if err != nil {
		s.writeError(w, reqID, &apiError{status: http.StatusInternalServerError, code: "InternalFailure", message: err.Error()})
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// errorBody is the awsJson error document.
type errorBody struct {
	Type         string `json:"__type"`
	Message      string `json:"message"`
	ResourceName string `json:"resourceName,omitempty"`
}

func (s *Server) writeError(w http.ResponseWriter, reqID string, e *apiError) {
	s.stats.error(e.code)
	b, _ := json.Marshal(errorBody{Type: e.code, Message: e.message, ResourceName: e.resourceName})
	h := w.Header()
	if reqID != "" {
		h.Set("x-amzn-RequestId", reqID)
	}
	h.Set("X-Amzn-ErrorType", e.code)
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.status)
	w.Write(b)
}

// newRequestID returns a random UUID (version 4) string.
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// nowMs is the server clock in milliseconds since the epoch.
func (s *Server) nowMs() int64 { return s.now().UnixMilli() }
