package enrich_test

import (
	"testing"

	"logship/buffer"
	"logship/enrich"
)

// FuzzRecordTransformer: any template either is refused at configuration
// time or expands without panicking, in both modes.
func FuzzRecordTransformer(f *testing.F) {
	for _, s := range []string{`${record["kubernetes"]["namespace_name"]}.${record["kubernetes"]["container_name"]}`,
		"${tag_parts[-1]}", `["${tag}",{"${a}":1}]`, "${", "}${}", `${record.dig("a","b")}`, "x${time}y"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, tpl string, ruby bool) {
		c := &enrich.RecordTransformerConfig{EnableRuby: ruby, AutoTypecast: len(tpl)%2 == 0, Record: []enrich.TemplateField{{Key: "k", Template: tpl}}}
		flt, err := c.NewFilter(enrich.FilterDeps{Hostname: "h"})
		if err != nil {
			return
		}
		v, _ := buffer.ParseJSON([]byte(`{"a":"x","kubernetes":{"namespace_name":"n"},"m":null}`))
		r := &buffer.Record{Tag: "a.b", Fields: v.Kids}
		if !flt.Filter(r) {
			t.Fatal("record_transformer dropped a record")
		}
		if _, ok := r.Fields.Get("k"); !ok {
			t.Fatal("field not set")
		}
	})
}
