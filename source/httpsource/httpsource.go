// Package httpsource is Fluentd's in_http, built for its one job in a
// DaemonSet: the liveness probe (see Source).
package httpsource

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"logship/buffer"
	"logship/plugin"
)

// Defaults of in_http, as Fluentd defines them.
const (
	DefaultPort             = 9880
	DefaultBodySizeLimit    = 32 << 20
	DefaultKeepaliveTimeout = 10 * time.Second
	// DefaultQueue is how many health records the source holds while the
	// pipeline is back-pressured before it drops them.
	DefaultQueue = 64
)

// Config is Fluentd's in_http's configuration: POST or GET /<tag path> with a json (or
// form) parameter emits the record under the tag <path with '/' → '.'>.
// Liveness probes use it, so logship answers without waiting for the
// pipeline (see Source).
type Config struct {
	// Bind is the listen host ("0.0.0.0" in Fluentd's default; "" means
	// all interfaces).
	Bind string
	// Port is the TCP port (DefaultPort).
	Port int
	// BodySizeLimit caps a request body in bytes (DefaultBodySizeLimit);
	// a larger body gets 413.
	BodySizeLimit int64
	// KeepaliveTimeout closes idle keep-alive connections
	// (DefaultKeepaliveTimeout).
	KeepaliveTimeout time.Duration
	// AddHTTPHeaders adds every request header as HTTP_<NAME> to the record.
	AddHTTPHeaders bool
	// AddRemoteAddr adds REMOTE_ADDR (X-Forwarded-For's first address when
	// present).
	AddRemoteAddr bool
	// AddQueryParams adds every query parameter as QUERY_<NAME> (v1).
	AddQueryParams bool
	// CORSAllowOrigins, when non-nil, answers 403 to requests whose Origin
	// is not listed ("*" allows any; "https://*.x" matches by prefix and
	// suffix).
	CORSAllowOrigins     []string
	CORSAllowCredentials bool
	// RespondWithEmptyImg answers a 1x1 GIF instead of an empty body.
	RespondWithEmptyImg bool
	// Use204Response answers 204 instead of 200 (v1).
	Use204Response bool
	// GetEmits makes a GET emit its record as Fluentd v0.12 does; Fluentd v1
	// answers GET with 200 without emitting anything (its health-check
	// shortcut). Set from the dialect.
	GetEmits bool
	// TimeFromRecord takes the event time from a record's "time" key (float
	// seconds) and removes the key, as Fluentd v1's default parser does;
	// v0.12 does so only for the records of a JSON array.
	TimeFromRecord bool
	// SecondPrecision truncates event times to whole seconds (v0.12).
	SecondPrecision bool
	// Queue is how many records wait for the pipeline before new ones are
	// dropped and counted (DefaultQueue). Health records are droppable;
	// log lines never are.
	Queue int
}

// NewSource implements plugin.SourceConfig.
func (c *Config) NewSource(deps plugin.SourceDeps) (plugin.Source, error) {
	return New(*c, deps.Name, deps.Emit, deps.Log), nil
}

// Source is Fluentd's in_http, built for its one job in a DaemonSet: the
// liveness probe. GET or POST /<tag path>?json=<JSON> answers 200 (400 for a
// bad record) and emits the record with tag <path, '/' → '.'>.
//
// Unlike Fluentd (R1.1: v0.12 answers 500 when the emit raises, so a
// CloudWatch outage fails liveness and restarts the pod, losing its memory
// buffer), the answer never waits for the pipeline: records go through a
// small bounded queue to an emitter goroutine; when the queue is full the
// request still gets 200 and the record is dropped and counted
// (logship_http_dropped_records_total). Health records are droppable; log
// lines never are (the tail and systemd sources block instead).
type Source struct {
	cfg  Config
	name string
	emit func(ctx context.Context, recs []buffer.Record) error
	log  *zap.Logger
	now  func() time.Time

	queue chan buffer.Record

	mu sync.Mutex
	ln net.Listener

	accepted atomic.Uint64
	dropped  atomic.Uint64
	bad      atomic.Uint64
	// backedUp is set while drops are happening (one warning per episode).
	backedUp atomic.Bool
}

