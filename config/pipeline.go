package config

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"logship/buffer"
	"logship/enrich"
	"logship/plugin"
	"logship/sink/cloudwatch"
	"logship/tail"
)

// DefaultStateDir is where logship keeps positions, file buffers and dead
// letters unless BuildOptions.StateDir says otherwise.
const DefaultStateDir = "/var/lib/logship"

// BuildOptions are the facts the mapping needs from outside the file.
type BuildOptions struct {
	// StateDir holds logship's own positions files, default file-buffer paths
	// and dead-letter directories. "" means DefaultStateDir.
	StateDir string
	// NodeName is this node's name (the NODE_NAME or K8S_NODE_NAME
	// environment variable); it becomes kubernetes.host.
	NodeName string
	// Location is the zone for times without an offset (Fluentd's local
	// time); nil means time.Local.
	Location *time.Location
	// Getenv reads the environment for defaults that Fluentd plugins take
	// from it (KUBERNETES_SERVICE_HOST/PORT); nil means os.Getenv.
	Getenv func(string) string
}

// Pipeline is a configuration mapped onto logship's stages: typed configs for
// every source, filter and output, plus the routing tables. It is plain data;
// the agent builds the running pipeline from it.
type Pipeline struct {
	Config *Config
	Router *Router
	// V012 is true when the file is written for Fluentd v0.12 (the `type`
	// spelling, source-level `format`, flat buffer_* parameters): event times
	// are then whole seconds and the outputs behave as their v0.12-era
	// plugins did (see Output.CloudWatch.DropEmptyTopLevel, Filter.Kubernetes).
	V012    bool
	Sources []*Source
	// Filters and Outputs are keyed by their <filter> and <match> sections,
	// as Router routes return them.
	Filters map[*Section]*Filter
	Outputs map[*Section]*Output
	// Order lists the <filter> and <match> sections in file order (labels'
	// directives after the label's position).
	Order []*Section
}

// Source is one <source>.
type Source struct {
	Section *Section
	Type    string
	// Label is the @label the source emits into ("" for the top level).
	Label string
	// Tail is set for @type tail.
	Tail *TailSource
	// Plugin is the typed configuration of another source type, made by its
	// mapper in sourceTypes (plugins_sources.go); nil for tail.
	Plugin plugin.SourceConfig
}

// TailSource is an in_tail source.
type TailSource struct {
	Tail tail.Config
	// Tag is the tag parameter (with '*' expanded per file).
	Tag  string
	Line enrich.LineConfig
}

// Filter is one <filter>.
type Filter struct {
	Section    *Section
	Type       string
	Kubernetes *enrich.KubernetesConfig
	// KubeAPI says how the kubernetes_metadata filter reaches the API
	// server (its kubernetes_url, bearer_token_file, ca_file, client_cert,
	// client_key, verify_ssl and secret_dir options); KubePods configures the
	// node's pod cache. Both are set with Kubernetes.
	KubeAPI  *enrich.ClientConfig
	KubePods *enrich.PodsConfig
	// Plugin is the configuration of another filter type (see
	// plugins_filters.go).
	Plugin enrich.FilterConfig
}

// Output is one <match>.
type Output struct {
	Section *Section
	Type    string
	// ID names the output in metrics and paths (@id, or the type and the
	// match pattern).
	ID string
	// Plugin is the output's typed configuration, made by its mapper in
	// outputTypes (plugins_outputs.go); the agent builds the runtime from it.
	Plugin plugin.OutputConfig
	// CloudWatch and Buffer are set for cloudwatch_logs: they point into
	// Plugin (a *cwlogs.Config), for the tools that work with CloudWatch
	// records themselves (replay's dead letters, the deploy checks).
	CloudWatch *cloudwatch.Config
	Buffer     *buffer.Config
}

