package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"logship/buffer"
)

// DefaultIndexPrefix names the daily indices cwl-YYYY.MM.DD, as the
// CloudWatch console's LogsToElasticsearch function did.
const DefaultIndexPrefix = "cwl"

// item is one bulk action: the index action line and the document line,
// each terminated by '\n', for one log event.
type item struct {
	id    string
	index string
	lines []byte
}

// reservedFields are the fields every document gets; a JSON message's own
// fields with these names are dropped.
var reservedFields = []string{"@id", "@timestamp", "@message", "@owner", "@log_group", "@log_stream"}

const msPerDay = 24 * 60 * 60 * 1000

// floorDiv is a/b rounded toward negative infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// indexName returns <prefix>-YYYY.MM.DD for an event time in milliseconds,
// in UTC.
func indexName(prefix string, ms int64) string {
	return prefix + "-" + time.UnixMilli(ms).UTC().Format("2006.01.02")
}

// buildItems turns a DATA_MESSAGE into bulk items, one per log event, in
// payload order. The document has @id, @timestamp (ISO 8601, milliseconds,
// UTC), @message, @owner, @log_group and @log_stream, then the event's
// extracted fields, or else the members of the JSON object that starts at the
// message's first '{', as the console's LogsToElasticsearch function does
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_OpenSearch_Stream.html
// creates it). The index
// action carries _id = the event id, so a re-delivered payload overwrites the
// same documents; there is no _type (removed in Elasticsearch 8 and
// OpenSearch 2).
func buildItems(p *payload, prefix string) []item {
	items := make([]item, len(p.LogEvents))
	ends := make([]int, len(p.LogEvents))
	var b []byte
	var idx string
	day := int64(math.MinInt64)
	for i := range p.LogEvents {
		ev := &p.LogEvents[i]
		// Events of one payload are usually of one day: name its index once.
		if d := floorDiv(ev.Timestamp, msPerDay); d != day {
			day, idx = d, indexName(prefix, ev.Timestamp)
		}
		b = append(b, `{"index":{"_index":`...)
		b = buffer.AppendJSONString(b, idx)
		b = append(b, `,"_id":`...)
		b = buffer.AppendJSONString(b, ev.ID)
		b = append(b, "}}\n"...)
		b = appendDocument(b, p, ev)
		b = append(b, '\n')
		items[i] = item{id: ev.ID, index: idx}
		ends[i] = len(b)
	}
	// One buffer for the whole payload; items slice it (capacity clipped so
	// an append to one item can never overwrite the next).
	start := 0
	for i := range items {
		items[i].lines = b[start:ends[i]:ends[i]]
		start = ends[i]
	}
	return items
}

// member is one field of a document: a key and its compact JSON value.
type member struct {
	key   string
	value []byte
}

// appendDocument appends the event's document as one line of JSON.
func appendDocument(b []byte, p *payload, ev *logEvent) []byte {
	b = append(b, `{"@id":`...)
	b = buffer.AppendJSONString(b, ev.ID)
	b = append(b, `,"@timestamp":"`...)
	b = time.UnixMilli(ev.Timestamp).UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
	b = append(b, '"')
	b = append(b, `,"@message":`...)
	b = buffer.AppendJSONString(b, ev.Message)
	b = append(b, `,"@owner":`...)
	b = buffer.AppendJSONString(b, p.Owner)
	b = append(b, `,"@log_group":`...)
	b = buffer.AppendJSONString(b, p.LogGroup)
	b = append(b, `,"@log_stream":`...)
	b = buffer.AppendJSONString(b, p.LogStream)
	var fields []member
	if len(ev.ExtractedFields) > 0 {
		fields = extractedMembers(ev.ExtractedFields)
	} else if i := strings.IndexByte(ev.Message, '{'); i >= 0 {
		fields, _ = objectMembers([]byte(ev.Message[i:]))
	}
	for _, m := range fields {
		if slices.Contains(reservedFields, m.key) {
			continue
		}
		b = append(b, ',')
		b = buffer.AppendJSONString(b, m.key)
		b = append(b, ':')
		b = append(b, m.value...)
	}
	return append(b, '}')
}

