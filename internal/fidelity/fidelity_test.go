package fidelity_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"logship/internal/fidelity"
	"logship/internal/fixtures"
)

const v119 = "fluentd-kubernetes-daemonset-v1.19-cloudwatch/conf/fluent.conf"

func setup(t *testing.T) (*fidelity.Fluentd, string) {
	t.Helper()
	if os.Getenv(fidelity.EnvRun) != "1" {
		t.Skip("differential run against the real Fluentd: set " + fidelity.EnvRun + "=1 (make fidelity)")
	}
	fd := fidelity.FindFluentd(t)
	return fd, fidelity.BuildLogship(t, t.TempDir())
}

// node writes the generated container logs of a node and, with nodeLogs,
// the node logs the v1.19 image tails from the end.
func node(g *fidelity.Gen, docker bool, nodeLogs int, audit bool) func(root string) (*fidelity.Inputs, error) {
	return func(root string) (*fidelity.Inputs, error) {
		in := &fidelity.Inputs{Sizes: map[string]int64{}}
		for _, c := range []*fidelity.Container{
			fidelity.ContainerNamed("default", "web-7d9f", "nginx", docker),
			fidelity.ContainerNamed("kube-system", "kube-proxy-x1", "kube-proxy", docker),
			fidelity.ContainerNamed("shop", "api-0", "app", docker),
		} {
			lines, n, err := g.Write(root, c)
			if err != nil {
				return nil, err
			}
			in.Lines = append(in.Lines, lines...)
			in.Sizes[filepath.Join("/var/log", c.Link())] = n
		}
		if nodeLogs == 0 {
			return in, nil
		}
		lines, initial, appends := g.NodeLogs(nodeLogs, audit)
		in.Lines = append(in.Lines, lines...)
		in.Appends = appends
		for p, b := range initial {
			f := filepath.Join(root, strings.TrimPrefix(p, "/var/log/"))
			if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
				return nil, err
			}
			if err := os.WriteFile(f, b, 0o644); err != nil {
				return nil, err
			}
			in.Sizes[p] = int64(len(b) + len(appends[p]))
		}
		return in, nil
	}
}

func report(t *testing.T, name string, res *fidelity.Result) {
	t.Helper()
	var b strings.Builder
	res.Report.Print(&b, name)
	res.PrintUsage(&b)
	t.Log("\n" + b.String())
	for n := range res.Report.Counts {
		class, _, _ := strings.Cut(n, ": ")
		if line, ok := fidelity.Allowed(class); ok && !strings.Contains(res.CheckConfig, line) {
			t.Errorf("deliberate difference %q occurred but logship check-config does not print %q", class, line)
		}
	}
	if u := res.Report.Unlisted(); len(u) > 0 {
		if os.Getenv(fidelity.EnvAdvisory) == "1" {
			t.Logf("ADVISORY (%s=1, not a failure): %s: %d unlisted difference classes:\n  %s", fidelity.EnvAdvisory, name, len(u), strings.Join(u, "\n  "))
			return
		}
		t.Errorf("%s: %d unlisted difference classes:\n  %s", name, len(u), strings.Join(u, "\n  "))
	}
}

func TestFidelity_V119(t *testing.T) {
	fd, logship := setup(t)
	conf := fixtures.Path(t, v119)
	for _, parser := range []string{"cri", "json"} {
		t.Run(parser, func(t *testing.T) {
			env := map[string]string{
				"LOG_GROUP_NAME":                    "fidelity",
				"FLUENTD_SYSTEMD_CONF":              "disable",
				"FLUENTD_PROMETHEUS_CONF":           "disable",
				"FLUENT_FILTER_KUBERNETES_URL":      "",
				"FLUENT_CONTAINER_TAIL_PARSER_TYPE": parser,
				"K8S_NODE_NAME":                     "node-1",
			}
			if parser == "cri" {
				env["FLUENT_CONTAINER_TAIL_PARSER_TIME_FORMAT"] = "%Y-%m-%dT%H:%M:%S.%N%:z"
			}
			g := &fidelity.Gen{Seed: 1, Start: time.Now().Add(-time.Hour).Truncate(time.Second)}
			res := fidelity.Run(t, fd, logship, fidelity.Case{Name: "v1.19 " + parser, Conf: conf, Env: env,
				Setup: node(g, parser == "json", 200, true), Settle: 7 * time.Second})
			report(t, "v1.19 "+parser, res)
		})
	}
}

