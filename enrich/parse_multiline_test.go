package enrich_test

import (
	"strings"
	"testing"
	"time"

	"logship/buffer"
	"logship/enrich"
	"logship/tail"
)

const auditFormat1 = `^(?<time>\S+) AUDIT:(?: (?:id="(?<id>(?:[^"\\]|\\.)*)"|ip="(?<ip>(?:[^"\\]|\\.)*)"|method="(?<method>(?:[^"\\]|\\.)*)"|user="(?<user>(?:[^"\\]|\\.)*)"|groups="(?<groups>(?:[^"\\]|\\.)*)"|as="(?<as>(?:[^"\\]|\\.)*)"|asgroups="(?<asgroups>(?:[^"\\]|\\.)*)"|namespace="(?<namespace>(?:[^"\\]|\\.)*)"|uri="(?<uri>(?:[^"\\]|\\.)*)"|response="(?<response>(?:[^"\\]|\\.)*)"|\w+="(?:[^"\\]|\\.)*"))*`

type step struct {
	text      string
	wantRecs  []string // JSON of records appended by this line
	wantDrops []int64  // offsets acknowledged at once
}

func runLines(t *testing.T, c *enrich.Converter, steps []step) {
	t.Helper()
	var off int64
	for i, s := range steps {
		off += int64(len(s.text) + 1)
		l := tail.Line{Source: 4, Offset: off, Path: "/var/log/kubelet.log", Text: []byte(s.text), Time: 1}
		recs, drops := c.ConvertLine(nil, nil, &l)
		var got []string
		for _, r := range recs {
			got = append(got, js(&r))
		}
		if strings.Join(got, "\n") != strings.Join(s.wantRecs, "\n") {
			t.Errorf("line %d %q: records\n got  %q\n want %q", i, s.text, got, s.wantRecs)
		}
		var gotDrops []int64
		for _, d := range drops {
			if d.Source != 4 {
				t.Errorf("line %d: drop source %d", i, d.Source)
			}
			gotDrops = append(gotDrops, d.Offset)
		}
		if len(gotDrops) != len(s.wantDrops) || (len(gotDrops) > 0 && gotDrops[0] != s.wantDrops[0]) {
			t.Errorf("line %d %q: drops %v, want %v", i, s.text, gotDrops, s.wantDrops)
		}
	}
}

func TestConverter_MultilineAudit(t *testing.T) {
	c, err := enrich.NewConverter(enrich.LineConfig{Tag: func(string) string { return "kube-apiserver-audit" },
		Parse: enrich.ParseConfig{Type: "multiline", TimeFormat: "%FT%T.%L%Z", Location: time.UTC,
			Lines: &enrich.MultilineConfig{FirstLine: `^\S+\s+AUDIT:`, Formats: []string{auditFormat1}, FlushInterval: 5 * time.Second}}})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Grouping() || c.FlushInterval() != 5*time.Second {
		t.Fatalf("Grouping() = %v, FlushInterval() = %v", c.Grouping(), c.FlushInterval())
	}
	l1 := `2017-02-09T00:15:57.992775796Z AUDIT: id="90c73c7c-97d6-4b65-9461-f94606ff825f" ip="104.132.1.72" method="GET" user="kubecfg" as="<self>" asgroups="<lookup>" namespace="default" uri="/api/v1/namespaces/default/pods"`
	l2 := `2017-02-09T00:15:57.993528822Z AUDIT: id="90c73c7c-97d6-4b65-9461-f94606ff825f" response="200"`
	runLines(t, c, []step{
		{text: "junk before the first record", wantDrops: []int64{29}},
		{text: l1},
		{text: l2, wantRecs: []string{`{"id":"90c73c7c-97d6-4b65-9461-f94606ff825f","ip":"104.132.1.72","method":"GET","user":"kubecfg","as":"<self>","asgroups":"<lookup>","namespace":"default","uri":"/api/v1/namespaces/default/pods"}`}},
	})
	// The second record is pending until the flush interval passes.
	if recs, _ := c.FlushIdle(nil, nil, time.Now(), false); len(recs) != 0 {
		t.Fatalf("FlushIdle before the interval returned %d records", len(recs))
	}
	recs, drops := c.FlushIdle(nil, nil, time.Now().Add(6*time.Second), false)
	if len(recs) != 1 || len(drops) != 0 {
		t.Fatalf("FlushIdle: %d records, %d drops", len(recs), len(drops))
	}
	if got, want := js(&recs[0]), `{"id":"90c73c7c-97d6-4b65-9461-f94606ff825f","response":"200"}`; got != want {
		t.Errorf("flushed %s, want %s", got, want)
	}
	want := time.Date(2017, 2, 9, 0, 15, 57, 993000000, time.UTC).UnixNano()
	if recs[0].Time/int64(time.Millisecond) != want/int64(time.Millisecond) {
		t.Errorf("time %s, want %s", time.Unix(0, recs[0].Time).UTC(), time.Unix(0, want).UTC())
	}
	if recs[0].Source != 4 || recs[0].Offset != int64(29+len(l1)+1+len(l2)+1) {
		t.Errorf("flushed record carries %d/%d, want the held first line's source/offset", recs[0].Source, recs[0].Offset)
	}
	if d, u := c.GroupStats(); d != 1 || u != 0 {
		t.Errorf("GroupStats = %d, %d", d, u)
	}
}

