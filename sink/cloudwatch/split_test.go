package cloudwatch_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"

	"logship/buffer"
	"logship/sink/cloudwatch"
)

// kubeFields is a record as the default pipeline makes it: the CRI fields,
// then the kubernetes metadata (as one Raw object).
func kubeFields(log []byte) buffer.Fields {
	return buffer.Fields{
		{Key: "log", Value: buffer.Str(log)},
		{Key: "stream", Value: buffer.Str([]byte("stdout"))},
		{Key: "logtag", Value: buffer.Str([]byte("F"))},
		{Key: "docker", Value: buffer.RawJSON([]byte(`{"container_id":"0123456789abcdef"}`))},
		{Key: "kubernetes", Value: buffer.RawJSON([]byte(`{"container_name":"app","namespace_name":"prod","pod_name":"web-1"}`))},
	}
}

// bigText returns about n bytes of text mixing ASCII, characters that JSON
// escapes (one byte to two or six), and 2-, 3- and 4-byte characters, so
// that piece boundaries fall everywhere.
func bigText(n int) []byte {
	var b []byte
	for i := 0; len(b) < n; i++ {
		switch i % 7 {
		case 0:
			b = append(b, "plain ascii text "...)
		case 1:
			b = append(b, `"quoted\path" `...)
		case 2:
			b = append(b, "é世😀"...)
		case 3:
			b = append(b, "\t\n\x01\x1f"...)
		case 4:
			b = fmt.Appendf(b, "%08d ", i)
		case 5:
			b = append(b, strings.Repeat("x", i%97)...)
		default:
			b = append(b, "ünïcödé "...)
		}
	}
	return b
}

// piece is one decoded event of a split record.
type piece struct {
	rec map[string]any
	buffer.Record
}

// formatAll runs AppendRecords and decodes every event, failing on an event
// that is not a JSON object or is larger than an event may be.
func formatAll(t *testing.T, cfg cloudwatch.Config, r buffer.Record) ([]piece, *cloudwatch.Formatter) {
	t.Helper()
	f, err := cloudwatch.NewFormatter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	maxEvent := cfg.MaxEventSize
	if maxEvent == 0 {
		maxEvent = cloudwatch.MaxEventSize
	}
	_, out, err := f.AppendRecords(nil, nil, &r)
	if err != nil {
		t.Fatalf("AppendRecords: %v", err)
	}
	var ps []piece
	for i, o := range out {
		if n := len(o.Message) + cloudwatch.EventOverhead; n > maxEvent {
			t.Fatalf("event %d: %d bytes with the overhead, over the %d limit", i, n, maxEvent)
		}
		if !utf8.Valid(o.Message) {
			t.Fatalf("event %d: invalid UTF-8", i)
		}
		var m map[string]any
		if err := json.Unmarshal(o.Message, &m); err != nil {
			t.Fatalf("event %d is not a JSON object: %v (%.80q…)", i, err, o.Message)
		}
		if o.Fields != nil || o.Key != (buffer.StreamKey{Group: "g", Stream: "s"}) || o.Time != r.Time || o.Tag != r.Tag {
			t.Fatalf("event %d: key %v, time %d, tag %q, fields %v", i, o.Key, o.Time, o.Tag, o.Fields)
		}
		ps = append(ps, piece{m, o})
	}
	return ps, f
}

