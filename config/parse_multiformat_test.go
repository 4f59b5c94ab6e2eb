package config_test

import (
	"strings"
	"testing"
	"time"

	"logship/config"
	"logship/tail"
)

// buildTail maps a container-log tail source with the <parse> parse and a
// stdout match; it returns the pipeline and the error text.
func buildTail(t *testing.T, parse string) (*config.Pipeline, string) {
	t.Helper()
	src := "<source>\n  @type tail\n  path /var/log/containers/*.log\n  tag kubernetes.*\n" + parse + "</source>\n<match **>\n  @type stdout\n</match>\n"
	p, _, errText := mapConfig(t, src, config.BuildOptions{Location: time.UTC})
	return p, errText
}

func TestBuild_MultiFormat(t *testing.T) {
	p, errText := buildTail(t, `  <parse>
    @type multi_format
    <pattern>
      format json
      time_key time
      time_format %Y-%m-%dT%H:%M:%S.%NZ
    </pattern>
    <pattern>
      format /^(?<time>[^ ]+) (?<stream>stdout|stderr) (?<logtag>[FP]) (?<log>.*)$/
      time_format %Y-%m-%dT%H:%M:%S.%N%:z
    </pattern>
    <pattern>
      format regexp
      expression /^(?<level>[A-Z]+) (?<message>.*)$/i
    </pattern>
    <pattern>
      format none
    </pattern>
  </parse>
`)
	if errText != "" {
		t.Fatalf("build: %s", errText)
	}
	ts := p.Sources[0].Tail
	if got, want := ts.Line.Parse.Type, "multi_format"; got != want {
		t.Fatalf("parse type = %q, want %q", got, want)
	}
	pats := ts.Line.Parse.Patterns
	var types []string
	for _, q := range pats {
		types = append(types, q.Type)
	}
	if got, want := strings.Join(types, ","), "json,regexp,regexp,none"; got != want {
		t.Fatalf("pattern types = %s, want %s", got, want)
	}
	if pats[0].TimeFormat != "%Y-%m-%dT%H:%M:%S.%NZ" || pats[1].Expression == "" || !pats[2].IgnoreCase {
		t.Errorf("pattern parameters not carried: %+v", pats)
	}
	if !ts.Line.Container || ts.Tail.Format != tail.FormatAuto {
		t.Errorf("Container=%v Format=%q, want container framing (docker/CRI pieces joined)", ts.Line.Container, ts.Tail.Format)
	}
}

func TestBuild_MultiFormatErrors(t *testing.T) {
	for name, parse := range map[string]string{
		"no pattern":  "  <parse>\n    @type multi_format\n  </parse>\n",
		"no format":   "  <parse>\n    @type multi_format\n    <pattern>\n      time_key t\n    </pattern>\n  </parse>\n",
		"bad regexp":  "  <parse>\n    @type multi_format\n    <pattern>\n      format /(/\n    </pattern>\n  </parse>\n",
		"unsupported": "  <parse>\n    @type multi_format\n    <pattern>\n      format apache2\n    </pattern>\n  </parse>\n",
	} {
		if _, errText := buildTail(t, parse); errText == "" {
			t.Errorf("%s: built, want an error", name)
		}
	}
}
