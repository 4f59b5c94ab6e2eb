package buffer_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"logship/buffer"
)

func lookup(m map[string]string) buffer.Lookup {
	return func(name string) (string, bool) { v, ok := m[name]; return v, ok }
}

func TestFromV012_Seed(t *testing.T) {
	// The seed's <match> block: v0.12 flat buffer parameters, mapped as
	// Fluentd v1's lib/fluent/plugin_helper/compat_parameters.rb does.
	seed := map[string]string{
		"buffer_chunk_limit":  "2M",
		"buffer_queue_limit":  "32",
		"flush_interval":      "10s",
		"max_retry_wait":      "30",
		"disable_retry_limit": "",
		"num_threads":         "8",
	}
	c, ignored, err := buffer.FromV012(lookup(seed))
	if err != nil {
		t.Fatalf("FromV012: %v", err)
	}
	if len(ignored) != 0 {
		t.Errorf("ignored=%v, want none", ignored)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	n := c.Normalized()
	checks := []struct {
		name      string
		got, want any
	}{
		{"@type", n.Type, buffer.TypeMemory},
		{"chunk_limit_size", n.ChunkLimitSize, int64(2 << 20)},
		{"queue_limit_length", n.QueueLimitLength, 32},
		{"total_limit_size", n.TotalLimitSize, int64(64 << 20)},
		{"flush_mode", n.FlushMode, buffer.FlushModeInterval},
		{"flush_interval", n.FlushInterval, 10 * time.Second},
		{"retry_max_interval", n.RetryMaxInterval, 30 * time.Second},
		{"retry_forever", n.RetryForever, true},
		{"flush_thread_count", n.FlushThreadCount, 8},
		{"queued_chunks_limit_size", n.QueuedChunksLimitSize, 8},
		{"retry_wait", n.RetryWait, time.Second},
		{"retry_type", n.RetryType, buffer.RetryExponentialBackoff},
		{"retry_exponential_backoff_base", n.RetryExponentialBackoffBase, 2.0},
		{"retry_randomize", *n.RetryRandomize, true},
		{"flush_at_shutdown", *n.FlushAtShutdown, true},
		{"overflow_action", n.OverflowAction, buffer.OverflowBlock},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s=%v, want %v", c.name, c.got, c.want)
		}
	}
	s := c.String()
	for _, want := range []string{"<buffer>", "chunk_limit_size 2097152", "total_limit_size 67108864",
		"flush_thread_count 8", "retry_forever true", "retry_max_interval 30s", "flush_interval 10s"} {
		if !strings.Contains(s, want) {
			t.Errorf("String() lacks %q:\n%s", want, s)
		}
	}
}

