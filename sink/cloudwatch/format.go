package cloudwatch

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"logship/buffer"
)

// Config is the cloudwatch_logs output: the parameters of
// fluent-plugin-cloudwatch-logs that apply to logship
// (its README and lib/fluent/plugin/out_cloudwatch_logs.rb, v0.15.0:
// https://github.com/fluent-plugins-nursery/fluent-plugin-cloudwatch-logs),
// plus the sink's own limits. The
// Fluentd-only parameters (json_handler, put_log_events_retry_*, concurrency,
// STS and web-identity sections, http_proxy) have no field: the SDK chain,
// the buffer and HTTPS_PROXY cover them.
type Config struct {
	// LogGroupName is the static log group (log_group_name). Exactly one of
	// LogGroupName, UseTagAsGroup and LogGroupNameKey must be set.
	LogGroupName string
	// LogStreamName is the static log stream (log_stream_name). Exactly one of
	// LogStreamName, UseTagAsStream and LogStreamNameKey must be set.
	LogStreamName string
	// UseTagAsGroup uses the record's tag as the group (use_tag_as_group).
	UseTagAsGroup bool
	// UseTagAsStream uses the record's tag as the stream (use_tag_as_stream).
	UseTagAsStream bool
	// LogGroupNameKey names the top-level record field holding the group
	// (log_group_name_key). A record without it is skipped and counted.
	LogGroupNameKey string
	// LogStreamNameKey names the top-level record field holding the stream
	// (log_stream_name_key). A record without it is skipped and counted.
	LogStreamNameKey string
	// RemoveLogGroupNameKey drops the LogGroupNameKey field from the message
	// (remove_log_group_name_key).
	RemoveLogGroupNameKey bool
	// RemoveLogStreamNameKey drops the LogStreamNameKey field from the message
	// (remove_log_stream_name_key).
	RemoveLogStreamNameKey bool
	// AutoCreateStream creates a missing group (with LogGroupAWSTags and
	// RetentionInDays) and stream (auto_create_stream). When false a missing
	// group or stream is a permanent error: the chunk is dead-lettered rather
	// than skipped silently as Fluentd does.
	AutoCreateStream bool
	// MessageKeys, when not empty, makes the message the text of these
	// top-level fields joined by one space instead of the record's JSON
	// (message_keys).
	MessageKeys []string
	// MaxMessageLength truncates each message to this many characters (Unicode
	// code points, as Ruby's String#slice counts; max_message_length). Zero
	// means no limit.
	MaxMessageLength int
	// MaxEventsPerBatch caps the events per PutLogEvents request
	// (max_events_per_batch). Zero means MaxBatchEvents (10,000), the API's
	// own limit and the plugin's default.
	MaxEventsPerBatch int
	// RetentionInDays is applied with PutRetentionPolicy to a group this sink
	// creates, never to an existing one (retention_in_days). Zero means none.
	RetentionInDays int
	// LogGroupAWSTags are the tags of a group this sink creates
	// (log_group_aws_tags). Nil means none.
	LogGroupAWSTags map[string]string
	// IncludeTimeKey adds the event time as a string field TimeKey before the
	// message is formatted (include_time_key, or a v1 <inject> section).
	IncludeTimeKey bool
	// TimeKey is the field IncludeTimeKey adds. Empty means "time".
	TimeKey string
	// Localtime formats the injected time in Location as ISO-8601 with a
	// numeric offset ("2026-01-02T15:04:05+00:00"); false formats it in UTC
	// with a "Z" ("2026-01-02T15:04:05Z"), as Ruby's Time#iso8601 writes them.
	// The defaults differ by Fluentd version: v1's inject is local time unless
	// `utc` is given; v0.12's SetTimeKeyMixin is UTC unless `localtime` is
	// given. The config layer sets this field accordingly.
	Localtime bool
	// Location is the zone Localtime uses. Nil means time.Local.
	Location *time.Location
	// IncludeTagKey adds the record's tag as a string field TagKey before the
	// message is formatted (include_tag_key; v1 only).
	IncludeTagKey bool
	// TagKey is the field IncludeTagKey adds. Empty means "tag".
	TagKey string
	// DropEmptyTopLevel is the plugin's behaviour from 0.8.2 on: top-level
	// fields whose value is the empty string are dropped before formatting,
	// and empty values are left out of a MessageKeys join. False keeps them,
	// as 0.3.x/0.4.x (the v0.12 generation) do.
	DropEmptyTopLevel bool
	// LogRejectedRequest logs the events AWS rejected (rejectedLogEventsInfo)
	// at warn level; false logs them at debug level (log_rejected_request).
	// They are counted either way.
	LogRejectedRequest bool
	// Region is the AWS region. Empty means the SDK chain (AWS_REGION,
	// AWS_DEFAULT_REGION, the shared config profile).
	Region string
	// Endpoint overrides the CloudWatch Logs endpoint URL (endpoint). Empty
	// means AWS_ENDPOINT_URL_CLOUDWATCH_LOGS, then AWS_ENDPOINT_URL (both read
	// by the SDK), then the regional AWS endpoint.
	Endpoint string
	// AccessKeyID and SecretAccessKey are static credentials (aws_key_id,
	// aws_sec_key), used only when both are set. Empty means the SDK chain
	// (environment, shared files, web identity, container and instance roles).
	AccessKeyID     string
	SecretAccessKey string
	// SessionToken goes with static credentials when they are temporary.
	SessionToken string
	// MaxEventSize is the largest event AWS accepts, in bytes, counting
	// EventOverhead. Zero means MaxEventSize (1 MiB); set LegacyMaxEventSize
	// (256 KiB) for endpoints with the pre-2025 limit. The range is
	// MinEventSize..MaxEventSize.
	MaxEventSize int
	// OversizeAction says what happens to a message longer than an event can
	// hold. Empty means OversizeSplit.
	OversizeAction OversizeAction
	// RequestTimeout bounds each API call. Zero means DefaultRequestTimeout.
	RequestTimeout time.Duration
}