func TestFormatter_AppendRecords_Split(t *testing.T) {
	static := cloudwatch.Config{LogGroupName: "g", LogStreamName: "s"}
	valid := bigText(2 << 20)
	invalid := append(append([]byte("bad \xff\xfe\xc3\x28 \xe2\x82 "), valid[:1<<20]...), "\xf0\x9f tail \xed\xa0\x80"...)
	tests := []struct {
		name   string
		cfg    cloudwatch.Config
		fields buffer.Fields
		text   string // the split field
		want   string // its text reassembled: the original after U+FFFD replacement
		extra  []string
	}{
		{"2 MiB log line, 1 MiB events", static, kubeFields(valid), "log", string(valid), nil},
		{"2 MiB log line, 256 KiB events", with(static, func(c *cloudwatch.Config) { c.MaxEventSize = cloudwatch.LegacyMaxEventSize }),
			kubeFields(valid), "log", string(valid), nil},
		{"invalid UTF-8 replaced before the split", with(static, func(c *cloudwatch.Config) { c.MaxEventSize = cloudwatch.LegacyMaxEventSize }),
			kubeFields(invalid), "log", string(buffer.AppendValidUTF8(nil, invalid)), nil},
		{"message field, time and tag injected, empty fields dropped", with(static, func(c *cloudwatch.Config) {
			c.IncludeTimeKey, c.IncludeTagKey, c.DropEmptyTopLevel = true, true, true
		}), buffer.Fields{{Key: "level", Value: buffer.Str([]byte("info"))}, {Key: "empty", Value: buffer.Str(nil)},
			{Key: "message", Value: buffer.Str(valid)}}, "message", string(valid), []string{"tag", "time"}},
		{"no log or message: the longest string", static, buffer.Fields{{Key: "short", Value: buffer.Str([]byte("s"))},
			{Key: "payload", Value: buffer.Str(valid)}, {Key: "n", Value: buffer.RawJSON([]byte("1"))}}, "payload", string(valid), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := buffer.Record{Time: t0, Tag: tag, Fields: tt.fields, Source: 7, Offset: 123456}
			ps, f := formatAll(t, tt.cfg, in)
			if len(ps) < 2 {
				t.Fatalf("%d events, want a split", len(ps))
			}
			var text strings.Builder
			id := ps[0].rec["partial_id"]
			for i, p := range ps {
				last := i == len(ps)-1
				want := map[string]any{"partial_message": "true", "partial_id": id,
					"partial_ordinal": strconv.Itoa(i + 1), "partial_last": strconv.FormatBool(last)}
				for k, v := range want {
					if p.rec[k] != v {
						t.Fatalf("piece %d: %s = %v, want %v", i, k, p.rec[k], v)
					}
				}
				if s, _ := id.(string); len(s) != 32 {
					t.Fatalf("partial_id %v, want 32 hex digits", id)
				}
				// Same fields, in the same order, then the markers, then
				// the injected fields (appended by the output, as Fluentd's
				// inject does).
				var keys []string
				for _, fl := range tt.fields {
					if !(tt.cfg.DropEmptyTopLevel && fl.Value.Kind == buffer.String && len(fl.Value.Bytes) == 0) {
						keys = append(keys, fl.Key)
					}
				}
				keys = append(append(keys, "partial_message", "partial_id", "partial_ordinal", "partial_last"), tt.extra...)
				if got := keyOrder(t, p.Message); !slices.Equal(got, keys) {
					t.Fatalf("piece %d keys %v, want %v", i, got, keys)
				}
				for _, fl := range tt.fields {
					if fl.Key == tt.text || len(fl.Value.Bytes) == 0 {
						continue
					}
					if got, want := string(mustJSON(t, p.rec[fl.Key])), string(fl.Value.AppendJSON(nil)); got != want {
						t.Fatalf("piece %d: %s = %s, want %s", i, fl.Key, got, want)
					}
				}
				s, ok := p.rec[tt.text].(string)
				if !ok || s == "" {
					t.Fatalf("piece %d: %s = %v", i, tt.text, p.rec[tt.text])
				}
				text.WriteString(s)
				// Only the last piece acknowledges the line's position.
				if wantSrc := map[bool]uint64{false: 0, true: 7}[last]; p.Source != wantSrc {
					t.Fatalf("piece %d: Source %d, want %d", i, p.Source, wantSrc)
				}
			}
			if text.String() != tt.want {
				t.Fatalf("pieces reassembled: %d bytes, want %d (equal prefix %d)", text.Len(), len(tt.want), commonPrefix(text.String(), tt.want))
			}
			st := f.Stats()
			if st.Split != 1 || st.Pieces != uint64(len(ps)) || st.Formatted != 1 {
				t.Errorf("Stats() = %+v, want 1 split into %d pieces", st, len(ps))
			}
			// Pieces are not much smaller than they may be: splitting into
			// more events than needed costs requests and quota.
			maxMsg := max(tt.cfg.MaxEventSize, 0)
			if maxMsg == 0 {
				maxMsg = cloudwatch.MaxEventSize
			}
			for i, p := range ps[:len(ps)-1] {
				if len(p.Message) < maxMsg-cloudwatch.EventOverhead-16 {
					t.Errorf("piece %d: %d bytes, want close to %d", i, len(p.Message), maxMsg-cloudwatch.EventOverhead)
				}
			}
		})
	}

	t.Run("same record, same partial_id; another offset, another", func(t *testing.T) {
		a, _ := formatAll(t, static, buffer.Record{Time: t0, Tag: tag, Fields: kubeFields(valid), Offset: 10})
		b, _ := formatAll(t, static, buffer.Record{Time: t0, Tag: tag, Fields: kubeFields(valid), Offset: 10})
		c, _ := formatAll(t, static, buffer.Record{Time: t0, Tag: tag, Fields: kubeFields(valid), Offset: 11})
		if a[0].rec["partial_id"] != b[0].rec["partial_id"] || a[0].rec["partial_id"] == c[0].rec["partial_id"] {
			t.Errorf("partial_id %v %v %v", a[0].rec["partial_id"], b[0].rec["partial_id"], c[0].rec["partial_id"])
		}
	})

	t.Run("truncate keeps the first piece, marked", func(t *testing.T) {
		cfg := with(static, func(c *cloudwatch.Config) { c.OversizeAction = cloudwatch.OversizeTruncate })
		ps, f := formatAll(t, cfg, buffer.Record{Time: t0, Tag: tag, Fields: kubeFields(valid), Source: 3, Offset: 9})
		if len(ps) != 1 || ps[0].rec["partial_last"] != "false" || ps[0].Source != 0 {
			t.Fatalf("%d events, first %v", len(ps), ps[0].rec["partial_last"])
		}
		if st := f.Stats(); st.Truncated != 1 {
			t.Errorf("Stats() = %+v, want 1 truncated", st)
		}
	})

	t.Run("not split: small, message_keys, other fields too large", func(t *testing.T) {
		small, _ := formatAll(t, static, buffer.Record{Time: t0, Fields: kubeFields([]byte("hi")), Source: 1, Offset: 2})
		if len(small) != 1 || small[0].rec["partial_id"] != nil || small[0].Source != 1 {
			t.Errorf("small record: %d events %v", len(small), small[0].rec)
		}
		f, _ := cloudwatch.NewFormatter(with(static, func(c *cloudwatch.Config) { c.MessageKeys = []string{"log"} }))
		_, out, err := f.AppendRecords(nil, nil, &buffer.Record{Fields: kubeFields(valid)})
		if err != nil || len(out) != 1 || string(out[0].Message) != string(valid) {
			t.Errorf("message_keys: %d records, %v (the sink cuts plain text)", len(out), err)
		}
		huge := kubeFields([]byte("short"))
		huge = append(huge, buffer.Field{Key: "blob", Value: buffer.RawJSON(fmt.Appendf(nil, "%q", valid))})
		f, _ = cloudwatch.NewFormatter(static)
		_, out, err = f.AppendRecords(nil, nil, &buffer.Record{Fields: huge})
		if err != nil || len(out) != 1 || f.Stats().Split != 0 {
			t.Errorf("unsplittable: %d records, %v, %+v", len(out), err, f.Stats())
		}
	})
}

