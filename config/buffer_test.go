package config_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"logship/buffer"
	"logship/config"
)

// buildBuffer builds a configuration whose only output is a cloudwatch_logs
// <match> with body inside it, and returns that output's buffer.
func buildBuffer(t *testing.T, body string) (*buffer.Config, *config.Config, error) {
	t.Helper()
	src := "<match **>\n  @type cloudwatch_logs\n  log_group_name g\n  log_stream_name s\n  region us-east-1\n" + body + "</match>\n"
	c := mustParse(t, src, nil)
	p, err := config.Build(c, config.BuildOptions{StateDir: "/state", Location: time.UTC})
	if err != nil {
		return nil, c, err
	}
	for _, o := range p.Outputs {
		return o.Buffer, c, nil
	}
	t.Fatal("Build: no output")
	return nil, c, nil
}

// valueWarnings returns the warnings that are not about unused parameters.
func valueWarnings(c *config.Config) []string {
	var out []string
	for _, w := range c.Diag.Warnings() {
		if !strings.Contains(w.Msg, "is not used") {
			out = append(out, w.Error())
		}
	}
	return out
}

// TestBuffer_Literals decodes every literal form of the buffer's sizes,
// times, floats-of-seconds, integers and booleans, in a v1 <buffer> section
// and as v0.12 flat parameters, through the one parser (config.Param).
//
// The rules are Fluentd's, as documented at
// https://docs.fluentd.org/configuration/config-file#supported-data-types-for-values
// and https://docs.fluentd.org/plugin-development/api-config-types, and as
// implemented in Fluentd v1.19.3 lib/fluent/config/types.rb (size_value,
// time_value, bool_value; https://github.com/fluent/fluentd/blob/v1.19.3/lib/fluent/config/types.rb):
//   - size: <integer>k|m|g|t, either case, powers of 1024; otherwise an integer
//     of bytes. The suffix regexps are unanchored (/([0-9]+)g/i), so a decimal
//     such as "1.5g" reads the digits just before the suffix: 5 GiB, with a
//     warning from logship.
//   - time: <integer>s|m|h|d, lower case only; otherwise to_f seconds, so "30"
//     is 30 s and "0.5" 500 ms. "1.5m" is 5 min (the same unanchored match),
//     with a warning; "10S" is to_f, 10 s, with a warning.
//   - flush_thread_interval and flush_thread_burst_interval are :float in
//     lib/fluent/plugin/output.rb, not :time: "1m" is 1 s.
//   - bool: true/yes, false/no, and an empty value (a bare key) is true;
//     anything else is nil in Fluentd (false, with a warning).
//   - v0.12 flat parameters are renamed by the compat_parameters helper
//     (lib/fluent/plugin_helper/compat_parameters.rb) and decoded by the same
//     rules: "max_retry_wait 30" is 30 integer seconds.
//
// Every size, time and bool literal below was also fed to Fluentd v1.19.3's
// own Fluent::Config.size_value, time_value and bool_value under Ruby 3.1,
// which returned the same values.
func TestBuffer_Literals(t *testing.T) {
	type get func(*buffer.Config) any
	var (
		chunk     get = func(c *buffer.Config) any { return c.ChunkLimitSize }
		total     get = func(c *buffer.Config) any { return c.TotalLimitSize }
		flush     get = func(c *buffer.Config) any { return c.FlushInterval }
		threadInt get = func(c *buffer.Config) any { return c.FlushThreadInterval }
		burst     get = func(c *buffer.Config) any { return c.FlushThreadBurstInterval }
		maxIntvl  get = func(c *buffer.Config) any { return c.RetryMaxInterval }
		timeout   get = func(c *buffer.Config) any { return c.RetryTimeout }
		forever   get = func(c *buffer.Config) any { return c.RetryForever }
		randomize get = func(c *buffer.Config) any { return c.RetryRandomize != nil && *c.RetryRandomize }
		threads   get = func(c *buffer.Config) any { return c.FlushThreadCount }
		maxTimes  get = func(c *buffer.Config) any { return *c.RetryMaxTimes }
		base      get = func(c *buffer.Config) any { return c.RetryExponentialBackoffBase }
		slow      get = func(c *buffer.Config) any { return c.SlowFlushLogThreshold }
		mode      get = func(c *buffer.Config) any { return c.FlushMode }
		overflow  get = func(c *buffer.Config) any { return c.OverflowAction }
		queue     get = func(c *buffer.Config) any { return c.Normalized().TotalLimitSize }
	)
	const (
		KiB = int64(1) << 10
		MiB = int64(1) << 20
		GiB = int64(1) << 30
		TiB = int64(1) << 40
	)
	tests := []struct {
		v012  bool // a flat v0.12 parameter of the <match>, not inside <buffer>
		param string
		value string
		field get
		want  any
		warn  bool
	}{
		// Sizes.
		{param: "chunk_limit_size", value: "512k", field: chunk, want: 512 * KiB},
		{param: "chunk_limit_size", value: "512K", field: chunk, want: 512 * KiB},
		{param: "chunk_limit_size", value: "2m", field: chunk, want: 2 * MiB},
		{param: "chunk_limit_size", value: "2M", field: chunk, want: 2 * MiB},
		{param: "chunk_limit_size", value: "1048576", field: chunk, want: MiB}, // bare number: bytes
		{param: "total_limit_size", value: "1g", field: total, want: GiB},
		{param: "total_limit_size", value: "1G", field: total, want: GiB},
		{param: "total_limit_size", value: "2t", field: total, want: 2 * TiB},
		{param: "total_limit_size", value: "2T", field: total, want: 2 * TiB},
		{param: "total_limit_size", value: "1.5g", field: total, want: 5 * GiB, warn: true},  // /([0-9]+)g/i matches "5g"
		{param: "chunk_limit_size", value: "1.5m", field: chunk, want: 5 * MiB, warn: true},  // likewise
		{param: "total_limit_size", value: "64mb", field: total, want: 64 * MiB, warn: true}, // unanchored: the "b" is ignored
		{param: "chunk_limit_size", value: "1e9", field: chunk, want: int64(1), warn: true},  // to_i stops at "e"
		// Times.
		{param: "flush_interval", value: "10s", field: flush, want: 10 * time.Second},
		{param: "flush_interval", value: "2m", field: flush, want: 2 * time.Minute},
		{param: "flush_interval", value: "1h", field: flush, want: time.Hour},
		{param: "retry_timeout", value: "3d", field: timeout, want: 72 * time.Hour},
		{param: "flush_interval", value: "30", field: flush, want: 30 * time.Second},              // bare number: seconds
		{param: "flush_interval", value: "0.5", field: flush, want: 500 * time.Millisecond},       // decimal seconds
		{param: "flush_interval", value: "1.5", field: flush, want: 1500 * time.Millisecond},      // decimal seconds
		{param: "flush_interval", value: "1.5m", field: flush, want: 5 * time.Minute, warn: true}, // /([0-9]+)m/ matches "5m"
		{param: "flush_interval", value: "1.5s", field: flush, want: 5 * time.Second, warn: true},
		{param: "flush_interval", value: "10S", field: flush, want: 10 * time.Second, warn: true}, // upper case: to_f
		{param: "flush_interval", value: "1h30m", field: flush, want: 30 * time.Minute, warn: true},
		{param: "retry_max_interval", value: "45", field: maxIntvl, want: 45 * time.Second},
		// Floats of seconds.
		{param: "flush_thread_interval", value: "0.5", field: threadInt, want: 500 * time.Millisecond},
		{param: "flush_thread_interval", value: "2", field: threadInt, want: 2 * time.Second},
		{param: "flush_thread_interval", value: "1m", field: threadInt, want: time.Second, warn: true}, // :float, not :time
		{param: "flush_thread_burst_interval", value: "0", field: burst, want: time.Duration(0)},
		{param: "retry_exponential_backoff_base", value: "1.5", field: base, want: 1.5},
		// Integers.
		{param: "flush_thread_count", value: "8", field: threads, want: 8},
		{param: "retry_max_times", value: "0", field: maxTimes, want: 0},
		{param: "flush_thread_count", value: "4x", field: threads, want: 4, warn: true}, // to_i
		// Booleans.
		{param: "retry_forever", value: "true", field: forever, want: true},
		{param: "retry_forever", value: "yes", field: forever, want: true},
		{param: "retry_forever", value: "", field: forever, want: true}, // bare key
		{param: "retry_forever", value: "false", field: forever, want: false},
		{param: "retry_forever", value: "no", field: forever, want: false},
		{param: "retry_forever", value: "True", field: forever, want: false, warn: true}, // nil in Fluentd
		{param: "retry_randomize", value: "false", field: randomize, want: false},
		// Enums.
		{param: "flush_mode", value: "immediate", field: mode, want: buffer.FlushModeImmediate},
		{param: "overflow_action", value: "drop_oldest_chunk", field: overflow, want: buffer.OverflowDropOldestChunk},
		// v0.12 flat parameters.
		{v012: true, param: "buffer_chunk_limit", value: "2M", field: chunk, want: 2 * MiB},
		{v012: true, param: "buffer_chunk_limit", value: "256k", field: chunk, want: 256 * KiB},
		{v012: true, param: "buffer_queue_limit", value: "32", field: queue, want: int64(32 * buffer.DefaultChunkLimitSize)},
		{v012: true, param: "flush_interval", value: "10", field: flush, want: 10 * time.Second}, // integer seconds
		{v012: true, param: "flush_interval", value: "10", field: mode, want: buffer.FlushModeInterval},
		{v012: true, param: "max_retry_wait", value: "30", field: maxIntvl, want: 30 * time.Second},
		{v012: true, param: "max_retry_wait", value: "1m", field: maxIntvl, want: time.Minute},
		{v012: true, param: "try_flush_interval", value: "1", field: threadInt, want: time.Second},
		{v012: true, param: "queued_chunk_flush_interval", value: "0.25", field: burst, want: 250 * time.Millisecond},
		{v012: true, param: "num_threads", value: "8", field: threads, want: 8},
		{v012: true, param: "retry_limit", value: "17", field: maxTimes, want: 17},
		{v012: true, param: "disable_retry_limit", value: "", field: forever, want: true},
		{v012: true, param: "disable_retry_limit", value: "false", field: forever, want: false},
		{v012: true, param: "buffer_queue_full_action", value: "exception", field: overflow, want: buffer.OverflowThrowException},
		{v012: true, param: "buffer_queue_full_action", value: "block", field: overflow, want: buffer.OverflowBlock},
		{v012: true, param: "slow_flush_log_threshold", value: "40.0", field: slow, want: 40 * time.Second},
		{param: "slow_flush_log_threshold", value: "2.5", field: slow, want: 2500 * time.Millisecond},
	}
	for _, tt := range tests {
		name := tt.param + "=" + tt.value
		if tt.v012 {
			name = "v0.12 " + name
		}
		t.Run(name, func(t *testing.T) {
			line := "  " + tt.param + " " + tt.value + "\n"
			if tt.value == "" {
				line = "  " + tt.param + "\n"
			}
			body := line
			if !tt.v012 {
				body = "  <buffer>\n  " + line + "  </buffer>\n"
			}
			got, c, err := buildBuffer(t, body)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if v := tt.field(got); v != tt.want {
				t.Errorf("%s %q = %v, want %v", tt.param, tt.value, v, tt.want)
			}
			if w := valueWarnings(c); (len(w) > 0) != tt.warn {
				t.Errorf("%s %q warnings %q, want warned=%v", tt.param, tt.value, w, tt.warn)
			}
			for _, w := range c.Diag.Warnings() {
				if strings.Contains(w.Msg, "is not used") {
					t.Errorf("%s %q: %v", tt.param, tt.value, w)
				}
			}
		})
	}
}

