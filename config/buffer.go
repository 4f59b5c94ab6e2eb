package config

import (
	"math"
	"time"

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
// name, plus retry_wait (read only to warn, see bufferFromOutput) and
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

// bufferFromOutput maps the buffer of the output directive s: its <buffer>
// section when it has one, else its flat v0.12 parameters renamed as
// Fluentd's compat helper renames them (buffer_chunk_limit →
// chunk_limit_size, disable_retry_limit → retry_forever, …; see
// bufferCompat). It returns the errors of malformed values (each at its
// value's position) and records warnings in the Diagnostics as the getters
// do. It does not Validate.
//
// In v0.12 form, flush_interval also selects flush_mode interval (Fluentd
// v1's output.rb does so for a flush_interval outside <buffer>), and
// retry_wait is not mapped: the compat helper leaves it out, and a native v1
// plugin (fluent-plugin-cloudwatch-logs ≥ 0.5) ignores it at <match> level,
// so the <buffer> default of 1 s applies. It is returned in ignored so the
// caller can warn.
func bufferFromOutput(s *Section) (c buffer.Config, ignored []*Param, errs []error) {
	bs := s.Section("buffer")
	get := func(name string) *Param { return bs.value(name) }
	if bs == nil {
		get = func(name string) *Param {
			if k := v012BufferKey(name); k != "" {
				return s.value(k)
			}
			return nil
		}
	}
	r := bufferReader{get: get}
	r.str("@type", &c.Type)
	r.str("path", &c.Path)
	r.size("chunk_limit_size", &c.ChunkLimitSize)
	r.int("chunk_limit_records", &c.ChunkLimitRecords)
	r.float("chunk_full_threshold", &c.ChunkFullThreshold)
	r.size("total_limit_size", &c.TotalLimitSize)
	r.int("queue_limit_length", &c.QueueLimitLength)
	r.int("queued_chunks_limit_size", &c.QueuedChunksLimitSize)
	if v, ok := r.enum("flush_mode", string(buffer.FlushModeDefault), string(buffer.FlushModeLazy),
		string(buffer.FlushModeInterval), string(buffer.FlushModeImmediate)); ok {
		c.FlushMode = buffer.FlushMode(v)
	}
	if r.dur("flush_interval", &c.FlushInterval) && bs == nil {
		c.FlushMode = buffer.FlushModeInterval
	}
	r.int("flush_thread_count", &c.FlushThreadCount)
	r.seconds("flush_thread_interval", &c.FlushThreadInterval)
	r.seconds("flush_thread_burst_interval", &c.FlushThreadBurstInterval)
	r.optBool("flush_at_shutdown", &c.FlushAtShutdown)
	overflow := []string{string(buffer.OverflowThrowException), string(buffer.OverflowBlock), string(buffer.OverflowDropOldestChunk)}
	if bs == nil {
		// The compat helper renames buffer_queue_full_action exception.
		overflow = append(overflow, "exception")
	}
	if v, ok := r.enum("overflow_action", overflow...); ok {
		if v == "exception" {
			v = string(buffer.OverflowThrowException)
		}
		c.OverflowAction = buffer.OverflowAction(v)
	}
	if v, ok := r.enum("retry_type", string(buffer.RetryExponentialBackoff), string(buffer.RetryPeriodic)); ok {
		c.RetryType = buffer.RetryType(v)
	}
	r.dur("retry_wait", &c.RetryWait)
	r.float("retry_exponential_backoff_base", &c.RetryExponentialBackoffBase)
	r.dur("retry_max_interval", &c.RetryMaxInterval)
	r.dur("retry_timeout", &c.RetryTimeout)
	r.optInt("retry_max_times", &c.RetryMaxTimes)
	r.bool("retry_forever", &c.RetryForever)
	r.optBool("retry_randomize", &c.RetryRandomize)
	r.str("dead_letter_dir", &c.DeadLetterDir)
	r.dur("fsync_interval", &c.FsyncInterval)
	r.dur("shutdown_timeout", &c.ShutdownTimeout)
	// slow_flush_log_threshold is an output parameter (a float of seconds);
	// a value inside <buffer> is honoured too, and wins.
	out := bufferReader{get: s.value}
	out.seconds("slow_flush_log_threshold", &c.SlowFlushLogThreshold)
	if bs != nil {
		r.seconds("slow_flush_log_threshold", &c.SlowFlushLogThreshold)
	} else if p := s.value("retry_wait"); p != nil {
		ignored = append(ignored, p)
	}
	return c, ignored, append(r.errs, out.errs...)
}

// bufferReader decodes typed parameters into buffer.Config fields, keeping
// every error.
type bufferReader struct {
	// get returns the parameter set to a value of its own under the v1 name,
	// or nil.
	get  func(name string) *Param
	errs []error
}

func (r *bufferReader) fail(err error) bool {
	r.errs = append(r.errs, err)
	return false
}

func (r *bufferReader) str(name string, dst *string) bool {
	p := r.get(name)
	if p == nil {
		return false
	}
	*dst = p.String()
	return true
}

func (r *bufferReader) enum(name string, allowed ...string) (string, bool) {
	p := r.get(name)
	if p == nil {
		return "", false
	}
	v, err := p.Enum(allowed...)
	if err != nil {
		return "", r.fail(err)
	}
	return v, true
}

// read decodes the parameter name with decode into *dst; it reports whether
// the parameter was set and valid, keeping the error otherwise.
func read[T any](r *bufferReader, name string, decode func(*Param) (T, error), dst *T) bool {
	p := r.get(name)
	if p == nil {
		return false
	}
	v, err := decode(p)
	if err != nil {
		return r.fail(err)
	}
	*dst = v
	return true
}

func (r *bufferReader) size(name string, dst *int64) bool {
	return read(r, name, (*Param).Size, dst)
}

func (r *bufferReader) int(name string, dst *int) bool {
	return read(r, name, func(p *Param) (int, error) {
		v, err := p.Int()
		if err == nil && (v > math.MaxInt32 || v < math.MinInt32) {
			err = p.errorf("integer %d out of range", v)
		}
		return int(v), err
	}, dst)
}

func (r *bufferReader) optInt(name string, dst **int) {
	var n int
	if r.int(name, &n) {
		*dst = &n
	}
}

func (r *bufferReader) float(name string, dst *float64) bool {
	return read(r, name, (*Param).Float, dst)
}

// seconds decodes a :float parameter that counts seconds.
func (r *bufferReader) seconds(name string, dst *time.Duration) bool {
	return read(r, name, func(p *Param) (time.Duration, error) {
		v, err := p.Float()
		if err == nil && math.Abs(v*float64(time.Second)) > math.MaxInt64 {
			err = p.errorf("time %q out of range", p.Value)
		}
		return time.Duration(math.Round(v * float64(time.Second))), err
	}, dst)
}

func (r *bufferReader) dur(name string, dst *time.Duration) bool {
	return read(r, name, (*Param).Duration, dst)
}

func (r *bufferReader) bool(name string, dst *bool) bool {
	return read(r, name, (*Param).Bool, dst)
}

func (r *bufferReader) optBool(name string, dst **bool) {
	var b bool
	if r.bool(name, &b) {
		*dst = &b
	}
}