// New returns the source; it listens when it runs.
func New(cfg Config, name string, emit func(context.Context, []buffer.Record) error, log *zap.Logger) *Source {
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultQueue
	}
	if cfg.BodySizeLimit <= 0 {
		cfg.BodySizeLimit = DefaultBodySizeLimit
	}
	if cfg.KeepaliveTimeout <= 0 {
		cfg.KeepaliveTimeout = DefaultKeepaliveTimeout
	}
	return &Source{cfg: cfg, name: name, emit: emit, log: log, now: time.Now,
		queue: make(chan buffer.Record, cfg.Queue)}
}

// listen binds the configured address (once).
func (s *Source) listen() (net.Listener, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return s.ln, nil
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(strings.Trim(s.cfg.Bind, "[]"), strconv.Itoa(s.cfg.Port)))
	if err != nil {
		return nil, fmt.Errorf("http source: %w", err)
	}
	s.ln = ln
	return ln, nil
}

// Run serves until ctx is done.
func (s *Source) Run(ctx context.Context) error {
	ln, err := s.listen()
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: s.cfg.KeepaliveTimeout}
	emitDone := make(chan struct{})
	go func() {
		defer close(emitDone)
		s.emitLoop(ctx)
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err = <-errc:
		err = fmt.Errorf("http source: %w", err)
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		if e := srv.Shutdown(sctx); e != nil {
			s.log.Warn("http source shutdown", zap.Error(e))
		}
		cancel()
	}
	<-emitDone
	return err
}

// emitLoop hands queued records to the pipeline until ctx is done.
func (s *Source) emitLoop(ctx context.Context) {
	var batch []buffer.Record
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-s.queue:
			batch = append(batch[:0], r)
		drain:
			for len(batch) < cap(s.queue) {
				select {
				case r := <-s.queue:
					batch = append(batch, r)
				default:
					break drain
				}
			}
			if err := s.emit(ctx, batch); err != nil {
				if ctx.Err() != nil {
					return
				}
				s.dropped.Add(uint64(len(batch)))
				s.log.Warn("http source: records not accepted by the pipeline; dropped", zap.Int("records", len(batch)), zap.Error(err))
			} else {
				s.accepted.Add(uint64(len(batch)))
				s.backedUp.Store(false)
			}
			clear(batch)
		}
	}
}

// enqueue hands records to the emitter without waiting.
func (s *Source) enqueue(recs []buffer.Record) {
	for _, r := range recs {
		select {
		case s.queue <- r:
		default:
			s.dropped.Add(1)
			if !s.backedUp.Swap(true) {
				s.log.Warn("http source: the pipeline is back-pressured; health records are answered 200 and dropped (counted in logship_http_dropped_records_total)")
			}
		}
	}
}

// emptyGIF is a 1x1 transparent GIF (respond_with_empty_img).
var emptyGIF = []byte("GIF89a\x01\x00\x01\x00\x80\xff\x00\xff\xff\xff\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")

// ServeHTTP implements in_http's request handling.
func (s *Source) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	switch r.Method {
	case http.MethodOptions:
		s.preflight(w, r, origin)
		return
	case http.MethodGet:
		if !s.cfg.GetEmits {
			// Fluentd v1 answers GET without emitting (health checks).
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusOK)
			return
		}
	}
	if s.cfg.CORSAllowOrigins != nil && !s.originAllowed(origin) {
		s.fail(w, http.StatusForbidden, "")
		return
	}
	params, err := s.params(w, r)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			s.fail(w, http.StatusRequestEntityTooLarge, "Too large")
			return
		}
		s.fail(w, http.StatusBadRequest, "400 Bad Request\n"+err.Error()+"\n")
		return
	}
	tag := httpTag(r.URL.Path)
	recs, err := s.records(params, s.headers(r), s.remoteAddr(r), tag)
	if err != nil {
		s.fail(w, http.StatusBadRequest, "400 Bad Request\n"+err.Error()+"\n")
		return
	}
	s.enqueue(recs)
	s.corsHeaders(w, origin)
	switch {
	case s.cfg.RespondWithEmptyImg:
		w.Header().Set("Content-Type", "image/gif; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		w.Write(emptyGIF)
	case s.cfg.Use204Response:
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusOK)
	}
}