// extractedMembers converts a filter pattern's extracted fields, sorted by
// name: empty values are left out, numeric values become numbers, and a value
// holding a JSON object from its first '{' also yields "$<name>" with that
// object, as the console function did.
func extractedMembers(fields map[string]string) []member {
	keys := slices.Sorted(maps.Keys(fields))
	var out []member
	for _, k := range keys {
		v := fields[k]
		if v == "" {
			continue
		}
		out = append(out, member{key: k, value: scalarJSON(v)})
		if i := bytes.IndexByte([]byte(v), '{'); i >= 0 {
			if obj, ok := compactObject([]byte(v[i:])); ok {
				out = append(out, member{key: "$" + k, value: obj})
			}
		}
	}
	return out
}

// scalarJSON returns v as a JSON number when it is numeric, else as a string.
func scalarJSON(v string) []byte {
	if c := v[0]; (c == '-' || c >= '0' && c <= '9') && json.Valid([]byte(v)) {
		return []byte(v)
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
		return strconv.AppendFloat(nil, f, 'g', -1, 64)
	}
	return buffer.AppendJSONString(nil, v)
}

// errNotObject reports that the text is not exactly one JSON object.
var errNotObject = errors.New("not a JSON object")

// objectMembers returns the members of the JSON object b (only whitespace
// may surround it), values compacted onto one line. A key that occurs twice
// keeps its first position and its last value, as JavaScript's JSON.parse
// does. b is validated once with json.Valid; the top level is then split by
// a small scanner, without decoding the values.
func objectMembers(b []byte) ([]member, error) {
	if !json.Valid(b) {
		return nil, errNotObject
	}
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, errNotObject
	}
	i++
	var out []member
	var seen map[string]int
	for {
		i = skipSpace(b, i)
		if b[i] == '}' {
			return out, nil
		}
		if b[i] == ',' {
			i = skipSpace(b, i+1)
		}
		kEnd := stringEnd(b, i)
		key, err := decodeKey(b[i:kEnd])
		if err != nil {
			return nil, errNotObject
		}
		i = skipSpace(b, kEnd) + 1 // the ':'
		i = skipSpace(b, i)
		vEnd := valueEnd(b, i)
		v := b[i:vEnd]
		if bytes.ContainsAny(v, " \t\r\n") {
			var c bytes.Buffer
			if err := json.Compact(&c, v); err != nil {
				return nil, errNotObject
			}
			v = c.Bytes()
		}
		if !utf8.Valid(v) {
			// Only string contents can be invalid; replace as encoding/json does.
			v = buffer.AppendValidUTF8(nil, v)
		}
		i = vEnd
		j := -1
		if len(out) < 8 {
			for k := range out {
				if out[k].key == key {
					j = k
				}
			}
		} else {
			if seen == nil {
				seen = make(map[string]int, 2*len(out))
				for k := range out {
					seen[out[k].key] = k
				}
			}
			if k, ok := seen[key]; ok {
				j = k
			}
		}
		if j >= 0 {
			out[j].value = v
			continue
		}
		if seen != nil {
			seen[key] = len(out)
		}
		out = append(out, member{key: key, value: v})
	}
}

// The scanners below run on input json.Valid accepted.

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the string literal starting at b[i].
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// valueEnd returns the index after the value starting at b[i].
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = stringEnd(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	}
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
		i++
	}
	return i
}

// decodeKey returns the text of a key's string literal.
func decodeKey(lit []byte) (string, error) {
	if bytes.IndexByte(lit, '\\') < 0 && utf8.Valid(lit) {
		return string(lit[1 : len(lit)-1]), nil
	}
	var k string
	err := json.Unmarshal(lit, &k)
	return k, err
}

// compactObject returns b compacted when it is exactly one JSON object.
func compactObject(b []byte) ([]byte, bool) {
	if _, err := objectMembers(b); err != nil {
		return nil, false
	}
	var v bytes.Buffer
	if err := json.Compact(&v, bytes.TrimSpace(b)); err != nil {
		return nil, false
	}
	return v.Bytes(), true
}
