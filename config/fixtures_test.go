package config_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"logship/config"
	"logship/internal/fixtures"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// fixtureDir returns the real-world fixtures folder (../shared/fixtures), or
// skips the test on a bare clone; see internal/fixtures.
func fixtureDir(t testing.TB) string {
	t.Helper()
	return fixtures.Dir(t)
}

// configMapData extracts the data keys of a ConfigMap whose values are
// literal block scalars ("key: |") indented by four spaces, as YAML yields
// them: de-indented, with clip chomping (one final newline).
func configMapData(src string) (map[string]string, error) {
	lines := strings.Split(src, "\n")
	out := map[string]string{}
	i := 0
	for i < len(lines) && lines[i] != "data:" {
		i++
	}
	if i == len(lines) {
		return nil, errors.New("no data: section")
	}
	for i++; i < len(lines); {
		line := lines[i]
		if line != "" && line[0] != ' ' {
			break
		}
		t := strings.TrimSpace(line)
		if strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "   ") && !strings.HasPrefix(t, "#") && strings.HasSuffix(t, ": |") {
			key := strings.TrimSuffix(t, ": |")
			var body []string
			j := i + 1
			for ; j < len(lines) && (strings.TrimSpace(lines[j]) == "" || strings.HasPrefix(lines[j], "    ")); j++ {
				body = append(body, strings.TrimPrefix(lines[j], "    "))
			}
			for len(body) > 0 && strings.TrimSpace(body[len(body)-1]) == "" {
				body = body[:len(body)-1]
			}
			out[key] = strings.Join(body, "\n") + "\n"
			i = j
			continue
		}
		i++
	}
	return out, nil
}

