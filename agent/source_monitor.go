package agent

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"logship/buffer"
	"logship/config"
)

// monitorAgent is Fluentd's in_monitor_agent: /api/plugins.json (and the
// LTSV /api/plugins, /api/config(.json)) describe every plugin; with a tag it
// also emits one record per plugin every EmitInterval (R1.2: the seed ships
// them to CloudWatch).
//
// Record shape (v0.12): plugin_id, plugin_category, type, [config],
// output_plugin, and for buffered outputs buffer_queue_length,
// buffer_total_queued_size; retry_count (null for plugins without a buffer).
// logship's values: buffer_queue_length is the chunks queued (in flight and
// retrying included), buffer_total_queued_size the bytes staged and queued,
// retry_count the failed sends so far (Fluentd v0.12 resets it on success).
// The v1 shape adds emit_records, emit_count, write_count, rollback_count,
// slow_flush_count, buffer_stage_length, buffer_stage_byte_size,
// buffer_queue_byte_size and (include_retry) an empty "retry" object: logship
// does not expose its retry schedule.
type monitorAgent struct {
	cfg  config.MonitorAgentSource
	sh   *sourceShared
	emit func(ctx context.Context, recs []buffer.Record) error
	log  *zap.Logger
	now  func() time.Time

	mu sync.Mutex
	ln net.Listener
}

func newMonitorAgent(cfg config.MonitorAgentSource, sh *sourceShared, emit func(context.Context, []buffer.Record) error, log *zap.Logger) *monitorAgent {
	if cfg.EmitInterval <= 0 {
		cfg.EmitInterval = config.DefaultMonitorAgentEmitInterval
	}
	return &monitorAgent{cfg: cfg, sh: sh, emit: emit, log: log, now: time.Now}
}

func (m *monitorAgent) listen() (net.Listener, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ln != nil {
		return m.ln, nil
	}
	ln, err := net.Listen("tcp", listenAddr(m.cfg.Bind, m.cfg.Port))
	if err != nil {
		return nil, fmt.Errorf("monitor_agent: %w", err)
	}
	m.ln = ln
	return ln, nil
}

func (m *monitorAgent) run(ctx context.Context) error {
	ln, err := m.listen()
	if err != nil {
		return err
	}
	done := make(chan struct{})
	if m.cfg.Tag != "" {
		go func() {
			defer close(done)
			t := time.NewTicker(m.cfg.EmitInterval)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					if err := m.emitOnce(ctx); err != nil && ctx.Err() == nil {
						m.log.Warn("monitor_agent: records not emitted", zap.Error(err))
					}
				}
			}
		}()
	} else {
		close(done)
	}
	err = serveHTTP(ctx, ln, m.handler(), "monitor_agent", m.log)
	<-done
	return err
}

// emitOnce emits one record per plugin, all with the current time.
func (m *monitorAgent) emitOnce(ctx context.Context) error {
	now := m.now().UnixNano()
	if !m.cfg.V1 {
		now -= now % int64(time.Second)
	}
	plugins := m.sh.inventory()
	recs := make([]buffer.Record, 0, len(plugins))
	for _, p := range plugins {
		recs = append(recs, buffer.Record{Time: now, Tag: m.cfg.Tag, Fields: m.info(p, m.cfg.EmitConfig)})
	}
	if len(recs) == 0 {
		return nil
	}
	return m.emit(ctx, recs)
}

var (
	jsonNull  = buffer.RawJSON([]byte("null"))
	jsonTrue  = buffer.RawJSON([]byte("true"))
	jsonFalse = buffer.RawJSON([]byte("false"))
)

func jsonInt[T int | int64 | uint64](v T) buffer.Value {
	return buffer.RawJSON(strconv.AppendInt(nil, int64(v), 10))
}

// info is the monitor record of one plugin.
func (m *monitorAgent) info(p *fluentdPlugin, withConfig bool) buffer.Fields {
	f := buffer.Fields{
		{Key: "plugin_id", Value: buffer.Str([]byte(p.ID))},
		{Key: "plugin_category", Value: buffer.Str([]byte(p.Category))},
		{Key: "type", Value: buffer.Str([]byte(p.Type))},
	}
	if withConfig {
		var kids buffer.Fields
		for _, kv := range p.Config {
			kids = kids.Set(kv[0], buffer.Str([]byte(kv[1])))
		}
		f = append(f, buffer.Field{Key: "config", Value: buffer.Value{Kind: buffer.Map, Kids: kids}})
	}
	isOut := jsonFalse
	if p.Category == "output" {
		isOut = jsonTrue
	}
	f = append(f, buffer.Field{Key: "output_plugin", Value: isOut})
	var st buffer.Stats
	buffered := p.out != nil && p.out.buf != nil
	if buffered {
		st = p.out.buf.Stats()
		f = append(f,
			buffer.Field{Key: "buffer_queue_length", Value: jsonInt(st.QueuedChunks)},
			buffer.Field{Key: "buffer_total_queued_size", Value: jsonInt(st.TotalBytes)},
			buffer.Field{Key: "retry_count", Value: jsonInt(st.SendErrors)})
	} else if p.Category == "output" && m.cfg.V1 {
		f = append(f, buffer.Field{Key: "retry_count", Value: jsonInt(0)})
	} else {
		f = append(f, buffer.Field{Key: "retry_count", Value: jsonNull})
	}
	if m.cfg.V1 && p.Category == "output" {
		var emits, records uint64
		if p.counter != nil {
			emits, records = p.counter.emits.Load(), p.counter.records.Load()
		}
		f = append(f,
			buffer.Field{Key: "emit_records", Value: jsonInt(records)},
			buffer.Field{Key: "emit_count", Value: jsonInt(emits)},
			buffer.Field{Key: "write_count", Value: jsonInt(st.ChunksFlushed + st.SendErrors)},
			buffer.Field{Key: "rollback_count", Value: jsonInt(st.SendErrors)},
			buffer.Field{Key: "slow_flush_count", Value: jsonInt(st.SlowFlushes)})
		if buffered {
			f = append(f,
				buffer.Field{Key: "buffer_stage_length", Value: jsonInt(st.StagedChunks)},
				buffer.Field{Key: "buffer_stage_byte_size", Value: jsonInt(st.StagedBytes)},
				buffer.Field{Key: "buffer_queue_byte_size", Value: jsonInt(st.QueuedBytes)})
			if m.cfg.IncludeRetry {
				f = append(f, buffer.Field{Key: "retry", Value: buffer.Value{Kind: buffer.Map}})
			}
		}
	}
	return f
}

