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
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = enrich.DefaultConcatFlushInterval
	}
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
	// Timed-out groups carry the flush time (the plugin's "now").
	if len(got) != 1 || js(&got[0]) != `{"log":"First two"}` || got[0].Time != clock.Add(5*time.Second).UnixNano() || got[0].Offset != 5 || got[0].Source != 1 {
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

func TestConcat_PluginDetails(t *testing.T) {
	clock := time.Unix(1000, 0)
	deps := enrich.FilterDeps{Now: func() time.Time { return clock }, Ack: func([]buffer.Record) {}}
	t.Run("use_first_timestamp on timeout", func(t *testing.T) {
		f, _ := (&enrich.ConcatConfig{Key: "log", NLines: 5, FlushInterval: time.Second, UseFirstTimestamp: true}).NewFilter(deps)
		f.Filter(&buffer.Record{Time: 10, Fields: buffer.Fields{{Key: "log", Value: buffer.Str([]byte("a"))}}})
		if got := f.(enrich.Flusher).Flush(clock.Add(time.Second), false); len(got) != 1 || got[0].Time != 10 {
			t.Errorf("flushed %+v, want the first record's time", got)
		}
	})
	t.Run("flush_interval 0 never times out", func(t *testing.T) {
		f, _ := (&enrich.ConcatConfig{Key: "log", NLines: 5}).NewFilter(deps)
		f.Filter(&buffer.Record{Fields: buffer.Fields{{Key: "log", Value: buffer.Str([]byte("a"))}}})
		if got := f.(enrich.Flusher).Flush(clock.Add(24*time.Hour), false); len(got) != 0 {
			t.Errorf("flushed %d groups", len(got))
		}
		if got := f.(enrich.Flusher).Flush(clock, true); len(got) != 1 {
			t.Errorf("shutdown flush returned %d groups, want 1", len(got))
		}
	})
	t.Run("partial: records without the partial key pass", func(t *testing.T) {
		f, _ := (&enrich.ConcatConfig{Key: "log", PartialKey: "p", PartialValue: "true", Separator: ""}).NewFilter(deps)
		f.Filter(&buffer.Record{Source: 1, Fields: buffer.Fields{{Key: "log", Value: buffer.Str([]byte("ab"))}, {Key: "p", Value: buffer.Str([]byte("true"))}}})
		other := &buffer.Record{Fields: buffer.Fields{{Key: "log", Value: buffer.Str([]byte("zz"))}}}
		if !f.Filter(other) || js(other) != `{"log":"zz"}` {
			t.Errorf("record without the partial key: %s", js(other))
		}
		end := &buffer.Record{Fields: buffer.Fields{{Key: "log", Value: buffer.Str([]byte("cd"))}, {Key: "p", Value: buffer.Str([]byte("false"))}}}
		if !f.Filter(end) || js(end) != `{"log":"abcd"}` {
			t.Errorf("joined %s", js(end))
		}
	})
	t.Run("joined record is record.merge(first.merge(key))", func(t *testing.T) {
		f, _ := (&enrich.ConcatConfig{Key: "log", MultilineStart: `^\S`, Separator: ""}).NewFilter(deps)
		f.Filter(&buffer.Record{Source: 1, Fields: buffer.Fields{{Key: "a", Value: buffer.Str([]byte("first"))}, {Key: "log", Value: buffer.Str([]byte("X"))}}})
		next := &buffer.Record{Source: 1, Fields: buffer.Fields{{Key: "log", Value: buffer.Str([]byte("Y"))}, {Key: "b", Value: buffer.Str([]byte("next"))}}}
		if !f.Filter(next) {
			t.Fatal("group not emitted")
		}
		if got, want := js(next), `{"log":"X","b":"next","a":"first"}`; got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	})
	t.Run("cri logtag pass-through deletes the logtag and stream keys", func(t *testing.T) {
		f, _ := (&enrich.ConcatConfig{Key: "message", PassThrough: true, PassThroughDelete: []string{"logtag", "stream"}}).NewFilter(enrich.FilterDeps{})
		r := rec(t, "t", `{"stream":"stdout","logtag":"F","message":"m","time":"x"}`)
		if !f.Filter(r) || js(r) != `{"message":"m","time":"x"}` {
			t.Errorf("got %s", js(r))
		}
		r = rec(t, "t", `{"stream":"stdout"}`)
		if f.Filter(r); js(r) != `{"stream":"stdout"}` {
			t.Errorf("a record without the key changed: %s", js(r))
		}
	})
}
