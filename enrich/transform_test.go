package enrich_test

import (
	"strings"
	"testing"
	"time"

	"logship/buffer"
	"logship/enrich"
)

// rec builds a record from a JSON object.
func rec(t *testing.T, tag, js string) *buffer.Record {
	t.Helper()
	v, err := buffer.ParseJSON([]byte(js))
	if err != nil {
		t.Fatalf("bad test JSON %s: %v", js, err)
	}
	return &buffer.Record{Tag: tag, Fields: v.Kids, Time: time.Date(2017, 9, 25, 18, 0, 0, 0, time.UTC).UnixNano(), Source: 7, Offset: 70}
}

func js(r *buffer.Record) string { return string(r.Fields.AppendJSON(nil)) }

func TestRecordTransformer(t *testing.T) {
	const kube = `{"log":"hi\n","stream":"stdout","kubernetes":{"namespace_name":"default","container_name":"nginx"},"n":5}`
	tests := []struct {
		name string
		cfg  enrich.RecordTransformerConfig
		tag  string
		in   string
		want string
	}{
		{"seed namespace.container (enable_ruby)", enrich.RecordTransformerConfig{EnableRuby: true,
			Record: []enrich.TemplateField{{"kubernetes_namespace_container_name", `${record["kubernetes"]["namespace_name"]}.${record["kubernetes"]["container_name"]}`}}},
			"kubernetes.x", kube,
			`{"log":"hi\n","stream":"stdout","kubernetes":{"namespace_name":"default","container_name":"nginx"},"n":5,"kubernetes_namespace_container_name":"default.nginx"}`},
		{"missing hash makes nil (so the workshop's rewrite_tag_filter drops the record)", enrich.RecordTransformerConfig{EnableRuby: true,
			Record: []enrich.TemplateField{{"k", `${record["kubernetes"]["namespace_name"]}.${record["kubernetes"]["container_name"]}`}}},
			"t", `{"log":"x"}`, `{"log":"x","k":null}`},
		{"missing leaf is empty", enrich.RecordTransformerConfig{EnableRuby: true,
			Record: []enrich.TemplateField{{"k", `${record["kubernetes"]["pod"]}.${record["kubernetes"]["container_name"]}`}}},
			"t", kube, `{"log":"hi\n","stream":"stdout","kubernetes":{"namespace_name":"default","container_name":"nginx"},"n":5,"k":".nginx"}`},
		{"single quotes and dig", enrich.RecordTransformerConfig{EnableRuby: true,
			Record: []enrich.TemplateField{{"a", `${record['kubernetes']['container_name']}`}, {"b", `${record.dig("kubernetes", "nope", "x")}!`}}},
			"t", `{"kubernetes":{"container_name":"c"}}`, `{"kubernetes":{"container_name":"c"},"a":"c","b":"!"}`},
		{"remove_keys", enrich.RecordTransformerConfig{RemoveKeys: []string{"kubernetes_namespace_container_name", "absent"}},
			"kube.default.nginx", `{"log":"x","kubernetes_namespace_container_name":"default.nginx","stream":"stdout"}`,
			`{"log":"x","stream":"stdout"}`},
		{"remove nested accessor", enrich.RecordTransformerConfig{RemoveKeys: []string{"$.kubernetes.container_name"}},
			"t", kube, `{"log":"hi\n","stream":"stdout","kubernetes":{"namespace_name":"default"},"n":5}`},
		{"tag placeholders", enrich.RecordTransformerConfig{Record: []enrich.TemplateField{
			{"tag", "${tag}"}, {"p0", "${tag_parts[0]}"}, {"plast", "${tag_parts[-1]}"}, {"pre", "${tag_prefix[1]}"},
			{"suf", "${tag_suffix[1]}"}, {"out", "${tag_parts[9]}"}, {"host", "${hostname}"}, {"time", "${time}"}}},
			"a.b.c", `{}`,
			`{"tag":"a.b.c","p0":"a","plast":"c","pre":"a.b","suf":"b.c","out":"","host":"node-1","time":"2017-09-25 18:00:00 +0000"}`},
		{"plain key placeholders (no ruby)", enrich.RecordTransformerConfig{Record: []enrich.TemplateField{
			{"msg", "${stream}: ${log}"}, {"num", "${n}"}, {"unknown", "x${foo.bar}y"}, {"lit", "cluster-1"}}},
			"t", `{"log":"a","stream":"stdout","n":5}`,
			`{"log":"a","stream":"stdout","n":5,"msg":"stdout: a","num":"5","unknown":"xy","lit":"cluster-1"}`},
		{"auto_typecast keeps types", enrich.RecordTransformerConfig{AutoTypecast: true, Record: []enrich.TemplateField{
			{"num", "${n}"}, {"obj", `${record["kubernetes"]}`}, {"str", "n=${n}"}}},
			"t", `{"n":5,"kubernetes":{"a":1}}`, `{"n":5,"kubernetes":{"a":1},"num":5,"obj":{"a":1},"str":"n=5"}`},
		{"ruby: a bare name is the record field (OpenStruct)", enrich.RecordTransformerConfig{EnableRuby: true, Record: []enrich.TemplateField{
			{"s", "${stream}-${missing}"}}}, "t", `{"stream":"stdout"}`, `{"stream":"stdout","s":"stdout-"}`},
		{"JSON values expand inside", enrich.RecordTransformerConfig{Record: []enrich.TemplateField{
			{"arr", `["${tag}",1,{"${stream}":"${tag_parts[0]}"}]`}, {"obj", `{"n":null,"t":true}`}, {"bad", `{not json`}}},
			"a.b", `{"stream":"out"}`, `{"stream":"out","arr":["a.b",1,{"out":"a"}],"obj":{"n":null,"t":true},"bad":"{not json"}`},
		{"existing key keeps position (Hash#merge)", enrich.RecordTransformerConfig{Record: []enrich.TemplateField{{"log", "new"}, {"z", "1"}}},
			"t", `{"a":1,"log":"old","b":2}`, `{"a":1,"log":"new","b":2,"z":"1"}`},
		{"renew_record with keep_keys", enrich.RecordTransformerConfig{RenewRecord: true, KeepKeys: []string{"b", "missing"},
			Record: []enrich.TemplateField{{"msg", "${a}"}}},
			"t", `{"a":"x","b":2}`, `{"b":2,"msg":"x"}`},
		{"placeholders see the original record", enrich.RecordTransformerConfig{Record: []enrich.TemplateField{{"a", "1"}, {"b", "${a}"}}},
			"t", `{"a":"0"}`, `{"a":"1","b":"0"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Location = time.UTC
			f, err := tt.cfg.NewFilter(enrich.FilterDeps{Hostname: "node-1"})
			if err != nil {
				t.Fatal(err)
			}
			r := rec(t, tt.tag, tt.in)
			if !f.Filter(r) {
				t.Fatal("record dropped")
			}
			if got := js(r); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestRecordTransformer_RenewTimeKey(t *testing.T) {
	f, err := (&enrich.RecordTransformerConfig{RenewTimeKey: "ts"}).NewFilter(enrich.FilterDeps{})
	if err != nil {
		t.Fatal(err)
	}
	r := rec(t, "t", `{"ts":"1500000000.5"}`)
	f.Filter(r)
	if want := int64(1500000000500000000); r.Time != want {
		t.Errorf("time = %d, want %d", r.Time, want)
	}
}

func TestRecordTransformer_RubyErrors(t *testing.T) {
	for _, expr := range []string{`${record["a"].upcase}`, `${Time.now}`, `${1 + 2}`, `${ENV["X"]}`, `${Key}`} {
		t.Run(expr, func(t *testing.T) {
			c := enrich.RecordTransformerConfig{EnableRuby: true, Record: []enrich.TemplateField{{"k", expr}}}
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), "not supported") {
				t.Errorf("Validate() = %v, want a 'not supported' error", err)
			}
		})
	}
}

// TestRecordTransformer_RawMetadata checks the decode cache: Raw metadata
// objects that differ between records give each record its own values.
func TestRecordTransformer_RawMetadata(t *testing.T) {
	f, err := (&enrich.RecordTransformerConfig{EnableRuby: true, Record: []enrich.TemplateField{{Key: "k",
		Template: `${record["kubernetes"]["namespace_name"]}.${record["kubernetes"]["container_name"]}`}}}).NewFilter(enrich.FilterDeps{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ meta, want string }{
		{`{"namespace_name":"a","container_name":"x"}`, "a.x"},
		{`{"namespace_name":"a","container_name":"x"}`, "a.x"},
		{`{"namespace_name":"b","container_name":"y"}`, "b.y"},
		{`null`, ""},
	} {
		r := &buffer.Record{Fields: buffer.Fields{{Key: "kubernetes", Value: buffer.RawJSON([]byte(tc.meta))}}}
		f.Filter(r)
		v, _ := r.Fields.Get("k")
		got := string(v.Bytes)
		if v.Kind == buffer.Raw {
			got = ""
		}
		if got != tc.want {
			t.Errorf("metadata %s: k = %q (%v), want %q", tc.meta, v.Bytes, v.Kind, tc.want)
		}
	}
}