// Build maps c onto logship's stages. Problems are recorded in c.Diag (with
// file:line:col); Build returns c.Diag.Err() after also recording warnings
// for every parameter it did not use.
func Build(c *Config, opts BuildOptions) (*Pipeline, error) {
	if opts.StateDir == "" {
		opts.StateDir = DefaultStateDir
	}
	if opts.Location == nil {
		opts.Location = time.Local
	}
	rt, err := NewRouter(c)
	if err != nil {
		c.Diag.Add(c.Root.Pos, err)
		return nil, c.Diag.Err()
	}
	p := &Pipeline{Config: c, Router: rt, V012: isV012(c.Root),
		Filters: map[*Section]*Filter{}, Outputs: map[*Section]*Output{}}
	b := &builder{p: p, opts: opts, d: c.Diag}
	for _, s := range c.Directives("system") {
		s.MarkUsed()
		for _, prm := range s.Params {
			prm.MarkUsed() // log_level, workers, root_dir…: logship has its own flags
		}
		for _, n := range s.Nested {
			n.MarkUsed()
		}
	}
	for _, s := range c.Directives("source") {
		if src := b.source(s); src != nil {
			p.Sources = append(p.Sources, src)
		}
	}
	var walk func(secs []*Section)
	walk = func(secs []*Section) {
		for _, s := range secs {
			switch s.Name {
			case "filter":
				if f := b.filter(s); f != nil {
					p.Filters[s] = f
					p.Order = append(p.Order, s)
				}
			case "match":
				if o := b.output(s); o != nil {
					p.Outputs[s] = o
					p.Order = append(p.Order, s)
				}
			case "label":
				walk(s.Nested)
			}
		}
	}
	walk(c.Root.Nested)
	c.ReportUnused()
	if err := c.Diag.Err(); err != nil {
		return nil, err
	}
	return p, nil
}

// isV012 reports whether the configuration is written for Fluentd v0.12
// (`type` without '@', buffer parameters at <match> level, `format` at
// <source> level, merge_json_log; see docs/fluentd-compat.md, "Dialects").
func isV012(root *Section) bool {
	v012 := false
	var walk func(s *Section)
	walk = func(s *Section) {
		for _, prm := range s.Params {
			switch {
			case prm.Key == "type" && (s.Name == "source" || s.Name == "match" || s.Name == "filter"):
				v012 = true
			case s.Name == "match" && strings.HasPrefix(prm.Key, "buffer_"):
				v012 = true
			case s.Name == "source" && prm.Key == "format":
				v012 = true
			case s.Name == "filter" && prm.Key == "merge_json_log":
				v012 = true
			}
		}
		for _, n := range s.Nested {
			walk(n)
		}
	}
	walk(root)
	return v012
}

type builder struct {
	p    *Pipeline
	opts BuildOptions
	d    *Diagnostics
}

// required returns the value of key, reporting at s when it is absent or
// empty.
func (b *builder) required(s *Section, key string) (string, bool) {
	v := s.String(key, "")
	if v == "" {
		b.d.Errorf(s.Pos, "%s: %s is required", s.Header(), key)
	}
	return v, v != ""
}

// skipped marks everything in s used: it was reported unsupported, and its
// parameters should not be reported again one by one.
func skipped(s *Section) {
	s.MarkUsed()
	for _, p := range s.Params {
		p.MarkUsed()
	}
	for _, n := range s.Nested {
		skipped(n)
	}
}

// accept marks parameters logship reads elsewhere or deliberately ignores
// (their behaviour is logship's own, see check-config).
func accept(s *Section, names ...string) {
	for _, n := range names {
		s.Param(n)
	}
}

func (b *builder) source(s *Section) *Source {
	typ, _ := s.Type()
	src := &Source{Section: s, Type: typ, Label: s.Label()}
	accept(s, "@id", "@log_level", "log_level")
	switch typ {
	case "tail":
		src.Tail = b.tailSource(s)
		if src.Tail == nil {
			return nil
		}
	default:
		m, ok := sourceTypes()[typ]
		if !ok {
			b.d.UnsupportedType(s)
			skipped(s)
			return nil
		}
		plugin, ok := m(b, s, typ)
		if !ok {
			return nil // known, but its mapping failed (reported)
		}
		src.Plugin = plugin
	}
	if b.p.Router.Source(s) == nil {
		return nil // NewRouter already reported the unknown label
	}
	return src
}