// TestBuffer_V012Seed maps the flat buffer parameters of the v0.12
// fluentd-kubernetes-daemonset cloudwatch <match> block.
func TestBuffer_V012Seed(t *testing.T) {
	got, c, err := buildBuffer(t, `  buffer_chunk_limit 2M
  buffer_queue_limit 32
  flush_interval 10s
  max_retry_wait 30
  disable_retry_limit
  num_threads 8
`)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if w := c.Diag.Warnings(); len(w) != 0 {
		t.Errorf("warnings %v, want none", w)
	}
	n := got.Normalized()
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
	s := got.String()
	for _, want := range []string{"<buffer>", "chunk_limit_size 2097152", "total_limit_size 67108864",
		"flush_thread_count 8", "retry_forever true", "retry_max_interval 30s", "flush_interval 10s"} {
		if !strings.Contains(s, want) {
			t.Errorf("String() lacks %q:\n%s", want, s)
		}
	}
}

// TestBuffer_V012RetryWait: retry_wait at <match> level is not mapped (the
// compat helper leaves it out), and logship says so.
func TestBuffer_V012RetryWait(t *testing.T) {
	got, c, err := buildBuffer(t, "  flush_interval 5\n  retry_wait 7\n")
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if got.RetryWait != 0 {
		t.Errorf("RetryWait=%v, want 0 (unset)", got.RetryWait)
	}
	w := c.Diag.Warnings()
	if len(w) != 1 || !strings.Contains(w[0].Msg, "retry_wait") || w[0].Line != 7 {
		t.Errorf("warnings %v, want one about retry_wait at line 7", w)
	}
}