func with(c cloudwatch.Config, f func(*cloudwatch.Config)) cloudwatch.Config {
	f(&c)
	return c
}

// keyOrder returns the top-level keys of a JSON object in order.
func keyOrder(t *testing.T, js []byte) []string {
	t.Helper()
	v, err := buffer.ParseJSON(js)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, f := range v.Kids {
		keys = append(keys, f.Key)
	}
	return keys
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func commonPrefix(a, b string) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

// TestFormatter_KeyCache checks member names through the formatter's name
// cache: names needing escapes, invalid UTF-8, more names than cache slots
// (collisions), the same names again in another order, and a name whose
// bytes are reused for another name after the record.
func TestFormatter_KeyCache(t *testing.T) {
	f, err := cloudwatch.NewFormatter(cloudwatch.Config{LogGroupName: "g", LogStreamName: "s"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i := range 40 {
		names = append(names, fmt.Sprintf("k%d", i), fmt.Sprintf("%dk\"\\\n", i))
	}
	names = append(names, "é", "bad\xff", "x")
	reused := []byte("reusedname")
	for round := range 3 {
		var fs buffer.Fields
		for i, n := range names {
			if (i+round)%3 != 0 {
				fs = append(fs, buffer.Field{Key: n, Value: buffer.Str([]byte(n))})
			}
		}
		_, out, err := f.AppendRecords(nil, nil, &buffer.Record{Fields: fs})
		if err != nil || len(out) != 1 {
			t.Fatalf("round %d: %d records, %v", round, len(out), err)
		}
		if got, want := string(out[0].Message), string(fs.AppendJSON(nil)); got != want {
			t.Fatalf("round %d:\n got %s\nwant %s", round, got, want)
		}
	}
	// A name whose bytes then hold another name of the same length, first
	// and last byte (the same cache slot).
	for round := range 2 {
		fs := buffer.Fields{{Key: unsafeString(reused), Value: buffer.RawJSON([]byte("1"))}}
		_, out, err := f.AppendRecords(nil, nil, &buffer.Record{Fields: fs})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(out[0].Message), string(fs.AppendJSON(nil)); got != want {
			t.Fatalf("reused name, round %d: got %s, want %s", round, got, want)
		}
		copy(reused, "r0000000xe")
	}
}

func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// A line the tailer cut at its line bound arrives as consecutive records
// (Piece set): their events form one marked line, ordinals running on across
// the records (one of them over an event by itself), only the very last piece
// marked last, and each record's own last piece acknowledging it.
func TestFormatter_AppendRecords_TailerPieces(t *testing.T) {
	f, err := cloudwatch.NewFormatter(cloudwatch.Config{LogGroupName: "g", LogStreamName: "s"})
	if err != nil {
		t.Fatal(err)
	}
	texts := [][]byte{bigText(300 << 10), bigText(1 << 20), []byte("the rest\n")}
	pieces := []buffer.Piece{buffer.PieceMore, buffer.PieceMore | buffer.PieceCont, buffer.PieceCont}
	var out []buffer.Record
	var dst []byte
	var ends []int // index in out of each record's last event
	for i, txt := range texts {
		in := buffer.Record{Time: t0, Tag: tag, Fields: kubeFields(txt), Source: 10, Offset: int64(100 * (i + 1)), Piece: pieces[i]}
		if dst, out, err = f.AppendRecords(dst, out, &in); err != nil {
			t.Fatal(err)
		}
		ends = append(ends, len(out)-1)
		if i == 0 {
			// Another file under the same tag starts a cut line of its own
			// meanwhile (a fixed tag over a glob): it does not join this one.
			other := buffer.Record{Time: t0, Tag: tag, Fields: kubeFields([]byte("other file")), Source: 11, Offset: 5, Piece: buffer.PieceMore}
			if _, _, err := f.AppendRecords(nil, nil, &other); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(out) < 4 {
		t.Fatalf("%d events, want the 1 MiB record split in two or more", len(out))
	}
	var id any
	var text strings.Builder
	for i, o := range out {
		if n := len(o.Message) + cloudwatch.EventOverhead; n > cloudwatch.MaxEventSize {
			t.Fatalf("event %d: %d bytes, over the event limit", i, n)
		}
		var m map[string]any
		if err := json.Unmarshal(o.Message, &m); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if i == 0 {
			id = m["partial_id"]
		}
		last := i == len(out)-1
		if m["partial_id"] != id || m["partial_ordinal"] != strconv.Itoa(i+1) || m["partial_last"] != strconv.FormatBool(last) || m["partial_message"] != "true" {
			t.Fatalf("event %d markers: id %v (first %v) ordinal %v last %v", i, m["partial_id"], id, m["partial_ordinal"], m["partial_last"])
		}
		text.WriteString(m["log"].(string))
		wantOff := int64(0)
		for r, e := range ends {
			if e == i {
				wantOff = int64(100 * (r + 1))
			}
		}
		if o.Offset != wantOff || (o.Source == 0) != (wantOff == 0) {
			t.Fatalf("event %d: Source %d Offset %d, want offset %d", i, o.Source, o.Offset, wantOff)
		}
	}
	if want := string(texts[0]) + string(texts[1]) + string(texts[2]); text.String() != want {
		t.Fatalf("reassembled %d bytes, want %d", text.Len(), len(want))
	}
	if st := f.Stats(); st.Split != 2 || st.Pieces != uint64(len(out)+1) {
		t.Errorf("Stats() = %+v, want 2 lines in %d pieces", st, len(out)+1)
	}
	// The next line of the stream starts afresh: a new id, ordinal 1.
	in := buffer.Record{Time: t0 + 1, Tag: tag, Fields: kubeFields([]byte("next")), Source: 10, Offset: 401, Piece: buffer.PieceMore}
	_, out2, err := f.AppendRecords(nil, nil, &in)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(out2[0].Message, &m); err != nil {
		t.Fatal(err)
	}
	if m["partial_id"] == id || m["partial_ordinal"] != "1" || m["partial_last"] != "false" {
		t.Fatalf("next line: id %v ordinal %v last %v, want a new line's first piece", m["partial_id"], m["partial_ordinal"], m["partial_last"])
	}
}

// The member names of the common record shapes stay cached together: once
// warm, formatting a record allocates nothing.
func TestFormatter_KeyCacheShapes(t *testing.T) {
	shapes := map[string][]string{
		"docker json + kubernetes": {"log", "stream", "docker", "kubernetes"},
		"cri + kubernetes":         {"stream", "logtag", "message", "time", "docker", "kubernetes"},
		"injected time and tag":    {"log", "stream", "time", "ts", "tag", "partial_id", "partial_ordinal", "logtag"},
	}
	for name, keys := range shapes {
		t.Run(name, func(t *testing.T) {
			f, err := cloudwatch.NewFormatter(cloudwatch.Config{LogGroupName: "g", LogStreamName: "s"})
			if err != nil {
				t.Fatal(err)
			}
			var fs buffer.Fields
			for _, k := range keys {
				fs = append(fs, buffer.Field{Key: k, Value: buffer.Str([]byte("v"))})
			}
			r := buffer.Record{Time: t0, Tag: tag, Fields: fs}
			dst := make([]byte, 0, 4096)
			out := make([]buffer.Record, 0, 4)
			if allocs := testing.AllocsPerRun(100, func() {
				if _, _, err := f.AppendRecords(dst[:0], out[:0], &r); err != nil {
					t.Fatal(err)
				}
			}); allocs != 0 {
				t.Fatalf("%v allocations per record with names %v", allocs, keys)
			}
		})
	}
}
