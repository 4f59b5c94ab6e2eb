package emulator

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
	Groups   []diskGroup `json:"groups"`
}

type diskGroup struct {
	Name          string            `json:"name"`
	CreationTime  int64             `json:"creationTime"`
	RetentionDays int32             `json:"retentionInDays,omitempty"`
	Tags          map[string]string `json:"tags,omitempty"`
	Class         string            `json:"class"`
	KmsKeyID      string            `json:"kmsKeyId,omitempty"`
	Protection    bool              `json:"deletionProtection,omitempty"`
	Streams       []diskStream      `json:"streams"`
	Filters       []diskFilter      `json:"filters,omitempty"`
}

type diskStream struct {
	Name          string      `json:"name"`
	CreationTime  int64       `json:"creationTime"`
	FirstEvent    int64       `json:"firstEvent"`
	LastEvent     int64       `json:"lastEvent"`
	LastIngestion int64       `json:"lastIngestion"`
	HasEvents     bool        `json:"hasEvents"`
	StoredBytes   int64       `json:"storedBytes"`
	EventCount    int64       `json:"eventCount"`
	UploadToken   uint64      `json:"uploadToken"`
	Events        []diskEvent `json:"events"`
}

// diskEvent is [timestamp, ingestionTime, seq, message].
type diskEvent struct {
	ts, ingestion int64
	seq           uint64
	msg           string
}

func (e diskEvent) MarshalJSON() ([]byte, error) {
	return json.Marshal([]any{e.ts, e.ingestion, e.seq, e.msg})
}

func (e *diskEvent) UnmarshalJSON(b []byte) error {
	arr := []any{&e.ts, &e.ingestion, &e.seq, &e.msg}
	if err := json.Unmarshal(b, &arr); err != nil {
		return err
	}
	if len(arr) != 4 {
		return errors.New("event: want [timestamp, ingestionTime, seq, message]")
	}
	return nil
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
	if err := writeFileAtomic(filepath.Join(s.cfg.DataDir, stateFile), ds); err != nil {
		s.mu.Lock()
		s.dirty = true
		s.mu.Unlock()
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

// snapshot copies the state into its disk form; s.mu must be held. Messages
// are immutable strings, so they are shared, not copied.
func (s *Server) snapshot() diskState {
	ds := diskState{Version: stateVersion, Seq: s.st.seq, Requests: s.st.requests, Groups: []diskGroup{}}
	for _, name := range sortedGroupNames(s.st) {
		g := s.st.groups[name]
		dg := diskGroup{
			Name: g.name, CreationTime: g.creationTime, RetentionDays: g.retentionDays,
			Tags: g.tags, Class: g.class, KmsKeyID: g.kmsKeyID, Protection: g.protection,
			Streams: []diskStream{},
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
				Events: make([]diskEvent, len(st.events)),
			}
			for i, ev := range st.events {
				dst.Events[i] = diskEvent{ev.ts, ev.ingestion, ev.seq, ev.msg}
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

func writeFileAtomic(path string, v any) (err error) {
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
	if err = json.NewEncoder(w).Encode(v); err != nil {
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
				events: make([]storedEvent, len(dst.Events)),
			}
			for i, e := range dst.Events {
				ls.events[i] = storedEvent{ts: e.ts, ingestion: e.ingestion, seq: e.seq, msg: e.msg}
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
