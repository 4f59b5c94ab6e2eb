package enrich_test

import (
	"testing"

	"logship/buffer"
	"logship/enrich"
)

// BenchmarkSeedFilters measures the per-record filters of the seed's
// pipeline after kubernetes_metadata: the enable_ruby record_transformer, the
// remove_keys one, and (kube-system only) the glog parser filter.
func BenchmarkSeedFilters(b *testing.B) {
	const kube = `{"log":"I0925 18:00:01.123456       1 server.go:42] Using iptables Proxier.\n","stream":"stderr","docker":{"container_id":"f231b1630a9d6f101aa1c271a51a240dd8ceb2fc6ce19a9adf18617d864a1c8e"},"kubernetes":{"container_name":"kube-proxy","namespace_name":"kube-system","pod_name":"kube-proxy-x1","host":"node-1"}}`
	v, err := buffer.ParseJSON([]byte(kube))
	if err != nil {
		b.Fatal(err)
	}
	add, err := (&enrich.RecordTransformerConfig{EnableRuby: true, Record: []enrich.TemplateField{{Key: "kubernetes_namespace_container_name",
		Template: `${record["kubernetes"]["namespace_name"]}.${record["kubernetes"]["container_name"]}`}}}).NewFilter(enrich.FilterDeps{})
	if err != nil {
		b.Fatal(err)
	}
	remove, err := (&enrich.RecordTransformerConfig{RemoveKeys: []string{"kubernetes_namespace_container_name"}}).NewFilter(enrich.FilterDeps{})
	if err != nil {
		b.Fatal(err)
	}
	parse, err := (&enrich.ParserFilterConfig{KeyName: "log", ReserveData: true, SuppressParseErrorLog: true,
		Parse: enrich.ParseConfig{Type: "kubernetes", SecondPrecision: true}}).NewFilter(enrich.FilterDeps{})
	if err != nil {
		b.Fatal(err)
	}
	// The kubernetes filter stores metadata as Raw JSON, encoded once per pod.
	raw := append(buffer.Fields(nil), v.Kids...)
	for i := range raw {
		if raw[i].Value.Kind == buffer.Map {
			raw[i].Value = buffer.RawJSON(raw[i].Value.AppendJSON(nil))
		}
	}
	fields := make(buffer.Fields, 0, 16)
	for _, bc := range []struct {
		name string
		fs   []enrich.Filter
		in   buffer.Fields
	}{{"record_transformer-ruby", []enrich.Filter{add}, v.Kids}, {"record_transformer-ruby-raw-metadata", []enrich.Filter{add}, raw},
		{"record_transformer-remove", []enrich.Filter{add, remove}, raw},
		{"all-kube-system", []enrich.Filter{add, remove, parse}, raw}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(kube)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				r := buffer.Record{Tag: "kube.kube-system.kube-proxy", Fields: append(fields[:0], bc.in...)}
				for _, f := range bc.fs {
					f.Filter(&r)
				}
			}
		})
	}
}
