package rewritetag_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"logship/buffer"
	"logship/plugin/plugintest"
	"logship/sink/rewritetag"
)

func TestRewriteTagOutput(t *testing.T) {
	rule := func(key, pat, tag string, inv bool) rewritetag.Rule {
		return rewritetag.Rule{Key: key, Pattern: pat, Tag: tag, Invert: inv}
	}
	seed := &rewritetag.Config{Rules: []rewritetag.Rule{rule("kubernetes_namespace_container_name", "^(.+)$", "kube.$1", false)}}
	systemd := &rewritetag.Config{Rules: []rewritetag.Rule{
		rule("SYSTEMD_UNIT", `^(.+).service$`, "systemd.$1", false),
		rule("SYSTEMD_UNIT", `^(.+).service$`, "systemd.unmatched", true)}}
	tests := []struct {
		name string
		cfg  *rewritetag.Config
		tag  string
		in   string
		want string // new tag, "" for dropped
	}{
		{"seed retag", seed, "kubernetes.var.log.containers.a.log", `{"kubernetes_namespace_container_name":"default.nginx"}`, "kube.default.nginx"},
		{"missing key dropped", seed, "kubernetes.x", `{"log":"x"}`, ""},
		{"null (failed ruby) dropped (R1.6)", seed, "kubernetes.x", `{"kubernetes_namespace_container_name":null}`, ""},
		{"empty dropped", seed, "kubernetes.x", `{"kubernetes_namespace_container_name":""}`, ""},
		{"same tag dropped", &rewritetag.Config{Rules: []rewritetag.Rule{rule("a", "x", "t", false)}}, "t", `{"a":"x"}`, ""},
		{"systemd unit", systemd, "systemd", `{"SYSTEMD_UNIT":"kubelet.service"}`, "systemd.kubelet"},
		{"systemd inverted rule", systemd, "systemd", `{"SYSTEMD_UNIT":"session-1.scope"}`, "systemd.unmatched"},
		{"placeholders", &rewritetag.Config{Rules: []rewritetag.Rule{rule("a", `^(\w+)-(\w+)$`, "${tag}.$2.__TAG__.${tag_parts[1]}.__TAG_PARTS[-1]__.${hostname}.$1", false)}},
			"in.x.y", `{"a":"foo-bar"}`, "in.x.y.bar.in.x.y.x.y.host-1.foo"},
		{"remove_tag_prefix", &rewritetag.Config{RemoveTagPrefix: "in", Rules: []rewritetag.Rule{rule("a", `.`, "out.${tag}", false)}},
			"in.x", `{"a":"v"}`, "out.x"},
		{"remove_tag_prefix that does not match", &rewritetag.Config{RemoveTagPrefix: "in", Rules: []rewritetag.Rule{rule("a", `.`, "out.${tag}", false)}},
			"other.x", `{"a":"v"}`, "out.other.x"},
		{"capitalize backreference", &rewritetag.Config{CapitalizeBackrefs: true, Rules: []rewritetag.Rule{rule("a", `^(\w+)`, "t.$1", false)}},
			"x", `{"a":"web"}`, "t.Web"},
		{"nested accessor and number", &rewritetag.Config{Rules: []rewritetag.Rule{rule("$.k.code", `^5`, "errors", false)}},
			"x", `{"k":{"code":503}}`, "errors"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var emitted []buffer.Record
			var labels []string
			var acked []buffer.Record
			o, err := rewritetag.New(tt.cfg, "host-1", func(_ context.Context, label string, recs []buffer.Record) error {
				labels = append(labels, label)
				emitted = append(emitted, recs...)
				return nil
			}, plugintest.AckFunc(func(recs []buffer.Record) { acked = append(acked, recs...) }))
			if err != nil {
				t.Fatal(err)
			}
			v, err := buffer.ParseJSON([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			recs := []buffer.Record{{Tag: tt.tag, Fields: v.Kids, Source: 3, Offset: 30}}
			if err := o.Emit(context.Background(), recs); err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if len(emitted) != 0 || len(acked) != 1 || acked[0].Offset != 30 {
					t.Errorf("emitted %d, acked %v; want dropped and acknowledged", len(emitted), acked)
				}
				return
			}
			if len(emitted) != 1 || emitted[0].Tag != tt.want || len(acked) != 0 {
				t.Fatalf("emitted %v acked %v; want one record tagged %q", emitted, acked, tt.want)
			}
			if emitted[0].Source != 3 || emitted[0].Offset != 30 || labels[0] != tt.cfg.Label {
				t.Errorf("re-emitted record lost its source/offset or label: %+v %q", emitted[0], labels[0])
			}
		})
	}
}

