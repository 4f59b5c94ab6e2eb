package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"logship/plugin"
	"logship/source/httpsource"
	"logship/source/journal"
	"logship/source/monitor"
	"logship/source/prometheus"
)

// HTTPSource is Fluentd's in_http (source/httpsource).
type HTTPSource = httpsource.Config

// MonitorAgentSource is Fluentd's in_monitor_agent (source/monitor):
// /api/plugins.json (and the LTSV /api/plugins) describing every plugin, and
// with Tag set one record per plugin every EmitInterval.
type MonitorAgentSource = monitor.Config

// PrometheusSource is fluent-plugin-prometheus' in_prometheus, the metrics
// endpoint (source/prometheus).
type PrometheusSource = prometheus.Config

// PrometheusMonitorSource is one of prometheus_monitor,
// prometheus_output_monitor and prometheus_tail_monitor (source/prometheus):
// Fluentd's metric families about its plugins, computed by logship at scrape
// time.
type PrometheusMonitorSource = prometheus.MonitorConfig

// MetricLabel is one constant metric label.
type MetricLabel = prometheus.Label

// SystemdSource is fluent-plugin-systemd's in_systemd (source/journal).
type SystemdSource = journal.Config

// JournalMatch is one FIELD=value journal match.
type JournalMatch = journal.Match

// FieldMapping maps one journal field onto one or more record keys.
type FieldMapping = journal.FieldMapping

// sourceMapper maps a <source> plugin's section onto its typed
// configuration, whose NewSource builds the runtime. false means the mapping
// failed (reported).
type sourceMapper func(b *builder, s *Section, typ string) (plugin.SourceConfig, bool)

// sourceTypes is the registry of <source> types other than tail.
func sourceTypes() map[string]sourceMapper {
	monitors := func(b *builder, s *Section, typ string) (plugin.SourceConfig, bool) {
		return nonNil(b.prometheusMonitorSource(s, typ))
	}
	return map[string]sourceMapper{
		"http":                      sourceWith((*builder).httpSource),
		"systemd":                   sourceWith((*builder).systemdSource),
		"monitor_agent":             sourceWith((*builder).monitorAgentSource),
		"prometheus":                sourceWith((*builder).prometheusSource),
		"prometheus_monitor":        monitors,
		"prometheus_output_monitor": monitors,
		"prometheus_tail_monitor":   monitors,
		"forward":                   (*builder).forwardSource,
	}
}

// sourceWith adapts a mapper that needs no @type.
func sourceWith[T any, P sourcePtr[T]](m func(*builder, *Section) P) sourceMapper {
	return func(b *builder, s *Section, _ string) (plugin.SourceConfig, bool) { return nonNil(m(b, s)) }
}

// sourcePtr is a pointer to a source's typed configuration.
type sourcePtr[T any] interface {
	*T
	plugin.SourceConfig
}

// nonNil returns c as a mapping result: false for a nil pointer.
func nonNil[T any, P sourcePtr[T]](c P) (plugin.SourceConfig, bool) {
	if c == nil {
		return nil, false
	}
	return c, true
}

// forwardSource refuses in_forward: receiving Fluentd's forward protocol
// (msgpack over TCP, with its handshake and acks) would make logship an
// aggregator; it reads the node's files itself instead.
func (b *builder) forwardSource(s *Section, _ string) (plugin.SourceConfig, bool) {
	b.d.Unsupported(s.Pos, "%s @type forward (receiving events from other Fluentd or Fluent Bit agents; logship reads the node's files itself, so a forwarder pointing here should be replaced by logship on that node)", s.Header())
	skipped(s)
	return nil, false
}

func (b *builder) httpSource(s *Section) *HTTPSource {
	g := b.reader(s)
	bind, port := g.listen(httpsource.DefaultPort)
	h := &HTTPSource{
		Bind: bind, Port: port,
		KeepaliveTimeout:     g.Duration("keepalive_timeout", httpsource.DefaultKeepaliveTimeout),
		AddHTTPHeaders:       g.Bool("add_http_headers", false),
		AddRemoteAddr:        g.Bool("add_remote_addr", false),
		AddQueryParams:       g.Bool("add_query_params", false),
		CORSAllowCredentials: g.Bool("cors_allow_credentials", false),
		RespondWithEmptyImg:  g.Bool("respond_with_empty_img", false),
		Use204Response:       g.Bool("use_204_response", false),
		GetEmits:             b.p.V012,
		TimeFromRecord:       !b.p.V012,
		SecondPrecision:      b.p.V012,
		Queue:                httpsource.DefaultQueue,
	}
	size, err := s.Size("body_size_limit", httpsource.DefaultBodySizeLimit)
	g.add(err)
	h.BodySizeLimit = size
	if s.Has("cors_allow_origins") {
		h.CORSAllowOrigins, err = s.Strings("cors_allow_origins", nil)
		g.add(err)
		if h.CORSAllowOrigins == nil {
			h.CORSAllowOrigins = []string{}
		}
	}
	if h.CORSAllowCredentials && (len(h.CORSAllowOrigins) == 0 || slices.Contains(h.CORSAllowOrigins, "*")) {
		g.add(errorAt(s.Pos, nil, "%s: cors_allow_credentials needs specific cors_allow_origins", s.Header()))
	}
	// Server tuning of Fluentd's event loop; Go's server has its own.
	accept(s, "backlog", "blocking_timeout", "dump_error_log")
	// Only the default format (json/msgpack parameters) is supported: a
	// custom parser reads the whole body as one line of another format.
	if f := s.Param("format"); f.Set() && f.Value != "default" {
		b.d.Unsupported(f.ValuePos, "%s format %s (only the default json parameter is)", s.Header(), f.Value)
		skipped(s)
		return nil
	}
	if ps := s.Section("parse"); ps != nil {
		if t, tp := ps.Type(); t != "" && t != "in_http" {
			b.d.Unsupported(tp.ValuePos, "%s <parse> @type %s (only the default json parameter is)", s.Header(), t)
			skipped(s)
			return nil
		}
		accept(ps, "time_key", "keep_time_key", "time_format", "time_type")
	}
	return valid(g, h)
}

