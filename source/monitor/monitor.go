// Package monitor is Fluentd's in_monitor_agent (@type monitor_agent):
// /api/plugins.json (and the LTSV /api/plugins, /api/config(.json)) describe
// every plugin of the agent; with a tag it also emits one record per plugin
// every EmitInterval (R1.2: the seed ships them to CloudWatch). It reads the
// agent through plugin.Inventory.
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
package monitor

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"logship/buffer"
	"logship/plugin"
)

// Defaults of in_monitor_agent, as Fluentd defines them.
const (
	DefaultPort         = 24220
	DefaultEmitInterval = 60 * time.Second
)

// Config is in_monitor_agent's configuration.
type Config struct {
	Bind string
	// Port is the TCP port (DefaultPort).
	Port int
	// Tag, when set, emits the plugin records into the pipeline.
	Tag string
	// EmitInterval is the period of the records (DefaultEmitInterval).
	EmitInterval time.Duration
	// IncludeConfig adds each plugin's parameters to the HTTP answer
	// (default true); EmitConfig adds them to the emitted records (default
	// false).
	IncludeConfig bool
	EmitConfig    bool
	// IncludeRetry adds the v1 "retry" object (default true).
	IncludeRetry bool
	// V1 selects the Fluentd v1 record shape (emit_records, emit_count, …
	// added); false is the v0.12 shape.
	V1 bool
}

// NewSource implements plugin.SourceConfig.
func (c *Config) NewSource(deps plugin.SourceDeps) (plugin.Source, error) {
	s := New(*c, deps.Inventory, deps.Emit, deps.Log)
	if s.inv == nil {
		return nil, errors.New("monitor_agent: no plugin inventory")
	}
	return s, nil
}

// Source is a running monitor_agent.
type Source struct {
	cfg  Config
	inv  plugin.Inventory
	emit func(ctx context.Context, recs []buffer.Record) error
	log  *zap.Logger
	now  func() time.Time
	lis  plugin.Listener
}

// New returns the source; it listens when it runs.
func New(cfg Config, inv plugin.Inventory, emit func(context.Context, []buffer.Record) error, log *zap.Logger) *Source {
	if cfg.EmitInterval <= 0 {
		cfg.EmitInterval = DefaultEmitInterval
	}
	return &Source{cfg: cfg, inv: inv, emit: emit, log: log, now: time.Now}
}

func (s *Source) listen() (net.Listener, error) {
	return s.lis.Listen(plugin.ListenAddr(s.cfg.Bind, s.cfg.Port), "monitor_agent")
}

// Run serves the API, and with a tag emits the records, until ctx is done.
func (s *Source) Run(ctx context.Context) error {
	ln, err := s.listen()
	if err != nil {
		return err
	}
	done := make(chan struct{})
	if s.cfg.Tag != "" {
		go func() {
			defer close(done)
			t := time.NewTicker(s.cfg.EmitInterval)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					if err := s.emitOnce(ctx); err != nil && ctx.Err() == nil {
						s.log.Warn("monitor_agent: records not emitted", zap.Error(err))
					}
				}
			}
		}()
	} else {
		close(done)
	}
	err = plugin.ServeHTTP(ctx, ln, s.handler(), "monitor_agent", s.log)
	<-done
	return err
}

// emitOnce emits one record per plugin, all with the current time.
func (s *Source) emitOnce(ctx context.Context) error {
	now := s.now().UnixNano()
	if !s.cfg.V1 {
		now -= now % int64(time.Second)
	}
	plugins := s.inv.Plugins()
	recs := make([]buffer.Record, 0, len(plugins))
	for _, p := range plugins {
		recs = append(recs, buffer.Record{Time: now, Tag: s.cfg.Tag, Fields: s.info(p, s.cfg.EmitConfig)})
	}
	if len(recs) == 0 {
		return nil
	}
	return s.emit(ctx, recs)
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
func (s *Source) info(p plugin.PluginStatus, withConfig bool) buffer.Fields {
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
	st := p.Buffer
	if p.Buffered {
		f = append(f,
			buffer.Field{Key: "buffer_queue_length", Value: jsonInt(st.QueuedChunks)},
			buffer.Field{Key: "buffer_total_queued_size", Value: jsonInt(st.TotalBytes)},
			buffer.Field{Key: "retry_count", Value: jsonInt(st.SendErrors)})
	} else if p.Category == "output" && s.cfg.V1 {
		f = append(f, buffer.Field{Key: "retry_count", Value: jsonInt(0)})
	} else {
		f = append(f, buffer.Field{Key: "retry_count", Value: jsonNull})
	}
	if s.cfg.V1 && p.Category == "output" {
		f = append(f,
			buffer.Field{Key: "emit_records", Value: jsonInt(p.EmitRecords)},
			buffer.Field{Key: "emit_count", Value: jsonInt(p.Emits)},
			buffer.Field{Key: "write_count", Value: jsonInt(st.ChunksFlushed + st.SendErrors)},
			buffer.Field{Key: "rollback_count", Value: jsonInt(st.SendErrors)},
			buffer.Field{Key: "slow_flush_count", Value: jsonInt(st.SlowFlushes)})
		if p.Buffered {
			f = append(f,
				buffer.Field{Key: "buffer_stage_length", Value: jsonInt(st.StagedChunks)},
				buffer.Field{Key: "buffer_stage_byte_size", Value: jsonInt(st.StagedBytes)},
				buffer.Field{Key: "buffer_queue_byte_size", Value: jsonInt(st.QueuedBytes)})
			if s.cfg.IncludeRetry {
				f = append(f, buffer.Field{Key: "retry", Value: buffer.Value{Kind: buffer.Map}})
			}
		}
	}
	return f
}

// handler serves the monitor_agent API.
func (s *Source) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/plugins.json", func(w http.ResponseWriter, r *http.Request) {
		list := s.selectPlugins(r)
		w.Header().Set("Content-Type", "application/json")
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
		list := s.selectPlugins(r)
		w.Header().Set("Content-Type", "text/plain")
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
func (s *Source) selectPlugins(r *http.Request) []buffer.Fields {
	q := r.URL.Query()
	withConfig := s.cfg.IncludeConfig
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
	plugins := s.inv.Plugins()
	var keep func(i int, p plugin.PluginStatus) bool
	if tag, ok := first("tag"); ok {
		out, routed := s.inv.RouteOutput(tag)
		keep = func(i int, _ plugin.PluginStatus) bool { return routed && i == out }
	} else if id, ok := first("@id", "id"); ok {
		found := false
		keep = func(_ int, p plugin.PluginStatus) bool {
			if !found && p.ID == id {
				found = true
				return true
			}
			return false
		}
	} else if typ, ok := first("@type", "type"); ok {
		keep = func(_ int, p plugin.PluginStatus) bool { return p.Type == typ }
	}
	var out []buffer.Fields
	for i, p := range plugins {
		if keep == nil || keep(i, p) {
			out = append(out, s.info(p, withConfig))
		}
	}
	return out
}