func (s *Source) fail(w http.ResponseWriter, code int, body string) {
	s.bad.Add(1)
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(code)
	io.WriteString(w, body)
}

// httpTag is in_http's tag: the path without its leading '/', its
// '/'-separated parts joined by '.' (Ruby's split drops trailing empty parts).
func httpTag(path string) string {
	path = strings.TrimPrefix(path, "/")
	parts := strings.Split(path, "/")
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return strings.Join(parts, ".")
}

// params merges the query string and the body as in_http does.
func (s *Source) params(w http.ResponseWriter, r *http.Request) (map[string]string, error) {
	params := parseQuery(r.URL.RawQuery)
	if r.Body == nil || r.Method == http.MethodGet && r.ContentLength == 0 {
		return params, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.BodySizeLimit))
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(r.Header.Get("Content-Encoding")) {
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("gzip body: %w", err)
		}
		if body, err = io.ReadAll(io.LimitReader(zr, s.cfg.BodySizeLimit+1)); err != nil {
			return nil, fmt.Errorf("gzip body: %w", err)
		}
	case "deflate":
		// Ruby's Zlib::Inflate reads zlib-wrapped data; accept raw deflate too.
		if body, err = inflate(body, s.cfg.BodySizeLimit); err != nil {
			return nil, fmt.Errorf("deflate body: %w", err)
		}
	}
	ct := r.Header.Get("Content-Type")
	mt, mp, _ := mime.ParseMediaType(ct)
	switch {
	case mt == "application/x-www-form-urlencoded":
		for k, v := range parseQuery(string(body)) {
			params[k] = v
		}
	case mt == "multipart/form-data":
		r2 := r.Clone(r.Context())
		r2.Body = io.NopCloser(bytes.NewReader(body))
		r2.Header.Set("Content-Type", mime.FormatMediaType(mt, mp))
		if err := r2.ParseMultipartForm(s.cfg.BodySizeLimit); err != nil {
			return nil, fmt.Errorf("multipart body: %w", err)
		}
		for k, v := range r2.MultipartForm.Value {
			if len(v) > 0 {
				params[k] = v[0]
			}
		}
	case mt == "application/json" || mt == "application/csp-report":
		params["json"] = string(body)
	case mt == "application/x-ndjson":
		params["ndjson"] = string(body)
	case mt == "application/msgpack":
		params["msgpack"] = string(body)
	}
	if s.cfg.AddQueryParams {
		for k, v := range parseQuery(r.URL.RawQuery) {
			params["QUERY_"+strings.ToUpper(strings.ReplaceAll(k, "-", "_"))] = v
		}
	}
	return params, nil
}

func inflate(b []byte, limit int64) ([]byte, error) {
	if len(b) >= 2 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0 && b[0]&0x0f == 8 {
		b = b[2:] // zlib header; the trailing checksum is ignored by flate
	}
	return io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(b)), limit+1))
}

// parseQuery decodes a query string as WEBrick does: pairs separated by '&'
// or ';', '+' as space; the last value of a repeated key wins.
func parseQuery(q string) map[string]string {
	out := map[string]string{}
	for _, pair := range strings.FieldsFunc(q, func(r rune) bool { return r == '&' || r == ';' }) {
		k, v, _ := strings.Cut(pair, "=")
		ku, err1 := url.QueryUnescape(k)
		vu, err2 := url.QueryUnescape(v)
		if err1 != nil {
			ku = k
		}
		if err2 != nil {
			vu = v
		}
		out[ku] = vu
	}
	return out
}

// headers returns the HTTP_<NAME> parameters (add_http_headers), in name order.
func (s *Source) headers(r *http.Request) []buffer.Field {
	if !s.cfg.AddHTTPHeaders {
		return nil
	}
	names := make([]string, 0, len(r.Header)+1)
	for k := range r.Header {
		names = append(names, k)
	}
	names = append(names, "Host")
	out := make([]buffer.Field, 0, len(names))
	for _, k := range sortedStrings(names) {
		v := r.Header.Get(k)
		if k == "Host" {
			v = r.Host
		}
		out = append(out, buffer.Field{Key: "HTTP_" + strings.ToUpper(strings.ReplaceAll(k, "-", "_")), Value: buffer.Str([]byte(v))})
	}
	return out
}

