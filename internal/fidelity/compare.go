package fidelity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// ReadTime is Event.Timestamp for an event stamped with the time its agent
// read the line.
const ReadTime = -1

// Event is one CloudWatch event as an emulator stored it.
type Event struct {
	Group, Stream string
	Timestamp     int64 // ms since the epoch
	Message       string
}

// Key returns the line an event belongs to: the first line ID in the
// message, else the line without an ID (an empty line) whose time is the
// event's to the millisecond (±1), else "".
func Key(ev Event, byTime map[int64]string) string {
	if m := FindID(ev.Message); m != "" {
		return m
	}
	for _, d := range []int64{0, -1, 1} {
		if id, ok := byTime[ev.Timestamp+d]; ok {
			return id
		}
	}
	return ""
}

// keyBySecond finds the empty line of an event an agent stamped with a whole
// second: the next one not yet taken of that second in the event's
// container (events of a stream are in line order).
func keyBySecond(ev Event, bySec map[int64][]Line, taken map[string]bool) string {
	if ev.Timestamp%1000 != 0 {
		return ""
	}
	for _, l := range bySec[ev.Timestamp/1000] {
		if l.Container != "" && strings.Contains(ev.Stream, l.Container) && !taken[l.ID] {
			taken[l.ID] = true
			return l.ID
		}
	}
	return ""
}

