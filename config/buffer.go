package config

import (
	"path/filepath"
	"strings"

	"logship/buffer"
)

// This file maps an output's buffer parameters onto buffer.Config. Every
// value is decoded by the Param getters in value.go, the one reading of
// Fluentd's literals in logship, so a size, time or bool means the same here
// as in every other plugin parameter (and a malformed one warns the same
// way). The buffer package only sees typed values.
//
// The parameter types follow Fluentd v1.19.3:
// lib/fluent/plugin/output.rb (the <buffer> section: flush_*, retry_*,
// overflow_action), lib/fluent/plugin/buffer.rb (chunk_limit_size and the
// other limits) and lib/fluent/plugin/buf_file.rb (path), all at
// https://github.com/fluent/fluentd/tree/v1.19.3. Two of them are floats,
// not times: flush_thread_interval and flush_thread_burst_interval, so "1m"
// there is 1 s, as in Fluentd.

// bufferV012Names lists the directive-level buffer parameters of a v0.12
// output that the mapping reads: the keys of bufferCompat that have a v1
// name, plus retry_wait (read only to warn, see Reader.Buffer) and
// slow_flush_log_threshold (an output parameter in both versions).
func bufferV012Names() []string {
	var out []string
	for _, m := range bufferCompat {
		if m.to != "" && m.from != "time_slice_wait" && m.from != "timezone" {
			out = append(out, m.from)
		}
	}
	return append(out, "retry_wait", "slow_flush_log_threshold")
}

// v012BufferKey returns the directive-level v0.12 key that Fluentd's
// compat_parameters helper (lib/fluent/plugin_helper/compat_parameters.rb,
// BUFFER_PARAMS) copies to the v1 <buffer> parameter name, or "".
func v012BufferKey(name string) string {
	for _, m := range bufferCompat {
		if m.to == name {
			return m.from
		}
	}
	return ""
}

// Buffer implements plugin.Params for the reader of an output directive:
// its <buffer> section when it has one, else its flat v0.12 parameters
// renamed as Fluentd's compat helper renames them (buffer_chunk_limit →
// chunk_limit_size, disable_retry_limit → retry_forever, …; see
// bufferCompat). Malformed values are errors at their values' positions;
// warnings are recorded as the getters record them. A file buffer's path and
// every dead-letter directory default to the state directory, named after
// the output's id.
//
// In v0.12 form, flush_interval also selects flush_mode interval (Fluentd
// v1's output.rb does so for a flush_interval outside <buffer>), and
// retry_wait is not mapped: the compat helper leaves it out, and a native v1
// plugin (fluent-plugin-cloudwatch-logs ≥ 0.5) ignores it at <match> level,
// so the <buffer> default of 1 s applies. logship warns about it.
func (r *Reader) Buffer() (buffer.Config, bool) {
	s := r.s
	before := len(r.top().errs)
	bs := s.Section("buffer")
	br := &Reader{s: s, b: r.b, root: r.top(), v012Buffer: true}
	if bs != nil {
		br = r.nested(bs)
	}
	var c buffer.Config
	c.Type = br.String("@type", "")
	c.Path = br.String("path", "")
	c.ChunkLimitSize = br.size("chunk_limit_size", 0)
	c.ChunkLimitRecords = br.int32("chunk_limit_records", 0)
	c.ChunkFullThreshold = br.float("chunk_full_threshold", 0)
	c.TotalLimitSize = br.size("total_limit_size", 0)
	c.QueueLimitLength = br.int32("queue_limit_length", 0)
	c.QueuedChunksLimitSize = br.int32("queued_chunks_limit_size", 0)
	c.FlushMode = buffer.FlushMode(br.enum("flush_mode", "", string(buffer.FlushModeDefault), string(buffer.FlushModeLazy),
		string(buffer.FlushModeInterval), string(buffer.FlushModeImmediate)))
	c.FlushInterval = br.Duration("flush_interval", 0)
	if bs == nil && br.Set("flush_interval") {
		c.FlushMode = buffer.FlushModeInterval
	}
	c.FlushThreadCount = br.int32("flush_thread_count", 0)
	c.FlushThreadInterval = br.seconds("flush_thread_interval", 0)
	c.FlushThreadBurstInterval = br.seconds("flush_thread_burst_interval", 0)
	c.FlushAtShutdown = opt(br, "flush_at_shutdown", (*Param).Bool)
	overflow := []string{string(buffer.OverflowThrowException), string(buffer.OverflowBlock), string(buffer.OverflowDropOldestChunk)}
	if bs == nil {
		// The compat helper renames buffer_queue_full_action exception.
		overflow = append(overflow, "exception")
	}
	if v := br.enum("overflow_action", "", overflow...); v == "exception" {
		c.OverflowAction = buffer.OverflowThrowException
	} else {
		c.OverflowAction = buffer.OverflowAction(v)
	}
	c.RetryType = buffer.RetryType(br.enum("retry_type", "", string(buffer.RetryExponentialBackoff), string(buffer.RetryPeriodic)))
	c.RetryWait = br.Duration("retry_wait", 0)
	c.RetryExponentialBackoffBase = br.float("retry_exponential_backoff_base", 0)
	c.RetryMaxInterval = br.Duration("retry_max_interval", 0)
	c.RetryTimeout = br.Duration("retry_timeout", 0)
	c.RetryMaxTimes = opt(br, "retry_max_times", int32Value)
	c.RetryForever = br.Bool("retry_forever", false)
	c.RetryRandomize = opt(br, "retry_randomize", (*Param).Bool)
	c.DeadLetterDir = br.String("dead_letter_dir", "")
	c.FsyncInterval = br.Duration("fsync_interval", 0)
	c.ShutdownTimeout = br.Duration("shutdown_timeout", 0)
	// slow_flush_log_threshold is an output parameter (a float of seconds);
	// a value inside <buffer> is honoured too, and wins. The output's is
	// read first, its error reported after the buffer's.
	out := &Reader{s: s, b: r.b}
	c.SlowFlushLogThreshold = out.seconds("slow_flush_log_threshold", 0)
	var retryWait *Param
	if bs != nil {
		c.SlowFlushLogThreshold = br.seconds("slow_flush_log_threshold", c.SlowFlushLogThreshold)
		accept(bs, "chunk_keys", "timekey", "timekey_wait", "timekey_use_utc", "timekey_zone", "compress",
			"delayed_commit_timeout")
	} else {
		retryWait = s.value("retry_wait")
	}
	for _, err := range out.errs {
		r.add(err)
	}
	if len(r.top().errs) > before {
		return c, false
	}
	if retryWait != nil {
		r.b.d.Warnf(retryWait.Pos, "%s in %s has no effect in Fluentd v1 either (the <buffer> default retry_wait 1s applies)", retryWait.Key, s.Header())
	}
	state := r.b.opts.StateDir
	if c.Type == "file" && c.Path == "" {
		c.Path = filepath.Join(state, "buffer", sanitize(r.id))
	}
	if c.Type == "file" && strings.HasPrefix(c.Path, "/var/log/") {
		// Fluentd's buffer_path usually lies under /var/log, which the
		// DaemonSet mounts read-only: keep logship's segments in the state
		// directory, named after it.
		c.Path = filepath.Join(state, "buffer", strings.Trim(sanitize(c.Path), "_"))
	}
	if c.DeadLetterDir == "" {
		c.DeadLetterDir = filepath.Join(state, "dead-letter", sanitize(r.id))
	}
	if err := c.Validate(); err != nil {
		r.Errorf("buffer: %v", err)
		return c, false
	}
	return c, true
}
