package agent

import (
	"bufio"
	"bytes"
	"os"
	"runtime/metrics"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// collector exports the stages' counters (their Stats snapshots) as
// Prometheus metrics at scrape time, so the hot path only bumps atomics.
type collector struct {
	a *Agent
}

var (
	descLinesRead   = prometheus.NewDesc("logship_tail_lines_read_total", "Logical lines read from files.", []string{"source"}, nil)
	descBytesRead   = prometheus.NewDesc("logship_tail_bytes_read_total", "Bytes read from files.", []string{"source"}, nil)
	descFilesOpen   = prometheus.NewDesc("logship_tail_files_open", "Files being tailed.", []string{"source"}, nil)
	descRotations   = prometheus.NewDesc("logship_tail_rotations_total", "Files rotated away (renamed or replaced).", []string{"source"}, nil)
	descTruncations = prometheus.NewDesc("logship_tail_truncations_total", "Files truncated (copytruncate) and re-read from 0.", []string{"source"}, nil)
	descGivenUp     = prometheus.NewDesc("logship_tail_given_up_bytes_total", "Unread bytes of deleted files given up at the bounds.", []string{"source"}, nil)
	descGaps        = prometheus.NewDesc("logship_tail_gap_bytes_total", "Bytes detected lost at start (files gone while stopped).", []string{"source"}, nil)
	descCorruptPos  = prometheus.NewDesc("logship_tail_positions_corrupt_total", "Positions files found corrupt at start: moved aside to <file>.bad and the files re-read from the configured start (or the Fluentd pos_file).", []string{"source"}, nil)
	descFilesPinned = prometheus.NewDesc("logship_tail_files_pinned_total", "Files opened (held) while reading was blocked, before any discovery pass saw them, so a deletion cannot lose them.", []string{"source"}, nil)
	descDeletedHeld = prometheus.NewDesc("logship_tail_files_deleted_held", "Deleted files held open to be drained (within the deleted-file bounds).", []string{"source"}, nil)
	descLostFiles   = prometheus.NewDesc("logship_tail_lost_files_total", "Files lost with unread data (given up at the deleted-file bounds, or deleted unseen); each is logged with its path.", []string{"source"}, nil)
	descLostBytes   = prometheus.NewDesc("logship_tail_lost_bytes_total", "Unread bytes of the lost files.", []string{"source"}, nil)
	descLostLines   = prometheus.NewDesc("logship_tail_lost_lines_total", "Unread complete lines of the lost files (where the file could still be read to count them).", []string{"source"}, nil)
	descLag         = prometheus.NewDesc("logship_delivery_lag_seconds", "Age of the oldest line read but not yet delivered (or durably buffered).", []string{"source"}, nil)
	descUnmatched   = prometheus.NewDesc("logship_parser_unmatched_total", "Lines the parser rejected.", []string{"source"}, nil)
	descUnrouted    = prometheus.NewDesc("logship_router_unmatched_records_total", "Records no <match> took.", nil, nil)
	descQueueChunks = prometheus.NewDesc("logship_buffer_queue_length", "Chunks queued (in flight and retrying included).", []string{"output"}, nil)
	descQueueBytes  = prometheus.NewDesc("logship_buffer_total_bytes", "Bytes staged and queued.", []string{"output"}, nil)
	descBufStaged   = prometheus.NewDesc("logship_buffer_staged_bytes", "Bytes of staged chunks, as counted against the limits.", []string{"output"}, nil)
	descBufQueued   = prometheus.NewDesc("logship_buffer_queued_bytes", "Bytes of queued chunks, as counted against the limits.", []string{"output"}, nil)
	descBufLimit    = prometheus.NewDesc("logship_buffer_limit_bytes", "total_limit_size (chunk_limit_size × queue_limit_length where set).", []string{"output"}, nil)
	descBufMemBound = prometheus.NewDesc("logship_buffer_memory_bound_bytes", "Most memory the buffer's records may hold by its configuration.", []string{"output"}, nil)
	descDiskFull    = prometheus.NewDesc("logship_buffer_disk_full", "1 while the file buffer's segment writes fail (ENOSPC, …): chunks are held in memory up to the memory bound, then reading blocks.", []string{"output"}, nil)
	descMemOnly     = prometheus.NewDesc("logship_buffer_memory_only_bytes", "Bytes of file-buffer chunks held in memory only (their segment could not be written).", []string{"output"}, nil)
	descDiskErrors  = prometheus.NewDesc("logship_buffer_disk_errors_total", "Failed segment writes of the file buffer.", []string{"output"}, nil)
	descBlocked     = prometheus.NewDesc("logship_buffer_blocked_total", "Hand-offs to the buffer that had to wait (back-pressure to reading), by reason.", []string{"output", "reason"}, nil)
	descRSS         = prometheus.NewDesc("logship_process_resident_memory_bytes", "Resident set size of the process (VmRSS).", nil, nil)
	descPeakRSS     = prometheus.NewDesc("logship_process_resident_memory_peak_bytes", "Peak resident set size of the process (VmHWM).", nil, nil)
	descHeap        = prometheus.NewDesc("logship_go_heap_objects_bytes", "Bytes of live and not yet swept heap objects (runtime/metrics /memory/classes/heap/objects:bytes).", nil, nil)
	descMemLimit    = prometheus.NewDesc("logship_go_memory_limit_bytes", "The Go runtime's soft memory limit (GOMEMLIMIT).", nil, nil)
	descRetries     = prometheus.NewDesc("logship_buffer_retries_total", "Chunk retries scheduled.", []string{"output"}, nil)
	descFlushErrors = prometheus.NewDesc("logship_buffer_send_errors_total", "Failed chunk sends.", []string{"output"}, nil)
	descDeadChunks  = prometheus.NewDesc("logship_buffer_dead_letter_chunks_total", "Chunks written to the dead-letter directory.", []string{"output"}, nil)
	descDropped     = prometheus.NewDesc("logship_buffer_dropped_records_total", "Records dropped by the buffer, by reason.", []string{"output", "reason"}, nil)
	descRecordsOut  = prometheus.NewDesc("logship_output_records_total", "Records delivered by the output's buffer.", []string{"output"}, nil)
)

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLinesRead, descBytesRead, descFilesOpen, descRotations, descTruncations,
		descGivenUp, descGaps, descCorruptPos, descFilesPinned, descDeletedHeld, descLostFiles, descLostBytes, descLostLines, descLag, descUnmatched, descUnrouted, descQueueChunks, descQueueBytes, descRetries, descFlushErrors,
		descDeadChunks, descDropped, descRecordsOut, descBufStaged, descBufQueued, descBufLimit,
		descBufMemBound, descDiskFull, descMemOnly, descDiskErrors, descBlocked, descRSS, descPeakRSS, descHeap, descMemLimit} {
		ch <- d
	}
	// The outputs' own metrics (the agent is built before it is registered).
	for _, o := range c.a.outputs {
		if o.stats != nil {
			o.stats.Describe(ch)
		}
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, s := range c.a.sources {
		name := s.name()
		st := s.w.Stats()
		counter(descLinesRead, float64(st.LinesRead), name)
		counter(descBytesRead, float64(st.BytesRead), name)
		gauge(descFilesOpen, float64(st.FilesOpen), name)
		counter(descRotations, float64(st.Rotations), name)
		counter(descTruncations, float64(st.Truncations), name)
		counter(descGivenUp, float64(st.GivenUpBytes), name)
		counter(descGaps, float64(st.GapBytes), name)
		counter(descCorruptPos, float64(st.PositionsCorrupt), name)
		counter(descFilesPinned, float64(st.FilesPinned), name)
		gauge(descDeletedHeld, float64(st.FilesDeletedHeld), name)
		// Lost files are totals per source: a per-path label would grow
		// without bound over rotations; each lost file is logged with its
		// path by the tailer.
		counter(descLostFiles, float64(st.LostFiles), name)
		counter(descLostBytes, float64(st.LostBytes), name)
		counter(descLostLines, float64(st.LostLines), name)
		counter(descUnmatched, float64(s.unmatched.Load()), name)
		gauge(descLag, s.lag.lag(time.Now(), s.w.Position).Seconds(), name)
	}
	if c.a.router != nil {
		counter(descUnrouted, float64(c.a.router.Unmatched()))
	}
	for _, o := range c.a.outputs {
		id := o.cfg.ID
		if o.buf != nil {
			st := o.buf.Stats()
			gauge(descQueueChunks, float64(st.QueuedChunks), id)
			gauge(descQueueBytes, float64(st.TotalBytes), id)
			gauge(descBufStaged, float64(st.StagedBytes), id)
			gauge(descBufQueued, float64(st.QueuedBytes), id)
			bc := o.buf.Config()
			gauge(descBufLimit, float64(bc.TotalLimitSize), id)
			gauge(descBufMemBound, float64(bc.MemoryBound()), id)
			diskFull := 0.0
			if st.DiskFull {
				diskFull = 1
			}
			gauge(descDiskFull, diskFull, id)
			gauge(descMemOnly, float64(st.MemoryOnlyBytes), id)
			counter(descDiskErrors, float64(st.DiskErrors), id)
			counter(descBlocked, float64(st.OverflowEvents), id, "full")
			counter(descBlocked, float64(st.DiskFullBlocks), id, "disk_full")
			counter(descRetries, float64(st.Retries), id)
			counter(descFlushErrors, float64(st.SendErrors), id)
			counter(descDeadChunks, float64(st.DeadLetterChunks), id)
			counter(descRecordsOut, float64(st.RecordsFlushed), id)
			counter(descDropped, float64(st.DroppedOverflowRecords), id, "overflow")
			counter(descDropped, float64(st.DroppedDeadLetterRecords), id, "dead_letter_failed")
		}
		if o.stats != nil {
			o.stats.Collect(id, ch)
		}
	}
	collectMemory(gauge)
}

// collectMemory reports the process's resident memory (Linux /proc; absent
// elsewhere) and the Go heap and soft limit.
func collectMemory(gauge func(d *prometheus.Desc, v float64, labels ...string)) {
	if data, err := os.ReadFile("/proc/self/status"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			line := sc.Bytes()
			var d *prometheus.Desc
			switch {
			case bytes.HasPrefix(line, []byte("VmRSS:")):
				d = descRSS
			case bytes.HasPrefix(line, []byte("VmHWM:")):
				d = descPeakRSS
			default:
				continue
			}
			f := bytes.Fields(line)
			if len(f) == 3 && string(f[2]) == "kB" {
				if kb, err := strconv.ParseInt(string(f[1]), 10, 64); err == nil {
					gauge(d, float64(kb)*1024)
				}
			}
		}
	}
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/gomemlimit:bytes"}}
	metrics.Read(samples)
	for i, d := range []*prometheus.Desc{descHeap, descMemLimit} {
		if samples[i].Value.Kind() == metrics.KindUint64 {
			gauge(d, float64(samples[i].Value.Uint64()))
		}
	}
}

// register adds the agent's collector to the registry.
func (a *Agent) register() error {
	return a.opts.Registry.Register(collector{a: a})
}
