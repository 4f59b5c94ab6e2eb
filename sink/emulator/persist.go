package emulator

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// stateFile is the name of the persisted state in Config.DataDir.
const stateFile = "state.json"

// stateVersion is the format version of stateFile.
const stateVersion = 1

// Persisted form of state (stateFile). Events are kept compact.
type diskState struct {
	Version  int         `json:"version"`
	Seq      uint64      `json:"seq"`
	Requests uint64      `json:"requests"`
	Groups   []diskGroup `json:"groups,omitempty"`
}

type diskGroup struct {
	Name          string            `json:"name"`
	CreationTime  int64             `json:"creationTime"`
	RetentionDays int32             `json:"retentionInDays,omitempty"`
	Tags          map[string]string `json:"tags,omitempty"`
	Class         string            `json:"class"`
	KmsKeyID      string            `json:"kmsKeyId,omitempty"`
	Protection    bool              `json:"deletionProtection,omitempty"`
	Streams       []diskStream      `json:"streams,omitempty"`
	Filters       []diskFilter      `json:"filters,omitempty"`
}

type diskStream struct {
	Name          string     `json:"name"`
	CreationTime  int64      `json:"creationTime"`
	FirstEvent    int64      `json:"firstEvent"`
	LastEvent     int64      `json:"lastEvent"`
	LastIngestion int64      `json:"lastIngestion"`
	HasEvents     bool       `json:"hasEvents"`
	StoredBytes   int64      `json:"storedBytes"`
	EventCount    int64      `json:"eventCount"`
	UploadToken   uint64     `json:"uploadToken"`
	Events        diskEvents `json:"events,omitempty"`
}

// diskEvents are a stream's events, each as [timestamp, ingestionTime, seq,
// message]. The slice shares the stream's (append-only, immutable) events.
type diskEvents []storedEvent

func (es diskEvents) MarshalJSON() ([]byte, error) {
	n := 2
	for _, e := range es {
		n += len(e.msg) + 64
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, e := range es {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, e.ts, 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, e.ingestion, 10)
		b = append(b, ',')
		b = strconv.AppendUint(b, e.seq, 10)
		b = append(b, ',')
		b = appendJSONString(b, e.msg)
		b = append(b, ']')
	}
	return append(b, ']'), nil
}

func (es *diskEvents) UnmarshalJSON(b []byte) error {
	var raw [][]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(diskEvents, len(raw))
	for i, r := range raw {
		if len(r) != 4 {
			return errors.New("event: want [timestamp, ingestionTime, seq, message]")
		}
		e := &out[i]
		for j, dst := range []any{&e.ts, &e.ingestion, &e.seq, &e.msg} {
			if err := json.Unmarshal(r[j], dst); err != nil {
				return fmt.Errorf("event %d: %w", i, err)
			}
		}
	}
	*es = out
	return nil
}

// appendJSONString appends s (valid UTF-8: it came from a JSON request) as a
// JSON string literal.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\t':
			b = append(b, '\\', 't')
		case '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

type diskFilter struct {
	Name           string   `json:"name"`
	Pattern        string   `json:"pattern"`
	DestinationArn string   `json:"destinationArn"`
	RoleArn        string   `json:"roleArn,omitempty"`
	Distribution   string   `json:"distribution"`
	CreationTime   int64    `json:"creationTime"`
	ApplyOnTrans   bool     `json:"applyOnTransformedLogs,omitempty"`
	FieldSelection string   `json:"fieldSelectionCriteria,omitempty"`
	EmitFields     []string `json:"emitSystemFields,omitempty"`
}

