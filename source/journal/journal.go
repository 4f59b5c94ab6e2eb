// Package journal is fluent-plugin-systemd's in_systemd: journald entries,
// read through journalctl (see Source).
package journal

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"logship/buffer"
	"logship/internal/atomicfile"
	"logship/plugin"
)

// DefaultPath is the journal directory fluent-plugin-systemd reads.
const DefaultPath = "/var/log/journal"

// Config is fluent-plugin-systemd's in_systemd's configuration.
type Config struct {
	// Path is the journal directory (DefaultPath).
	Path string
	// Matches are the journal matches: entries matching every Match of any
	// one group (AND within a group, OR between groups; several values of
	// one field within a group are ORed, as journald does). Empty: all.
	Matches [][]Match
	// ReadFromHead starts at the oldest entry when there is no cursor
	// (default: new entries only).
	ReadFromHead bool
	Tag          string
	// CursorFile is logship's own cursor ({"journal":"<cursor>"}, written
	// atomically), under the state directory.
	CursorFile string
	// FluentdCursorFile is the cursor Fluentd kept (<storage> path: JSON;
	// v0.12 pos_file: the bare cursor), read once when CursorFile does not
	// exist, so a migrated node resumes where Fluentd stopped. "" none.
	FluentdCursorFile string
	// Entry transforms the field names (the <entry> section).
	FieldMap               []FieldMapping
	FieldMapStrict         bool
	FieldsStripUnderscores bool
	FieldsLowercase        bool
	// SecondPrecision truncates event times to whole seconds (v0.12).
	SecondPrecision bool
}

// Match is one FIELD=value journal match.
type Match struct{ Field, Value string }

// FieldMapping maps one journal field onto one or more record keys.
type FieldMapping struct {
	From string
	To   []string
}

// NewSource implements plugin.SourceConfig.
func (c *Config) NewSource(deps plugin.SourceDeps) (plugin.Source, error) {
	return New(*c, deps.Name, deps.Emit, deps.Log), nil
}

// Source is fluent-plugin-systemd's in_systemd, reading the journal
// through `journalctl --output=json --follow` (logship is a static binary and
// does not link libsystemd; the journal file format with its compressed data
// objects is not re-implemented). When journalctl or the journal directory
// is absent (the distroless image has no journalctl), the source logs one
// warning and runs idle.
//
// Records are what fluent-plugin-systemd emits: the entry's fields (trusted
// fields keep their leading '_'; journalctl's "__" address fields such as
// __CURSOR are not fields), the event time is the entry's realtime
// timestamp, then the <entry> transforms (field_map, field_map_strict,
// fields_strip_underscores, fields_lowercase). A field journalctl prints as
// an array of byte values (binary) becomes the string of those bytes; a field
// repeated in one entry keeps its last value, as the plugin's hash does.
// Field order is journalctl's, which may differ from libsystemd's
// enumeration order.
//
// The cursor of the last entry the pipeline accepted is saved atomically in
// CursorFile (at most once a second, and at exit); a restart resumes after
// it. On first start the cursor Fluentd saved (FluentdCursorFile) is used,
// so the migration neither repeats nor skips entries. Like Fluentd, the
// cursor advances when the pipeline accepts the records (buffered), not when
// they are delivered.
type Source struct {
	cfg  Config
	name string
	emit func(ctx context.Context, recs []buffer.Record) error
	log  *zap.Logger
	// bin is the journalctl command (looked up in PATH).
	bin string
	// retryWait is the pause before restarting a failed journalctl.
	retryWait time.Duration

	cursor    string // last accepted entry
	savedAt   time.Time
	saved     string
	records   atomic.Uint64
	bad       atomic.Uint64
	restarts  atomic.Uint64
	available atomic.Int64
}

// maxJournalBatch bounds the records emitted together.
const maxJournalBatch = 1000

// New returns the source; journalctl starts when it runs.
func New(cfg Config, name string, emit func(context.Context, []buffer.Record) error, log *zap.Logger) *Source {
	return &Source{cfg: cfg, name: name, emit: emit, log: log, bin: "journalctl", retryWait: time.Second}
}