func (b *builder) tailSource(s *Section) *TailSource {
	ts := &TailSource{}
	tc := &ts.Tail
	delim := s.String("path_delimiter", ",")
	pathP := s.Param("path")
	if !pathP.Set() || strings.TrimSpace(pathP.Value) == "" {
		b.d.Errorf(s.Pos, "%s: path is required", s.Header())
		return nil
	}
	for _, p := range strings.Split(pathP.Value, delim) {
		if p = strings.TrimSpace(p); p != "" {
			tc.Paths = append(tc.Paths, p)
		}
	}
	var err error
	if tc.ExcludePaths, err = s.Strings("exclude_path", nil); err != nil {
		b.d.Add(s.Pos, err)
	}
	var ok bool
	if ts.Tag, ok = b.required(s, "tag"); !ok {
		return nil
	}
	posFile := s.String("pos_file", "")
	tc.FluentdPosFile = posFile
	tc.PositionsFile = b.positionsFile(s, posFile, tc.Paths)
	if tc.ReadFromHead, err = s.Bool("read_from_head", false); err != nil {
		b.d.Add(s.Pos, err)
	}
	if tc.RefreshInterval, err = s.Duration("refresh_interval", 0); err != nil {
		b.d.Add(s.Pos, err)
	}
	if tc.RotateWait, err = s.Duration("rotate_wait", 0); err != nil {
		b.d.Add(s.Pos, err)
	}
	if tc.LimitRecentlyModified, err = s.Duration("limit_recently_modified", 0); err != nil {
		b.d.Add(s.Pos, err)
	}
	if n, err := s.Size("max_line_size", 0); err != nil {
		b.d.Add(s.Pos, err)
	} else if n > 0 {
		tc.MaxLineSize = int(n)
	}
	if ts.Line.EmitUnmatched, err = s.Bool("emit_unmatched_lines", false); err != nil {
		b.d.Add(s.Pos, err)
	}
	ts.Line.PathKey = s.String("path_key", "")
	// Reading and watching are logship's own (batched reads, inotify plus
	// polling); these tune Fluentd's and have no effect.
	accept(s, "read_lines_limit", "enable_watch_timer", "enable_stat_watcher", "skip_refresh_on_startup",
		"open_on_every_update", "ignore_repeated_permission_error", "follow_inodes", "pos_file_compaction_interval",
		"encoding", "from_encoding", "glob_policy", "path_timezone", "read_bytes_limit_per_second")

	parse, ok := b.parse(s)
	if !ok {
		skipped(s)
		return nil
	}
	ts.Line.Parse = parse
	if parse.Type == "cri" || parse.Type == "json" || parse.Type == "multi_format" {
		// The tailer recognises docker json-file and CRI files by content
		// (whatever the paths: a node's logs may be mounted elsewhere) and
		// joins their runtime pieces (docker's 16 KiB pieces, CRI P/F);
		// other files' lines are flagged tail.FlagPlain and go through the
		// json parser as in Fluentd.
		ts.Line.Container = true
		tc.Format = tail.FormatAuto
	} else {
		tc.Format = tail.FormatNone
	}
	tag := ParseTailTag(ts.Tag)
	ts.Line.Tag = tag.Expand
	return ts
}

// positionsFile names logship's own positions file for a tail source: under
// the state directory, derived from the Fluentd pos_file path when there is
// one (so it is stable across restarts), else from @id or the paths.
func (b *builder) positionsFile(s *Section, posFile string, paths []string) string {
	key := posFile
	if key == "" {
		key = s.ID()
	}
	if key == "" {
		key = strings.Join(paths, ",")
	}
	name := strings.Trim(sanitize(key), "_")
	if len(name) > 80 {
		sum := sha256.Sum256([]byte(key))
		name = name[:60] + "-" + hex.EncodeToString(sum[:6])
	}
	return filepath.Join(b.opts.StateDir, "positions", name+".json")
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.':
			return r
		}
		return '_'
	}, s)
}