// OversizeAction is what the sink does with a message larger than an event.
type OversizeAction string

const (
	// OversizeSplit sends the message as several consecutive events with the
	// same timestamp, cut at UTF-8 character boundaries. Nothing is lost.
	OversizeSplit OversizeAction = "split"
	// OversizeTruncate sends the first event's worth of the message, cut at a
	// character boundary, and counts the truncation.
	OversizeTruncate OversizeAction = "truncate"
)

// Defaults for the zero values of Config.
const (
	DefaultTimeKey        = "time"
	DefaultTagKey         = "tag"
	DefaultRequestTimeout = 30 * time.Second
)

// withDefaults returns cfg with its zero values filled.
func (cfg Config) withDefaults() Config {
	cfg.TimeKey = cmp.Or(cfg.TimeKey, DefaultTimeKey)
	cfg.TagKey = cmp.Or(cfg.TagKey, DefaultTagKey)
	cfg.MaxEventsPerBatch = cmp.Or(cfg.MaxEventsPerBatch, MaxBatchEvents)
	cfg.MaxEventSize = cmp.Or(cfg.MaxEventSize, MaxEventSize)
	cfg.OversizeAction = cmp.Or(cfg.OversizeAction, OversizeSplit)
	cfg.RequestTimeout = cmp.Or(cfg.RequestTimeout, DefaultRequestTimeout)
	cfg.Location = cmp.Or(cfg.Location, time.Local)
	return cfg
}

