package config

// The check-config description of a pipeline: its stages and where it
// deliberately differs from Fluentd.

import (
	"fmt"

	"logship/enrich"
	"logship/plugin"
)

// Describe writes the effective pipeline, one line per stage, for
// check-config: sources → filters → outputs with their effective parameters.
// Credentials are redacted.
func (p *Pipeline) Describe() []string {
	return append(p.describeStages(), p.Differences()...)
}

// V012Image is the Differences line of a configuration written for Fluentd
// v0.12: run as the images of that time ran it, not as Fluentd 1.x runs it.
const V012Image = "a configuration written for Fluentd v0.12 behaves as the v0.12-era image it came from, not as Fluentd 1.x runs it: event times in whole seconds (v0.12 kept Integer seconds), kubernetes_metadata 0.2x's merge_json_log for JSON log lines, and the 2017 fluentd-kubernetes-daemonset image's multi-line format kubernetes (continuation lines joined)"

// Differences lists, one line each, where this pipeline deliberately behaves
// differently from Fluentd: the known Fluentd flaws logship fixes
// (docs/fluentd-compat.md, "Deliberate differences", names the Fluentd and
// plugin code and the public issues behind each).
func (p *Pipeline) Differences() []string {
	var out []string
	d := func(s string) { out = append(out, "differs from Fluentd: "+s) }
	hasTail, hasHTTP := false, false
	for _, s := range p.Sources {
		hasTail = hasTail || s.Tail != nil
		hasHTTP = hasHTTP || s.Type == "http"
	}
	if p.V012 {
		d(V012Image)
	}
	if hasTail {
		d("positions advance only when lines are delivered (memory buffer) or fsynced (file buffer), so a restart or crash re-reads instead of losing buffered lines")
		d("a full buffer blocks reading (back-pressure); the tail-to-buffer hand-off is atomic per batch, so nothing is emitted twice (Fluentd re-emits the whole batch)")
		d("rotated files are read to a quiescent end, not dropped after rotate_wait; rotated siblings are found and drained, also after a restart")
		d("CRI partial lines (P) and docker 16 KiB pieces are joined into one record (Fluentd's cri parser emits each fragment)")
		d(`a container log time on a whole second, which RFC3339Nano writes without a fraction ("…:05Z"), is parsed; Fluentd's time_format "…%S.%N…" rejects it and drops the line`)
	}
	// The outputs' own differences, once per line, in file order.
	seen := map[string]bool{}
	for _, sec := range p.Order {
		if o := p.Outputs[sec]; o != nil {
			if df, ok := o.Plugin.(plugin.Differ); ok {
				for _, line := range df.Differences() {
					if !seen[line] {
						seen[line] = true
						d(line)
					}
				}
			}
		}
	}
	if hasHTTP {
		d("the http source answers 200 even when the outputs are backed up, so the liveness probe never restarts the agent")
	}
	out = append(out, p.pluginDifferences()...)
	return out
}

// describeStages writes the sources, filters and outputs.
func (p *Pipeline) describeStages() []string {
	var out []string
	dialect := "v1"
	if p.V012 {
		dialect = "v0.12"
	}
	out = append(out, "dialect: Fluentd "+dialect)
	for _, s := range p.Sources {
		label := s.Label
		if label == "" {
			label = "(top level)"
		}
		if s.Plugin != nil {
			out = append(out, fmt.Sprintf("source %s %s: %+v → %s", s.Type, s.Section.Pos, s.Plugin, label))
		}
		if s.Tail != nil {
			t := s.Tail
			out = append(out, fmt.Sprintf("source tail %s: paths=%q exclude=%q tag=%q parser=%s container=%v read_from_head=%v fluentd_pos_file=%q positions=%q → %s",
				s.Section.Pos, t.Tail.Paths, t.Tail.ExcludePaths, t.Tag, t.Line.Parse.Type, t.Line.Container,
				t.Tail.ReadFromHead, t.Tail.FluentdPosFile, t.Tail.PositionsFile, label))
		}
	}
	for _, s := range p.Order {
		if f := p.Filters[s]; f != nil {
			line := fmt.Sprintf("filter %s %s: %s", s.Arg, s.Pos, f.Type)
			if f.Plugin != nil {
				line += fmt.Sprintf(" %+v", f.Plugin)
			}
			if k := f.Kubernetes; k != nil {
				d := "3.x"
				if k.Dialect == enrich.Legacy {
					d = "0.2x (legacy)"
				}
				line += fmt.Sprintf(" shape=%s merge_json_log=%v de_dot=%v skip_labels=%v master_url=%q",
					d, k.MergeJSONLog, k.DeDot, k.SkipLabels, k.MasterURL)
			}
			out = append(out, line)
			continue
		}
		o := p.Outputs[s]
		line := fmt.Sprintf("match %s %s: %s id=%s", s.Arg, s.Pos, o.Type, o.ID)
		if d, ok := o.Plugin.(plugin.Describer); ok {
			if text := d.Describe(); text != "" {
				line += " " + text
			}
		} else if o.Plugin != nil {
			line += fmt.Sprintf(" %+v", o.Plugin)
		}
		out = append(out, line)
	}
	return out
}
