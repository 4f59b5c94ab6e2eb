package enrich_test

import (
	"strings"
	"testing"
	"time"

	"logship/buffer"
	"logship/enrich"
	"logship/tail"
)

func kubeTag(path string) string {
	return "kubernetes." + strings.ReplaceAll(strings.TrimPrefix(path, "/"), "/", ".")
}

func TestConverter_Convert(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC).UnixNano()
	line := func(text string, flags tail.Flags) tail.Line {
		return tail.Line{Source: 3, Offset: 100, Path: "/var/log/containers/a.log", Time: ts,
			TimeText: []byte("2024-01-02T03:04:05.123456789Z"), Text: []byte(text), Stream: tail.StreamStderr, Flags: flags}
	}
	tests := []struct {
		name string
		cfg  enrich.LineConfig
		line tail.Line
		want string
		ok   bool
		time int64
	}{
		{"docker json", enrich.LineConfig{Container: true, Parse: enrich.ParseConfig{Type: "json"}},
			line(`hi "x"`, 0), `{"log":"hi \"x\"\n","stream":"stderr"}`, true, ts},
		{"docker json partial", enrich.LineConfig{Container: true, Parse: enrich.ParseConfig{Type: "json"}},
			line(`part`, tail.FlagPartial), `{"log":"part","stream":"stderr"}`, true, ts},
		{"docker json v0.12 seconds", enrich.LineConfig{Container: true, Parse: enrich.ParseConfig{Type: "json", SecondPrecision: true}},
			line(`x`, 0), `{"log":"x\n","stream":"stderr"}`, true, ts - ts%int64(time.Second)},
		{"cri", enrich.LineConfig{Container: true, Parse: enrich.ParseConfig{Type: "cri"}},
			line(`hello`, 0), `{"stream":"stderr","logtag":"F","message":"hello","time":"2024-01-02T03:04:05.123456789Z"}`, true, ts},
		{"cri partial", enrich.LineConfig{Container: true, Parse: enrich.ParseConfig{Type: "cri"}},
			line(`hel`, tail.FlagPartial), `{"stream":"stderr","logtag":"P","message":"hel","time":"2024-01-02T03:04:05.123456789Z"}`, true, ts},
		{"container with regexp on the content", enrich.LineConfig{Container: true, Parse: enrich.ParseConfig{Type: "regexp", Expression: `^(?<level>\w+) (?<msg>.*)$`}},
			line(`INFO started`, 0), `{"level":"INFO","msg":"started"}`, true, ts},
		{"malformed container line kept", enrich.LineConfig{Container: true, Parse: enrich.ParseConfig{Type: "cri"}},
			line(`garbage`, tail.FlagMalformed), `{"message":"garbage"}`, true, ts},
		{"unmatched dropped", enrich.LineConfig{Parse: enrich.ParseConfig{Type: "json"}},
			line(`not json`, 0), ``, false, 0},
		{"unmatched emitted", enrich.LineConfig{EmitUnmatched: true, Parse: enrich.ParseConfig{Type: "json"}},
			line(`not json`, 0), `{"unmatched_line":"not json"}`, true, -1},
		{"path_key", enrich.LineConfig{PathKey: "path", Parse: enrich.ParseConfig{Type: "none"}},
			line(`x`, 0), `{"message":"x","path":"/var/log/containers/a.log"}`, true, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Tag = kubeTag
			r, ok := convert(t, tt.cfg, tt.line, tt.ok)
			if !ok {
				return
			}
			if got := string(r.Fields.AppendJSON(nil)); got != tt.want {
				t.Errorf("fields=%s, want %s", got, tt.want)
			}
			if r.Tag != "kubernetes.var.log.containers.a.log" || r.Source != 3 || r.Offset != 100 {
				t.Errorf("tag/source/offset=%q/%d/%d", r.Tag, r.Source, r.Offset)
			}
			if tt.time >= 0 && r.Time != tt.time {
				t.Errorf("time=%d, want %d", r.Time, tt.time)
			}
		})
	}
}

// convert converts line with a new Converter for cfg and checks that it
// matched (ok) or was dropped as unmatched, with no records (!ok); it returns
// the record of a match.
func convert(t *testing.T, cfg enrich.LineConfig, line tail.Line, ok bool) (buffer.Record, bool) {
	t.Helper()
	c, err := enrich.NewConverter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	recs, matched := c.Convert(nil, &line)
	if matched != ok {
		t.Fatalf("Convert ok=%v, want %v", matched, ok)
	}
	if !ok {
		if len(recs) != 0 || c.Unmatched != 1 {
			t.Fatalf("dropped line: len(recs)=%d Unmatched=%d, want 0, 1", len(recs), c.Unmatched)
		}
		return buffer.Record{}, false
	}
	return recs[0], true
}

func BenchmarkConverter_CRI(b *testing.B) {
	c, err := enrich.NewConverter(enrich.LineConfig{Container: true, Parse: enrich.ParseConfig{Type: "cri"}, Tag: kubeTag})
	if err != nil {
		b.Fatal(err)
	}
	l := tail.Line{Source: 1, Path: "/var/log/containers/a.log", TimeText: []byte("2024-01-02T03:04:05.123456789Z"),
		Text: []byte(strings.Repeat("x", 200)), Stream: tail.StreamStdout}
	recs := make([]buffer.Record, 0, 1000)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if len(recs) == cap(recs) {
			recs = recs[:0]
			c.Reset()
		}
		recs, _ = c.Convert(recs, &l)
	}
}

// The pieces of a line the tailer cut carry where they stand into the record,
// for the output that marks them as one line.
func TestConverter_TailerPieces(t *testing.T) {
	c, err := enrich.NewConverter(enrich.LineConfig{Container: true, Parse: enrich.ParseConfig{Type: "cri"}, Tag: kubeTag})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		flags tail.Flags
		want  buffer.Piece
	}{
		{0, 0},
		{tail.FlagSplit, buffer.PieceMore},
		{tail.FlagSplit | tail.FlagSplitCont, buffer.PieceMore | buffer.PieceCont},
		{tail.FlagSplitCont, buffer.PieceCont},
	}
	for _, tc := range cases {
		l := tail.Line{Source: 1, Path: "/var/log/containers/a.log", TimeText: []byte("2024-01-02T03:04:05.123456789Z"),
			Text: []byte("x"), Stream: tail.StreamStdout, Flags: tc.flags}
		recs, ok := c.Convert(nil, &l)
		if !ok || len(recs) != 1 || recs[0].Piece != tc.want {
			t.Fatalf("flags %b: ok %v, %d records, piece %v; want %v", tc.flags, ok, len(recs), recs, tc.want)
		}
	}
}
