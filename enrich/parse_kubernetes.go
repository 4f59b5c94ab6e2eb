package enrich

// The kubernetes parser is the custom plugin the Fluentd Kubernetes images
// ship (coreos parser_kubernetes.rb for v0.12, fluentd-kubernetes-daemonset's
// plugins for v1): glog lines of the kubelet, kube-proxy, the control plane
// and kube-system containers (coreos/fluentd-kubernetes-daemonset@c0b8ee7
// plugins/v0.12/shared/parser_kubernetes.rb; fluent/fluentd-kubernetes-daemonset@849b9e1
// docker-image/v1.19/debian-cloudwatch/plugins/parser_kubernetes.rb).
const (
	// GlogFirstLine marks the first line of a glog record (format_firstline).
	GlogFirstLine = `^\w\d{4}`
	// GlogExpression is the glog line (format1; the v1 plugin's expression),
	// matched with dot-matches-newline.
	GlogExpression = `^(?<severity>\w)(?<time>\d{4} [^\s]*)\s+(?<pid>\d+)\s+(?<source>[^ \]]+)\] (?<message>.*)`
	// GlogTimeFormat is the glog time (no year: the current year).
	GlogTimeFormat = "%m%d %H:%M:%S.%N"
)

// kubernetesParseConfig returns cfg as the regexp parser the kubernetes
// parser is: the glog expression with /m and its time format (both forced,
// as the plugin's configure does). When group is set (v0.12's multiline parser, v1's
// multiline_kubernetes) lines are grouped at GlogFirstLine.
func kubernetesParseConfig(cfg ParseConfig, group bool) ParseConfig {
	cfg.Type = "regexp"
	cfg.Expression = GlogExpression
	cfg.Multiline = true
	cfg.TimeFormat = GlogTimeFormat // the plugin sets it over any configured one
	if group {
		ml := MultilineConfig{}
		if cfg.Lines != nil {
			ml = *cfg.Lines
		}
		if ml.FirstLine == "" {
			ml.FirstLine = GlogFirstLine
		}
		ml.Formats = nil
		cfg.Lines = &ml
	} else if cfg.Lines != nil {
		ml := *cfg.Lines
		ml.FirstLine = ""
		cfg.Lines = &ml
	}
	return cfg
}
