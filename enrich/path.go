package enrich

import (
	"fmt"
	"regexp"
	"strings"
)

// DefaultTagRegexp is fluent-plugin-kubernetes_metadata_filter's default
// tag_to_kubernetes_name_regexp (≥ 2.9.3): the /var/log/pods form or the
// /var/log/containers form, searched (not anchored at the start) in the tag,
// written in RE2 syntax (fabric8io/fluent-plugin-kubernetes_metadata_filter@c5047ca
// lib/fluent/plugin/filter_kubernetes_metadata.rb).
const DefaultTagRegexp = `(var\.log\.pods\.(?P<namespace>[^_]+)_(?P<pod_name>[^_]+)_(?P<pod_uuid>[a-z0-9-]*)\.(?P<container_name>.+)\..*\.log$)|(var\.log\.containers\.(?P<pod_name>[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)_(?P<namespace>[^_]+)_(?P<container_name>.+)-(?P<docker_id>[a-z0-9]{64})\.log$)`

// LegacyTagRegexp is the 0.27–1.x default: the /var/log/containers form only.
const LegacyTagRegexp = `var\.log\.containers\.(?P<pod_name>[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)_(?P<namespace>[^_]+)_(?P<container_name>.+)-(?P<docker_id>[a-z0-9]{64})\.log$`

// PathInfo is what a container log file's name says about its container.
type PathInfo struct {
	Namespace   string
	Pod         string
	PodUID      string // from /var/log/pods/<ns>_<pod>_<uid>/…; "" in the containers form
	Container   string
	ContainerID string // the 64-hex id of /var/log/containers/…-<id>.log; "" in the pods form
}

// TagParser extracts PathInfo from a tag with a tag_to_kubernetes_name_regexp.
// Ruby named groups (?<name>…) are accepted and translated to RE2's (?P<name>…).
type TagParser struct {
	re                                     *regexp.Regexp
	namespace, pod, uid, container, docker []int // submatch indexes per name (a name may repeat across alternatives)
}

// NewTagParser compiles expr; "" means DefaultTagRegexp.
func NewTagParser(expr string) (*TagParser, error) {
	if expr == "" {
		expr = DefaultTagRegexp
	}
	re, err := regexp.Compile(RubyRegexp(expr))
	if err != nil {
		return nil, fmt.Errorf("tag_to_kubernetes_name_regexp: %w", err)
	}
	p := &TagParser{re: re}
	for i, name := range re.SubexpNames() {
		switch name {
		case "namespace":
			p.namespace = append(p.namespace, i)
		case "pod_name":
			p.pod = append(p.pod, i)
		case "pod_uuid":
			p.uid = append(p.uid, i)
		case "container_name":
			p.container = append(p.container, i)
		case "docker_id":
			p.docker = append(p.docker, i)
		}
	}
	if len(p.namespace) == 0 || len(p.pod) == 0 || len(p.container) == 0 {
		return nil, fmt.Errorf("tag_to_kubernetes_name_regexp %q: needs the groups namespace, pod_name and container_name", expr)
	}
	return p, nil
}

// Parse returns the PathInfo the tag names, and false when the tag does not
// match (Fluentd then adds no metadata at all).
func (p *TagParser) Parse(tag string) (PathInfo, bool) {
	m := p.re.FindStringSubmatchIndex(tag)
	if m == nil {
		return PathInfo{}, false
	}
	group := func(idx []int) string {
		for _, i := range idx {
			if m[2*i] >= 0 {
				return tag[m[2*i]:m[2*i+1]]
			}
		}
		return ""
	}
	return PathInfo{
		Namespace:   group(p.namespace),
		Pod:         group(p.pod),
		PodUID:      group(p.uid),
		Container:   group(p.container),
		ContainerID: group(p.docker),
	}, true
}

// RubyRegexp translates the Ruby-only syntax that Fluentd configs use into
// RE2: named groups (?<name>…) become (?P<name>…). Lookbehind (?<= and (?<! is
// left alone (RE2 rejects it, and the error names it).
func RubyRegexp(expr string) string {
	if !strings.Contains(expr, "(?<") {
		return expr
	}
	var b strings.Builder
	for i := 0; i < len(expr); i++ {
		if expr[i] == '\\' && i+1 < len(expr) {
			b.WriteByte(expr[i])
			b.WriteByte(expr[i+1])
			i++
			continue
		}
		if strings.HasPrefix(expr[i:], "(?<") && i+3 < len(expr) && expr[i+3] != '=' && expr[i+3] != '!' {
			b.WriteString("(?P<")
			i += 2
			continue
		}
		b.WriteByte(expr[i])
	}
	return b.String()
}

// ParsePodsPath parses a kubelet path /var/log/pods/<ns>_<pod>_<uid>/<container>/<N>.log
// (rotated siblings N.log.<timestamp> included); ok is false for anything else.
func ParsePodsPath(path string) (PathInfo, bool) {
	const marker = "/pods/"
	i := strings.LastIndex(path, marker)
	if i < 0 {
		return PathInfo{}, false
	}
	parts := strings.Split(path[i+len(marker):], "/")
	if len(parts) != 3 || !strings.Contains(parts[2], ".log") {
		return PathInfo{}, false
	}
	pod := strings.SplitN(parts[0], "_", 3)
	if len(pod) != 3 || pod[0] == "" || pod[1] == "" || pod[2] == "" {
		return PathInfo{}, false
	}
	return PathInfo{Namespace: pod[0], Pod: pod[1], PodUID: pod[2], Container: parts[1]}, true
}