// Run reads the journal until ctx is done (idle when it is unavailable).
func (j *Source) Run(ctx context.Context) error {
	bin, err := exec.LookPath(j.bin)
	if err == nil {
		if _, serr := os.Stat(j.cfg.Path); serr != nil {
			err = serr
		}
	}
	if err != nil {
		j.log.Warn(fmt.Sprintf("journald is not available: systemd source %s disabled", j.name),
			zap.String("journal", j.cfg.Path), zap.Error(err))
		<-ctx.Done()
		return nil
	}
	j.available.Store(1)
	defer j.available.Store(0)
	if err := j.loadCursor(); err != nil {
		return err
	}
	wait := j.retryWait
	for {
		started := time.Now()
		err := j.follow(ctx, bin)
		if ctx.Err() != nil {
			return j.saveCursor()
		}
		j.restarts.Add(1)
		if time.Since(started) > time.Minute {
			wait = j.retryWait
		}
		j.log.Warn("journalctl stopped; restarting", zap.Error(err), zap.Duration("in", wait))
		select {
		case <-ctx.Done():
			return j.saveCursor()
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// args are journalctl's arguments for the current cursor.
func (j *Source) args() []string {
	// --merge: since systemd 251 --follow implies --boot (current boot
	// only), which would skip the older boots read_from_head and a saved
	// cursor ask for; --merge turns the implication off (it has no other
	// effect with --directory).
	args := []string{"--directory=" + j.cfg.Path, "--output=json", "--all", "--follow", "--merge", "--no-pager"}
	switch {
	case j.cursor != "":
		args = append(args, "--after-cursor="+j.cursor, "--no-tail")
	case j.cfg.ReadFromHead:
		args = append(args, "--no-tail")
	default:
		args = append(args, "--lines=0")
	}
	for i, group := range j.cfg.Matches {
		if i > 0 {
			args = append(args, "+")
		}
		for _, m := range group {
			args = append(args, m.Field+"="+m.Value)
		}
	}
	return args
}

// follow runs journalctl once, emitting its entries until it exits or ctx is
// done.
func (j *Source) follow(ctx context.Context, bin string) error {
	cmd := exec.CommandContext(ctx, bin, j.args()...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	var stderr strings.Builder
	cmd.Stderr = &limitedWriter{w: &stderr, n: 4096}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("journalctl: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("journalctl: %w", err)
	}
	usedCursor := j.cursor
	emitted, rerr := j.read(ctx, bufio.NewReaderSize(out, 256<<10))
	werr := cmd.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if rerr == nil {
		rerr = werr
	}
	msg := strings.TrimSpace(stderr.String())
	if usedCursor != "" && emitted == 0 && werr != nil && strings.Contains(msg, "cursor") {
		// Fluentd falls back to read_from_head/tail when its cursor cannot
		// be sought.
		j.log.Warn("journal cursor not usable; reading from the configured start instead",
			zap.String("cursor", usedCursor), zap.String("journalctl", msg))
		j.cursor = ""
	}
	if msg != "" {
		return fmt.Errorf("%w: %s", rerr, msg)
	}
	return rerr
}

// read decodes journalctl's JSON lines and emits them in batches (a batch
// ends when no more output is buffered, or at maxJournalBatch).
func (j *Source) read(ctx context.Context, r *bufio.Reader) (int, error) {
	var batch []buffer.Record
	var lastCursor string
	emitted := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := j.emit(ctx, batch); err != nil {
			return err
		}
		j.records.Add(uint64(len(batch)))
		emitted += len(batch)
		clear(batch)
		batch = batch[:0]
		j.cursor = lastCursor
		return j.maybeSaveCursor()
	}
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			rec, cursor, ok := j.record(line)
			if ok {
				batch = append(batch, rec)
				lastCursor = cursor
			} else {
				j.bad.Add(1)
			}
		}
		if err != nil {
			if ferr := flush(); ferr != nil {
				return emitted, ferr
			}
			if errors.Is(err, io.EOF) {
				return emitted, nil
			}
			return emitted, err
		}
		if len(batch) >= maxJournalBatch || r.Buffered() == 0 {
			if err := flush(); err != nil {
				return emitted, err
			}
		}
	}
}

// record converts one journalctl JSON line.
func (j *Source) record(line []byte) (buffer.Record, string, bool) {
	v, err := buffer.ParseJSON(line)
	if err != nil || v.Kind != buffer.Map {
		return buffer.Record{}, "", false
	}
	var cursor string
	var ts int64 = -1
	entry := make(buffer.Fields, 0, len(v.Kids))
	for _, kv := range v.Kids {
		switch kv.Key {
		case "__CURSOR":
			cursor = string(kv.Value.Bytes)
			continue
		case "__REALTIME_TIMESTAMP":
			if us, err := strconv.ParseInt(string(kv.Value.Bytes), 10, 64); err == nil {
				ts = us * 1000
			}
			continue
		}
		if strings.HasPrefix(kv.Key, "__") {
			continue
		}
		val, ok := journalValue(kv.Value)
		if !ok {
			continue
		}
		entry = entry.Set(kv.Key, val)
	}
	if cursor == "" || ts < 0 {
		return buffer.Record{}, "", false
	}
	if j.cfg.SecondPrecision {
		ts -= ts % int64(time.Second)
	}
	return buffer.Record{Time: ts, Tag: j.cfg.Tag, Fields: j.mutate(entry)}, cursor, true
}

// journalValue converts journalctl's JSON value of a field: a string; an
// array of byte values (binary data); an array of those (a repeated field:
// the last one); null (a field over journalctl's size limit: skipped).
func journalValue(v buffer.Value) (buffer.Value, bool) {
	switch v.Kind {
	case buffer.String:
		return v, true
	case buffer.Array:
		if len(v.Kids) == 0 {
			return buffer.Str(nil), true
		}
		if v.Kids[0].Value.Kind == buffer.Raw && isDigits(v.Kids[0].Value.Bytes) {
			b := make([]byte, 0, len(v.Kids))
			for _, k := range v.Kids {
				n, err := strconv.Atoi(string(k.Value.Bytes))
				if err != nil || n < 0 || n > 255 {
					return buffer.Value{}, false
				}
				b = append(b, byte(n))
			}
			return buffer.Str(b), true
		}
		return journalValue(v.Kids[len(v.Kids)-1].Value)
	case buffer.Raw:
		if string(v.Bytes) == "null" {
			return buffer.Value{}, false
		}
		return buffer.Str(v.Bytes), true
	}
	return buffer.Value{}, false
}

func isDigits(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// mutate applies the <entry> transforms as fluent-plugin-systemd's
// SystemdEntryMutator does.
func (j *Source) mutate(entry buffer.Fields) buffer.Fields {
	c := &j.cfg
	if len(c.FieldMap) == 0 && !c.FieldMapStrict && !c.FieldsStripUnderscores && !c.FieldsLowercase {
		return entry
	}
	// Mapped fields: each destination (in order of first mention) joins the
	// values of its present sources with spaces.
	var mapped buffer.Fields
	var dsts []string
	for _, m := range c.FieldMap {
		for _, d := range m.To {
			if !slices.Contains(dsts, d) {
				dsts = append(dsts, d)
			}
		}
	}
	for _, d := range dsts {
		var vals [][]byte
		for _, m := range c.FieldMap {
			if !slices.Contains(m.To, d) {
				continue
			}
			if v, ok := entry.Get(m.From); ok {
				vals = append(vals, v.Bytes)
			}
		}
		switch len(vals) {
		case 0:
		case 1:
			mapped = mapped.Set(d, buffer.Str(vals[0]))
		default:
			mapped = mapped.Set(d, buffer.Str(joinBytes(vals)))
		}
	}
	if c.FieldMapStrict {
		return mapped
	}
	for _, kv := range entry {
		if j.mapsFrom(kv.Key) {
			continue
		}
		k := kv.Key
		if c.FieldsStripUnderscores {
			k = strings.TrimLeft(k, "_")
		}
		if c.FieldsLowercase {
			k = strings.ToLower(k)
		}
		if old, ok := mapped.Get(k); ok {
			mapped = mapped.Set(k, buffer.Str(joinBytes([][]byte{kv.Value.Bytes, old.Bytes})))
			continue
		}
		mapped = mapped.Set(k, kv.Value)
	}
	return mapped
}

func (j *Source) mapsFrom(field string) bool {
	for _, m := range j.cfg.FieldMap {
		if m.From == field {
			return true
		}
	}
	return false
}

func joinBytes(vals [][]byte) []byte {
	var b []byte
	for i, v := range vals {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, v...)
	}
	return b
}

// journalCursor is the cursor file's content, the shape of Fluentd's local
// storage ({"journal": "<cursor>"}).
type journalCursor struct {
	Journal string `json:"journal"`
}

// loadCursor reads logship's cursor, else Fluentd's (JSON storage or a v0.x
// pos_file holding the bare cursor).
func (j *Source) loadCursor() error {
	if c, err := readCursorFile(j.cfg.CursorFile); err == nil {
		j.cursor, j.saved = c, c
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("systemd source %s: cursor: %w", j.name, err)
	}
	if j.cfg.FluentdCursorFile != "" {
		c, err := readCursorFile(j.cfg.FluentdCursorFile)
		switch {
		case err == nil && c != "":
			j.cursor = c
			j.log.Info("resuming the journal where Fluentd stopped", zap.String("fluentd_cursor_file", j.cfg.FluentdCursorFile))
		case err != nil && !errors.Is(err, os.ErrNotExist):
			j.log.Warn("Fluentd's journal cursor not readable; starting as configured", zap.Error(err))
		}
	}
	return nil
}

func readCursorFile(path string) (string, error) {
	if path == "" {
		return "", os.ErrNotExist
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	t := strings.TrimSpace(string(b))
	if strings.HasPrefix(t, "{") {
		var c journalCursor
		if err := json.Unmarshal([]byte(t), &c); err != nil {
			return "", fmt.Errorf("%s: %w", path, err)
		}
		return c.Journal, nil
	}
	return t, nil
}

// maybeSaveCursor saves the cursor at most once a second.
func (j *Source) maybeSaveCursor() error {
	if time.Since(j.savedAt) < time.Second {
		return nil
	}
	return j.saveCursor()
}

// saveCursor writes the cursor atomically (temp file, fsync, rename,
// directory fsync).
func (j *Source) saveCursor() error {
	if j.cursor == "" || j.cursor == j.saved || j.cfg.CursorFile == "" {
		return nil
	}
	data, err := json.Marshal(journalCursor{Journal: j.cursor})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(j.cfg.CursorFile), 0o755); err != nil {
		return fmt.Errorf("systemd source %s: save cursor: %w", j.name, err)
	}
	if err := atomicfile.Write(j.cfg.CursorFile, data, 0o600); err != nil {
		return fmt.Errorf("systemd source %s: save cursor: %w", j.name, err)
	}
	j.saved, j.savedAt = j.cursor, time.Now()
	return nil
}

// limitedWriter keeps the first n bytes written to it.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}

var (
	descRecords = prometheus.NewDesc("logship_journal_records_total",
		"Journal entries the systemd source handed to the pipeline.", []string{"source"}, nil)
	descBad = prometheus.NewDesc("logship_journal_bad_entries_total",
		"journalctl output lines the systemd source could not decode (skipped).", []string{"source"}, nil)
	descRestarts = prometheus.NewDesc("logship_journal_reader_restarts_total",
		"Times the journalctl reader exited and was restarted.", []string{"source"}, nil)
	descUp = prometheus.NewDesc("logship_journal_available",
		"1 when the systemd source can read the journal (journalctl found), 0 when it runs idle.", []string{"source"}, nil)
)

// Describe implements plugin.Collector.
func (j *Source) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRecords, descBad, descRestarts, descUp} {
		ch <- d
	}
}

// Collect implements plugin.Collector.
func (j *Source) Collect(name string, ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descRecords, prometheus.CounterValue, float64(j.records.Load()), name)
	ch <- prometheus.MustNewConstMetric(descBad, prometheus.CounterValue, float64(j.bad.Load()), name)
	ch <- prometheus.MustNewConstMetric(descRestarts, prometheus.CounterValue, float64(j.restarts.Load()), name)
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, float64(j.available.Load()), name)
}

var (
	_ plugin.SourceConfig = (*Config)(nil)
	_ plugin.Source       = (*Source)(nil)
	_ plugin.Collector    = (*Source)(nil)
)