// TestFidelity_Plugins runs a small configuration per plugin logship
// implements (testdata/*.conf) through both agents on CRI container logs
// (multiline: an application log with stack traces).
func TestFidelity_Plugins(t *testing.T) {
	fd, logship := setup(t)
	for _, name := range []string{"record_transformer", "grep", "parser", "concat", "concat_separator", "rewrite_tag_filter", "multiline"} {
		t.Run(name, func(t *testing.T) {
			conf, err := filepath.Abs(filepath.Join("testdata", name+".conf"))
			if err != nil {
				t.Fatal(err)
			}
			g := &fidelity.Gen{Seed: 2, Lines: 300, Start: time.Now().Add(-time.Hour).Truncate(time.Second)}
			c := fidelity.Case{Name: name, Conf: conf, Env: map[string]string{"K8S_NODE_NAME": "node-1"}, Setup: node(g, false, 0, false)}
			if name == "multiline" {
				c.Setup, c.Settle = appLog(g.Start, 300), 4*time.Second
			}
			res := fidelity.Run(t, fd, logship, c)
			if res.Report.Compared == 0 {
				t.Fatal("no events compared")
			}
			report(t, name, res)
		})
	}
}

// appLog writes /var/log/app/app.log: n records of a Java-style log, some
// with stack-trace continuation lines, unicode and quotes.
func appLog(start time.Time, n int) func(root string) (*fidelity.Inputs, error) {
	return func(root string) (*fidelity.Inputs, error) {
		in := &fidelity.Inputs{Sizes: map[string]int64{}}
		var b []byte
		for i := range n {
			id := fmt.Sprintf("L%06d", 900000+i)
			ts := start.Add(time.Duration(i)*3*time.Millisecond + time.Duration(i%7)*time.Microsecond).UTC()
			level := []string{"INFO", "WARN", "ERROR", "DEBUG"}[i%4]
			b = fmt.Appendf(b, "%s %s %s request \"handled\" é 世界 #%d\n", ts.Format("2006-01-02 15:04:05.000"), level, id, i)
			for k := range i % 4 {
				b = fmt.Appendf(b, "\tat com.example.Handler.step%d(Handler.java:%d)\n", k, 40+k)
			}
			if i%9 == 0 {
				b = append(b, "Caused by: java.lang.IllegalStateException: \"bad\" \\ state\n"...)
			}
			in.Lines = append(in.Lines, fidelity.Line{ID: id, Class: fidelity.ClassPlain, Time: ts.Truncate(time.Millisecond)})
		}
		p := filepath.Join(root, "app", "app.log")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return nil, err
		}
		in.Sizes["/var/log/app/app.log"] = int64(len(b))
		return in, nil
	}
}

// TestFidelity_V119Switches records which of the v1.19 image's switches
// the peer can run: the journald sources (FLUENTD_SYSTEMD_CONF unset) need
// the systemd-journal gem's native shim, which the peer build lacks, and
// the prometheus source needs Fluentd's http_server helper, which its
// compat shim disables; the differential runs use
// FLUENTD_SYSTEMD_CONF=disable and FLUENTD_PROMETHEUS_CONF=disable.
func TestFidelity_V119Switches(t *testing.T) {
	fd, _ := setup(t)
	conf := fixtures.Path(t, v119)
	env := []string{"LOG_GROUP_NAME=fidelity", "FLUENT_FILTER_KUBERNETES_URL=", "FLUENTD_PROMETHEUS_CONF=disable"}
	argv, renv, err := fd.Command(t.TempDir(), "--dry-run", "-c", conf)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FLUENTD_SYSTEMD_CONF=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(append(cmd.Env, renv...), env...)
	out, _ := cmd.CombinedOutput()
	if i := strings.Index(string(out), "[error]"); i >= 0 {
		msg, _, _ := strings.Cut(string(out[i:]), "\n")
		t.Skipf("the peer cannot run the v1.19 journald sources (FLUENTD_SYSTEMD_CONF unset): %s", msg)
	}
	t.Fatalf("the peer now loads the journald sources: add a FLUENTD_SYSTEMD_CONF run to TestFidelity_V119\n%s", out)
}

