package enrich_test

import (
	"errors"
	"testing"
	"time"

	"logship/buffer"
	"logship/enrich"
	"logship/tail"
)

// criPattern is the regexp a multi_format config commonly pairs with a json
// pattern to read CRI files as well as docker json-file ones.
const criPattern = `^(?<time>[^ ]+) (?<stream>stdout|stderr) (?<logtag>[FP]) (?<log>.*)$`

func TestMultiFormat_Parse(t *testing.T) {
	fixed := time.Date(2026, 11, 27, 1, 2, 3, 0, time.UTC)
	now := func() time.Time { return fixed }
	jsonP := enrich.ParseConfig{Type: "json"}
	reP := enrich.ParseConfig{Type: "regexp", Expression: `^(?<level>[A-Z]+) (?<message>.*)$`}
	noneP := enrich.ParseConfig{Type: "none"}
	tests := []struct {
		name     string
		patterns []enrich.ParseConfig
		in       string
		want     string // "" means ErrNoMatch
		wantTime time.Time
	}{
		{"json pattern", []enrich.ParseConfig{jsonP, reP}, `{"a":1,"time":1700000000}`, `{"a":1}`, time.Unix(1700000000, 0)},
		{"regexp pattern after json fails", []enrich.ParseConfig{jsonP, reP}, `WARN disk low`, `{"level":"WARN","message":"disk low"}`, fixed},
		{"none catches the rest", []enrich.ParseConfig{jsonP, reP, noneP}, `just text`, `{"message":"just text"}`, fixed},
		{"no pattern matches", []enrich.ParseConfig{jsonP, reP}, `just text`, "", time.Time{}},
		{"order: first match wins", []enrich.ParseConfig{noneP, jsonP}, `{"a":1}`, `{"message":"{\"a\":1}"}`, fixed},
		{"order: regexp before none", []enrich.ParseConfig{reP, noneP}, `INFO ok`, `{"level":"INFO","message":"ok"}`, fixed},
		{"a time the pattern cannot read tries the next", []enrich.ParseConfig{
			{Type: "json", TimeFormat: "%Y-%m-%d"}, noneP}, `{"time":"yesterday"}`, `{"message":"{\"time\":\"yesterday\"}"}`, fixed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := enrich.NewParser(enrich.ParseConfig{Type: "multi_format", Patterns: tt.patterns, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			var r buffer.Record
			err = p.Parse([]byte(tt.in), &r)
			if tt.want == "" {
				if !errors.Is(err, enrich.ErrNoMatch) {
					t.Fatalf("Parse(%q) = %v, want ErrNoMatch", tt.in, err)
				}
				if len(r.Fields) != 0 {
					t.Errorf("fields after a mismatch = %s, want none", r.Fields.AppendJSON(nil))
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got := string(r.Fields.AppendJSON(nil)); got != tt.want {
				t.Errorf("fields=%s, want %s", got, tt.want)
			}
			if r.Time != tt.wantTime.UnixNano() {
				t.Errorf("time=%v, want %v", time.Unix(0, r.Time).UTC(), tt.wantTime)
			}
		})
	}
}

func TestMultiFormat_Config(t *testing.T) {
	for name, cfg := range map[string]enrich.ParseConfig{
		"no patterns":         {Type: "multi_format"},
		"unsupported pattern": {Type: "multi_format", Patterns: []enrich.ParseConfig{{Type: "cri"}}},
		"bad regexp":          {Type: "multi_format", Patterns: []enrich.ParseConfig{{Type: "regexp", Expression: "("}}},
	} {
		if _, err := enrich.NewParser(cfg); err == nil {
			t.Errorf("%s: NewParser succeeded, want an error", name)
		}
	}
}

// TestMultiFormat_Container: on container files the tailer has framed the
// docker or CRI record (pieces joined); a json pattern takes a docker line as
// Fluentd's json parser reads the file's record, and a CRI line goes to the
// regexp pattern as the physical CRI line.
func TestMultiFormat_Container(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC).UnixNano()
	line := func(text string, flags tail.Flags) tail.Line {
		return tail.Line{Source: 3, Offset: 100, Path: "/var/log/containers/a.log", Time: ts,
			TimeText: []byte("2024-01-02T03:04:05.123456789Z"), Text: []byte(text), Stream: tail.StreamStderr, Flags: flags}
	}
	both := []enrich.ParseConfig{{Type: "json"}, {Type: "regexp", Expression: criPattern}}
	tests := []struct {
		name     string
		patterns []enrich.ParseConfig
		line     tail.Line
		want     string
		ok       bool
	}{
		{"docker line, json pattern", both, line(`hi "x"`, tail.FlagDocker), `{"log":"hi \"x\"\n","stream":"stderr"}`, true},
		{"docker partial", both, line(`part`, tail.FlagDocker|tail.FlagPartial), `{"log":"part","stream":"stderr"}`, true},
		{"cri line, regexp pattern", both, line(`hello`, 0), `{"stream":"stderr","logtag":"F","log":"hello"}`, true},
		{"cri partial", both, line(`hel`, tail.FlagPartial), `{"stream":"stderr","logtag":"P","log":"hel"}`, true},
		{"docker line, regexp on the json record", []enrich.ParseConfig{{Type: "regexp", Expression: `^\{"log":"(?<text>[^"\\]*)`}},
			line(`abc`, tail.FlagDocker), `{"text":"abc"}`, true},
		{"cri line, json only: no match", []enrich.ParseConfig{{Type: "json"}}, line(`hello`, 0), ``, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ok := convert(t, enrich.LineConfig{Container: true, Tag: kubeTag,
				Parse: enrich.ParseConfig{Type: "multi_format", Patterns: tt.patterns}}, tt.line, tt.ok)
			if !ok {
				return
			}
			if got := string(r.Fields.AppendJSON(nil)); got != tt.want {
				t.Errorf("fields=%s, want %s", got, tt.want)
			}
			if r.Time != ts {
				t.Errorf("time=%v, want the runtime's %v", time.Unix(0, r.Time).UTC(), time.Unix(0, ts).UTC())
			}
		})
	}
}