func TestFromV012_Mapping(t *testing.T) {
	tests := []struct {
		param, value string
		check        func(buffer.Config) bool
	}{
		{"buffer_type", "file", func(c buffer.Config) bool { return c.Type == buffer.TypeFile }},
		{"buffer_path", "/var/log/b", func(c buffer.Config) bool { return c.Path == "/var/log/b" }},
		{"buffer_chunk_limit", "512k", func(c buffer.Config) bool { return c.ChunkLimitSize == 512<<10 }},
		{"buffer_queue_limit", "4", func(c buffer.Config) bool {
			return c.QueueLimitLength == 4 && c.Normalized().TotalLimitSize == 4*buffer.DefaultChunkLimitSize
		}},
		{"buffer_queue_full_action", "exception", func(c buffer.Config) bool { return c.OverflowAction == buffer.OverflowThrowException }},
		{"buffer_queue_full_action", "block", func(c buffer.Config) bool { return c.OverflowAction == buffer.OverflowBlock }},
		{"buffer_queue_full_action", "drop_oldest_chunk", func(c buffer.Config) bool { return c.OverflowAction == buffer.OverflowDropOldestChunk }},
		{"num_threads", "3", func(c buffer.Config) bool { return c.FlushThreadCount == 3 }},
		{"flush_interval", "5", func(c buffer.Config) bool {
			return c.FlushInterval == 5*time.Second && c.FlushMode == buffer.FlushModeInterval
		}},
		{"try_flush_interval", "0.5", func(c buffer.Config) bool { return c.FlushThreadInterval == 500*time.Millisecond }},
		{"queued_chunk_flush_interval", "2s", func(c buffer.Config) bool { return c.FlushThreadBurstInterval == 2*time.Second }},
		{"flush_at_shutdown", "false", func(c buffer.Config) bool { return c.FlushAtShutdown != nil && !*c.FlushAtShutdown }},
		{"max_retry_wait", "1m", func(c buffer.Config) bool { return c.RetryMaxInterval == time.Minute }},
		{"retry_limit", "5", func(c buffer.Config) bool { return c.RetryMaxTimes != nil && *c.RetryMaxTimes == 5 }},
		{"retry_limit", "0", func(c buffer.Config) bool { return c.RetryMaxTimes != nil && *c.RetryMaxTimes == 0 }},
		{"disable_retry_limit", "", func(c buffer.Config) bool { return c.RetryForever }},
		{"disable_retry_limit", "false", func(c buffer.Config) bool { return !c.RetryForever }},
		{"retry_wait", "5", func(c buffer.Config) bool { return c.RetryWait == 0 }}, // not mapped, as Fluentd's compat helper
		{"slow_flush_log_threshold", "40.0", func(c buffer.Config) bool { return c.SlowFlushLogThreshold == 40*time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.param+"="+tt.value, func(t *testing.T) {
			c, ignored, err := buffer.FromV012(lookup(map[string]string{tt.param: tt.value}))
			if err != nil {
				t.Fatalf("FromV012: %v", err)
			}
			if !tt.check(c) {
				t.Errorf("FromV012(%s %s) = %+v", tt.param, tt.value, c)
			}
			if wantIgnored := tt.param == "retry_wait"; wantIgnored != (len(ignored) == 1) {
				t.Errorf("ignored=%v", ignored)
			}
		})
	}
	for _, bad := range []map[string]string{
		{"buffer_chunk_limit": "lots"},
		{"buffer_queue_limit": "x"},
		{"buffer_queue_full_action": "explode"},
		{"flush_interval": "-1"},
		{"disable_retry_limit": "maybe"},
	} {
		if _, _, err := buffer.FromV012(lookup(bad)); err == nil {
			t.Errorf("FromV012(%v): no error", bad)
		}
	}
}

func TestFromV1(t *testing.T) {
	m := map[string]string{
		"@type": "file", "path": "/b", "chunk_limit_size": "1m", "chunk_limit_records": "100",
		"chunk_full_threshold": "0.9", "total_limit_size": "1g", "queued_chunks_limit_size": "4",
		"flush_mode": "lazy", "flush_interval": "3s", "flush_thread_count": "2",
		"flush_thread_interval": "0.5", "flush_thread_burst_interval": "0", "flush_at_shutdown": "true",
		"overflow_action": "drop_oldest_chunk", "retry_type": "periodic", "retry_wait": "2",
		"retry_exponential_backoff_base": "3", "retry_max_interval": "1h", "retry_timeout": "1d",
		"retry_max_times": "9", "retry_forever": "false", "retry_randomize": "no",
		"slow_flush_log_threshold": "5", "dead_letter_dir": "/dl", "fsync_interval": "2s", "shutdown_timeout": "20s",
	}
	got, err := buffer.FromV1(lookup(m))
	if err != nil {
		t.Fatalf("FromV1: %v", err)
	}
	want := buffer.Config{
		Type: "file", Path: "/b", ChunkLimitSize: 1 << 20, ChunkLimitRecords: 100, ChunkFullThreshold: 0.9,
		TotalLimitSize: 1 << 30, QueuedChunksLimitSize: 4, FlushMode: buffer.FlushModeLazy,
		FlushInterval: 3 * time.Second, FlushThreadCount: 2, FlushThreadInterval: 500 * time.Millisecond,
		FlushAtShutdown: buffer.Bool(true), OverflowAction: buffer.OverflowDropOldestChunk,
		RetryType: buffer.RetryPeriodic, RetryWait: 2 * time.Second, RetryExponentialBackoffBase: 3,
		RetryMaxInterval: time.Hour, RetryTimeout: 24 * time.Hour, RetryMaxTimes: buffer.Int(9),
		RetryRandomize: buffer.Bool(false), SlowFlushLogThreshold: 5 * time.Second, DeadLetterDir: "/dl",
		FsyncInterval: 2 * time.Second, ShutdownTimeout: 20 * time.Second,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FromV1=\n%+v\nwant\n%+v", got, want)
	}
	if len(buffer.V1Params()) != len(m)+1 { // + queue_limit_length
		t.Errorf("V1Params has %d names, test covers %d", len(buffer.V1Params()), len(m)+1)
	}
}

func TestConfig_Validate(t *testing.T) {
	tests := []struct {
		name string
		cfg  buffer.Config
		ok   bool
	}{
		{"zero", buffer.Config{}, true},
		{"file without path", buffer.Config{Type: buffer.TypeFile}, false},
		{"file", buffer.Config{Type: buffer.TypeFile, Path: "/x"}, true},
		{"bad type", buffer.Config{Type: "redis"}, false},
		{"bad flush mode", buffer.Config{FlushMode: "sometimes"}, false},
		{"bad overflow", buffer.Config{OverflowAction: "panic"}, false},
		{"bad retry type", buffer.Config{RetryType: "random"}, false},
		{"negative size", buffer.Config{ChunkLimitSize: -1}, false},
		{"negative max times", buffer.Config{RetryMaxTimes: buffer.Int(-1)}, false},
		{"threshold > 1", buffer.Config{ChunkFullThreshold: 1.5}, false},
		{"base < 1", buffer.Config{RetryExponentialBackoffBase: 0.5}, false},
		{"total < chunk", buffer.Config{ChunkLimitSize: 10 << 20, TotalLimitSize: 1 << 20}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate()=%v, want ok=%v", err, tt.ok)
			}
			if _, nerr := buffer.New(tt.cfg, &fakeSender{}, nil, nil, nil); (nerr == nil) != tt.ok {
				t.Fatalf("New()=%v, want ok=%v", nerr, tt.ok)
			}
		})
	}
}

