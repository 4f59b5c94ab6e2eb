package deploy

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/cli/values"
	"helm.sh/helm/v4/pkg/getter"
)

// readmeFiles are the documents whose `helm install` commands must work,
// relative to the repository root.
var readmeFiles = []string{"README.md", "deploy/README.md"}

// shellCommands returns the commands in the ```sh blocks of a Markdown
// document, with backslash-newline continuations joined and comments
// dropped.
func shellCommands(doc string) []string {
	var cmds []string
	in := false
	cur := ""
	for _, line := range strings.Split(doc, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "```"):
			in = !in && (trimmed == "```sh" || trimmed == "```bash" || trimmed == "```shell")
			cur = ""
			continue
		case !in:
			continue
		}
		if cur == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if body, ok := strings.CutSuffix(line, "\\"); ok {
			cur += body + " "
			continue
		}
		cmds = append(cmds, strings.TrimSpace(cur+line))
		cur = ""
	}
	return cmds
}

// shellWords splits a command line as a POSIX shell does for words without
// expansions: single quotes are literal, double quotes honour \" \\ \$ \`,
// a backslash outside quotes escapes the next character, and an unquoted #
// at the start of a word begins a comment. Expansions ($, `, globs) are
// refused, since a rendering test cannot evaluate them.
func shellWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case c == '#' && !inWord:
			return words, nil
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote")
			}
			w.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '$' || s[i] == '`' {
					return nil, fmt.Errorf("expansion in %q", s)
				}
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				w.WriteByte(s[i])
			}
			if i == len(s) {
				return nil, errors.New("unterminated double quote")
			}
			inWord = true
		case c == '\\':
			if i+1 < len(s) {
				i++
				w.WriteByte(s[i])
			}
			inWord = true
		case c == '$' || c == '`' || c == '*' || c == '?' || c == '|' || c == ';' || c == '&' || c == '<' || c == '>':
			return nil, fmt.Errorf("shell syntax %q in %q", c, s)
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

// helmInstall is a parsed `helm install NAME CHART [flags]`.
type helmInstall struct {
	release, chart, namespace string
	values                    values.Options
}

// parseHelmInstall reads the flags of `helm install` that the documents use.
// Any other flag is an error, so a document cannot show a command this test
// does not check.
func parseHelmInstall(words []string) (*helmInstall, error) {
	if len(words) < 2 || words[0] != "helm" || words[1] != "install" {
		return nil, fmt.Errorf("not a helm install: %q", words)
	}
	h := &helmInstall{namespace: "default"}
	var pos []string
	for i := 2; i < len(words); i++ {
		w := words[i]
		if !strings.HasPrefix(w, "-") {
			pos = append(pos, w)
			continue
		}
		name, val, hasVal := strings.Cut(w, "=")
		arg := func() (string, error) {
			if hasVal {
				return val, nil
			}
			if i+1 >= len(words) {
				return "", fmt.Errorf("%s needs a value", name)
			}
			i++
			return words[i], nil
		}
		var dst *[]string
		switch name {
		case "--create-namespace", "--wait", "--atomic":
			continue
		case "-n", "--namespace":
			v, err := arg()
			if err != nil {
				return nil, err
			}
			h.namespace = v
			continue
		case "--set":
			dst = &h.values.Values
		case "--set-string":
			dst = &h.values.StringValues
		case "--set-file":
			dst = &h.values.FileValues
		case "-f", "--values":
			dst = &h.values.ValueFiles
		default:
			return nil, fmt.Errorf("flag %s is not checked by this test", name)
		}
		v, err := arg()
		if err != nil {
			return nil, err
		}
		*dst = append(*dst, v)
	}
	if len(pos) != 2 {
		return nil, fmt.Errorf("want NAME CHART, got %q", pos)
	}
	h.release, h.chart = pos[0], pos[1]
	return h, nil
}

// TestHelm_READMECommands renders every `helm install` command the READMEs
// show, from the repository root as a user would run it: the flags parsed as
// Helm's CLI merges them (helm.sh/helm/v4/pkg/cli/values), the chart loaded
// from the path given, rendered with the install action (schema included),
// and every render put through the DaemonSet checks. The README must show at
// least one.
func TestHelm_READMECommands(t *testing.T) {
	t.Chdir("..")
	n := 0
	for _, f := range readmeFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, cmd := range shellCommands(string(b)) {
			if !strings.HasPrefix(cmd, "helm ") {
				continue
			}
			n++
			t.Run(f+": "+cmd, func(t *testing.T) {
				words, err := shellWords(cmd)
				if err != nil {
					t.Fatal(err)
				}
				h, err := parseHelmInstall(words)
				if err != nil {
					t.Fatal(err)
				}
				vals, err := h.values.MergeValues(getter.Providers{})
				if err != nil {
					t.Fatal(err)
				}
				ch, err := loader.Load(h.chart)
				if err != nil {
					t.Fatalf("load chart %s: %v", h.chart, err)
				}
				manifest, err := helmTemplateAs(ch, h.release, h.namespace, vals)
				if err != nil {
					t.Fatalf("render: %v", err)
				}
				objs := decodeManifest(t, manifest)
				ds := agentDaemonSet(t, objs)
				for _, err := range checkDaemonSet(ds, chartAgentExpect(t, objs)) {
					t.Errorf("DaemonSet: %v", err)
				}
				if ds.Namespace != h.namespace {
					t.Errorf("DaemonSet in namespace %q, want %q", ds.Namespace, h.namespace)
				}
				env := envConfigMap(t, objs)
				if v, ok := vals["region"].(string); !ok || env["AWS_REGION"] != v {
					t.Errorf("AWS_REGION %q, want the --set region %v", env["AWS_REGION"], vals["region"])
				}
			})
		}
	}
	if n == 0 {
		t.Fatalf("no helm command in %v", readmeFiles)
	}
}

func TestShellWords(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
		err  bool
	}{
		{in: `helm install a b`, want: []string{"helm", "install", "a", "b"}},
		{in: `--set 'a\.b=c d'`, want: []string{"--set", `a\.b=c d`}},
		{in: `--set "x=\"q\"" y`, want: []string{"--set", `x="q"`, "y"}},
		{in: `a\ b c # note`, want: []string{"a b", "c"}},
		{in: `--set x=$HOME`, err: true},
		{in: `a 'b`, err: true},
	} {
		got, err := shellWords(tt.in)
		if (err != nil) != tt.err || (!tt.err && strings.Join(got, "|") != strings.Join(tt.want, "|")) {
			t.Errorf("shellWords(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
	if _, err := parseHelmInstall([]string{"helm", "install", "a", "b", "--post-renderer", "x"}); err == nil {
		t.Error("parseHelmInstall accepted a flag it does not check")
	}
}
