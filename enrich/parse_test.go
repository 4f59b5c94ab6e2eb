package enrich_test

import (
	"errors"
	"testing"
	"time"

	"logship/buffer"
	"logship/enrich"
)

func TestParser_Parse(t *testing.T) {
	fixed := time.Date(2026, 11, 27, 1, 2, 3, 456000000, time.UTC)
	now := func() time.Time { return fixed }
	tests := []struct {
		name     string
		cfg      enrich.ParseConfig
		in       string
		want     string
		wantTime time.Time
	}{
		{"none", enrich.ParseConfig{Type: "none"}, "plain line", `{"message":"plain line"}`, fixed},
		{"none v0.12 seconds", enrich.ParseConfig{Type: "none", SecondPrecision: true}, "x", `{"message":"x"}`, fixed.Truncate(time.Second)},
		{"json time_format", enrich.ParseConfig{Type: "json", TimeFormat: "%Y-%m-%dT%H:%M:%S.%NZ"},
			`{"log":"hi\n","stream":"stdout","time":"2017-09-25T18:00:00.123456789Z"}`, `{"log":"hi\n","stream":"stdout"}`,
			time.Date(2017, 9, 25, 18, 0, 0, 123456789, time.UTC)},
		{"json keep_time_key", enrich.ParseConfig{Type: "json", KeepTimeKey: true},
			`{"a":1,"time":1700000000.5}`, `{"a":1,"time":1700000000.5}`, time.Unix(1700000000, 5e8)},
		{"json no time", enrich.ParseConfig{Type: "json"}, `{"a":[1,2]}`, `{"a":[1,2]}`, fixed},
		{"regexp salt", enrich.ParseConfig{Type: "regexp", Expression: `^(?<time>[^ ]* [^ ,]*)[^\[]*\[[^\]]*\]\[(?<severity>[^ \]]*) *\] (?<message>.*)$`, TimeFormat: "%Y-%m-%d %H:%M:%S"},
			`2024-01-02 03:04:05,123 [salt.minion][INFO    ] Returning`, `{"severity":"INFO","message":"Returning"}`,
			time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
		{"regexp docker.log optional groups", enrich.ParseConfig{Type: "regexp", Expression: `^time="(?<time>[^)]*)" level=(?<severity>[^ ]*) msg="(?<message>[^"]*)"( err="(?<error>[^"]*)")?( statusCode=($<status_code>\d+))?`},
			`time="2024-01-02T03:04:05Z" level=info msg="started"`, `{"severity":"info","message":"started"}`,
			time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
		{"syslog", enrich.ParseConfig{Type: "syslog"}, `Jan  2 03:04:05 host1 startupscript[42]: hello world`,
			`{"host":"host1","ident":"startupscript","pid":"42","message":"hello world"}`, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Now = now
			p, err := enrich.NewParser(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			var r buffer.Record
			if err := p.Parse([]byte(tt.in), &r); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := string(r.Fields.AppendJSON(nil)); got != tt.want {
				t.Errorf("fields=%s, want %s", got, tt.want)
			}
			if r.Time != tt.wantTime.UnixNano() {
				t.Errorf("time=%v, want %v", time.Unix(0, r.Time).UTC(), tt.wantTime)
			}
		})
	}
}

func TestParser_Errors(t *testing.T) {
	for _, tt := range []struct {
		cfg enrich.ParseConfig
		in  string
	}{
		{enrich.ParseConfig{Type: "json"}, `not json`},
		{enrich.ParseConfig{Type: "json"}, `[1]`},
		{enrich.ParseConfig{Type: "regexp", Expression: `^a$`}, `b`},
	} {
		p, err := enrich.NewParser(tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		var r buffer.Record
		if err := p.Parse([]byte(tt.in), &r); !errors.Is(err, enrich.ErrNoMatch) {
			t.Errorf("%s Parse(%q) err=%v, want ErrNoMatch", tt.cfg.Type, tt.in, err)
		}
	}
	if _, err := enrich.NewParser(enrich.ParseConfig{Type: "apache9"}); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("unknown parser err=%v, want ErrUnsupported", err)
	}
	p, _ := enrich.NewParser(enrich.ParseConfig{Type: "json", TimeFormat: "%Y"})
	var r buffer.Record
	if err := p.Parse([]byte(`{"time":"x"}`), &r); !errors.Is(err, enrich.ErrTimeMismatch) {
		t.Errorf("bad time err=%v, want ErrTimeMismatch", err)
	}
}