// TestRewriteTagOutput_Batch checks a mixed batch: survivors keep their order,
// the others are acknowledged, and the cache does not leak a tag across values.
func TestRewriteTagOutput_Batch(t *testing.T) {
	cfg := &rewritetag.Config{Label: "@OUT", Rules: []rewritetag.Rule{{Key: "ns", Pattern: "^(.+)$", Tag: "kube.$1"}}}
	var got []string
	var acked int
	o, err := rewritetag.New(cfg, "", func(_ context.Context, label string, recs []buffer.Record) error {
		for _, r := range recs {
			got = append(got, fmt.Sprintf("%s:%s@%d", label, r.Tag, r.Offset))
		}
		return nil
	}, plugintest.AckFunc(func(recs []buffer.Record) { acked += len(recs) }))
	if err != nil {
		t.Fatal(err)
	}
	var recs []buffer.Record
	for i, ns := range []string{"a", "a", "", "b", "a"} {
		f := buffer.Fields{}
		if ns != "" {
			f = f.Set("ns", buffer.Str([]byte(ns)))
		}
		recs = append(recs, buffer.Record{Tag: "k", Fields: f, Source: 1, Offset: int64(i)})
	}
	if err := o.Emit(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	if want := "@OUT:kube.a@0 @OUT:kube.a@1 @OUT:kube.b@3 @OUT:kube.a@4"; strings.Join(got, " ") != want || acked != 1 {
		t.Errorf("got %v (acked %d), want %s (acked 1)", got, acked, want)
	}
	if o.Dropped.Load() != 1 {
		t.Errorf("Dropped = %d", o.Dropped.Load())
	}
}

// BenchmarkRewriteTagOutput measures the seed's rewrite (one rule, ^(.+)$ →
// kube.$1) on a batch of 100 records of one container.
func BenchmarkRewriteTagOutput(b *testing.B) {
	cfg := &rewritetag.Config{Rules: []rewritetag.Rule{{Key: "kubernetes_namespace_container_name", Pattern: "^(.+)$", Tag: "kube.$1"}}}
	o, err := rewritetag.New(cfg, "", func(context.Context, string, []buffer.Record) error { return nil }, nil)
	if err != nil {
		b.Fatal(err)
	}
	fields := buffer.Fields{{Key: "log", Value: buffer.Str([]byte("hello\n"))},
		{Key: "kubernetes_namespace_container_name", Value: buffer.Str([]byte("default.nginx"))}}
	recs := make([]buffer.Record, 100)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		for j := range recs {
			recs[j] = buffer.Record{Tag: "kubernetes.var.log.containers.web_default_nginx-0.log", Fields: fields}
		}
		if err := o.Emit(context.Background(), recs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
}

// TestRewriteTagOutput_Loop: new tags that route back to the same output end
// after MaxRewriteDepth passes, acknowledged and counted.
func TestRewriteTagOutput_Loop(t *testing.T) {
	cfg := &rewritetag.Config{Rules: []rewritetag.Rule{{Key: "a", Pattern: "^(.+)$", Tag: "${tag}.x"}}}
	var o *rewritetag.Output
	var acked int
	o, err := rewritetag.New(cfg, "", func(ctx context.Context, _ string, recs []buffer.Record) error {
		return o.Emit(ctx, recs) // <match **> routes every tag back here
	}, plugintest.AckFunc(func(r []buffer.Record) { acked += len(r) }))
	if err != nil {
		t.Fatal(err)
	}
	recs := []buffer.Record{{Tag: "t", Fields: buffer.Fields{{Key: "a", Value: buffer.Str([]byte("v"))}}}}
	if err := o.Emit(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	if acked != 1 || o.Loops.Load() != 1 {
		t.Errorf("acked %d, loops %d; want the record dropped once", acked, o.Loops.Load())
	}
}