func (b *builder) monitorAgentSource(s *Section) *MonitorAgentSource {
	g := b.reader(s)
	bind, port := g.listen(monitor.DefaultPort)
	m := &MonitorAgentSource{
		Bind: bind, Port: port,
		Tag:           s.String("tag", ""),
		EmitInterval:  g.Duration("emit_interval", monitor.DefaultEmitInterval),
		IncludeConfig: g.Bool("include_config", true),
		EmitConfig:    g.Bool("emit_config", false),
		IncludeRetry:  g.Bool("include_retry", true),
		V1:            !b.p.V012,
	}
	if m.EmitInterval <= 0 {
		g.add(errorAt(s.Pos, nil, "%s: emit_interval must be positive", s.Header()))
	}
	return valid(g, m)
}

func (b *builder) prometheusSource(s *Section) *PrometheusSource {
	g := b.reader(s)
	bind, port := g.listen(prometheus.DefaultPort)
	p := &PrometheusSource{
		Bind: bind, Port: port,
		MetricsPath:           s.String("metrics_path", prometheus.DefaultMetricsPath),
		AggregatedMetricsPath: s.String("aggregated_metrics_path", prometheus.DefaultAggregatedPath),
	}
	for _, path := range []string{p.MetricsPath, p.AggregatedMetricsPath} {
		if !strings.HasPrefix(path, "/") {
			g.add(errorAt(s.Pos, nil, "%s: metrics path %q must start with '/'", s.Header(), path))
		}
	}
	// Encoding is negotiated by the client (Accept-Encoding); TLS is not
	// supported (a TLS <transport> or <ssl> section is refused below).
	accept(s, "content_encoding")
	for _, name := range []string{"ssl", "transport"} {
		if sec := s.Section(name); sec != nil {
			if en, _ := sec.Bool("enable", false); name == "ssl" && !en {
				skipped(sec)
				continue
			}
			if t := sec.Arg; name == "transport" && (t == "" || t == "tcp") {
				skipped(sec)
				continue
			}
			b.d.Unsupported(sec.Pos, "%s %s (TLS)", s.Header(), sec.Header())
			skipped(s)
			return nil
		}
	}
	return valid(g, p)
}

func (b *builder) prometheusMonitorSource(s *Section, kind string) *PrometheusMonitorSource {
	g := b.reader(s)
	p := &PrometheusMonitorSource{Kind: kind, Interval: g.Duration("interval", prometheus.DefaultInterval)}
	if kind == "prometheus_output_monitor" {
		accept(s, "gauge_all")
	}
	for _, ls := range s.Sections("labels") {
		for _, prm := range ls.Params {
			prm.MarkUsed()
			if strings.HasPrefix(prm.Value, "$.") || strings.HasPrefix(prm.Value, "$[") {
				g.add(errorAt(prm.ValuePos, nil, "label %s: record accessor syntax is not available in %s", prm.Key, kind))
				continue
			}
			p.Labels = append(p.Labels, MetricLabel{Name: prm.Key, Value: prm.Value})
		}
	}
	return valid(g, p)
}