// TestBuffer_V1 reads every <buffer> parameter logship supports; none may be
// reported unused.
func TestBuffer_V1(t *testing.T) {
	got, c, err := buildBuffer(t, `  <buffer>
    @type file
    path /b
    chunk_limit_size 1m
    chunk_limit_records 100
    chunk_full_threshold 0.9
    total_limit_size 1g
    queued_chunks_limit_size 4
    flush_mode interval
    flush_interval 3s
    flush_thread_count 2
    flush_thread_interval 0.5
    flush_thread_burst_interval 0
    flush_at_shutdown true
    overflow_action drop_oldest_chunk
    retry_type periodic
    retry_wait 2
    retry_exponential_backoff_base 3
    retry_max_interval 1h
    retry_timeout 1d
    retry_max_times 9
    retry_forever false
    retry_randomize no
    slow_flush_log_threshold 5
    dead_letter_dir /dl
    fsync_interval 2s
    shutdown_timeout 20s
  </buffer>
`)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if w := c.Diag.Warnings(); len(w) != 0 {
		t.Errorf("warnings %v, want none", w)
	}
	want := buffer.Config{
		Type: "file", Path: "/b", ChunkLimitSize: 1 << 20, ChunkLimitRecords: 100, ChunkFullThreshold: 0.9,
		TotalLimitSize: 1 << 30, QueuedChunksLimitSize: 4, FlushMode: buffer.FlushModeInterval,
		FlushInterval: 3 * time.Second, FlushThreadCount: 2, FlushThreadInterval: 500 * time.Millisecond,
		FlushAtShutdown: buffer.Bool(true), OverflowAction: buffer.OverflowDropOldestChunk,
		RetryType: buffer.RetryPeriodic, RetryWait: 2 * time.Second, RetryExponentialBackoffBase: 3,
		RetryMaxInterval: time.Hour, RetryTimeout: 24 * time.Hour, RetryMaxTimes: buffer.Int(9),
		RetryRandomize: buffer.Bool(false), SlowFlushLogThreshold: 5 * time.Second, DeadLetterDir: "/dl",
		FsyncInterval: 2 * time.Second, ShutdownTimeout: 20 * time.Second,
	}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("Buffer=\n%+v\nwant\n%+v", *got, want)
	}
}

