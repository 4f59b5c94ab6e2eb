package enrich

import (
	"fmt"
	"sync/atomic"

	"go.uber.org/zap"

	"logship/buffer"
)

// ParserFilterConfig is Fluentd's parser filter: it parses one field of the
// record with a parser and replaces the record (or, with ReserveData, merges
// the parsed fields over it).
type ParserFilterConfig struct {
	// KeyName is the field to parse (required).
	KeyName string
	// Parse is the <parse> section, or the v0.12 format parameters.
	Parse ParseConfig
	// ReserveData keeps the original fields: the parsed ones are merged over
	// them (Hash#merge: existing keys keep their position). A record whose
	// field is missing or does not parse then passes unchanged; without
	// ReserveData it is dropped.
	ReserveData bool
	// ReserveTime keeps the record's time; otherwise the parsed time
	// replaces it.
	ReserveTime bool
	// KeepTimeWhenMissing keeps the record's time when the parsed data has no
	// time field (Fluentd v0.12: the filter's parser does not estimate the
	// current time); otherwise (v1) such a record gets the current time.
	KeepTimeWhenMissing bool
	// RemoveKeyNameField deletes KeyName after a successful parse (with
	// ReserveData).
	RemoveKeyNameField bool
	// InjectKeyPrefix is prepended to every parsed key.
	InjectKeyPrefix string
	// HashValueField, when set, nests the parsed fields under this key.
	HashValueField string
	// SuppressParseErrorLog silences the warning for records that do not
	// parse (they are counted either way).
	SuppressParseErrorLog bool
}

// NewFilter builds the parser.
func (c *ParserFilterConfig) NewFilter(deps FilterDeps) (Filter, error) {
	if c.KeyName == "" {
		return nil, fmt.Errorf("parser filter: key_name is required")
	}
	pc := c.Parse
	if deps.Now != nil && pc.Now == nil {
		pc.Now = deps.Now
	}
	// The time field is kept by the parser so the filter can tell whether the
	// data had one; the filter removes it unless keep_time_key says so.
	userKeep := pc.KeepTimeKey
	pc.KeepTimeKey = true
	timeKey := pc.TimeKey
	if timeKey == "" {
		timeKey = "time"
	}
	p, err := NewParser(pc)
	if err != nil {
		return nil, fmt.Errorf("parser filter: %w", err)
	}
	log := deps.Log
	if log == nil {
		log = zap.NewNop()
	}
	return &parserFilter{cfg: *c, p: p, log: log, timeKey: timeKey, keepTimeKey: userKeep || pc.Type == "none"}, nil
}

type parserFilter struct {
	cfg ParserFilterConfig
	p   Parser
	log *zap.Logger
	tmp buffer.Record
	// timeKey is the parser's time field; keepTimeKey keeps it in the result.
	timeKey     string
	keepTimeKey bool
	// Failed counts records whose field was missing or did not parse.
	Failed atomic.Uint64
}

var _ Filter = (*parserFilter)(nil)

// Filter parses r's KeyName field.
func (f *parserFilter) Filter(r *buffer.Record) bool {
	v, ok := r.Fields.Get(f.cfg.KeyName)
	if !ok || isNull(v) {
		f.fail(r, "key does not exist")
		return f.reserve(r)
	}
	text := v.Bytes
	if v.Kind != buffer.String {
		text = rubyToS(nil, v)
	}
	f.tmp = buffer.Record{Time: r.Time, Tag: r.Tag, Fields: f.tmp.Fields[:0]}
	if err := f.p.Parse(text, &f.tmp); err != nil {
		f.fail(r, err.Error())
		return f.reserve(r)
	}
	parsed := f.tmp.Fields
	hasTime := false
	if f.p != nil {
		if i := parsed.Index(f.timeKey); i >= 0 {
			hasTime = true
			if !f.keepTimeKey {
				parsed = append(parsed[:i], parsed[i+1:]...)
			}
		}
	}
	if f.cfg.InjectKeyPrefix != "" {
		for i := range parsed {
			parsed[i].Key = f.cfg.InjectKeyPrefix + parsed[i].Key
		}
	}
	if !f.cfg.ReserveTime && (hasTime || !f.cfg.KeepTimeWhenMissing) {
		r.Time = f.tmp.Time
	}
	var out buffer.Fields
	if f.cfg.HashValueField != "" {
		nested := buffer.Value{Kind: buffer.Map, Kids: append(buffer.Fields(nil), parsed...)}
		out = buffer.Fields{{Key: f.cfg.HashValueField, Value: nested}}
	} else {
		out = parsed
	}
	if f.cfg.ReserveData {
		for i := range out {
			r.Fields = r.Fields.Set(out[i].Key, out[i].Value)
		}
		if f.cfg.RemoveKeyNameField {
			r.Fields = r.Fields.Delete(f.cfg.KeyName)
		}
	} else {
		r.Fields = append(buffer.Fields(nil), out...)
	}
	clear(f.tmp.Fields)
	return true
}

// reserve handles a record that was not parsed: kept with ReserveData (plus
// an empty HashValueField, as the plugin merges {hash_value_field => {}}),
// dropped otherwise.
func (f *parserFilter) reserve(r *buffer.Record) bool {
	if !f.cfg.ReserveData {
		return false
	}
	if f.cfg.HashValueField != "" {
		r.Fields = r.Fields.Set(f.cfg.HashValueField, buffer.Value{Kind: buffer.Map})
	}
	return true
}

func (f *parserFilter) fail(r *buffer.Record, why string) {
	n := f.Failed.Add(1)
	if f.cfg.SuppressParseErrorLog || (n > 1 && n%1000 != 0) {
		return
	}
	f.log.Warn("parser filter: record not parsed", zap.String("key_name", f.cfg.KeyName),
		zap.String("tag", r.Tag), zap.String("reason", why), zap.Uint64("failed_so_far", n))
}
