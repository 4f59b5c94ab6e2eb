package cwlogs

import (
	"strings"

	"logship/plugin"
	"logship/sink/cloudwatch"
)

// Map reads a <match @type cloudwatch_logs> section: the parameters of
// fluent-plugin-cloudwatch-logs, its <inject> section, and its buffer (the
// <buffer> section or the v0.12 flat buffer_* parameters, read by
// p.Buffer). Parameters whose work another layer does are accepted without
// effect: JSON encoding is always Yajl-compatible, retries belong to the
// buffer, credentials come from the SDK chain (web identity, ECS and STS
// included).
func Map(p plugin.Params) (*Config, bool) {
	cw := cloudwatch.Config{}
	str := func(key string) string { return p.String(key, "") }
	boolean := p.Bool
	integer := func(key string) int {
		switch strings.TrimSpace(str(key)) {
		case "", "nil", "0":
			// RETENTION_IN_DAYS defaults to the literal 'nil' in the
			// upstream image: treat nil, 0 and empty as unset.
			return 0
		}
		return int(p.Int(key, 0))
	}
	cw.LogGroupName = str("log_group_name")
	cw.LogStreamName = str("log_stream_name")
	cw.UseTagAsGroup = boolean("use_tag_as_group", false)
	cw.UseTagAsStream = boolean("use_tag_as_stream", false)
	cw.LogGroupNameKey = str("log_group_name_key")
	cw.LogStreamNameKey = str("log_stream_name_key")
	cw.RemoveLogGroupNameKey = boolean("remove_log_group_name_key", false)
	cw.RemoveLogStreamNameKey = boolean("remove_log_stream_name_key", false)
	cw.AutoCreateStream = boolean("auto_create_stream", false)
	if keys := str("message_keys"); keys != "" {
		if strings.HasPrefix(strings.TrimSpace(keys), "[") {
			cw.MessageKeys = p.Strings("message_keys")
		} else {
			// The plugin splits on ',' without trimming.
			cw.MessageKeys = strings.Split(keys, ",")
		}
	}
	cw.MaxMessageLength = integer("max_message_length")
	cw.MaxEventsPerBatch = integer("max_events_per_batch")
	cw.RetentionInDays = integer("retention_in_days")
	cw.LogGroupAWSTags = p.Hash("log_group_aws_tags")
	cw.IncludeTimeKey = boolean("include_time_key", false)
	cw.TimeKey = str("time_key")
	if p.V012() {
		cw.Localtime = boolean("localtime", false)
	} else {
		cw.Localtime = !boolean("utc", false) && boolean("localtime", true)
	}
	cw.Location = p.Location()
	cw.IncludeTagKey = boolean("include_tag_key", false)
	cw.TagKey = str("tag_key")
	cw.DropEmptyTopLevel = !p.V012()
	cw.LogRejectedRequest = boolean("log_rejected_request", p.V012())
	cw.Region = str("region")
	cw.Endpoint = str("endpoint")
	cw.AccessKeyID = str("aws_key_id")
	cw.SecretAccessKey = str("aws_sec_key")
	if inj, ok := p.Section("inject"); ok {
		cw.IncludeTimeKey = inj.Has("time_key") || cw.IncludeTimeKey
		if k := inj.String("time_key", ""); k != "" {
			cw.TimeKey = k
		}
		if k := inj.String("tag_key", ""); k != "" {
			cw.IncludeTagKey, cw.TagKey = true, k
		}
		if inj.Bool("utc", false) {
			cw.Localtime = false
		}
		inj.Accept("time_type", "time_format", "localtime", "timezone")
	}
	p.Accept("json_handler", "put_log_events_retry_wait", "put_log_events_retry_limit",
		"put_log_events_disable_retry_limit", "concurrency", "http_proxy", "ssl_verify_peer",
		"aws_use_sts", "aws_sts_role_arn", "aws_sts_session_name", "aws_sts_external_id", "aws_sts_policy",
		"aws_sts_duration_seconds", "aws_sts_endpoint_url", "aws_ecs_authentication",
		"aws_instance_profile_credentials_retries", "drop_empty_record")
	if wi, ok := p.Section("web_identity_credentials"); ok {
		wi.AcceptAll()
	}
	if p.Failed() {
		return nil, false
	}
	if err := cw.Validate(); err != nil {
		p.Errorf("%v", err)
		return nil, false
	}
	bc, ok := p.Buffer()
	if !ok {
		return nil, false
	}
	return &Config{CloudWatch: cw, Buffer: bc}, true
}