func sortedStrings(s []string) []string {
	m := make(map[string]struct{}, len(s))
	for _, v := range s {
		m[v] = struct{}{}
	}
	return slices.Sorted(maps.Keys(m))
}

// remoteAddr is the client address, or X-Forwarded-For's first entry.
func (s *Source) remoteAddr(r *http.Request) string {
	if !s.cfg.AddRemoteAddr {
		return ""
	}
	if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
		first, _, _ := strings.Cut(xff, ",")
		return first
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// records decodes the json, ndjson or msgpack parameter into records.
func (s *Source) records(params map[string]string, headers []buffer.Field, remote, tag string) ([]buffer.Record, error) {
	var docs []buffer.Value
	switch {
	case params["msgpack"] != "":
		return nil, errors.New("the msgpack parameter is not supported by logship (send json)")
	case params["json"] != "":
		v, err := buffer.ParseJSONAsRuby([]byte(params["json"]))
		if err != nil {
			return nil, fmt.Errorf("invalid json: %w", err)
		}
		docs = append(docs, v)
	case params["ndjson"] != "":
		for _, line := range strings.Split(params["ndjson"], "\n") {
			line = strings.TrimSuffix(line, "\r")
			if line == "" {
				continue
			}
			v, err := buffer.ParseJSONAsRuby([]byte(line))
			if err != nil {
				return nil, fmt.Errorf("invalid ndjson line: %w", err)
			}
			docs = append(docs, v)
		}
	default:
		return nil, errors.New("'json', 'ndjson' or 'msgpack' parameter is required")
	}
	now := s.now().UnixNano()
	paramTime, hasParamTime := int64(0), false
	if t, ok := params["time"]; ok {
		// Ruby's to_f: junk is 0, which means now.
		if ns, ok := secondsToNanos(t); ok && ns != 0 {
			paramTime, hasParamTime = ns, true
		} else {
			paramTime, hasParamTime = now, true
		}
	}
	var out []buffer.Record
	for _, d := range docs {
		items := []buffer.Value{d}
		batched := false
		if d.Kind == buffer.Array {
			items, batched = nil, true
			for _, k := range d.Kids {
				items = append(items, k.Value)
			}
		}
		for _, it := range items {
			if it.Kind == buffer.Raw && string(it.Bytes) == "null" {
				continue // Fluentd skips a nil record
			}
			if it.Kind != buffer.Map {
				return nil, fmt.Errorf("a record must be a JSON object, not %s", kindName(it))
			}
			fields := it.Kids
			t := now
			if hasParamTime {
				t = paramTime
			}
			// The record's own "time" (float seconds) is taken and removed:
			// in v1 unless the time parameter is given; in v0.12 only for the
			// records of an array, before the time parameter.
			if i := fields.Index("time"); i >= 0 && ((s.cfg.TimeFromRecord && !hasParamTime) || (!s.cfg.TimeFromRecord && batched)) {
				rt, err := recordTime(fields[i].Value)
				if err != nil {
					return nil, err
				}
				fields, t = fields.Delete("time"), rt
			}
			for _, h := range headers {
				fields = fields.Set(h.Key, h.Value)
			}
			if s.cfg.AddQueryParams {
				for _, k := range slices.Sorted(maps.Keys(params)) {
					if strings.HasPrefix(k, "QUERY_") {
						fields = fields.Set(k, buffer.Str([]byte(params[k])))
					}
				}
			}
			if s.cfg.AddRemoteAddr {
				fields = fields.Set("REMOTE_ADDR", buffer.Str([]byte(remote)))
			}
			if s.cfg.SecondPrecision {
				t -= t % int64(time.Second)
			}
			out = append(out, buffer.Record{Time: t, Tag: tag, Fields: fields})
		}
	}
	return out, nil
}

// recordTime reads a record's "time": float seconds, as a number or a string.
func recordTime(v buffer.Value) (int64, error) {
	if v.Kind != buffer.Raw && v.Kind != buffer.String {
		return 0, fmt.Errorf("invalid time value %s", kindName(v))
	}
	ns, ok := secondsToNanos(string(v.Bytes))
	if !ok {
		return 0, fmt.Errorf("invalid time value %q", v.Bytes)
	}
	return ns, nil
}

// secondsToNanos converts decimal seconds ("1700000000.25") to nanoseconds
// exactly; other float forms go through float64.
func secondsToNanos(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > math.MaxInt64/1e9 {
		return 0, false
	}
	whole, frac, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	w, err1 := strconv.ParseInt(whole, 10, 64)
	if err1 != nil || strings.ContainsAny(frac, "eE+-") {
		return int64(f * 1e9), true
	}
	frac = (frac + "000000000")[:9]
	n, err2 := strconv.ParseInt(frac, 10, 64)
	if err2 != nil {
		return int64(f * 1e9), true
	}
	ns := w*1e9 + n
	if strings.HasPrefix(s, "-") {
		ns = -ns
	}
	return ns, true
}

func kindName(v buffer.Value) string {
	switch v.Kind {
	case buffer.String:
		return "a string"
	case buffer.Array:
		return "an array"
	case buffer.Map:
		return "an object"
	}
	return string(v.Bytes)
}

// originAllowed applies cors_allow_origins ("*" anything; "a*b" prefix and
// suffix).
func (s *Source) originAllowed(origin string) bool {
	for _, o := range s.cfg.CORSAllowOrigins {
		if o == "*" {
			return true
		}
	}
	if origin == "" {
		return false
	}
	for _, o := range s.cfg.CORSAllowOrigins {
		if o == origin {
			return true
		}
		if o == "" {
			continue
		}
		pre, suf, _ := strings.Cut(o, "*")
		if strings.Contains(o, "*") && strings.HasPrefix(origin, pre) && strings.HasSuffix(origin, suf) {
			return true
		}
	}
	return false
}

func (s *Source) corsHeaders(w http.ResponseWriter, origin string) {
	if s.cfg.CORSAllowOrigins == nil {
		return
	}
	for _, o := range s.cfg.CORSAllowOrigins {
		if o == "*" {
			w.Header().Set("Access-Control-Allow-Origin", "*")
			return
		}
	}
	if s.originAllowed(origin) {
		w.Header().Set("Access-Control-Allow-Origin", origin)
		if s.cfg.CORSAllowCredentials {
			w.Header().Set("Access-Control-Allow-Credentials", "true")
		}
	}
}

// preflight answers a CORS OPTIONS request (POST only, as in_http).
func (s *Source) preflight(w http.ResponseWriter, r *http.Request, origin string) {
	if s.cfg.CORSAllowOrigins == nil || r.Header.Get("Access-Control-Request-Method") != http.MethodPost || !s.originAllowed(origin) {
		s.fail(w, http.StatusForbidden, "")
		return
	}
	w.Header().Set("Access-Control-Allow-Methods", "POST")
	w.Header().Set("Access-Control-Allow-Headers", r.Header.Get("Access-Control-Request-Headers"))
	s.corsHeaders(w, origin)
	w.WriteHeader(http.StatusOK)
}

var (
	descRecords = prometheus.NewDesc("logship_http_records_total",
		"Records the http source accepted and handed to the pipeline.", []string{"source"}, nil)
	descDropped = prometheus.NewDesc("logship_http_dropped_records_total",
		"Health records the http source dropped because the pipeline was back-pressured (its queue was full).", []string{"source"}, nil)
	descBad = prometheus.NewDesc("logship_http_bad_requests_total",
		"Requests the http source answered with a 4xx status.", []string{"source"}, nil)
)

// Describe implements plugin.Collector.
func (s *Source) Describe(ch chan<- *prometheus.Desc) {
	ch <- descRecords
	ch <- descDropped
	ch <- descBad
}

// Collect implements plugin.Collector.
func (s *Source) Collect(name string, ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descRecords, prometheus.CounterValue, float64(s.accepted.Load()), name)
	ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(s.dropped.Load()), name)
	ch <- prometheus.MustNewConstMetric(descBad, prometheus.CounterValue, float64(s.bad.Load()), name)
}

var (
	_ plugin.SourceConfig = (*Config)(nil)
	_ plugin.Source       = (*Source)(nil)
	_ plugin.Collector    = (*Source)(nil)
)