// Validate reports the first configuration error, as fluent-plugin-
// cloudwatch-logs's configure does, plus the sink's own range checks.
func (cfg Config) Validate() error {
	if n := count(cfg.LogGroupName != "", cfg.UseTagAsGroup, cfg.LogGroupNameKey != ""); n != 1 {
		return errors.New("exactly one of log_group_name, use_tag_as_group and log_group_name_key must be set")
	}
	if n := count(cfg.LogStreamName != "", cfg.UseTagAsStream, cfg.LogStreamNameKey != ""); n != 1 {
		return errors.New("exactly one of log_stream_name, use_tag_as_stream and log_stream_name_key must be set")
	}
	if cfg.LogGroupName != "" {
		if err := validGroupName(cfg.LogGroupName); err != nil {
			return fmt.Errorf("log_group_name: %w", err)
		}
	}
	if cfg.LogStreamName != "" {
		if err := validStreamName(cfg.LogStreamName); err != nil {
			return fmt.Errorf("log_stream_name: %w", err)
		}
	}
	if cfg.MaxMessageLength < 0 {
		return fmt.Errorf("max_message_length %d: must not be negative", cfg.MaxMessageLength)
	}
	if cfg.MaxEventsPerBatch < 0 || cfg.MaxEventsPerBatch > MaxBatchEvents {
		return fmt.Errorf("max_events_per_batch %d: must be between 1 and %d", cfg.MaxEventsPerBatch, MaxBatchEvents)
	}
	if cfg.RetentionInDays != 0 && !validRetention(cfg.RetentionInDays) {
		return fmt.Errorf("retention_in_days %d: must be one of %v", cfg.RetentionInDays, retentionDays)
	}
	if len(cfg.LogGroupAWSTags) > MaxTags {
		return fmt.Errorf("log_group_aws_tags: %d tags, at most %d", len(cfg.LogGroupAWSTags), MaxTags)
	}
	if cfg.MaxEventSize != 0 && (cfg.MaxEventSize < MinEventSize || cfg.MaxEventSize > MaxEventSize) {
		return fmt.Errorf("max event size %d: must be between %d and %d", cfg.MaxEventSize, MinEventSize, MaxEventSize)
	}
	switch cfg.OversizeAction {
	case "", OversizeSplit, OversizeTruncate:
	default:
		return fmt.Errorf("oversize action %q: must be %q or %q", cfg.OversizeAction, OversizeSplit, OversizeTruncate)
	}
	if cfg.RequestTimeout < 0 {
		return fmt.Errorf("request timeout %v: must not be negative", cfg.RequestTimeout)
	}
	if (cfg.AccessKeyID == "") != (cfg.SecretAccessKey == "") {
		return errors.New("aws_key_id and aws_sec_key must be set together")
	}
	return nil
}