func TestConfig_Defaults(t *testing.T) {
	m := buffer.Config{}.Normalized()
	if m.ChunkLimitSize != buffer.DefaultChunkLimitSize || m.TotalLimitSize != buffer.DefaultMemoryTotalLimitSize ||
		m.FlushInterval != buffer.DefaultFlushInterval || m.FlushThreadCount != 1 || m.QueuedChunksLimitSize != 1 ||
		!*m.FlushAtShutdown || m.OverflowAction != buffer.OverflowBlock || m.DeadLetterDir != "" ||
		m.RetryTimeout != 72*time.Hour || m.RetryMaxTimes != nil {
		t.Errorf("memory defaults: %+v", m)
	}
	f := buffer.Config{Type: buffer.TypeFile, Path: "/p"}.Normalized()
	if f.TotalLimitSize != buffer.DefaultFileTotalLimitSize || *f.FlushAtShutdown || f.DeadLetterDir != "/p/dead-letter" {
		t.Errorf("file defaults: %+v", f)
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"2M", 2 << 20, true}, {"2m", 2 << 20, true}, {"512k", 512 << 10, true}, {"1g", 1 << 30, true},
		{"1t", 1 << 40, true}, {"1000", 1000, true}, {" 8m ", 8 << 20, true}, {"1.5k", 1536, true},
		{"", 0, false}, {"m", 0, false}, {"-1", 0, false}, {"2x", 0, false}, {"1e30", 0, false},
	}
	for _, tt := range tests {
		got, err := buffer.ParseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSize(%q)=%d,%v, want %d ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"10s", 10 * time.Second, true}, {"30", 30 * time.Second, true}, {"0.5", 500 * time.Millisecond, true},
		{"2m", 2 * time.Minute, true}, {"1h", time.Hour, true}, {"3d", 72 * time.Hour, true},
		{"", 0, false}, {"s", 0, false}, {"-5", 0, false}, {"10ms", 0, false},
	}
	for _, tt := range tests {
		got, err := buffer.ParseDuration(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseDuration(%q)=%v,%v, want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseBool(t *testing.T) {
	for in, want := range map[string]bool{"": true, "true": true, "yes": true, "false": false, "no": false} {
		if got, err := buffer.ParseBool(in); err != nil || got != want {
			t.Errorf("ParseBool(%q)=%v,%v, want %v", in, got, err, want)
		}
	}
	if _, err := buffer.ParseBool("on"); err == nil {
		t.Error("ParseBool(on): no error")
	}
}