// Save writes the state to DataDir/state.json atomically (temp file, fsync,
// rename, directory fsync) when it changed since the last save. Without
// DataDir it does nothing.
func (s *Server) Save() error {
	if s.cfg.DataDir == "" {
		return nil
	}
	s.mu.Lock()
	if !s.dirty {
		s.mu.Unlock()
		return nil
	}
	ds := s.snapshot()
	s.dirty = false
	s.mu.Unlock()
	if err := writeFileAtomic(filepath.Join(s.cfg.DataDir, stateFile), ds.write); err != nil {
		s.mu.Lock()
		s.dirty = true
		s.mu.Unlock()
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

// snapshot copies the state into its disk form; s.mu must be held. Event
// slices are shared, not copied: stored events are never modified and
// appends only write beyond the captured length.
func (s *Server) snapshot() diskState {
	ds := diskState{Version: stateVersion, Seq: s.st.seq, Requests: s.st.requests}
	for _, name := range sortedGroupNames(s.st) {
		g := s.st.groups[name]
		dg := diskGroup{
			Name: g.name, CreationTime: g.creationTime, RetentionDays: g.retentionDays,
			Tags: g.tags, Class: g.class, KmsKeyID: g.kmsKeyID, Protection: g.protection,
		}
		if len(g.tags) > 0 {
			dg.Tags = make(map[string]string, len(g.tags))
			for k, v := range g.tags {
				dg.Tags[k] = v
			}
		}
		for _, st := range g.streams {
			dst := diskStream{
				Name: st.name, CreationTime: st.creationTime, FirstEvent: st.firstEvent,
				LastEvent: st.lastEvent, LastIngestion: st.lastIngestion, HasEvents: st.hasEvents,
				StoredBytes: st.storedBytes, EventCount: st.eventCount, UploadToken: st.uploadToken,
				Events: diskEvents(st.events[:len(st.events):len(st.events)]),
			}
			dg.Streams = append(dg.Streams, dst)
		}
		for _, f := range g.sortedFilters() {
			dg.Filters = append(dg.Filters, diskFilter{
				Name: f.name, Pattern: f.pattern, DestinationArn: f.destinationArn, RoleArn: f.roleArn,
				Distribution: f.distribution, CreationTime: f.creationTime, ApplyOnTrans: f.applyOnTrans,
				FieldSelection: f.fieldSelection, EmitFields: f.emitFields,
			})
		}
		ds.Groups = append(ds.Groups, dg)
	}
	return ds
}

// write encodes ds as JSON. The small parts go through encoding/json; the
// event arrays are appended directly, sparing encoding/json's re-validation
// of large Marshaler output. Nested slices are spliced into their parent
// object, which encoding/json wrote without them (omitempty).
func (ds diskState) write(w *bufio.Writer) error {
	groups := ds.Groups
	ds.Groups = nil
	if err := writeOpen(w, ds); err != nil {
		return err
	}
	err := writeArray(w, "groups", groups, func(g diskGroup) error {
		streams := g.Streams
		g.Streams = nil
		if err := writeOpen(w, g); err != nil {
			return err
		}
		err := writeArray(w, "streams", streams, func(st diskStream) error {
			events := st.Events
			st.Events = nil
			if err := writeOpen(w, st); err != nil {
				return err
			}
			w.WriteString(`,"events":`)
			b, _ := events.MarshalJSON()
			w.Write(b)
			return w.WriteByte('}')
		})
		if err != nil {
			return err
		}
		return w.WriteByte('}')
	})
	if err != nil {
		return err
	}
	_, err = w.WriteString("}\n")
	return err
}

// writeArray writes the member `,"name":[...]` of an object being written,
// each item by write.
func writeArray[T any](w *bufio.Writer, name string, items []T, write func(T) error) error {
	w.WriteString(`,"` + name + `":[`)
	for i, it := range items {
		if i > 0 {
			w.WriteByte(',')
		}
		if err := write(it); err != nil {
			return err
		}
	}
	return w.WriteByte(']')
}

// writeOpen writes the JSON object of v without its closing brace; v must
// have a member that is never omitted, so that a "," can follow.
func writeOpen(w *bufio.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if len(b) < 3 || b[len(b)-1] != '}' {
		return fmt.Errorf("encode %T: %s is not a non-empty object", v, b)
	}
	_, err = w.Write(b[:len(b)-1])
	return err
}

// writeFileAtomic streams the state to a temporary file, fsyncs, renames it
// over path and fsyncs the directory, returning every error. It is not
// logship/internal/atomicfile on purpose: the emulator imports no logship
// package, so it stays an independent oracle for the code it tests (issue 14
// keeps its JSON codec apart for the same reason).
func writeFileAtomic(path string, write func(*bufio.Writer) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".state-*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	w := bufio.NewWriterSize(tmp, 1<<20)
	if err = write(w); err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	if err = w.Flush(); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err = d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}

// Load reads DataDir/state.json, replacing the in-memory state. A missing
// file is an empty state. Run calls it before serving unless it was called
// already (call it first to inspect the loaded state before Run); calling it
// again reloads. Without DataDir it does nothing.
func (s *Server) Load() error {
	if s.cfg.DataDir == "" {
		return nil
	}
	path := filepath.Join(s.cfg.DataDir, stateFile)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		s.mu.Lock()
		s.loaded = true
		s.mu.Unlock()
		return nil
	}
	if err != nil {
		return fmt.Errorf("load state: %w", err)
	}
	defer f.Close()
	var ds diskState
	if err := json.NewDecoder(bufio.NewReaderSize(f, 1<<20)).Decode(&ds); err != nil {
		return fmt.Errorf("load state %s: %w", path, err)
	}
	if ds.Version != stateVersion {
		return fmt.Errorf("load state %s: version %d, want %d", path, ds.Version, stateVersion)
	}
	st := newState()
	st.seq, st.requests = ds.Seq, ds.Requests
	for _, dg := range ds.Groups {
		g := &logGroup{
			name: dg.Name, creationTime: dg.CreationTime, retentionDays: dg.RetentionDays,
			tags: dg.Tags, class: dg.Class, kmsKeyID: dg.KmsKeyID, protection: dg.Protection,
			streams: make(map[string]*logStream, len(dg.Streams)),
			filters: make(map[string]*subscriptionFilter, len(dg.Filters)),
		}
		for _, dst := range dg.Streams {
			ls := &logStream{
				name: dst.Name, creationTime: dst.CreationTime, firstEvent: dst.FirstEvent,
				lastEvent: dst.LastEvent, lastIngestion: dst.LastIngestion, hasEvents: dst.HasEvents,
				storedBytes: dst.StoredBytes, eventCount: dst.EventCount, uploadToken: dst.UploadToken,
				events: []storedEvent(dst.Events),
			}
			g.storedBytes += ls.storedBytes
			g.streams[ls.name] = ls
		}
		for _, df := range dg.Filters {
			m, ok := parseFilterPattern(df.Pattern)
			if !ok {
				return fmt.Errorf("load state %s: filter %q: unsupported pattern %q", path, df.Name, df.Pattern)
			}
			g.filters[df.Name] = &subscriptionFilter{
				name: df.Name, pattern: df.Pattern, destinationArn: df.DestinationArn, roleArn: df.RoleArn,
				distribution: df.Distribution, creationTime: df.CreationTime, applyOnTrans: df.ApplyOnTrans,
				fieldSelection: df.FieldSelection, emitFields: df.EmitFields, matcher: m,
			}
		}
		st.groups[g.name] = g
	}
	s.mu.Lock()
	s.st = st
	s.dirty = false
	s.loaded = true
	s.mu.Unlock()
	return nil
}
