package enrich_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"logship/buffer"
	"logship/enrich"
)

// concatRun feeds records {"log": text, "stream": s} and reports, per input,
// "keep:<json>@<offset>" or "drop" plus the acknowledged offsets.
func concatRun(t *testing.T, cfg enrich.ConcatConfig, clock *time.Time, inputs []string) (outs []string, acks []int64, f enrich.Filter) {
	t.Helper()
	f, err := cfg.NewFilter(enrich.FilterDeps{Now: func() time.Time { return *clock },
		Ack: func(recs []buffer.Record) {
			for _, r := range recs {
				acks = append(acks, r.Offset)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	for i, in := range inputs {
		stream := "stdout"
		if s, rest, ok := strings.Cut(in, "|"); ok {
			stream, in = s, rest
		}
		r := &buffer.Record{Tag: "kubernetes.a", Source: 9, Offset: int64(i + 1), Time: int64(i + 1),
			Fields: buffer.Fields{{Key: "log", Value: buffer.Str([]byte(in))}, {Key: "stream", Value: buffer.Str([]byte(stream))}}}
		if f.Filter(r) {
			outs = append(outs, fmt.Sprintf("keep:%s@%d", js(r), r.Offset))
		} else {
			if r.Source != 0 {
				acks = append(acks, r.Offset) // the router acknowledges drops
			}
			outs = append(outs, "drop")
		}
	}
	return outs, acks, f
}

func TestConcat(t *testing.T) {
	tests := []struct {
		name   string
		cfg    enrich.ConcatConfig
		in     []string
		want   []string
		acks   []int64
		flush  []string
		fAcked []int64
	}{
		{"AWS Container Insights ^\\S start", enrich.ConcatConfig{Key: "log", MultilineStart: `^\S`, Separator: ""},
			[]string{"Exception\n", "  at a\n", "  at b\n", "next\n"},
			[]string{"drop", "drop", "drop", `keep:{"log":"Exception\n  at a\n  at b\n","stream":"stdout"}@1`},
			[]int64{2, 3}, []string{`{"log":"next\n","stream":"stdout"}@4`}, nil},
		{"continuation without a group passes", enrich.ConcatConfig{Key: "log", MultilineStart: `^\S`, Separator: ""},
			[]string{"  orphan\n"}, []string{`keep:{"log":"  orphan\n","stream":"stdout"}@1`}, nil, nil, nil},
		{"end regexp closes the group", enrich.ConcatConfig{Key: "log", MultilineStart: `^begin`, MultilineEnd: `end$`, Separator: "\n"},
			[]string{"begin", "mid", "the end", "begin end"},
			[]string{"drop", "drop", `keep:{"log":"begin\nmid\nthe end","stream":"stdout"}@1`, `keep:{"log":"begin end","stream":"stdout"}@4`},
			[]int64{2, 3}, nil, nil},
		{"only an end regexp", enrich.ConcatConfig{Key: "log", MultilineEnd: `;$`, Separator: " "},
			[]string{"a", "b;", "c;"},
			[]string{"drop", `keep:{"log":"a b;","stream":"stdout"}@1`, `keep:{"log":"c;","stream":"stdout"}@3`}, []int64{2}, nil, nil},
		{"n_lines", enrich.ConcatConfig{Key: "log", NLines: 2, Separator: "+"},
			[]string{"1", "2", "3"}, []string{"drop", `keep:{"log":"1+2","stream":"stdout"}@1`, "drop"}, []int64{2},
			[]string{`{"log":"3","stream":"stdout"}@3`}, nil},
		{"stream_identity_key separates streams", enrich.ConcatConfig{Key: "log", MultilineStart: `^\S`, Separator: "", StreamIdentityKey: "stream"},
			[]string{"stdout|A", "stderr|B", "stdout| a", "stderr| b", "stdout|C"},
			[]string{"drop", "drop", "drop", "drop", `keep:{"log":"A a","stream":"stdout"}@1`}, []int64{3, 4},
			[]string{`{"log":"B b","stream":"stderr"}@2`, `{"log":"C","stream":"stdout"}@5`}, nil},
		{"continuous_line_regexp breaks the group", enrich.ConcatConfig{Key: "log", MultilineStart: `^S`, ContinuousLine: `^\s`, Separator: "|"},
			[]string{"S1", " c", "X"},
			[]string{"drop", "drop", `keep:{"log":"S1| c","stream":"stdout"}@1`}, []int64{2},
			[]string{`{"log":"X","stream":"stdout"}@3`}, nil},
		{"partial_key", enrich.ConcatConfig{Key: "log", PartialKey: "stream", PartialValue: "P", Separator: ""},
			[]string{"P|ab", "P|cd", "F|ef", "F|gh"},
			[]string{"drop", "drop", `keep:{"log":"abcdef"}@1`, `keep:{"log":"gh"}@4`}, []int64{2, 3}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := time.Unix(1000, 0)
			outs, acks, f := concatRun(t, tt.cfg, &clock, tt.in)
			if strings.Join(outs, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("outputs\n got  %q\n want %q", outs, tt.want)
			}
			if fmt.Sprint(acks) != fmt.Sprint(tt.acks) {
				t.Errorf("acknowledged offsets %v, want %v", acks, tt.acks)
			}
			fl := f.(enrich.Flusher)
			if got := fl.Flush(clock.Add(time.Second), false); len(got) != 0 {
				t.Errorf("Flush before the interval: %d records", len(got))
			}
			var flushed []string
			for _, r := range fl.Flush(clock.Add(enrich.DefaultConcatFlushInterval), false) {
				flushed = append(flushed, fmt.Sprintf("%s@%d", js(&r), r.Offset))
			}
			if strings.Join(sorted(flushed), "\n") != strings.Join(sorted(tt.flush), "\n") {
				t.Errorf("flushed\n got  %q\n want %q", flushed, tt.flush)
			}
		})
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestConcat_TimeAndCopies(t *testing.T) {
	clock := time.Unix(1000, 0)
	var acks int
	f, err := (&enrich.ConcatConfig{Key: "log", MultilineStart: `^\S`, Separator: "", FlushInterval: 5 * time.Second, TimeoutLabel: "@NORMAL"}).
		NewFilter(enrich.FilterDeps{Now: func() time.Time { return clock }, Ack: func(r []buffer.Record) { acks += len(r) }})
	if err != nil {
		t.Fatal(err)
	}
	arena := []byte("First")
	r := &buffer.Record{Tag: "t", Time: 10, Source: 1, Offset: 5, Fields: buffer.Fields{{Key: "log", Value: buffer.Str(arena)}}}
	if f.Filter(r) {
		t.Fatal("first record passed")
	}
	copy(arena, "XXXXX") // the converter reuses its arena after the batch
	clock = clock.Add(3 * time.Second)
	r2 := &buffer.Record{Tag: "t", Time: 20, Source: 1, Offset: 9, Fields: buffer.Fields{{Key: "log", Value: buffer.Str([]byte(" two"))}}}
	f.Filter(r2)
	fl := f.(enrich.Flusher)
	if fl.TimeoutLabel() != "@NORMAL" {
		t.Errorf("TimeoutLabel = %q", fl.TimeoutLabel())
	}
	if got := fl.Flush(clock.Add(4*time.Second), false); len(got) != 0 {
		t.Fatal("flushed before 5s of idleness")
	}
	got := fl.Flush(clock.Add(5*time.Second), false)
	if len(got) != 1 || js(&got[0]) != `{"log":"First two"}` || got[0].Time != 10 || got[0].Offset != 5 || got[0].Source != 1 {
		t.Fatalf("flushed %+v", got)
	}
	if acks != 1 {
		t.Errorf("acks = %d, want 1 (the absorbed record)", acks)
	}
}

func TestConcat_Config(t *testing.T) {
	bad := map[string]enrich.ConcatConfig{
		"no key":     {MultilineStart: "x"},
		"no mode":    {Key: "log"},
		"two modes":  {Key: "log", NLines: 2, MultilineStart: "x"},
		"bad regexp": {Key: "log", MultilineStart: "(x"},
	}
	for name, c := range bad {
		if err := c.Validate(); err == nil {
			t.Errorf("%s: Validate accepted it", name)
		}
	}
	if _, err := (&enrich.ConcatConfig{Key: "log", NLines: 2}).NewFilter(enrich.FilterDeps{}); err == nil {
		t.Error("NewFilter without an Ack hook succeeded")
	}
	f, err := (&enrich.ConcatConfig{Key: "log", PassThrough: true}).NewFilter(enrich.FilterDeps{})
	if err != nil {
		t.Fatal(err)
	}
	if r := rec(t, "t", `{"log":"x"}`); !f.Filter(r) || js(r) != `{"log":"x"}` {
		t.Error("pass-through concat changed the record")
	}
}