// TestBuffer_Errors: a value the buffer cannot take fails Build with the
// position of that value.
func TestBuffer_Errors(t *testing.T) {
	tests := []struct {
		body string
		want string // substring of the error, after the position
	}{
		{"  <buffer>\n    chunk_limit_size 99999999999999999999\n  </buffer>\n", "test.conf:7:22: chunk_limit_size"},
		{"  <buffer>\n    total_limit_size 9999999999999g\n  </buffer>\n", "test.conf:7:22: total_limit_size"},
		{"  <buffer>\n    flush_mode sometimes\n  </buffer>\n", "test.conf:7:16: flush_mode"},
		{"  <buffer>\n    overflow_action exception\n  </buffer>\n", "test.conf:7:21: overflow_action"}, // only v0.12 spells it so
		{"  <buffer>\n    retry_type random\n  </buffer>\n", "retry_type"},
		{"  <buffer>\n    flush_interval -1\n  </buffer>\n", "flush_interval must not be negative"},
		{"  <buffer>\n    chunk_limit_size 8m\n    total_limit_size 1m\n  </buffer>\n", "total_limit_size"},
		{"  buffer_queue_full_action explode\n", "test.conf:6:28: buffer_queue_full_action"},
		{"  buffer_type file\n  buffer_chunk_limit 99999999999999999999\n", "test.conf:7:22: buffer_chunk_limit"},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSpace(tt.body), func(t *testing.T) {
			_, _, err := buildBuffer(t, tt.body)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Build error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
