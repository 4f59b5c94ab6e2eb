package cwlogs

import "github.com/prometheus/client_golang/prometheus"

// The output's own metrics: the sink's requests and errors and the
// formatter's skips, labelled by output id (the buffer's are the agent's,
// common to every buffered output).
var (
	descRequests      = prometheus.NewDesc("logship_cloudwatch_requests_total", "Successful PutLogEvents requests.", []string{"output"}, nil)
	descEvents        = prometheus.NewDesc("logship_cloudwatch_events_total", "Events sent with PutLogEvents.", []string{"output"}, nil)
	descEventBytes    = prometheus.NewDesc("logship_cloudwatch_event_bytes_total", "UTF-8 message bytes sent.", []string{"output"}, nil)
	descRejected      = prometheus.NewDesc("logship_cloudwatch_rejected_events_total", "Events CloudWatch Logs rejected, by reason.", []string{"output", "reason"}, nil)
	descSinkDropped   = prometheus.NewDesc("logship_cloudwatch_dropped_records_total", "Records the sink dropped before sending, by reason.", []string{"output", "reason"}, nil)
	descAPIErrors     = prometheus.NewDesc("logship_cloudwatch_api_errors_total", "Failed API calls, by class.", []string{"output", "class"}, nil)
	descBillable      = prometheus.NewDesc("logship_cloudwatch_billable_bytes_total", "Bytes ingested per log group (message bytes + 26 per event, the upper bound AWS bills).", []string{"output", "log_group"}, nil)
	descOversizeSplit = prometheus.NewDesc("logship_cloudwatch_oversize_split_total", "Records larger than an event split into whole-record pieces (unit=records), and the pieces made (unit=pieces).", []string{"output", "unit"}, nil)
	descMsgTruncated  = prometheus.NewDesc("logship_cloudwatch_truncated_messages_total", "Messages cut to one event, by stage (format: the formatter's oversize truncate or max_message_length; send: the sink's last-resort cut).", []string{"output", "stage"}, nil)
	descMsgSplitEvs   = prometheus.NewDesc("logship_cloudwatch_message_split_events_total", "Events beyond the first that the sink split oversized messages into (records not already split by the formatter).", []string{"output"}, nil)
	descFormatSkipped = prometheus.NewDesc("logship_cloudwatch_format_skipped_total", "Records the formatter skipped, by reason.", []string{"output", "reason"}, nil)
)

// Describe implements plugin.Collector.
func (o *Output) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRequests, descEvents, descEventBytes, descRejected, descSinkDropped,
		descAPIErrors, descBillable, descOversizeSplit, descMsgTruncated, descMsgSplitEvs, descFormatSkipped} {
		ch <- d
	}
}

// Collect implements plugin.Collector.
func (o *Output) Collect(id string, ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, append([]string{id}, labels...)...)
	}
	st := o.sink.Stats()
	counter(descRequests, float64(st.Requests))
	counter(descEvents, float64(st.Events))
	counter(descEventBytes, float64(st.PayloadBytes))
	counter(descRejected, float64(st.Rejected.TooOld), "too_old")
	counter(descRejected, float64(st.Rejected.TooNew), "too_new")
	counter(descRejected, float64(st.Rejected.Expired), "expired")
	counter(descSinkDropped, float64(st.Dropped.TooOld), "too_old")
	counter(descSinkDropped, float64(st.Dropped.TooNew), "too_new")
	counter(descSinkDropped, float64(st.Dropped.Empty), "empty")
	for class, v := range map[string]uint64{"throttled": st.Errors.Throttled, "server": st.Errors.Server,
		"network": st.Errors.Network, "auth": st.Errors.Auth, "not_found": st.Errors.NotFound,
		"permanent": st.Errors.Permanent, "unknown": st.Errors.Unknown} {
		counter(descAPIErrors, float64(v), class)
	}
	counter(descMsgTruncated, float64(st.Truncated), "send")
	counter(descMsgSplitEvs, float64(st.Split))
	for g, gs := range st.Groups {
		counter(descBillable, float64(gs.QuotaBytes), g)
	}
	fs := o.format.Stats()
	counter(descFormatSkipped, float64(fs.NoGroup), "no_group")
	counter(descFormatSkipped, float64(fs.NoStream), "no_stream")
	counter(descFormatSkipped, float64(fs.EmptyMessage), "empty_message")
	counter(descOversizeSplit, float64(fs.Split), "records")
	counter(descOversizeSplit, float64(fs.Pieces), "pieces")
	counter(descMsgTruncated, float64(fs.Truncated), "format")
}