// seedConfigMap reads the seed ConfigMap's data.
func seedConfigMap(t testing.TB) map[string]string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(fixtureDir(t), "seed-workshop-2017/fluentd-configmap.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := configMapData(string(src))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// writeConfigMap extracts the seed ConfigMap into a temporary directory.
func writeConfigMap(t testing.TB) string {
	t.Helper()
	data := seedConfigMap(t)
	dir := t.TempDir()
	for k, v := range data {
		if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestConfigMap_Extract checks the tiny YAML reader against the fixture
// folder that holds the same values as separate files.
func TestConfigMap_Extract(t *testing.T) {
	data := seedConfigMap(t)
	etc := filepath.Join(fixtureDir(t), "seed-workshop-2017/fluentd-etc")
	entries, err := os.ReadDir(etc)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != len(entries) {
		t.Fatalf("ConfigMap has %d keys, fluentd-etc has %d files", len(data), len(entries))
	}
	for _, e := range entries {
		want, err := os.ReadFile(filepath.Join(etc, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if got := data[e.Name()]; got != string(want) {
			t.Errorf("key %s differs from fluentd-etc/%s:\n got %q\nwant %q", e.Name(), e.Name(), got, want)
		}
	}
}

// v119Env is the environment of the upstream DaemonSet inside a cluster: the
// variables the configuration of fluent/fluentd-kubernetes-daemonset@849b9e1
// docker-image/v1.19/debian-cloudwatch/conf/*.conf reads.
func v119Env() map[string]string {
	return map[string]string{
		"LOG_GROUP_NAME":          "/eks/demo/containers",
		"AWS_REGION":              "us-east-1",
		"K8S_NODE_NAME":           "ip-10-0-1-23.ec2.internal",
		"KUBERNETES_SERVICE_HOST": "172.20.0.1",
		"KUBERNETES_SERVICE_PORT": "443",
	}
}

func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

type fixtureCase struct {
	name      string
	file      string // relative to the fixtures folder, or to the extracted ConfigMap
	configMap bool
	env       map[string]string
}

func fixtureCases() []fixtureCase {
	v119 := "fluentd-kubernetes-daemonset-v1.19-cloudwatch/conf/fluent.conf"
	return []fixtureCase{
		{name: "v1.19-default", file: v119, env: v119Env()},
		{name: "v1.19-cri-ipv6-extra", file: v119, env: with(v119Env(),
			"FLUENT_CONTAINER_TAIL_PARSER_TYPE", "cri",
			"FLUENT_CONTAINER_TAIL_PARSER_TIME_FORMAT", "%Y-%m-%dT%H:%M:%S.%N%:z",
			"FLUENT_POS_EXTRA_DIR", "logship",
			"FLUENT_CONTAINER_TAIL_EXCLUDE_PATH", `["/var/log/containers/fluentd*", "/var/log/containers/logship*"]`,
			"KUBERNETES_SERVICE_HOST", "fd00:10:96::1",
			"RETENTION_IN_DAYS", "30",
			"LOG_REJECTED_REQUEST", "false",
		)},
		{name: "v1.19-disable-systemd-prometheus", file: v119, env: with(v119Env(),
			"FLUENTD_SYSTEMD_CONF", "disable",
			"FLUENTD_PROMETHEUS_CONF", "disable",
			"FLUENT_FILTER_KUBERNETES_URL", "https://kubernetes.default.svc",
		)},
		{name: "v0.12-cloudwatch", file: "fluentd-kubernetes-daemonset-v0.12-cloudwatch/conf/fluent.conf", env: v119Env()},
		{name: "seed-image", file: "seed-workshop-2017/image-conf/fluent.conf", env: map[string]string{"LOG_GROUP_NAME": "kubernetes-cluster"}},
		{name: "seed-etc-standalone", file: "seed-workshop-2017/fluentd-etc/fluentd.conf", env: map[string]string{"FLUENTD_CONFIG": "fluentd-standalone.conf"}},
		{name: "seed-etc-systemd", file: "seed-workshop-2017/fluentd-etc/systemd.conf"},
		{name: "seed-etc-kubernetes", file: "seed-workshop-2017/fluentd-etc/kubernetes.conf"},
		{name: "seed-configmap-standalone", file: "fluentd.conf", configMap: true},
		{name: "seed-configmap-forwarder", file: "fluentd.conf", configMap: true, env: map[string]string{"FLUENTD_CONFIG": "fluentd-forwarder.conf"}},
		{name: "seed-configmap-aggregator", file: "fluentd.conf", configMap: true, env: map[string]string{"FLUENTD_CONFIG": "fluentd-aggregator.conf"}},
	}
}

// describe renders a parsed configuration for the golden files: the tree,
// the routes of every source's tag and of a few sample tags, and the
// warnings.
func describe(t *testing.T, c *config.Config, base string) string {
	t.Helper()
	var b bytes.Buffer
	if err := c.Dump(&b, config.DumpOptions{Base: base, Redact: config.RedactSecrets}); err != nil {
		t.Fatal(err)
	}
	r, err := config.NewRouter(c)
	if err != nil {
		t.Fatalf("NewRouter: %v", err)
	}
	rel := func(p config.Pos) string {
		if r, err := filepath.Rel(base, p.File); err == nil {
			p.File = filepath.ToSlash(r)
		}
		return p.String()
	}
	show := func(l *config.Label, tag string) string {
		rt := l.Route(tag)
		var parts []string
		for _, f := range rt.Filters {
			typ, _ := f.Type()
			parts = append(parts, fmt.Sprintf("filter %s %s", typ, rel(f.Pos)))
		}
		if rt.Match == nil {
			parts = append(parts, "no match (dropped)")
		} else {
			typ, _ := rt.Match.Type()
			parts = append(parts, fmt.Sprintf("match %s %s", typ, rel(rt.Match.Pos)))
		}
		return strings.Join(parts, " -> ")
	}
	b.WriteString("# routes of sources:\n")
	for _, src := range c.Directives("source") {
		typ, _ := src.Type()
		tag := src.String("tag", "")
		if typ == "tail" {
			tag = config.ExpandTailTag(tag, "/var/log/containers/web-7d9f_default_nginx-0123abcd.log")
		}
		l := r.Source(src)
		label := l.Name
		if label == "" {
			label = "top"
		}
		fmt.Fprintf(&b, "#   %s %s tag=%q label=%s: %s\n", typ, rel(src.Pos), tag, label, show(l, tag))
	}
	b.WriteString("# routes of sample tags:\n")
	labels := append([]string{""}, r.Labels()...)
	sort.Strings(labels)
	for _, label := range labels {
		for _, tag := range []string{"fluent.warn", "kube.kube-system.kube-proxy", "kube.default.nginx", "systemd.kubelet", "kubelet"} {
			fmt.Fprintf(&b, "#   label=%q tag=%q: %s\n", label, tag, show(r.Label(label), tag))
		}
	}
	b.WriteString("# warnings:\n")
	for _, w := range c.Diag.Warnings() {
		fmt.Fprintf(&b, "#   %s: %s\n", rel(w.Pos()), strings.ReplaceAll(w.Msg, base+string(filepath.Separator), ""))
	}
	return b.String()
}

func TestParse_Fixtures(t *testing.T) {
	for _, tc := range fixtureCases() {
		t.Run(tc.name, func(t *testing.T) {
			base := fixtureDir(t)
			if tc.configMap {
				base = writeConfigMap(t)
			}
			path := filepath.Join(base, tc.file)
			c, err := config.ParseFile(path, config.Options{
				Env:      config.MapEnv(tc.env),
				Hostname: func() (string, error) { return "node-1", nil },
			})
			if err != nil {
				t.Fatalf("ParseFile(%s): %v", tc.file, err)
			}
			got := describe(t, c, filepath.Dir(path))
			golden := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./config -update)", err)
			}
			if got != string(want) {
				t.Errorf("dump differs from %s (run go test ./config -update and review the diff):\n%s", golden, got)
			}
		})
	}
}