// FindID returns the first line ID ("L" and six digits) in s, or "".
func FindID(s string) string {
	for i := strings.IndexByte(s, 'L'); i >= 0 && i+7 <= len(s); {
		ok := true
		for _, c := range []byte(s[i+1 : i+7]) {
			if c < '0' || c > '9' {
				ok = false
				break
			}
		}
		if ok {
			return s[i : i+7]
		}
		j := strings.IndexByte(s[i+1:], 'L')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return ""
}

// Class names of differences. Each is either in Allowed (a deliberate
// difference that logship check-config prints) or fails the suite.
const (
	ClassMissing         = "missing in logship"
	ClassExtra           = "only in logship"
	ClassGroup           = "log group differs"
	ClassStream          = "log stream differs"
	ClassTimestamp       = "timestamp differs"
	ClassPartialJoined   = "partial pieces joined into one event"
	ClassPartialMismatch = "partial pieces joined, text differs"
	ClassCount           = "different number of events for the line"
	ClassKeyOrder        = "key order differs"
	ClassEscaping        = "JSON escaping differs (same values)"
	ClassNotJSON         = "message bytes differ (not JSON)"
	ClassReplacement     = "invalid UTF-8 replaced differently (U+FFFD count)"
	ClassWholeSecondKept = "line with a whole-second time (no fraction) dropped by Fluentd, shipped by logship"
	ClassMergedJSON      = "JSON log line merged into the record (kubernetes_metadata 0.2x merge_json_log)"
	ClassFieldExtra      = "field only in logship"
	ClassFieldMissing    = "field missing in logship"
	ClassFieldValue      = "field value differs"
	// ClassSecondPrecision: logship's time is Fluentd's truncated to the
	// second, as Fluentd v0.12 kept it (a v0.12 configuration).
	ClassSecondPrecision = "timestamp in whole seconds (Fluentd v0.12 time)"
	// ClassContinuationJoined: logship's value is Fluentd's with continuation
	// lines joined on (the v0.12-era multi-line format kubernetes).
	ClassContinuationJoined = "continuation lines joined into the record (v0.12-era multi-line format kubernetes)"
	// ClassPartialNoSeparator: a line the runtime cut into pieces, joined by
	// Fluentd's concat with its separator ("\n") and by logship as written.
	ClassPartialNoSeparator = "partial pieces joined without concat's separator"
)

// Allowed returns, for a deliberate difference class, the text of the
// check-config line (config.Pipeline.Differences, listed in the README) that
// announces it; the suite checks that logship check-config prints it for the
// configuration under test. Any class not here fails the suite. Keep the
// list short.
func Allowed(class string) (checkConfigLine string, ok bool) {
	switch class {
	case ClassPartialJoined:
		return "CRI partial lines (P) and docker 16 KiB pieces are joined into one record", true
	case ClassWholeSecondKept:
		return "a container log time on a whole second", true
	case ClassPartialNoSeparator:
		return "joins a line's partial pieces without its separator", true
	case ClassSecondPrecision, ClassMergedJSON, ClassContinuationJoined:
		return "a configuration written for Fluentd v0.12 behaves as the v0.12-era image", true
	}
	return "", false
}

// Diff is one difference of a compared line.
type Diff struct {
	Key    string
	Class  string
	Detail string // e.g. the field that differs
	// FluentdValue and LogshipValue are the differing field values (field
	// classes only).
	FluentdValue, LogshipValue string
	Fluentd, Logship           []Event
}

// Name is the class with its detail, the unit the report counts.
func (d Diff) Name() string {
	if d.Detail == "" {
		return d.Class
	}
	return d.Class + ": " + d.Detail
}

// Report is the comparison of two runs.
type Report struct {
	Compared  int            // lines compared (keys seen on either side)
	Identical int            // lines whose events are identical
	Counts    map[string]int // difference (class: detail) → lines
	Examples  map[string]Diff
}

// Compare matches fluentd's and logship's events by line and classifies
// every line; a line can show several differences. lines are the generated
// lines (to match events without an ID by time, and to name what a line
// was).
func Compare(fluentd, logship []Event, lines []Line) *Report {
	byTime, bySec, class := map[int64]string{}, map[int64][]Line{}, map[string]string{}
	for _, l := range lines {
		if l.Class == ClassEmpty { // the only lines without their ID in the text
			byTime[l.Time.UnixMilli()] = l.ID
			bySec[l.Time.Unix()] = append(bySec[l.Time.Unix()], l)
		}
		class[l.ID] = l.Class
	}
	f, l := group(fluentd, byTime, bySec), group(logship, byTime, bySec)
	keys := map[string]bool{}
	for k := range f {
		keys[k] = true
	}
	for k := range l {
		keys[k] = true
	}
	r := &Report{Counts: map[string]int{}, Examples: map[string]Diff{}}
	for k := range keys {
		r.Compared++
		ds := classify(k, f[k], l[k])
		if len(ds) == 1 && ds[0].Class == ClassExtra && class[k] == ClassWholeSecond {
			ds[0].Class = ClassWholeSecondKept
		}
		if len(ds) == 0 {
			r.Identical++
		}
		for _, d := range ds {
			r.Counts[d.Name()]++
			if _, ok := r.Examples[d.Name()]; !ok {
				r.Examples[d.Name()] = d
			}
		}
	}
	return r
}

// Unlisted returns the differences (class: detail) whose class is not a
// deliberate one, sorted.
func (r *Report) Unlisted() []string {
	var out []string
	for name := range r.Counts {
		class, _, _ := strings.Cut(name, ": ")
		if _, ok := Allowed(class); !ok {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Print writes the counts and one example per difference.
func (r *Report) Print(w io.Writer, title string) {
	fmt.Fprintf(w, "== %s: %d lines compared, %d identical\n", title, r.Compared, r.Identical)
	var names []string
	for n := range r.Counts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		class, _, _ := strings.Cut(n, ": ")
		tag := "UNLISTED"
		if _, ok := Allowed(class); ok {
			tag = "deliberate"
		}
		fmt.Fprintf(w, "  %-10s %5d  %s\n", tag, r.Counts[n], n)
		ex := r.Examples[n]
		if ex.FluentdValue != "" || ex.LogshipValue != "" {
			fv, lv := ex.FluentdValue, ex.LogshipValue
			at := ""
			if i := firstDiff(fv, lv); i > 60 {
				// Show where they part, not the common start.
				at = fmt.Sprintf(" (from byte %d)", i-40)
				fv, lv = fv[i-40:], lv[i-40:]
			}
			fmt.Fprintf(w, "             line %s%s: fluentd %s, logship %s\n", ex.Key, at, clip(fv), clip(lv))
			continue
		}
		for _, e := range ex.Fluentd {
			fmt.Fprintf(w, "             fluentd %s/%s @%d %s\n", e.Group, clip(e.Stream), e.Timestamp, clip(e.Message))
		}
		for _, e := range ex.Logship {
			fmt.Fprintf(w, "             logship %s/%s @%d %s\n", e.Group, clip(e.Stream), e.Timestamp, clip(e.Message))
		}
	}
}

// tsDetail buckets a timestamp difference (logship minus Fluentd, ms).
func tsDetail(d int64) string {
	switch {
	case d == 1 || d == -1:
		return fmt.Sprintf("logship %+d ms", d)
	case d < 0 && d > -1000:
		return "logship earlier by 2-999 ms"
	case d > 0 && d < 1000:
		return "logship later by 2-999 ms"
	case d < 0:
		return "logship earlier by 1 s or more"
	default:
		return "logship later by 1 s or more"
	}
}

// firstDiff returns the index of the first byte where a and b differ.
func firstDiff(a, b string) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

func clip(s string) string {
	const n = 160
	if s == "" {
		return "(none)"
	}
	if len(s) > n {
		return fmt.Sprintf("%q…(%d bytes)", s[:n], len(s))
	}
	return fmt.Sprintf("%q", s)
}

func group(evs []Event, byTime map[int64]string, bySec map[int64][]Line) map[string][]Event {
	m := map[string][]Event{}
	taken := map[string]bool{}
	for i, ev := range evs {
		k := Key(ev, byTime)
		if k == "" {
			k = keyBySecond(ev, bySec, taken)
		}
		if k == "" {
			k = fmt.Sprintf("?%s/%s@%d#%d", ev.Group, ev.Stream, ev.Timestamp, i)
		}
		m[k] = append(m[k], ev)
	}
	return m
}

func classify(key string, f, l []Event) []Diff {
	d := Diff{Key: key, Fluentd: f, Logship: l}
	one := func(class, detail string) []Diff {
		d.Class, d.Detail = class, detail
		return []Diff{d}
	}
	switch {
	case len(l) == 0:
		return one(ClassMissing, "")
	case len(f) == 0:
		return one(ClassExtra, "")
	case len(f) > 1 && len(l) == 1:
		if joined(f) == text(l[0].Message) {
			return one(ClassPartialJoined, "")
		}
		return one(ClassPartialMismatch, "")
	case len(f) != len(l):
		return one(ClassCount, fmt.Sprintf("fluentd %d, logship %d", len(f), len(l)))
	}
	var out []Diff
	seen := map[string]bool{}
	for i := range f {
		for _, x := range classifyOne(f[i], l[i]) {
			x.Key, x.Fluentd, x.Logship = key, f[i:i+1], l[i:i+1]
			if !seen[x.Name()] {
				seen[x.Name()] = true
				out = append(out, x)
			}
		}
	}
	return out
}

func classifyOne(f, l Event) []Diff {
	var out []Diff
	add := func(class, detail, fv, lv string) {
		out = append(out, Diff{Class: class, Detail: detail, FluentdValue: fv, LogshipValue: lv})
	}
	if f.Group != l.Group {
		add(ClassGroup, "", f.Group, l.Group)
	}
	if f.Stream != l.Stream {
		add(ClassStream, "", f.Stream, l.Stream)
	}
	switch {
	case f.Timestamp == l.Timestamp:
	case f.Timestamp == ReadTime:
		add(ClassTimestamp, "fluentd stamps the read time, logship the line's", "read time", fmt.Sprint(l.Timestamp))
	case l.Timestamp == ReadTime:
		add(ClassTimestamp, "logship stamps the read time, fluentd the line's", fmt.Sprint(f.Timestamp), "read time")
	case l.Timestamp%1000 == 0 && l.Timestamp/1000 == f.Timestamp/1000:
		add(ClassSecondPrecision, "", fmt.Sprint(f.Timestamp), fmt.Sprint(l.Timestamp))
	default:
		add(ClassTimestamp, tsDetail(l.Timestamp-f.Timestamp), fmt.Sprint(f.Timestamp), fmt.Sprint(l.Timestamp))
	}
	if f.Message == l.Message {
		return out
	}
	fp, err1 := flatten(f.Message)
	lp, err2 := flatten(l.Message)
	if err1 != nil || err2 != nil {
		if stripFFFD(f.Message) == stripFFFD(l.Message) {
			add(ClassReplacement, "", "", "")
		} else {
			add(ClassNotJSON, "", "", "")
		}
		return out
	}
	fm, lm := map[string]string{}, map[string]string{}
	for _, kv := range fp {
		fm[kv[0]] = kv[1]
	}
	for _, kv := range lp {
		lm[kv[0]] = kv[1]
	}
	n := len(out)
	merged := jsonLogKeys(f.Message)
	mergedSeen := false
	for _, kv := range lp {
		if _, ok := fm[kv[0]]; !ok {
			top, _, _ := strings.Cut(kv[0], ".")
			top, _, _ = strings.Cut(top, "[")
			if merged[top] {
				if !mergedSeen {
					add(ClassMergedJSON, "", "", "")
					mergedSeen = true
				}
				continue
			}
			add(ClassFieldExtra, kv[0], "", kv[1])
		}
	}
	for _, kv := range fp {
		v, ok := lm[kv[0]]
		switch {
		case !ok:
			add(ClassFieldMissing, kv[0], kv[1], "")
		case v == kv[1]:
		case stripFFFD(v) == stripFFFD(kv[1]):
			add(ClassReplacement, kv[0], kv[1], v)
		case joinedWithNewlines(kv[1], v):
			add(ClassPartialNoSeparator, kv[0], kv[1], v)
		case strings.HasPrefix(v, strings.TrimSuffix(kv[1], `"`)+`\n`):
			add(ClassContinuationJoined, kv[0], kv[1], v)
		default:
			add(ClassFieldValue, kv[0], kv[1], v)
		}
	}
	if len(out) > n {
		return out
	}
	for i := range fp {
		if fp[i][0] != lp[i][0] {
			add(ClassKeyOrder, "", "", "")
			return out
		}
	}
	add(ClassEscaping, "", "", "")
	return out
}

// jsonLogKeys returns the top-level keys of the JSON object a record's "log"
// value holds (nil when it holds none).
func jsonLogKeys(msg string) map[string]bool {
	var rec struct {
		Log string `json:"log"`
	}
	if json.Unmarshal([]byte(msg), &rec) != nil || rec.Log == "" {
		return nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal([]byte(rec.Log), &obj) != nil {
		return nil
	}
	keys := map[string]bool{}
	for k := range obj {
		keys[k] = true
	}
	return keys
}

func stripFFFD(s string) string { return strings.ReplaceAll(s, "\uFFFD", "") }

// flatten returns the leaf values of a JSON object in document order as
// (dotted path, canonical JSON value) pairs.
func flatten(msg string) ([][2]string, error) {
	dec := json.NewDecoder(strings.NewReader(msg))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, fmt.Errorf("not an object")
	}
	// A second pass with Token keeps key order.
	dec = json.NewDecoder(strings.NewReader(msg))
	dec.UseNumber()
	var out [][2]string
	if err := walk(dec, "", &out); err != nil {
		return nil, err
	}
	return out, nil
}

func walk(dec *json.Decoder, path string, out *[][2]string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				p := k.(string)
				if path != "" {
					p = path + "." + p
				}
				if err := walk(dec, p, out); err != nil {
					return err
				}
			}
		case '[':
			for i := 0; dec.More(); i++ {
				if err := walk(dec, fmt.Sprintf("%s[%d]", path, i), out); err != nil {
					return err
				}
			}
		}
		_, err := dec.Token() // closing delimiter
		return err
	default:
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(t); err != nil {
			return err
		}
		*out = append(*out, [2]string{path, strings.TrimSpace(b.String())})
		return nil
	}
}

// text returns the line text a record carries: its "message" or "log"
// value (or the whole message when it is not such a record).
func text(msg string) string {
	var m map[string]any
	if json.Unmarshal([]byte(msg), &m) != nil {
		return msg
	}
	for _, k := range []string{"message", "log"} {
		if s, ok := m[k].(string); ok {
			return strings.TrimSuffix(s, "\n")
		}
	}
	return msg
}

func joined(evs []Event) string {
	var b strings.Builder
	for _, e := range evs {
		b.WriteString(text(e.Message))
	}
	return b.String()
}

// joinedWithNewlines reports whether Fluentd's value fv is logship's value lv
// with newlines (concat's default separator, "\n" in JSON text) put between
// pieces: the same text once every newline is taken out, and more newlines.
func joinedWithNewlines(fv, lv string) bool {
	strip := func(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, `\n`, ""), "\n", "") }
	count := func(s string) int { return strings.Count(s, `\n`) + strings.Count(s, "\n") }
	return count(fv) > count(lv) && strip(fv) == strip(lv)
}