// parse reads a <parse> section, or the v0.12 source-level format
// parameters.
func (b *builder) parse(s *Section) (enrich.ParseConfig, bool) {
	pc := enrich.ParseConfig{Location: b.opts.Location, SecondPrecision: b.p.V012}
	ps := s.Section("parse")
	var typeP *Param
	if ps != nil {
		pc.Type, typeP = ps.Type()
		pc.Expression = ps.String("expression", "")
		if strings.HasPrefix(pc.Expression, "/") {
			if err := setRegexp(&pc, ps.Param("expression")); err != nil {
				b.d.Add(ps.Pos, err)
			}
		}
		var err error
		if v, err2 := ps.Bool("ignorecase", false); err2 == nil && v {
			pc.IgnoreCase = true
		} else if err2 != nil {
			b.d.Add(ps.Pos, err2)
		}
		if v, err2 := ps.Bool("multiline", false); err2 == nil && v {
			pc.Multiline = true
		} else if err2 != nil {
			b.d.Add(ps.Pos, err2)
		}
		pc.TimeKey = ps.String("time_key", "")
		pc.TimeFormat = ps.String("time_format", "")
		if pc.KeepTimeKey, err = ps.Bool("keep_time_key", pc.Type == "cri"); err != nil {
			b.d.Add(ps.Pos, err)
		}
		pc.MessageKey = ps.String("message_key", "")
		accept(ps, "time_type", "estimate_current_event", "types", "null_value_pattern", "null_empty_string",
			"localtime", "utc", "timezone", "json_parser", "time_format_fallbacks")
		if utc, _ := ps.Bool("utc", false); utc {
			pc.Location = time.UTC
		}
	} else {
		fp := s.Param("format")
		if !fp.Set() {
			b.d.Errorf(s.Pos, "%s: no <parse> section and no format parameter", s.Header())
			return pc, false
		}
		typeP = fp
		if strings.HasPrefix(fp.Value, "/") {
			if err := setRegexp(&pc, fp); err != nil {
				b.d.Add(fp.Pos, err)
				return pc, false
			}
			pc.Type = "regexp"
		} else {
			pc.Type = fp.Value
		}
		pc.TimeKey = s.String("time_key", "")
		pc.TimeFormat = s.String("time_format", "")
		var err error
		if pc.KeepTimeKey, err = s.Bool("keep_time_key", pc.Type == "cri"); err != nil {
			b.d.Add(s.Pos, err)
		}
		pc.MessageKey = s.String("message_key", "")
		accept(s, "time_type", "estimate_current_event", "types", "localtime", "utc")
	}
	switch pc.Type {
	case "json", "none", "regexp", "cri", "syslog":
	case "multiline", "kubernetes", "multiline_kubernetes":
		if !b.lineParse(s, ps, &pc) {
			return pc, false
		}
	case "multi_format":
		if !b.multiFormat(s, ps, &pc) {
			return pc, false
		}
	default:
		pos := s.Pos
		if typeP != nil {
			pos = typeP.ValuePos
		}
		b.d.Unsupported(pos, "parser %q in %s", pc.Type, s.Header())
		return pc, false
	}
	if pc.Type == "regexp" {
		if _, err := regexp.Compile(enrich.RubyRegexp(pc.Expression)); err != nil {
			pos := s.Pos
			if typeP != nil {
				pos = typeP.ValuePos
			}
			b.d.Errorf(pos, "regexp parser: %v", err)
			return pc, false
		}
	}
	return pc, true
}

// setRegexp sets pc's Expression and its /i and /m flags from p, a value
// written /pattern/flags.
func setRegexp(pc *enrich.ParseConfig, p *Param) error {
	pat, flags, err := p.Regexp()
	if err != nil {
		return err
	}
	pc.Expression = pat
	pc.IgnoreCase, pc.Multiline = strings.Contains(flags, "i"), strings.Contains(flags, "m")
	return nil
}

