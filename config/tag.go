package config

import "strings"

// TailTag is the tag parameter of an in_tail source, split for expansion: at
// the first '*', which stands for the file's path with '/' turned into '.'
// (Fluentd v1.19.3 lib/fluent/plugin/in_tail.rb, TailWatcher#tag;
// https://docs.fluentd.org/input/tail#tag).
type TailTag struct {
	prefix, suffix string
	wild           bool
}

// ParseTailTag splits tag at its first '*'. Text after a second '*' is
// dropped, as in Fluentd.
func ParseTailTag(tag string) TailTag {
	parts := strings.Split(tag, "*")
	if len(parts) == 1 {
		return TailTag{prefix: tag}
	}
	return TailTag{prefix: parts[0], suffix: parts[1], wild: true}
}

// Expand returns the tag of events read from path: without '*' the tag
// itself; otherwise prefix + path with every '/' turned into '.', runs of
// '.' collapsed and a leading '.' removed + suffix. For "kubernetes.*" and
// "/var/log/containers/x.log" it is "kubernetes.var.log.containers.x.log".
func (t TailTag) Expand(path string) string {
	if !t.wild {
		return t.prefix
	}
	var b strings.Builder
	b.Grow(len(t.prefix) + len(path) + len(t.suffix))
	b.WriteString(t.prefix)
	first := true // nothing of the path written yet
	for i := 0; i < len(path); {
		j := i
		for j < len(path) && (path[j] == '/' || path[j] == '.') {
			j++
		}
		if j > i && !first {
			b.WriteByte('.')
		}
		k := j
		for k < len(path) && path[k] != '/' && path[k] != '.' {
			k++
		}
		if k > j {
			b.WriteString(path[j:k])
			first = false
		}
		i = k
	}
	b.WriteString(t.suffix)
	return b.String()
}

// ExpandTailTag is ParseTailTag(tag).Expand(path).
func ExpandTailTag(tag, path string) string { return ParseTailTag(tag).Expand(path) }