// seedImageConf is the configuration baked into the seed's image (v0.12
// syntax: type, format at source level), which Fluentd 1.19 accepts.
const seedImageConf = "seed-workshop-2017/image-conf/fluent.conf"

// seedConfigMap is the seed's ConfigMap, which Fluentd 1.19 refuses.
const seedConfigMap = "seed-workshop-2017/fluentd-etc/fluentd.conf"

// TestFidelity_Seed runs the 2017 workshop's configuration where Fluentd
// 1.19 accepts it: the image's baked configuration, on docker json-file
// container logs and node logs. The ConfigMap itself is checked to be still
// refused (rewrite-tag-filter 2.x dropped rewriteruleN), so the day Fluentd
// accepts it this test says so.
func TestFidelity_Seed(t *testing.T) {
	fd, logship := setup(t)
	t.Run("configmap", func(t *testing.T) {
		conf := fixtures.Path(t, seedConfigMap)
		argv, env, err := fd.Command(t.TempDir(), "--dry-run", "-c", conf)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(argv[0], argv[1:]...)
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "FLUENTD_CONFIG=") { // unset: the seed's standalone mode
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, env...)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("Fluentd now accepts %s: add it to the differential run\n%s", seedConfigMap, out)
		}
		i := strings.Index(string(out), "config error")
		if i < 0 {
			t.Fatalf("Fluentd refused %s without a config error: %v\n%s", seedConfigMap, err, out)
		}
		msg, _, _ := strings.Cut(string(out[i:]), "\n")
		t.Skipf("Fluentd 1.19 refuses the seed ConfigMap unchanged: %s", msg)
	})
	t.Run("image-conf", func(t *testing.T) {
		conf := fixtures.Path(t, seedImageConf)
		g := &fidelity.Gen{Seed: 3, Lines: 400, Start: time.Now().Add(-time.Hour).Truncate(time.Second)}
		res := fidelity.Run(t, fd, logship, fidelity.Case{Name: "seed image-conf", Conf: conf,
			Env:   map[string]string{"LOG_GROUP_NAME": "fidelity-seed", "K8S_NODE_NAME": "node-1"},
			Setup: node(g, true, 200, false), Settle: 7 * time.Second})
		report(t, "seed image-conf", res)
	})
}

// TestFidelity_Volume measures both agents on a larger input (the v1.19
// CRI configuration, container logs only; LOGSHIP_FIDELITY_LINES lines per
// container, default 60000) for the CPU-s per GB and peak RSS figures.
func TestFidelity_Volume(t *testing.T) {
	fd, logship := setup(t)
	conf := fixtures.Path(t, v119)
	n := 60000
	if v := os.Getenv("LOGSHIP_FIDELITY_LINES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			t.Fatalf("LOGSHIP_FIDELITY_LINES=%q: %v", v, err)
		}
	}
	env := map[string]string{
		"LOG_GROUP_NAME": "fidelity", "FLUENTD_SYSTEMD_CONF": "disable", "FLUENTD_PROMETHEUS_CONF": "disable",
		"FLUENT_FILTER_KUBERNETES_URL": "", "FLUENT_CONTAINER_TAIL_PARSER_TYPE": "cri",
		"FLUENT_CONTAINER_TAIL_PARSER_TIME_FORMAT": "%Y-%m-%dT%H:%M:%S.%N%:z", "K8S_NODE_NAME": "node-1",
	}
	// Lines 0.2 ms apart stay within CloudWatch's 24 h batch span and
	// 14-day window; whole-second and partial lines are kept.
	g := &fidelity.Gen{Seed: 4, Lines: n, Start: time.Now().Add(-2 * time.Hour).Truncate(time.Second), LongBytes: 4096}
	res := fidelity.Run(t, fd, logship, fidelity.Case{Name: "volume v1.19 cri", Conf: conf, Env: env, Setup: node(g, false, 0, false)})
	report(t, "volume v1.19 cri", res)
}