func (b *builder) filter(s *Section) *Filter {
	typ, typeP := s.Type()
	f := &Filter{Section: s, Type: typ}
	accept(s, "@id", "@log_level", "log_level")
	switch typ {
	case "kubernetes_metadata":
		kc := &enrich.KubernetesConfig{NodeName: b.opts.NodeName}
		legacy := b.p.V012 || (typeP != nil && typeP.Key == "type") || s.Has("merge_json_log") || s.Has("preserve_json_log")
		if legacy {
			kc.Dialect = enrich.Legacy
		}
		var err error
		get := func(key string, def bool) bool {
			v, err2 := s.Bool(key, def)
			if err2 != nil {
				err = err2
			}
			return v
		}
		kc.TagRegexp = s.String("tag_to_kubernetes_name_regexp", "")
		api := &enrich.ClientConfig{
			URL:             s.String("kubernetes_url", ""),
			BearerTokenFile: s.String("bearer_token_file", ""),
			CAFile:          s.String("ca_file", ""),
			ClientCert:      s.String("client_cert", ""),
			ClientKey:       s.String("client_key", ""),
			SecretDir:       s.String("secret_dir", ""),
			Getenv:          b.opts.Getenv,
		}
		api.InsecureSkipVerify = !get("verify_ssl", true)
		kc.MasterURL = api.MasterURL()
		kc.SkipLabels = get("skip_labels", false)
		kc.SkipContainerMetadata = get("skip_container_metadata", false)
		kc.SkipMasterURL = get("skip_master_url", false)
		kc.SkipNamespaceMetadata = get("skip_namespace_metadata", false)
		kc.DeDot = get("de_dot", legacy)
		kc.DeDotSeparator = s.String("de_dot_separator", "")
		kc.MergeJSONLog = get("merge_json_log", legacy)
		kc.PreserveJSONLog = get("preserve_json_log", true)
		if err != nil {
			b.d.Add(s.Pos, err)
		}
		if kc.AnnotationMatch, err = s.Strings("annotation_match", nil); err != nil {
			b.d.Add(s.Pos, err)
		}
		// Caching and watching are the pod cache's own (one node-scoped
		// informer, deleted pods kept for a grace period).
		accept(s, "watch", "cache_size", "cache_ttl", "apiVersion", "ssl_partial_chain", "ignore_nil",
			"watch_retry_interval", "watch_retry_exponential_backoff_base", "watch_retry_max_times",
			"include_namespace_metadata", "include_namespace_id", "allow_orphans", "orphaned_namespace_name",
			"orphaned_namespace_id", "lookup_from_k8s_field", "stats_interval", "open_timeout", "read_timeout",
			"skip_pod_labels", "skip_namespace_labels", "use_journal", "container_name_to_kubernetes_regexp",
			"de_slash", "de_slash_separator", "include_ownerrefs_metadata")
		if _, err := enrich.NewKubernetes(*kc, nil, nil); err != nil {
			b.d.Errorf(s.Pos, "%s: %v", s.Header(), err)
			return nil
		}
		f.Kubernetes = kc
		f.KubeAPI = api
		f.KubePods = &enrich.PodsConfig{NodeName: b.opts.NodeName, SkipNamespaces: kc.SkipNamespaceMetadata}
	default:
		fc, ok := b.pluginFilter(s, typ)
		if !ok {
			b.d.UnsupportedType(s)
			skipped(s)
			return nil
		}
		if fc == nil {
			return nil // known, but its mapping failed (reported)
		}
		f.Plugin = fc
	}
	return f
}

func (b *builder) output(s *Section) *Output {
	typ, _ := s.Type()
	o := &Output{Section: s, Type: typ, ID: s.ID()}
	if o.ID == "" {
		o.ID = typ + "_" + strings.Trim(sanitize(s.Arg), "_")
	}
	accept(s, "@log_level", "log_level")
	m, ok := outputTypes()[typ]
	if !ok {
		b.d.UnsupportedType(s)
		skipped(s)
		return nil
	}
	if !m(b, s, o) {
		return nil // known, but its mapping failed (reported)
	}
	return o
}