// handler serves the monitor_agent API.
func (m *monitorAgent) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/plugins.json", func(w http.ResponseWriter, r *http.Request) {
		list, code, msg := m.selectPlugins(r)
		w.Header().Set("Content-Type", "application/json")
		if code != http.StatusOK {
			w.WriteHeader(code)
			w.Write(buffer.AppendJSONString(nil, msg))
			return
		}
		b := append([]byte(nil), `{"plugins":[`...)
		for i, f := range list {
			if i > 0 {
				b = append(b, ',')
			}
			b = f.AppendJSON(b)
		}
		b = append(b, "]}"...)
		w.Write(b)
	})
	mux.HandleFunc("/api/plugins", func(w http.ResponseWriter, r *http.Request) {
		list, code, msg := m.selectPlugins(r)
		w.Header().Set("Content-Type", "text/plain")
		if code != http.StatusOK {
			w.WriteHeader(code)
			w.Write([]byte(msg))
			return
		}
		var b []byte
		for _, f := range list {
			first := true
			for _, kv := range f {
				if kv.Value.Kind == buffer.Map || kv.Value.Kind == buffer.Array {
					continue
				}
				if !first {
					b = append(b, '\t')
				}
				first = false
				b = append(b, kv.Key...)
				b = append(b, ':')
				if !(kv.Value.Kind == buffer.Raw && string(kv.Value.Bytes) == "null") {
					b = append(b, kv.Value.Bytes...)
				}
			}
			b = append(b, '\n')
		}
		w.Write(b)
	})
	config := func() buffer.Fields {
		return buffer.Fields{{Key: "pid", Value: jsonInt(os.Getpid())}, {Key: "ppid", Value: jsonInt(os.Getppid())}}
	}
	mux.HandleFunc("/api/config.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(config().AppendJSON(nil))
	})
	mux.HandleFunc("/api/config", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		var parts []string
		for _, kv := range config() {
			parts = append(parts, kv.Key+":"+string(kv.Value.Bytes))
		}
		w.Write([]byte(strings.Join(parts, "\t")))
	})
	return mux
}

// selectPlugins applies the query filters: tag (the output a tag routes
// to), @id/id, @type/type, with_config.
func (m *monitorAgent) selectPlugins(r *http.Request) ([]buffer.Fields, int, string) {
	q := r.URL.Query()
	withConfig := m.cfg.IncludeConfig
	if v, ok := q["with_config"]; ok && len(v) > 0 {
		withConfig = v[0] == "true" || v[0] == "yes" || v[0] == ""
	}
	first := func(names ...string) (string, bool) {
		for _, n := range names {
			if v, ok := q[n]; ok && len(v) > 0 {
				return v[0], true
			}
		}
		return "", false
	}
	plugins := m.sh.inventory()
	var keep func(p *fluentdPlugin) bool
	if tag, ok := first("tag"); ok {
		var match *config.Section
		if rt := m.sh.a.p.Router.Route(RootLabel, tag); rt != nil {
			match = rt.Match
		}
		keep = func(p *fluentdPlugin) bool { return match != nil && p.out != nil && p.out.cfg.Section == match }
	} else if id, ok := first("@id", "id"); ok {
		found := false
		keep = func(p *fluentdPlugin) bool {
			if !found && p.ID == id {
				found = true
				return true
			}
			return false
		}
	} else if typ, ok := first("@type", "type"); ok {
		keep = func(p *fluentdPlugin) bool { return p.Type == typ }
	}
	var out []buffer.Fields
	for _, p := range plugins {
		if keep == nil || keep(p) {
			out = append(out, m.info(p, withConfig))
		}
	}
	return out, http.StatusOK, ""
}

// serveHTTP serves h on ln until ctx is done.
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, what string, log *zap.Logger) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("%s server: %w", what, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn(what+" server shutdown", zap.Error(err))
	}
	return nil
}