func (b *builder) systemdSource(s *Section) *SystemdSource {
	g := b.reader(s)
	sd := &SystemdSource{
		Path:            s.String("path", journal.DefaultPath),
		ReadFromHead:    g.Bool("read_from_head", false),
		Tag:             s.String("tag", ""),
		SecondPrecision: b.p.V012,
	}
	if sd.Tag == "" {
		b.d.Errorf(s.Pos, "%s: tag is required", s.Header())
		skipped(s)
		return nil
	}
	// matches (v1 plugin) or filters (its v0.x spelling, still accepted).
	mp := s.Param("matches")
	if !mp.Set() {
		if fp := s.Param("filters"); fp.Set() {
			mp = fp
		}
	}
	if mp.Set() {
		m, err := parseJournalMatches(mp)
		g.add(err)
		sd.Matches = m
	}
	// v0.x: strip_underscores at the source level.
	sd.FieldsStripUnderscores = g.Bool("strip_underscores", false)
	if es := s.Section("entry"); es != nil {
		eg := g.nested(es)
		if fm := es.Param("field_map"); fm.Set() {
			m, err := parseFieldMap(fm)
			eg.add(err)
			sd.FieldMap = m
		}
		sd.FieldMapStrict = eg.Bool("field_map_strict", false)
		sd.FieldsStripUnderscores = eg.Bool("fields_strip_underscores", sd.FieldsStripUnderscores)
		sd.FieldsLowercase = eg.Bool("fields_lowercase", false)
	}
	// Where Fluentd kept its cursor: <storage> path, or the v0.x pos_file.
	if st := s.Section("storage"); st != nil {
		if t, tp := st.Type(); t != "" && t != "local" {
			b.d.Unsupported(tp.ValuePos, "%s <storage> @type %s", s.Header(), t)
			skipped(s)
			return nil
		}
		sd.FluentdCursorFile = st.String("path", "")
		// persistent, usage: logship always persists its cursor (atomically,
		// in its state directory).
		accept(st, "persistent", "usage", "mode", "dir_mode", "pretty_print")
	}
	if sd.FluentdCursorFile == "" {
		sd.FluentdCursorFile = s.String("pos_file", "")
	} else {
		accept(s, "pos_file")
	}
	key := sd.FluentdCursorFile
	if key == "" {
		key = s.ID()
	}
	if key == "" {
		key = sd.Tag + " " + fmt.Sprint(sd.Matches)
	}
	sd.CursorFile = filepath.Join(b.opts.StateDir, "journal", strings.Trim(sanitize(key), "_")+".json")
	return valid(g, sd)
}

// parseJournalMatches decodes fluent-plugin-systemd's matches: a JSON array
// of objects whose values are strings (or numbers) or arrays of them.
func parseJournalMatches(p *Param) ([][]JournalMatch, error) {
	dec := json.NewDecoder(strings.NewReader(p.Value))
	dec.UseNumber()
	var raw []json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, p.errorf("want a JSON array of objects like [{\"_SYSTEMD_UNIT\": \"kubelet.service\"}]: %v", err)
	}
	var out [][]JournalMatch
	for _, r := range raw {
		kvs, err := orderedObject(r)
		if err != nil {
			return nil, p.errorf("want a JSON array of objects: %v", err)
		}
		var group []JournalMatch
		for _, kv := range kvs {
			if kv.key == "" || strings.ContainsAny(kv.key, "= \t") {
				return nil, p.errorf("invalid journal field name %q", kv.key)
			}
			vals, err := jsonStrings(kv.val)
			if err != nil {
				return nil, p.errorf("field %s: %v", kv.key, err)
			}
			for _, v := range vals {
				group = append(group, JournalMatch{Field: kv.key, Value: v})
			}
		}
		if len(group) > 0 {
			out = append(out, group)
		}
	}
	return out, nil
}

// parseFieldMap decodes <entry> field_map: {"SRC": "dst"} or {"SRC": ["a", "b"]}.
func parseFieldMap(p *Param) ([]FieldMapping, error) {
	kvs, err := orderedObject(json.RawMessage(p.Value))
	if err != nil {
		return nil, p.errorf("want a JSON object like {\"MESSAGE\": \"log\"}: %v", err)
	}
	out := make([]FieldMapping, 0, len(kvs))
	for _, kv := range kvs {
		to, err := jsonStrings(kv.val)
		if err != nil {
			return nil, p.errorf("field_map values must be strings or arrays of strings: %v", err)
		}
		out = append(out, FieldMapping{From: kv.key, To: to})
	}
	return out, nil
}

type jsonKV struct {
	key string
	val json.RawMessage
}

// orderedObject decodes a JSON object keeping its keys' order (a repeated
// key keeps its first position and its last value).
func orderedObject(data json.RawMessage) ([]jsonKV, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("not an object: %s", data)
	}
	var out []jsonKV
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k := kt.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		dup := false
		for i := range out {
			if out[i].key == k {
				out[i].val, dup = v, true
			}
		}
		if !dup {
			out = append(out, jsonKV{k, v})
		}
	}
	_, err = dec.Token()
	return out, err
}

// jsonStrings decodes a string, a number or an array of them.
func jsonStrings(v json.RawMessage) ([]string, error) {
	v = bytes.TrimSpace(v)
	if len(v) > 0 && v[0] == '[' {
		var raw []json.RawMessage
		if err := json.Unmarshal(v, &raw); err != nil {
			return nil, err
		}
		out := make([]string, 0, len(raw))
		for _, r := range raw {
			s, err := jsonScalar(r)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	s, err := jsonScalar(v)
	if err != nil {
		return nil, err
	}
	return []string{s}, nil
}

func jsonScalar(v json.RawMessage) (string, error) {
	v = bytes.TrimSpace(v)
	switch {
	case len(v) == 0:
		return "", fmt.Errorf("empty value")
	case v[0] == '"':
		var s string
		err := json.Unmarshal(v, &s)
		return s, err
	case v[0] == '{' || v[0] == '[' || string(v) == "null":
		return "", fmt.Errorf("%s is not a string", v)
	}
	return string(v), nil
}