func count(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// Reasons Format skips a record. Each is counted in FormatStats before it is
// returned; the caller must not buffer the record, and should acknowledge its
// position as handled.
var (
	// ErrNoGroup: log_group_name_key is set and the record has no such field
	// (or it is null).
	ErrNoGroup = errors.New("record has no log group field")
	// ErrNoStream: log_stream_name_key is set and the record has no such
	// field (or it is null).
	ErrNoStream = errors.New("record has no log stream field")
	// ErrEmptyMessage: the formatted message is empty (for example every
	// message_keys value is missing). AWS rejects empty messages.
	ErrEmptyMessage = errors.New("empty message")
)

// FormatStats counts what a Formatter did.
type FormatStats struct {
	// Formatted counts records given a destination and a message.
	Formatted uint64
	// NoGroup, NoStream and EmptyMessage count skipped records by reason.
	NoGroup      uint64
	NoStream     uint64
	EmptyMessage uint64
	// Truncated counts messages cut to MaxMessageLength, and oversize
	// records of which OversizeTruncate kept only the first piece.
	Truncated uint64
	// Split counts records larger than an event that AppendRecords split
	// into whole-record pieces; Pieces counts the pieces made of them.
	Split  uint64
	Pieces uint64
}

// Formatter is the output stage of cloudwatch_logs: it resolves each record's
// destination and renders its message exactly as fluent-plugin-cloudwatch-logs
// does (out_cloudwatch_logs.rb, v0.15.0, write: the record's to_json through
// the json_handler, or the message_keys values joined by a space;
// https://github.com/fluent-plugins-nursery/fluent-plugin-cloudwatch-logs/blob/v0.15.0/lib/fluent/plugin/out_cloudwatch_logs.rb).
//
// A Formatter is not safe for concurrent use: each pipeline goroutine owns
// one. Stats may be called from any goroutine.
type Formatter struct {
	cfg Config

	buf  []byte // the message; reused by every Format call
	name []byte // scratch for non-string name fields

	// Last names taken from record fields, reused while they repeat so that a
	// run of records for one destination costs no string allocation.
	lastGroup, lastStream string

	// Injected time text, cached per second.
	timeBuf []byte
	timeSec int64
	timeOK  bool

	cut     bool         // the last message was cut to MaxMessageLength
	split   splitState   // scratch of AppendRecords
	runs    lineRuns     // pieces of lines the tailer cut (split.go)
	keys    [32]keyEntry // member name encodings (appendKey)
	keyFlip bool         // which slot appendKey replaces when both are taken

	stats formatCounters
}

// NewFormatter validates cfg and returns a Formatter.
func NewFormatter(cfg Config) (*Formatter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Formatter{cfg: cfg.withDefaults()}, nil
}

// Format sets r.Key (the destination) and r.Message (the event text), and
// clears r.Fields. r.Message points into a buffer the Formatter reuses: it is
// valid until the next Format call, so the caller must copy it (buffer.Add
// does). The contents of r.Fields are read, never modified.
//
// A non-nil error means the record is skipped (ErrNoGroup, ErrNoStream,
// ErrEmptyMessage); it has been counted and r is left unchanged.
func (f *Formatter) Format(r *buffer.Record) error {
	buf, err := f.AppendFormat(f.buf[:0], r)
	f.buf = buf
	return err
}

// AppendFormat is Format writing the message at the end of dst, which it
// returns extended: r.Message is the appended part, owned by the caller. A
// caller that batches records (the agent) formats into its own arena this
// way instead of copying every message out of the Formatter's buffer. On
// error dst is returned unchanged.
func (f *Formatter) AppendFormat(dst []byte, r *buffer.Record) ([]byte, error) {
	dst, _, _, err := f.appendFormat(dst, r)
	return dst, err
}

// AppendRecords formats r as AppendFormat does and appends the result to
// out: r itself, or, when its JSON message is larger than an event
// (Config.MaxEventSize) or r is a piece of a line the tailer cut
// (r.Piece), its pieces (see split.go), each a whole record. The
// messages are appended to dst, which is returned extended; the records'
// Messages alias it. r is not modified. On error dst and out are returned
// unchanged.
//
// A message that cannot be split that way (message_keys text, a message cut
// by MaxMessageLength, a record with no string field to split or whose other
// fields fill an event) is appended whole; the sink then cuts it into
// consecutive events at character boundaries.
func (f *Formatter) AppendRecords(dst []byte, out []buffer.Record, r *buffer.Record) ([]byte, []buffer.Record, error) {
	rec := *r
	dst, removeA, removeB, err := f.appendFormat(dst, &rec)
	if err != nil {
		return dst, out, err
	}
	if len(f.cfg.MessageKeys) > 0 || f.cut || r.Piece == 0 && len(rec.Message) <= f.cfg.MaxEventSize-EventOverhead {
		return dst, append(out, rec), nil
	}
	start := len(dst) - len(rec.Message)
	rec.Fields = r.Fields
	run, final := &f.split.run, true
	fresh := true
	if r.Piece != 0 {
		// A piece of a line the tailer cut: marked and numbered with the
		// line's other pieces, whatever its size.
		run, fresh = f.runs.get(r)
		final = r.Piece&buffer.PieceMore == 0
	}
	if d, o, ok := f.appendPieces(dst[:start], out, &rec, removeA, removeB, run, fresh, final); ok {
		return d, o, nil
	}
	rec.Fields = nil
	return dst, append(out, rec), nil
}

// appendFormat is AppendFormat; it also returns the name fields left out of
// the message.
func (f *Formatter) appendFormat(dst []byte, r *buffer.Record) (_ []byte, removeA, removeB string, _ error) {
	cfg := &f.cfg
	f.cut = false
	if cfg.IncludeTimeKey {
		f.formatTime(r.Time) // before the names: a name key may be the time key
	}

	group, removeA, ok := f.destName(r, cfg.UseTagAsGroup, cfg.LogGroupNameKey, cfg.RemoveLogGroupNameKey, cfg.LogGroupName, &f.lastGroup)
	if !ok {
		f.stats.noGroup.Add(1)
		return dst, "", "", ErrNoGroup
	}
	stream, removeB, ok := f.destName(r, cfg.UseTagAsStream, cfg.LogStreamNameKey, cfg.RemoveLogStreamNameKey, cfg.LogStreamName, &f.lastStream)
	if !ok {
		f.stats.noStream.Add(1)
		return dst, "", "", ErrNoStream
	}
	key := buffer.StreamKey{Group: group, Stream: stream}

	start := len(dst)
	if len(cfg.MessageKeys) > 0 {
		dst = f.appendMessageKeys(dst, r, removeA, removeB)
	} else {
		dst = f.appendJSON(dst, r, removeA, removeB)
	}
	msg := dst[start:]
	if len(msg) == 0 {
		f.stats.emptyMessage.Add(1)
		return dst[:start], "", "", ErrEmptyMessage
	}
	if cfg.MaxMessageLength > 0 && len(msg) > cfg.MaxMessageLength {
		if n := runePrefix(msg, cfg.MaxMessageLength); n < len(msg) {
			dst = dst[:start+n]
			f.stats.truncated.Add(1)
			f.cut = true
		}
	}
	r.Key = key
	r.Message = dst[start:len(dst):len(dst)]
	r.Fields = nil
	f.stats.formatted.Add(1)
	return dst, removeA, removeB, nil
}

// Stats returns a snapshot of the counters.
func (f *Formatter) Stats() FormatStats {
	return FormatStats{
		Formatted:    f.stats.formatted.Load(),
		NoGroup:      f.stats.noGroup.Load(),
		NoStream:     f.stats.noStream.Load(),
		EmptyMessage: f.stats.emptyMessage.Load(),
		Truncated:    f.stats.truncated.Load(),
		Split:        f.stats.split.Load(),
		Pieces:       f.stats.pieces.Load(),
	}
}

// runePrefix returns the byte length of the first n characters of valid
// UTF-8 text b.
func runePrefix(b []byte, n int) int {
	i := 0
	for ; n > 0 && i < len(b); n-- {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		_, size := utf8.DecodeRune(b[i:])
		i += size
	}
	return i
}

// value is the record's top-level field key as the plugin sees it after
// injection (include_tag_key, include_time_key): inj says which injected
// value it is (0 none, 1 tag, 2 time).
func (f *Formatter) value(r *buffer.Record, key string) (v buffer.Value, inj int, ok bool) {
	cfg := &f.cfg
	if cfg.IncludeTimeKey && key == cfg.TimeKey {
		return buffer.Value{}, injTime, true
	}
	if cfg.IncludeTagKey && key == cfg.TagKey {
		return buffer.Value{}, injTag, true
	}
	v, ok = r.Fields.Get(key)
	return v, injNone, ok
}

const (
	injNone = iota
	injTag
	injTime
)

// destName returns one half of a record's destination (its group or its
// stream): the tag when useTag, else the text of field key when key is set
// (removed is key when remove asks to leave it out of the message), else
// fixed. ok is false when the field is missing or null.
func (f *Formatter) destName(r *buffer.Record, useTag bool, key string, remove bool, fixed string, last *string) (name, removed string, ok bool) {
	switch {
	case useTag:
		return r.Tag, "", true
	case key != "":
		if name, ok = f.fieldName(r, key, last); !ok {
			return "", "", false
		}
		if remove {
			removed = key
		}
		return name, removed, true
	default:
		return fixed, "", true
	}
}

// fieldName returns the text of field key as a destination name, reusing
// *last when it is the same text. A missing or null field is not a name.
func (f *Formatter) fieldName(r *buffer.Record, key string, last *string) (string, bool) {
	v, inj, ok := f.value(r, key)
	if !ok {
		return "", false
	}
	var b []byte
	switch {
	case inj == injTag:
		return r.Tag, true
	case inj == injTime:
		b = f.timeBuf
	case v.Kind == buffer.String:
		b = v.Bytes
	case v.Kind == buffer.Raw && (len(v.Bytes) == 0 || string(v.Bytes) == "null"):
		return "", false
	default:
		f.name = v.AppendText(f.name[:0])
		b = f.name
	}
	if string(b) != *last {
		*last = string(b)
	}
	return *last, true
}

// formatTime renders the injected time of an event at ns nanoseconds.
func (f *Formatter) formatTime(ns int64) {
	sec := ns / 1e9
	if ns%1e9 < 0 {
		sec--
	}
	if f.timeOK && sec == f.timeSec {
		return
	}
	t := time.Unix(sec, 0)
	if f.cfg.Localtime {
		f.timeBuf = t.In(f.cfg.Location).AppendFormat(f.timeBuf[:0], "2006-01-02T15:04:05-07:00")
	} else {
		f.timeBuf = t.UTC().AppendFormat(f.timeBuf[:0], "2006-01-02T15:04:05Z")
	}
	f.timeSec, f.timeOK = sec, true
}

// isEmptyString reports whether v is the empty string.
func isEmptyString(v buffer.Value) bool {
	switch v.Kind {
	case buffer.String:
		return len(v.Bytes) == 0
	case buffer.Raw:
		return string(v.Bytes) == `""`
	}
	return false
}

// appendJSON appends the record's compact JSON: its fields in order, the
// injected tag and time fields (replacing a field of the same name in place,
// or appended in the order tag, time, as Fluentd's inject does), without the
// removed name fields and, with DropEmptyTopLevel, without "" values.
func (f *Formatter) appendJSON(dst []byte, r *buffer.Record, removeA, removeB string) []byte {
	cfg := &f.cfg
	tag := cfg.IncludeTagKey && cfg.TagKey != removeA && cfg.TagKey != removeB
	tim := cfg.IncludeTimeKey && cfg.TimeKey != removeA && cfg.TimeKey != removeB
	if tag && tim && cfg.TagKey == cfg.TimeKey {
		tag = false // the time is written last and wins
	}
	dropEmptyTag := cfg.DropEmptyTopLevel && r.Tag == ""
	n := 0
	dst = append(dst, '{')
	for i := range r.Fields {
		fl := &r.Fields[i]
		k := fl.Key
		if k == removeA || k == removeB {
			continue
		}
		switch {
		case tim && k == cfg.TimeKey:
			dst, n = comma(dst, n)
			dst = f.appendKey(dst, k)
			dst = buffer.AppendJSONBytes(dst, f.timeBuf)
			tim = false
		case tag && k == cfg.TagKey:
			tag = false
			if dropEmptyTag {
				continue
			}
			dst, n = comma(dst, n)
			dst = f.appendKey(dst, k)
			dst = buffer.AppendJSONString(dst, r.Tag)
		default:
			if cfg.DropEmptyTopLevel && isEmptyString(fl.Value) {
				continue
			}
			dst, n = comma(dst, n)
			dst = f.appendKey(dst, k)
			dst = fl.Value.AppendJSON(dst)
		}
	}
	if tag && !dropEmptyTag {
		dst, n = comma(dst, n)
		dst = f.appendKey(dst, cfg.TagKey)
		dst = buffer.AppendJSONString(dst, r.Tag)
	}
	if tim {
		dst, n = comma(dst, n)
		dst = f.appendKey(dst, cfg.TimeKey)
		dst = buffer.AppendJSONBytes(dst, f.timeBuf)
	}
	return append(dst, '}')
}

// appendKey appends the member name k as JSON and the colon. Records of a
// pipeline repeat the same few names, so their encodings are kept in a
// small two-choice cache keyed by an FNV-1a hash of the whole name (the
// names copied: a record's name may alias memory that is reused). Two
// slots per name keep the few names of one record shape (log, stream,
// docker, kubernetes, time, …) from evicting one another.
func (f *Formatter) appendKey(dst []byte, k string) []byte {
	if k == "" {
		return append(dst, `"":`...)
	}
	h := uint32(2166136261)
	for i := 0; i < len(k); i++ {
		h = (h ^ uint32(k[i])) * 16777619
	}
	n := uint32(len(f.keys))
	a, b := &f.keys[h%n], &f.keys[(h>>16)%n]
	switch {
	case a.ok && a.name == k:
		return append(dst, a.enc...)
	case b.ok && b.name == k:
		return append(dst, b.enc...)
	}
	e := a
	if a.ok && (!b.ok || f.keyFlip) {
		e = b
	}
	f.keyFlip = !f.keyFlip
	e.name = strings.Clone(k)
	e.enc = append(buffer.AppendJSONString(e.enc[:0], k), ':')
	e.ok = true
	return append(dst, e.enc...)
}

// keyEntry is one cached member name encoding.
type keyEntry struct {
	name string
	enc  []byte // "name":
	ok   bool
}

// comma appends the separator before the member after the n-th.
func comma(dst []byte, n int) ([]byte, int) {
	if n > 0 {
		dst = append(dst, ',')
	}
	return dst, n + 1
}

// appendMessageKeys appends the message_keys values joined by one space, each
// rendered as Ruby's to_s would (a missing field is ""). With
// DropEmptyTopLevel (0.8.2+) empty values are left out of the join.
func (f *Formatter) appendMessageKeys(dst []byte, r *buffer.Record, removeA, removeB string) []byte {
	first := true
	for _, key := range f.cfg.MessageKeys {
		start := len(dst)
		if !first {
			dst = append(dst, ' ')
		}
		vstart := len(dst)
		if key != removeA && key != removeB {
			v, inj, ok := f.value(r, key)
			switch {
			case !ok:
			case inj == injTag:
				if utf8.ValidString(r.Tag) {
					dst = append(dst, r.Tag...)
				} else {
					dst = buffer.AppendValidUTF8(dst, []byte(r.Tag))
				}
			case inj == injTime:
				dst = append(dst, f.timeBuf...)
			default:
				dst = v.AppendText(dst)
			}
		}
		if f.cfg.DropEmptyTopLevel && len(dst) == vstart {
			dst = dst[:start]
			continue
		}
		first = false
	}
	return dst
}