func TestConverter_KubernetesV012Groups(t *testing.T) {
	now := func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
	c, err := enrich.NewConverter(enrich.LineConfig{Tag: func(string) string { return "kubelet" },
		Parse: enrich.ParseConfig{Type: "kubernetes", Location: time.UTC, Now: now, SecondPrecision: true,
			Lines: &enrich.MultilineConfig{FirstLine: enrich.GlogFirstLine}}})
	if err != nil {
		t.Fatal(err)
	}
	runLines(t, c, []step{
		{text: "E0925 18:00:01.5       42 kubelet.go:1] failed:"},
		{text: "  goroutine 1 [running]:", wantDrops: []int64{73}},
		{text: "W0925 18:00:02.000001   42 kubelet.go:2] next", wantRecs: []string{
			`{"severity":"E","pid":"42","source":"kubelet.go:1","message":"failed:\n  goroutine 1 [running]:"}`}},
	})
	recs, _ := c.FlushIdle(nil, nil, time.Now(), true)
	if len(recs) != 1 || js(&recs[0]) != `{"severity":"W","pid":"42","source":"kubelet.go:2","message":"next"}` {
		t.Fatalf("final flush: %v", recs)
	}
	if want := time.Date(2026, 9, 25, 18, 0, 2, 0, time.UTC).UnixNano(); recs[0].Time != want {
		t.Errorf("time %s, want %s (current year, whole seconds)", time.Unix(0, recs[0].Time).UTC(), time.Unix(0, want).UTC())
	}
}

func TestConverter_KubernetesV1LineByLine(t *testing.T) {
	c, err := enrich.NewConverter(enrich.LineConfig{Tag: func(string) string { return "kubelet" },
		Parse: enrich.ParseConfig{Type: "kubernetes", Location: time.UTC, Lines: &enrich.MultilineConfig{FlushInterval: 5 * time.Second}}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Grouping() {
		t.Fatal("v1 kubernetes parser groups lines")
	}
	runLines(t, c, []step{
		{text: "I0925 18:00:01.5       42 kubelet.go:1] one", wantRecs: []string{`{"severity":"I","pid":"42","source":"kubelet.go:1","message":"one"}`}},
		{text: "  continuation", wantDrops: []int64{59}},
	})
}

func TestConverter_MultilineRejectedGroup(t *testing.T) {
	for _, emit := range []bool{false, true} {
		c, err := enrich.NewConverter(enrich.LineConfig{Tag: func(string) string { return "t" }, EmitUnmatched: emit,
			Parse: enrich.ParseConfig{Type: "multiline", Lines: &enrich.MultilineConfig{FirstLine: `^start`, Formats: []string{`^start (?<n>\d+)$`}}}})
		if err != nil {
			t.Fatal(err)
		}
		junk := tail.Line{Source: 2, Offset: 4, Text: []byte("jnk")}
		recs, drops := c.ConvertLine(nil, nil, &junk)
		if emit && (len(recs) != 1 || js(&recs[0]) != `{"unmatched_line":"jnk"}` || recs[0].Offset != 4 || len(drops) != 0) {
			t.Errorf("emit_unmatched_lines, line before the first line: recs %v drops %v", recs, drops)
		}
		if !emit && (len(recs) != 0 || len(drops) != 1) {
			t.Errorf("line before the first line: recs %v drops %v, want it dropped", recs, drops)
		}
		l := tail.Line{Source: 2, Offset: 10, Text: []byte("start x")}
		c.ConvertLine(nil, nil, &l)
		recs, drops = c.FlushIdle(nil, nil, time.Now(), true)
		if emit {
			if len(recs) != 1 || js(&recs[0]) != `{"unmatched_line":"start x"}` || len(drops) != 0 {
				t.Errorf("emit_unmatched_lines: recs %v drops %v", recs, drops)
			}
		} else if len(recs) != 0 || len(drops) != 1 || drops[0].Offset != 10 {
			t.Errorf("rejected group: recs %v drops %v (want its first line acknowledged)", recs, drops)
		}
	}
	_ = buffer.Record{}
}

func TestNewParser_Multiline(t *testing.T) {
	if _, err := enrich.NewParser(enrich.ParseConfig{Type: "multiline"}); err == nil {
		t.Error("multiline without format1 accepted")
	}
	p, err := enrich.NewParser(enrich.ParseConfig{Type: "multiline", Lines: &enrich.MultilineConfig{Formats: []string{`^(?<a>\w+)`, `\n(?<b>.+)`}}})
	if err != nil {
		t.Fatal(err)
	}
	var r buffer.Record
	if err := p.Parse([]byte("x\nrest\nmore"), &r); err != nil {
		t.Fatal(err)
	}
	if got := js(&r); got != `{"a":"x","b":"rest\nmore"}` {
		t.Errorf("got %s", got)
	}
}

// TestConverter_MultilineWithoutFirstLine: without format_firstline, lines
// accumulate until the joined text parses (in_tail's behaviour).
func TestConverter_MultilineWithoutFirstLine(t *testing.T) {
	c, err := enrich.NewConverter(enrich.LineConfig{Tag: func(string) string { return "t" },
		Parse: enrich.ParseConfig{Type: "multiline", Lines: &enrich.MultilineConfig{Formats: []string{`^BEGIN (?<id>\d+)\n`, `(?<body>.*)\nEND$`}}}})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Grouping() {
		t.Fatal("no grouping")
	}
	runLines(t, c, []step{
		{text: "BEGIN 1"},
		{text: "x", wantDrops: []int64{10}},
		{text: "y", wantDrops: []int64{12}},
		{text: "END", wantDrops: []int64{16}, wantRecs: []string{`{"id":"1","body":"x\ny"}`}},
		{text: "BEGIN 2"},
	})
	recs, drops := c.FlushIdle(nil, nil, time.Now(), true)
	if len(recs) != 0 || len(drops) != 1 || drops[0].Offset != 24 {
		t.Errorf("unparsable pending text: recs %v drops %v, want its first line acknowledged as dropped", recs, drops)
	}
}
