package enrich_test

import (
	"testing"
	"time"

	"logship/enrich"
)

func TestParserFilter(t *testing.T) {
	now := func() time.Time { return time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC) }
	glog := enrich.ParseConfig{Type: "kubernetes", Location: time.UTC, Now: now}
	glogV012 := glog
	glogV012.SecondPrecision = true
	orig := time.Date(2017, 9, 25, 18, 0, 0, 0, time.UTC).UnixNano()
	glogTime := time.Date(2026, 9, 25, 18, 0, 1, 123456000, time.UTC).UnixNano()
	const line = `{"log":"I0925 18:00:01.123456       1 server.go:42] hello\n","stream":"stderr"}`
	tests := []struct {
		name     string
		cfg      enrich.ParserFilterConfig
		in       string
		keep     bool
		want     string
		wantTime int64
	}{
		{"seed kube-system glog (reserve_data)", enrich.ParserFilterConfig{KeyName: "log", ReserveData: true, SuppressParseErrorLog: true, Parse: glogV012},
			line, true, `{"log":"I0925 18:00:01.123456       1 server.go:42] hello\n","stream":"stderr","severity":"I","pid":"1","source":"server.go:42","message":"hello\n"}`,
			glogTime - glogTime%int64(time.Second)},
		{"v1 precision", enrich.ParserFilterConfig{KeyName: "log", ReserveData: true, Parse: glog},
			line, true, `{"log":"I0925 18:00:01.123456       1 server.go:42] hello\n","stream":"stderr","severity":"I","pid":"1","source":"server.go:42","message":"hello\n"}`, glogTime},
		{"mismatch with reserve_data passes unchanged", enrich.ParserFilterConfig{KeyName: "log", ReserveData: true, Parse: glog},
			`{"log":"plain text\n"}`, true, `{"log":"plain text\n"}`, orig},
		{"mismatch without reserve_data drops", enrich.ParserFilterConfig{KeyName: "log", Parse: glog},
			`{"log":"plain text\n"}`, false, ``, 0},
		{"missing key with reserve_data", enrich.ParserFilterConfig{KeyName: "MESSAGE", ReserveData: true, Parse: glog},
			`{"log":"x"}`, true, `{"log":"x"}`, orig},
		{"missing key drops", enrich.ParserFilterConfig{KeyName: "MESSAGE", Parse: glog}, `{"log":"x"}`, false, ``, 0},
		{"replace record", enrich.ParserFilterConfig{KeyName: "log", Parse: enrich.ParseConfig{Type: "json", Now: now}},
			`{"log":"{\"a\":1,\"time\":\"2020-01-01T00:00:00Z\"}","stream":"stdout"}`, true, `{"a":1}`,
			time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()},
		{"reserve_time", enrich.ParserFilterConfig{KeyName: "log", ReserveTime: true, Parse: enrich.ParseConfig{Type: "json", Now: now}},
			`{"log":"{\"a\":1,\"time\":\"2020-01-01T00:00:00Z\"}"}`, true, `{"a":1}`, orig},
		{"no time in parsed data: now", enrich.ParserFilterConfig{KeyName: "log", Parse: enrich.ParseConfig{Type: "json", Now: now}},
			`{"log":"{\"a\":1}"}`, true, `{"a":1}`, now().UnixNano()},
		{"mismatch with hash_value_field adds an empty hash", enrich.ParserFilterConfig{KeyName: "log", ReserveData: true, HashValueField: "h", Parse: glog},
			`{"log":"plain"}`, true, `{"log":"plain","h":{}}`, orig},
		{"no time in parsed data, v0.12: the record's time", enrich.ParserFilterConfig{KeyName: "log", KeepTimeWhenMissing: true, Parse: enrich.ParseConfig{Type: "json", Now: now}},
			`{"log":"{\"a\":1}"}`, true, `{"a":1}`, orig},
		{"v0.12 with a parsed time", enrich.ParserFilterConfig{KeyName: "log", KeepTimeWhenMissing: true, Parse: enrich.ParseConfig{Type: "json", Now: now}},
			`{"log":"{\"a\":1,\"time\":\"2020-01-01T00:00:00Z\"}"}`, true, `{"a":1}`, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()},
		{"keep_time_key", enrich.ParserFilterConfig{KeyName: "log", Parse: enrich.ParseConfig{Type: "json", Now: now, KeepTimeKey: true}},
			`{"log":"{\"a\":1,\"time\":\"2020-01-01T00:00:00Z\"}"}`, true, `{"a":1,"time":"2020-01-01T00:00:00Z"}`, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()},
		{"none parser", enrich.ParserFilterConfig{KeyName: "log", ReserveData: true, Parse: enrich.ParseConfig{Type: "none", Now: now}},
			`{"log":"x"}`, true, `{"log":"x","message":"x"}`, now().UnixNano()},
		{"parsed wins, original position kept", enrich.ParserFilterConfig{KeyName: "log", ReserveData: true, Parse: enrich.ParseConfig{Type: "json", Now: now}},
			`{"a":"old","log":"{\"b\":2,\"a\":\"new\"}"}`, true, `{"a":"new","log":"{\"b\":2,\"a\":\"new\"}","b":2}`, now().UnixNano()},
		{"remove_key_name_field", enrich.ParserFilterConfig{KeyName: "log", ReserveData: true, RemoveKeyNameField: true, Parse: enrich.ParseConfig{Type: "json", Now: now}},
			`{"x":1,"log":"{\"b\":2}"}`, true, `{"x":1,"b":2}`, now().UnixNano()},
		{"inject_key_prefix", enrich.ParserFilterConfig{KeyName: "log", ReserveData: true, InjectKeyPrefix: "p.", Parse: enrich.ParseConfig{Type: "json", Now: now}},
			`{"log":"{\"b\":2}"}`, true, `{"log":"{\"b\":2}","p.b":2}`, now().UnixNano()},
		{"hash_value_field", enrich.ParserFilterConfig{KeyName: "log", ReserveData: true, HashValueField: "parsed", Parse: enrich.ParseConfig{Type: "json", Now: now}},
			`{"log":"{\"b\":2}"}`, true, `{"log":"{\"b\":2}","parsed":{"b":2}}`, now().UnixNano()},
		{"seed systemd docker regexp with $<status_code>", enrich.ParserFilterConfig{KeyName: "MESSAGE", ReserveData: true, Parse: enrich.ParseConfig{Type: "regexp", Now: now, Location: time.UTC,
			Expression: `^time="(?<time>[^)]*)" level=(?<severity>[^ ]*) msg="(?<message>[^"]*)"( err="(?<error>[^"]*)")?( statusCode=($<status_code>\d+))?`}},
			`{"MESSAGE":"time=\"2017-09-25T18:00:00Z\" level=info msg=\"ok\""}`, true,
			`{"MESSAGE":"time=\"2017-09-25T18:00:00Z\" level=info msg=\"ok\"","severity":"info","message":"ok"}`, orig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := tt.cfg.NewFilter(enrich.FilterDeps{})
			if err != nil {
				t.Fatal(err)
			}
			r := rec(t, "kube.kube-system.x", tt.in)
			if got := f.Filter(r); got != tt.keep {
				t.Fatalf("keep = %v, want %v", got, tt.keep)
			}
			if !tt.keep {
				return
			}
			if got := js(r); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if r.Time != tt.wantTime {
				t.Errorf("time = %s, want %s", time.Unix(0, r.Time).UTC(), time.Unix(0, tt.wantTime).UTC())
			}
		})
	}
}
