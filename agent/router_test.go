package agent_test

import (
	"context"
	"strings"
	"testing"

	"logship/agent"
	"logship/buffer"
	"logship/plugin/plugintest"
)

func prefix(p string) agent.Matcher {
	return agent.MatcherFunc(func(tag string) bool { return strings.HasPrefix(tag, p) })
}

type collect struct{ got []string }

func (c *collect) Emit(_ context.Context, recs []buffer.Record) error {
	for _, r := range recs {
		c.got = append(c.got, r.Tag+" "+string(r.Fields.AppendJSON(nil)))
	}
	return nil
}

func TestRouter_Emit(t *testing.T) {
	var acked []int64
	a, b, lbl := &collect{}, &collect{}, &collect{}
	addX := agent.FilterFunc(func(r *buffer.Record) bool {
		r.Fields = r.Fields.Set("x", buffer.Str([]byte("1")))
		return true
	})
	dropSecret := agent.FilterFunc(func(r *buffer.Record) bool {
		v, _ := r.Fields.Get("m")
		return string(v.Bytes) != "secret"
	})
	never := agent.FilterFunc(func(r *buffer.Record) bool { t.Errorf("filter after the match ran on %s", r.Tag); return true })
	rt := agent.NewRouter(agent.RulesResolver(map[string][]agent.Rule{
		agent.RootLabel: {
			{Match: prefix("k."), Filter: addX},
			{Match: prefix("k."), Filter: dropSecret},
			{Match: prefix("k.a"), Output: a},
			{Match: prefix("k."), Output: b},
			{Match: prefix("k."), Filter: never},
		},
		"@L": {{Match: prefix(""), Output: lbl}},
	}), agent.AckFunc(func(recs []buffer.Record) {
		for _, r := range recs {
			acked = append(acked, r.Offset)
		}
	}))
	ctx := context.Background()
	recs := []buffer.Record{plugintest.Rec("k.a1", "one", 1), plugintest.Rec("k.a1", "secret", 2), plugintest.Rec("k.b", "two", 3), plugintest.Rec("other", "three", 4)}
	if err := rt.Emit(ctx, agent.RootLabel, recs); err != nil {
		t.Fatal(err)
	}
	if err := rt.Emit(ctx, "@L", []buffer.Record{plugintest.Rec("any", "four", 5)}); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(a.got, "|"), `k.a1 {"m":"one","x":"1"}`; got != want {
		t.Errorf("output a got %s, want %s", got, want)
	}
	if got, want := strings.Join(b.got, "|"), `k.b {"m":"two","x":"1"}`; got != want {
		t.Errorf("output b got %s, want %s", got, want)
	}
	if got, want := strings.Join(lbl.got, "|"), `any {"m":"four"}`; got != want {
		t.Errorf("label output got %s, want %s", got, want)
	}
	if len(acked) != 2 || acked[0] != 2 || acked[1] != 4 {
		t.Errorf("acked offsets %v, want [2 4] (filtered out, unmatched)", acked)
	}
	if err := rt.Emit(ctx, "@nope", []buffer.Record{plugintest.Rec("k.a1", "x", 6)}); err != nil {
		t.Fatal(err)
	}
	if rt.Unmatched() != 2 || acked[len(acked)-1] != 6 {
		t.Errorf("Unmatched()=%d acked=%v, want 2 with offset 6 acked (unknown label)", rt.Unmatched(), acked)
	}
}
