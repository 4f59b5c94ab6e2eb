package cloudwatch_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"logship/buffer"
	"logship/sink/cloudwatch"
)

// fields parses a JSON object into record fields.
func fields(t testing.TB, js string) buffer.Fields {
	t.Helper()
	v, err := buffer.ParseJSON([]byte(js))
	if err != nil {
		t.Fatalf("ParseJSON(%s): %v", js, err)
	}
	return v.Kids
}

// t0 is 2026-01-02T03:04:05.678Z.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.UTC).UnixNano()

const tag = "kubernetes.var.log.containers.web-1_prod_app-0123.log"

func TestFormatter_Format(t *testing.T) {
	static := cloudwatch.Config{LogGroupName: "g", LogStreamName: "s"}
	with := func(f func(*cloudwatch.Config)) cloudwatch.Config {
		c := static
		f(&c)
		return c
	}
	tokyo := time.FixedZone("JST", 9*3600)
	tests := []struct {
		name      string
		cfg       cloudwatch.Config
		tag       string
		time      int64
		record    string
		wantKey   buffer.StreamKey
		wantMsg   string
		wantErr   error
		wantTrunc bool
	}{
		{
			name:    "static names, compact JSON in insertion order",
			cfg:     static,
			record:  `{"log":"hello \"x\" </a>\n","stream":"stdout","n":1.0,"big":12345678901234567890,"nested":{"b":2,"a":[1,null,true]}}`,
			wantKey: buffer.StreamKey{Group: "g", Stream: "s"},
			wantMsg: `{"log":"hello \"x\" </a>\n","stream":"stdout","n":1.0,"big":12345678901234567890,"nested":{"b":2,"a":[1,null,true]}}`,
		},
		{
			name:    "non-ASCII raw, control characters escaped",
			cfg:     static,
			record:  `{"log":"héllo 世界 \u0001\t"}`,
			wantKey: buffer.StreamKey{Group: "g", Stream: "s"},
			wantMsg: "{\"log\":\"héllo 世界 \\u0001\\t\"}",
		},
		{
			name:    "use_tag_as_stream",
			cfg:     cloudwatch.Config{LogGroupName: "g", UseTagAsStream: true},
			tag:     tag,
			record:  `{"a":"b"}`,
			wantKey: buffer.StreamKey{Group: "g", Stream: tag},
			wantMsg: `{"a":"b"}`,
		},
		{
			name:    "use_tag_as_group",
			cfg:     cloudwatch.Config{UseTagAsGroup: true, LogStreamName: "s"},
			tag:     "app.web",
			record:  `{"a":"b"}`,
			wantKey: buffer.StreamKey{Group: "app.web", Stream: "s"},
			wantMsg: `{"a":"b"}`,
		},
		{
			name:    "name keys kept in the message",
			cfg:     cloudwatch.Config{LogGroupNameKey: "grp", LogStreamNameKey: "str"},
			record:  `{"grp":"/k8s/prod","str":"web-1","log":"x"}`,
			wantKey: buffer.StreamKey{Group: "/k8s/prod", Stream: "web-1"},
			wantMsg: `{"grp":"/k8s/prod","str":"web-1","log":"x"}`,
		},
		{
			name: "name keys removed",
			cfg: cloudwatch.Config{LogGroupNameKey: "grp", LogStreamNameKey: "str",
				RemoveLogGroupNameKey: true, RemoveLogStreamNameKey: true},
			record:  `{"grp":"/k8s/prod","log":"x","str":"web-1"}`,
			wantKey: buffer.StreamKey{Group: "/k8s/prod", Stream: "web-1"},
			wantMsg: `{"log":"x"}`,
		},
		{
			name:    "numeric stream field is its text",
			cfg:     cloudwatch.Config{LogGroupName: "g", LogStreamNameKey: "n"},
			record:  `{"n":123,"log":"x"}`,
			wantKey: buffer.StreamKey{Group: "g", Stream: "123"},
			wantMsg: `{"n":123,"log":"x"}`,
		},
		{
			name:    "missing stream field skips",
			cfg:     cloudwatch.Config{LogGroupName: "g", LogStreamNameKey: "str"},
			record:  `{"log":"x"}`,
			wantErr: cloudwatch.ErrNoStream,
		},
		{
			name:    "null stream field skips",
			cfg:     cloudwatch.Config{LogGroupName: "g", LogStreamNameKey: "str"},
			record:  `{"str":null,"log":"x"}`,
			wantErr: cloudwatch.ErrNoStream,
		},
		{
			name:    "missing group field skips",
			cfg:     cloudwatch.Config{LogGroupNameKey: "grp", LogStreamName: "s"},
			record:  `{"log":"x"}`,
			wantErr: cloudwatch.ErrNoGroup,
		},
		{
			name:    "message_keys joined by one space",
			cfg:     with(func(c *cloudwatch.Config) { c.MessageKeys = []string{"log", "stream", "n", "m"} }),
			record:  `{"stream":"stdout","log":"hello","n":1.5,"m":{"a":1}}`,
			wantKey: buffer.StreamKey{Group: "g", Stream: "s"},
			wantMsg: `hello stdout 1.5 {"a":1}`,
		},
		{
			name:    "message_keys keeps empties (0.4.x)",
			cfg:     with(func(c *cloudwatch.Config) { c.MessageKeys = []string{"a", "missing", "b", "nul", "c"} }),
			record:  `{"a":"1","b":"","c":"3","nul":null}`,
			wantKey: buffer.StreamKey{Group: "g", Stream: "s"},
			wantMsg: "1    3",
		},
		{
			name: "message_keys drops empties (0.8.2+)",
			cfg: with(func(c *cloudwatch.Config) {
				c.MessageKeys = []string{"a", "missing", "b", "nul", "c"}
				c.DropEmptyTopLevel = true
			}),
			record:  `{"a":"1","b":"","c":"3","nul":null}`,
			wantKey: buffer.StreamKey{Group: "g", Stream: "s"},
			wantMsg: "1 3",
		},
		{
			name:    "message_keys all missing is an empty message",
			cfg:     with(func(c *cloudwatch.Config) { c.MessageKeys = []string{"missing"} }),
			record:  `{"a":"1"}`,
			wantErr: cloudwatch.ErrEmptyMessage,
		},
		{
			name: "message_keys with the stream key removed",
			cfg: cloudwatch.Config{LogGroupName: "g", LogStreamNameKey: "s", RemoveLogStreamNameKey: true,
				MessageKeys: []string{"s", "log"}, DropEmptyTopLevel: true},
			record:  `{"s":"web","log":"x"}`,
			wantKey: buffer.StreamKey{Group: "g", Stream: "web"},
			wantMsg: "x",
		},
		{
			name:      "max_message_length counts characters",
			cfg:       with(func(c *cloudwatch.Config) { c.MessageKeys = []string{"log"}; c.MaxMessageLength = 4 }),
			record:    `{"log":"héllo wörld"}`,
			wantKey:   buffer.StreamKey{Group: "g", Stream: "s"},
			wantMsg:   "héll",
			wantTrunc: true,
		},
		{
			name:    "max_message_length longer than the message",
			cfg:     with(func(c *cloudwatch.Config) { c.MessageKeys = []string{"log"}; c.MaxMessageLength = 5 }),
			record:  `{"log":"héllo"}`,
			wantKey: buffer.StreamKey{Group: "g", Stream: "s"},
			wantMsg: "héllo",
		},
		{
			name:    "max_message_length on JSON",
			cfg:     with(func(c *cloudwatch.Config) { c.MaxMessageLength = 10 }),
			record:  `{"log":"0123456789"}`,
			wantKey: buffer.StreamKey{Group: "g", Stream: "s"},
			wantMsg: `{"log":"01`, wantTrunc: true,
		},
		{
			name:    "include_time_key UTC (v0.12 default)",
			cfg:     with(func(c *cloudwatch.Config) { c.IncludeTimeKey = true }),
			time:    t0,
			record:  `{"log":"x"}`,
			wantKey: buffer.StreamKey{Group: "g", Stream: "s"},
			wantMsg: `{"log":"x","time":"2026-01-02T03:04:05Z"}`,
		},
		{
			name: "include_time_key localtime (v1 default)",
			cfg: with(func(c *cloudwatch.Config) {
				c.IncludeTimeKey, c.Localtime, c.Location = true, true, tokyo
			}),
			time:    t0,
			record:  `{"log":"x"}`,
			wantKey: buffer.StreamKey{Group: "g", Stream: "s"},
			wantMsg: `{"log":"x","time":"2026-01-02T12:04:05+09:00"}`,
		},
		{
			name: "localtime in a UTC zone writes +00:00",
			cfg: with(func(c *cloudwatch.Config) {
				c.IncludeTimeKey, c.Localtime, c.Location = true, true, time.UTC
			}),
			time:    t0,
			record:  `{"log":"x"}`,
			wantKey: buffer.StreamKey{Group: "g", Stream: "s"},
			wantMsg: `{"log":"x","time":"2026-01-02T03:04:05+00:00"}`,
		},
		{
			name:    "time_key replaces an existing field in place",
			cfg:     with(func(c *cloudwatch.Config) { c.IncludeTimeKey = true; c.TimeKey = "@ts" }),
			time:    t0,
			record:  `{"@ts":"old","log":"x"}`,
			wantKey: buffer.StreamKey{Group: "g", Stream: "s"},
			wantMsg: `{"@ts":"2026-01-02T03:04:05Z","log":"x"}`,
		},
		{
			name:    "negative time rounds down",
			cfg:     with(func(c *cloudwatch.Config) { c.IncludeTimeKey = true }),
			time:    -1,
			record:  `{}`,
			wantKey: buffer.StreamKey{Group: "g", Stream: "s"},
			wantMsg: `{"time":"1969-12-31T23:59:59Z"}`,
		},
		{
			name:    "include_tag_key then time",
			cfg:     with(func(c *cloudwatch.Config) { c.IncludeTimeKey = true; c.IncludeTagKey = true }),
			tag:     "app",
			time:    t0,
			record:  `{"log":"x"}`,
			wantKey: buffer.StreamKey{Group: "g", Stream: "s"},
			wantMsg: `{"log":"x","tag":"app","time":"2026-01-02T03:04:05Z"}`,
		},
		{
			name:    "injected time in message_keys",
			cfg:     with(func(c *cloudwatch.Config) { c.IncludeTimeKey = true; c.MessageKeys = []string{"time", "log"} }),
			time:    t0,
			record:  `{"log":"x"}`,
			wantKey: buffer.StreamKey{Group: "g", Stream: "s"},
			wantMsg: `2026-01-02T03:04:05Z x`,
		},
		{
			name:    "stream named by the injected time",
			cfg:     cloudwatch.Config{LogGroupName: "g", LogStreamNameKey: "time", IncludeTimeKey: true},
			time:    t0,
			record:  `{"log":"x"}`,
			wantKey: buffer.StreamKey{Group: "g", Stream: "2026-01-02T03:04:05Z"},
			wantMsg: `{"log":"x","time":"2026-01-02T03:04:05Z"}`,
		},
		{
			name:    "empty top-level strings kept (0.4.x)",
			cfg:     static,
			record:  `{"a":"","b":"x","c":{"d":""}}`,
			wantKey: buffer.StreamKey{Group: "g", Stream: "s"},
			wantMsg: `{"a":"","b":"x","c":{"d":""}}`,
		},
		{
			name:    "empty top-level strings dropped (0.8.2+), nested kept",
			cfg:     with(func(c *cloudwatch.Config) { c.DropEmptyTopLevel = true }),
			record:  `{"a":"","b":"x","c":{"d":""},"e":""}`,
			wantKey: buffer.StreamKey{Group: "g", Stream: "s"},
			wantMsg: `{"b":"x","c":{"d":""}}`,
		},
		{
			name:    "empty record is {}",
			cfg:     static,
			record:  `{}`,
			wantKey: buffer.StreamKey{Group: "g", Stream: "s"},
			wantMsg: `{}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := cloudwatch.NewFormatter(tt.cfg)
			if err != nil {
				t.Fatalf("NewFormatter: %v", err)
			}
			r := buffer.Record{Tag: tt.tag, Time: tt.time, Fields: fields(t, tt.record)}
			err = f.Format(&r)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Format() error = %v, want %v", err, tt.wantErr)
			}
			st := f.Stats()
			if tt.wantErr != nil {
				if r.Message != nil || r.Fields == nil {
					t.Errorf("skipped record was modified: %+v", r)
				}
				if skipped := st.NoGroup + st.NoStream + st.EmptyMessage; skipped != 1 || st.Formatted != 0 {
					t.Errorf("Stats() = %+v, want one skip counted", st)
				}
				return
			}
			if r.Key != tt.wantKey {
				t.Errorf("Key = %v, want %v", r.Key, tt.wantKey)
			}
			if string(r.Message) != tt.wantMsg {
				t.Errorf("Message = %s, want %s", r.Message, tt.wantMsg)
			}
			if r.Fields != nil {
				t.Errorf("Fields = %v, want nil after formatting", r.Fields)
			}
			if st.Formatted != 1 || (st.Truncated == 1) != tt.wantTrunc {
				t.Errorf("Stats() = %+v, want Formatted 1, truncated %v", st, tt.wantTrunc)
			}
		})
	}
}

func TestFormatter_InvalidUTF8(t *testing.T) {
	f, err := cloudwatch.NewFormatter(cloudwatch.Config{LogGroupName: "g", LogStreamName: "s"})
	if err != nil {
		t.Fatal(err)
	}
	r := buffer.Record{Fields: buffer.Fields{{Key: "log", Value: buffer.Str([]byte("a\xffb"))}}}
	if err := f.Format(&r); err != nil {
		t.Fatal(err)
	}
	if got, want := string(r.Message), "{\"log\":\"a\uFFFDb\"}"; got != want {
		t.Fatalf("Message = %q, want %q", got, want)
	}
}

// TestFormatter_Reuse checks that Message aliases a reused buffer (the
// caller copies it) and that names from fields stay correct across records.
func TestFormatter_Reuse(t *testing.T) {
	f, err := cloudwatch.NewFormatter(cloudwatch.Config{LogGroupName: "g", LogStreamNameKey: "s"})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	var msgs []string
	for _, js := range []string{`{"s":"a","n":1}`, `{"s":"a","n":2}`, `{"s":"b","n":3}`, `{"s":"a","n":4}`} {
		r := buffer.Record{Fields: fields(t, js)}
		if err := f.Format(&r); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, r.Key.Stream)
		msgs = append(msgs, string(r.Message))
	}
	if got, want := strings.Join(keys, ","), "a,a,b,a"; got != want {
		t.Errorf("streams = %s, want %s", got, want)
	}
	if got, want := msgs[3], `{"s":"a","n":4}`; got != want {
		t.Errorf("last message = %s, want %s", got, want)
	}
}

func TestConfig_Validate(t *testing.T) {
	ok := cloudwatch.Config{LogGroupName: "g", LogStreamName: "s"}
	tests := []struct {
		name    string
		mod     func(*cloudwatch.Config)
		wantErr string
	}{
		{"valid", func(*cloudwatch.Config) {}, ""},
		{"no group", func(c *cloudwatch.Config) { c.LogGroupName = "" }, "exactly one of log_group_name"},
		{"two group sources", func(c *cloudwatch.Config) { c.UseTagAsGroup = true }, "exactly one of log_group_name"},
		{"no stream", func(c *cloudwatch.Config) { c.LogStreamName = "" }, "exactly one of log_stream_name"},
		{"two stream sources", func(c *cloudwatch.Config) { c.LogStreamNameKey = "k" }, "exactly one of log_stream_name"},
		{"bad group name", func(c *cloudwatch.Config) { c.LogGroupName = "a b" }, "log_group_name"},
		{"aws/ group", func(c *cloudwatch.Config) { c.LogGroupName = "aws/x" }, "aws/"},
		{"bad stream name", func(c *cloudwatch.Config) { c.LogStreamName = "a:b" }, "log_stream_name"},
		{"long stream name", func(c *cloudwatch.Config) { c.LogStreamName = strings.Repeat("x", 513) }, "log_stream_name"},
		{"negative max_message_length", func(c *cloudwatch.Config) { c.MaxMessageLength = -1 }, "max_message_length"},
		{"max_events_per_batch too big", func(c *cloudwatch.Config) { c.MaxEventsPerBatch = 10_001 }, "max_events_per_batch"},
		{"max_events_per_batch at the limit", func(c *cloudwatch.Config) { c.MaxEventsPerBatch = 10_000 }, ""},
		{"bad retention", func(c *cloudwatch.Config) { c.RetentionInDays = 2 }, "retention_in_days"},
		{"good retention", func(c *cloudwatch.Config) { c.RetentionInDays = 3653 }, ""},
		{"event size too small", func(c *cloudwatch.Config) { c.MaxEventSize = 10 }, "max event size"},
		{"event size too big", func(c *cloudwatch.Config) { c.MaxEventSize = cloudwatch.MaxEventSize + 1 }, "max event size"},
		{"legacy event size", func(c *cloudwatch.Config) { c.MaxEventSize = cloudwatch.LegacyMaxEventSize }, ""},
		{"bad oversize action", func(c *cloudwatch.Config) { c.OversizeAction = "drop" }, "oversize action"},
		{"half a key pair", func(c *cloudwatch.Config) { c.AccessKeyID = "AKID" }, "together"},
		{"too many tags", func(c *cloudwatch.Config) {
			c.LogGroupAWSTags = map[string]string{}
			for i := range 51 {
				c.LogGroupAWSTags[strings.Repeat("k", i+1)] = "v"
			}
		}, "log_group_aws_tags"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.mod(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
