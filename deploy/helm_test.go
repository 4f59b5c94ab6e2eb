package deploy

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	releasev1 "helm.sh/helm/v4/pkg/release/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	psapi "k8s.io/pod-security-admission/api"
	"sigs.k8s.io/yaml"

	"logship/buffer"
	"logship/config"
)

// chartDir is the Helm chart, relative to deploy/.
const chartDir = "helm/logship"

// helmKubeVersion is the Kubernetes version the chart is rendered for: the
// kube-apiserver the server-side tests run (internal/kubetest). Helm's own
// default in test binaries is 1.20, below the chart's kubeVersion.
const helmKubeVersion = "v1.37.2"

// helmNamespace is the release namespace of every render.
const helmNamespace = "logship"

// requiredValues are the values the chart cannot default: the ones deploy/base
// ships as placeholders.
func requiredValues() map[string]any {
	return map[string]any{"region": "us-east-1", "logGroup": "/k8s/my-cluster/containers"}
}

// withValues returns requiredValues overlaid with extra (top-level keys;
// nested maps replace the chart's maps only where given, as Helm merges them).
func withValues(extra map[string]any) map[string]any {
	v := requiredValues()
	for k, x := range extra {
		v[k] = x
	}
	return v
}

func loadChart(t *testing.T) *chartv2.Chart {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	return ch
}

// helmTemplate renders the chart with Helm's install action in client-only
// dry-run mode (what 'helm template' and 'helm install --dry-run=client' do):
// schema validation, templates, no cluster.
func helmTemplate(ch *chartv2.Chart, vals map[string]any) (string, error) {
	return helmTemplateAs(ch, "logship", helmNamespace, vals)
}

// helmTemplateAs is helmTemplate with a release name and namespace.
func helmTemplateAs(ch *chartv2.Chart, release, namespace string, vals map[string]any) (string, error) {
	cfg := action.NewConfiguration(action.ConfigurationSetLogger(slog.DiscardHandler))
	inst := action.NewInstall(cfg)
	inst.DryRunStrategy = action.DryRunClient
	inst.ReleaseName = release
	inst.Namespace = namespace
	kv, err := common.ParseKubeVersion(helmKubeVersion)
	if err != nil {
		return "", err
	}
	inst.KubeVersion = kv
	r, err := inst.RunWithContext(context.Background(), ch, vals)
	if err != nil {
		return "", err
	}
	rel, ok := r.(*releasev1.Release)
	if !ok {
		return "", fmt.Errorf("release type %T", r)
	}
	return rel.Manifest, nil
}

// helmRender renders the chart and strictly decodes every document with the
// same decoder as the kustomize output; custom resources (the ServiceMonitor)
// come back as unstructured.
func helmRender(t *testing.T, vals map[string]any) ([]object, []*unstructured.Unstructured) {
	t.Helper()
	manifest, err := helmTemplate(loadChart(t), vals)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return decodeManifestIn(t, manifest, helmNamespace)
}

// decodeManifest decodes a rendered manifest as helmRender does, with objects
// in whatever namespace their DaemonSet is in; custom resources are dropped.
func decodeManifest(t *testing.T, manifest string) []object {
	t.Helper()
	objs, _ := decodeManifestIn(t, manifest, "")
	return objs
}

// decodeManifestIn strictly decodes every document of manifest; namespaced
// objects must be in ns (when not empty).
func decodeManifestIn(t *testing.T, manifest, ns string) ([]object, []*unstructured.Unstructured) {
	t.Helper()
	docs, err := splitYAML([]byte(manifest))
	if err != nil {
		t.Fatal(err)
	}
	var objs []object
	var custom []*unstructured.Unstructured
	for _, d := range docs {
		var u unstructured.Unstructured
		if err := yaml.Unmarshal(d, &u.Object); err != nil {
			t.Fatal(err)
		}
		if u.GetAPIVersion() == "monitoring.coreos.com/v1" {
			custom = append(custom, &u)
			continue
		}
		o, err := decodeStrict(d)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if ns != "" && u.GetNamespace() != ns && o.Kind != "ClusterRole" && o.Kind != "ClusterRoleBinding" {
			t.Errorf("%s: namespace %q, want the release namespace %q", o, u.GetNamespace(), ns)
		}
		objs = append(objs, o)
	}
	return objs, custom
}

// helmToggle is one documented value (or combination) and what it must change
// in the rendered objects.
type helmToggle struct {
	name  string
	vals  map[string]any
	check func(t *testing.T, objs []object, custom []*unstructured.Unstructured)
}

func agentContainer(t *testing.T, objs []object) *corev1.Container {
	t.Helper()
	return &agentDaemonSet(t, objs).Spec.Template.Spec.Containers[0]
}

// memoryLimitMiB is the container's memory limit in MiB.
func memoryLimitMiB(t *testing.T, objs []object) int64 {
	t.Helper()
	q := agentContainer(t, objs).Resources.Limits.Memory()
	return q.Value() >> 20
}

// The chart's memory-limit rule (values.yaml, README): the buffer's memory
// bound plus a fixed budget, and at least minMemoryLimitMiB; a file buffer
// reserves fileBufferBoundMiB.
const (
	fixedBudgetMiB     = 48
	minMemoryLimitMiB  = 64
	fileBufferBoundMiB = 208
)

// bufferMemoryLimitMiB is the memory limit the rule gives for the render's
// mounted configuration, derived from the buffer logship builds from it: a
// memory buffer's bound is buffer.Config.MemoryBound (its total_limit_size,
// or queue_limit_length × chunk_limit_size when that is set, Fluentd's rule);
// a file buffer reserves fileBufferBoundMiB, which must cover its
// MemoryBound (the chunks it keeps resident); plus fixedBudgetMiB.
func bufferMemoryLimitMiB(t *testing.T, objs []object) int64 {
	t.Helper()
	b := onlyOutput(t, agentPipeline(t, fluentConf(t, objs))).Buffer
	bound := b.MemoryBound() >> 20
	if b.Normalized().Type == buffer.TypeMemory {
		return max(bound+fixedBudgetMiB, minMemoryLimitMiB)
	}
	if bound > fileBufferBoundMiB {
		t.Errorf("file buffer keeps %d MiB resident, above the chart's %d MiB reservation", bound, fileBufferBoundMiB)
	}
	return fileBufferBoundMiB + fixedBudgetMiB
}

var helmToggles = []helmToggle{
	{"defaults", nil, func(t *testing.T, objs []object, custom []*unstructured.Unstructured) {
		if got, want := memoryLimitMiB(t, objs), bufferMemoryLimitMiB(t, objs); got != want || want != fileBufferBoundMiB+fixedBudgetMiB {
			t.Errorf("memory limit %d MiB, want %d (file-buffer bound %d + %d)", got, want, fileBufferBoundMiB, fixedBudgetMiB)
		}
		if len(custom) != 0 {
			t.Errorf("ServiceMonitor rendered by default")
		}
	}},
	{"image", map[string]any{"image": map[string]any{"repository": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/logship", "tag": "v0.2.0", "pullPolicy": "Always"}},
		func(t *testing.T, objs []object, _ []*unstructured.Unstructured) {
			c := agentContainer(t, objs)
			if c.Image != "123456789012.dkr.ecr.eu-west-1.amazonaws.com/logship:v0.2.0" || c.ImagePullPolicy != corev1.PullAlways {
				t.Errorf("image %s pull %s", c.Image, c.ImagePullPolicy)
			}
		}},
	{"region and logGroup", map[string]any{"region": "eu-west-1", "logGroup": "/eks/prod/containers"},
		func(t *testing.T, objs []object, _ []*unstructured.Unstructured) {
			env := envConfigMap(t, objs)
			if env["AWS_REGION"] != "eu-west-1" || env["LOG_GROUP_NAME"] != "/eks/prod/containers" {
				t.Errorf("env ConfigMap %v", env)
			}
		}},
	{"fluentConf", map[string]any{"fluentConf": customFluentConf},
		func(t *testing.T, objs []object, _ []*unstructured.Unstructured) {
			if got := fluentConf(t, objs); strings.TrimSpace(got) != strings.TrimSpace(customFluentConf) {
				t.Errorf("mounted fluent.conf is not the value:\n%s", got)
			}
		}},
	{"existingConfigMap", map[string]any{"existingConfigMap": "my-logship-conf", "logGroup": ""},
		func(t *testing.T, objs []object, _ []*unstructured.Unstructured) {
			ds := agentDaemonSet(t, objs)
			var mounted string
			for _, v := range ds.Spec.Template.Spec.Volumes {
				if v.ConfigMap != nil {
					mounted = v.ConfigMap.Name
				}
			}
			if mounted != "my-logship-conf" {
				t.Errorf("config volume from ConfigMap %q, want my-logship-conf", mounted)
			}
			for _, cm := range find[*corev1.ConfigMap](objs) {
				if _, ok := cm.Data["fluent.conf"]; ok {
					t.Errorf("ConfigMap %s with a fluent.conf rendered beside existingConfigMap", cm.Name)
				}
			}
		}},
	{"IRSA", map[string]any{"serviceAccount": map[string]any{"annotations": map[string]any{"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/logship-shipper"}}},
		func(t *testing.T, objs []object, _ []*unstructured.Unstructured) {
			sas := find[*corev1.ServiceAccount](objs)
			if len(sas) != 1 || sas[0].Annotations["eks.amazonaws.com/role-arn"] != "arn:aws:iam::111122223333:role/logship-shipper" {
				t.Errorf("ServiceAccounts %v: want the role-arn annotation", sas)
			}
		}},
	{"Pod Identity service account name", map[string]any{"serviceAccount": map[string]any{"name": "cwl-shipper"}},
		func(t *testing.T, objs []object, _ []*unstructured.Unstructured) {
			sas := find[*corev1.ServiceAccount](objs)
			ds := agentDaemonSet(t, objs)
			if len(sas) != 1 || sas[0].Name != "cwl-shipper" || len(sas[0].Annotations) != 0 || ds.Spec.Template.Spec.ServiceAccountName != "cwl-shipper" {
				t.Errorf("ServiceAccounts %v, pod SA %q: want cwl-shipper without annotations", sas, ds.Spec.Template.Spec.ServiceAccountName)
			}
			if bs := find[*rbacv1.ClusterRoleBinding](objs); len(bs) != 1 || checkBinding(bs[0], "cwl-shipper", helmNamespace) != nil {
				t.Errorf("binding does not name cwl-shipper")
			}
		}},
	{"memory buffer bound", map[string]any{"buffer": map[string]any{"type": "memory", "totalLimitSizeMiB": 256, "queueLimitLength": 8}},
		func(t *testing.T, objs []object, _ []*unstructured.Unstructured) {
			// Fluentd's bound: queue_limit_length × 1 MiB chunks, replacing total_limit_size.
			if got, want := memoryLimitMiB(t, objs), bufferMemoryLimitMiB(t, objs); got != want || want != max(8+fixedBudgetMiB, minMemoryLimitMiB) {
				t.Errorf("memory limit %d MiB, want %d (8 × 1 MiB + %d, at least %d)", got, want, fixedBudgetMiB, minMemoryLimitMiB)
			}
			b := onlyOutput(t, agentPipeline(t, fluentConf(t, objs))).Buffer
			if b == nil || b.Type != "memory" || b.TotalLimitSize != 256<<20 || b.QueueLimitLength != 8 {
				t.Errorf("buffer %+v, want memory 256 MiB × queue 8", b)
			}
		}},
	{"memory buffer queue above total", map[string]any{"buffer": map[string]any{"type": "memory", "totalLimitSizeMiB": 64, "queueLimitLength": 128}},
		func(t *testing.T, objs []object, _ []*unstructured.Unstructured) {
			// The buffer holds up to 128 × 1 MiB: total_limit_size does not cap it.
			if got, want := memoryLimitMiB(t, objs), bufferMemoryLimitMiB(t, objs); got != want || want != 128+fixedBudgetMiB {
				t.Errorf("memory limit %d MiB, want %d (128 × 1 MiB + %d)", got, want, fixedBudgetMiB)
			}
		}},
	{"memory buffer total only", map[string]any{"buffer": map[string]any{"type": "memory", "totalLimitSizeMiB": 64}},
		func(t *testing.T, objs []object, _ []*unstructured.Unstructured) {
			if got, want := memoryLimitMiB(t, objs), bufferMemoryLimitMiB(t, objs); got != want || want != 64+fixedBudgetMiB {
				t.Errorf("memory limit %d MiB, want %d (64 MiB + %d)", got, want, fixedBudgetMiB)
			}
		}},
	{"memoryBoundMiB", map[string]any{"buffer": map[string]any{"memoryBoundMiB": 400}},
		func(t *testing.T, objs []object, _ []*unstructured.Unstructured) {
			if got, want := memoryLimitMiB(t, objs), int64(400+fixedBudgetMiB); got != want {
				t.Errorf("memory limit %d MiB, want %d", got, want)
			}
		}},
	{"resources", map[string]any{"resources": map[string]any{"requests": map[string]any{"cpu": "100m", "memory": "128Mi"}, "limits": map[string]any{"memory": "1Gi"}}},
		func(t *testing.T, objs []object, _ []*unstructured.Unstructured) {
			r := agentContainer(t, objs).Resources
			if !r.Limits.Memory().Equal(resource.MustParse("1Gi")) || !r.Requests.Cpu().Equal(resource.MustParse("100m")) || !r.Requests.Memory().Equal(resource.MustParse("128Mi")) {
				t.Errorf("resources %v", r)
			}
		}},
	{"tolerations, priorityClassName, nodeSelector", map[string]any{
		"tolerations":       []any{map[string]any{"operator": "Exists"}, map[string]any{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}},
		"priorityClassName": "system-node-critical",
		"nodeSelector":      map[string]any{"kubernetes.io/os": "linux", "node.kubernetes.io/pool": "general"},
	}, func(t *testing.T, objs []object, _ []*unstructured.Unstructured) {
		s := agentDaemonSet(t, objs).Spec.Template.Spec
		if len(s.Tolerations) != 2 || s.Tolerations[1].Key != "dedicated" || s.NodeSelector["node.kubernetes.io/pool"] != "general" {
			t.Errorf("tolerations %v nodeSelector %v", s.Tolerations, s.NodeSelector)
		}
	}},
	{"extraEnv", map[string]any{"extraEnv": []any{map[string]any{"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"}}},
		func(t *testing.T, objs []object, _ []*unstructured.Unstructured) {
			c := agentContainer(t, objs)
			if e, ok := envVar(c, "AWS_STS_REGIONAL_ENDPOINTS"); !ok || e.Value != "regional" {
				t.Errorf("env %v", c.Env)
			}
			if _, ok := envVar(c, "NODE_NAME"); !ok {
				t.Errorf("extraEnv replaced the chart's env")
			}
		}},
	{"listen port", map[string]any{"listen": map[string]any{"port": 9102}},
		func(t *testing.T, objs []object, _ []*unstructured.Unstructured) {
			c := agentContainer(t, objs)
			if !slices.Equal(c.Args[len(c.Args)-2:], []string{"--listen", ":9102"}) || c.Ports[0].ContainerPort != 9102 {
				t.Errorf("args %q ports %v", c.Args, c.Ports)
			}
		}},
	{"serviceMonitor", map[string]any{"serviceMonitor": map[string]any{"enabled": true, "labels": map[string]any{"release": "kube-prometheus-stack"}}},
		func(t *testing.T, objs []object, custom []*unstructured.Unstructured) {
			checkServiceMonitor(t, objs, custom)
		}},
	{"Fluentd migration", map[string]any{"fluentdMigration": map[string]any{"enabled": true}},
		func(t *testing.T, objs []object, _ []*unstructured.Unstructured) {
			tc := agentPipeline(t, fluentConf(t, objs)).Sources[0].Tail.Tail
			if tc.FluentdPosFile != "/var/log/fluentd-containers.log.pos" || !strings.HasPrefix(tc.PositionsFile, "/var/lib/logship/") {
				t.Errorf("tail takes over %q, keeps positions in %q", tc.FluentdPosFile, tc.PositionsFile)
			}
		}},
	{"Fluentd migration, pos_file outside /var/log", map[string]any{"fluentdMigration": map[string]any{"enabled": true, "posFile": "/var/lib/fluentd/containers.log.pos"}},
		func(t *testing.T, objs []object, _ []*unstructured.Unstructured) {
			ds := agentDaemonSet(t, objs)
			tc := agentPipeline(t, fluentConf(t, objs)).Sources[0].Tail.Tail
			if tc.FluentdPosFile != "/var/lib/fluentd/containers.log.pos" {
				t.Errorf("tail takes over %q", tc.FluentdPosFile)
			}
			found := false
			for m, hp := range hostPathMounts(&ds.Spec.Template.Spec, &ds.Spec.Template.Spec.Containers[0]) {
				if hp.Path == "/var/lib/fluentd" && m.MountPath == "/var/lib/fluentd" && m.ReadOnly {
					found = true
				}
			}
			if !found {
				t.Errorf("no read-only hostPath mount of /var/lib/fluentd")
			}
		}},
}

// customFluentConf is a user configuration given as the fluentConf value: a
// memory buffer instead of the chart's file buffer.
const customFluentConf = `<source>
  @type tail
  path /var/log/containers/*.log
  pos_file /var/lib/logship/custom.pos
  tag kubernetes.*
  <parse>
    @type cri
  </parse>
</source>
<match **>
  @type cloudwatch_logs
  region "#{ENV['AWS_REGION']}"
  log_group_name "#{ENV['LOG_GROUP_NAME']}"
  use_tag_as_stream true
  <buffer>
    @type memory
    shutdown_timeout 20s
  </buffer>
</match>
`

// onlyOutput returns the pipeline's one output.
func onlyOutput(t *testing.T, p *config.Pipeline) *config.Output {
	t.Helper()
	if len(p.Outputs) != 1 {
		t.Fatalf("%d outputs, want 1", len(p.Outputs))
	}
	for _, o := range p.Outputs {
		return o
	}
	return nil
}

// envConfigMap returns the data of the ConfigMap the DaemonSet's AWS_REGION
// comes from.
func envConfigMap(t *testing.T, objs []object) map[string]string {
	t.Helper()
	e, ok := envVar(agentContainer(t, objs), "AWS_REGION")
	if !ok || e.ValueFrom == nil || e.ValueFrom.ConfigMapKeyRef == nil {
		t.Fatal("AWS_REGION not from a ConfigMap")
	}
	for _, cm := range find[*corev1.ConfigMap](objs) {
		if cm.Name == e.ValueFrom.ConfigMapKeyRef.Name {
			return cm.Data
		}
	}
	t.Fatalf("ConfigMap %s not rendered", e.ValueFrom.ConfigMapKeyRef.Name)
	return nil
}

// checkServiceMonitor: the ServiceMonitor selects the rendered metrics
// Service, whose selector matches the agent's pods and whose named port is the
// container's http port.
func checkServiceMonitor(t *testing.T, objs []object, custom []*unstructured.Unstructured) {
	t.Helper()
	if len(custom) != 1 || custom[0].GetKind() != "ServiceMonitor" {
		t.Fatalf("custom objects %v, want one ServiceMonitor", custom)
	}
	sm := custom[0]
	sel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
	eps, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	if len(eps) != 1 {
		t.Fatalf("endpoints %v", eps)
	}
	ep, _ := eps[0].(map[string]any)
	if ep["path"] != "/metrics" {
		t.Errorf("endpoint path %v, want /metrics", ep["path"])
	}
	if sm.GetLabels()["release"] != "kube-prometheus-stack" {
		t.Errorf("serviceMonitor.labels not on the ServiceMonitor: %v", sm.GetLabels())
	}
	ds := agentDaemonSet(t, objs)
	var svc *corev1.Service
	for _, s := range find[*corev1.Service](objs) {
		if matches(sel, s.Labels) {
			svc = s
		}
	}
	if svc == nil {
		t.Fatalf("no Service with labels %v", sel)
	}
	if !matches(svc.Spec.Selector, ds.Spec.Template.Labels) {
		t.Errorf("Service selector %v does not select the agent's pods %v", svc.Spec.Selector, ds.Spec.Template.Labels)
	}
	port := false
	for _, p := range svc.Spec.Ports {
		if p.Name == ep["port"] && p.TargetPort.String() == ds.Spec.Template.Spec.Containers[0].Ports[0].Name {
			port = true
		}
	}
	if !port {
		t.Errorf("Service ports %v: none named %v targeting the container's port", svc.Spec.Ports, ep["port"])
	}
}

// matches reports whether labels has every key/value of sel (and sel is not
// empty).
func matches(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// chartAgentExpect is the DaemonSet checks' expectation for a render: the
// state dir is writable and the flush deadline is the mounted
// configuration's (or the base's, for an existing ConfigMap the chart does
// not see).
func chartAgentExpect(t *testing.T, objs []object) agentExpect {
	t.Helper()
	want := defaultAgentExpect
	for _, cm := range find[*corev1.ConfigMap](objs) {
		if conf, ok := cm.Data["fluent.conf"]; ok {
			want.flushDeadline = flushDeadline(t, agentPipeline(t, conf))
		}
	}
	return want
}

// TestHelm_Lint runs Helm's linter (strict: warnings fail) over the chart
// with the required values and with every toggle.
func TestHelm_Lint(t *testing.T) {
	kv, err := common.ParseKubeVersion(helmKubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range helmToggles {
		t.Run(tg.name, func(t *testing.T) {
			l := action.NewLint()
			l.Strict = true
			l.Namespace = helmNamespace
			l.KubeVersion = kv
			res := l.Run([]string{chartDir}, withValues(tg.vals))
			if res.TotalChartsLinted != 1 {
				t.Errorf("linted %d charts, want 1", res.TotalChartsLinted)
			}
			for _, err := range res.Errors {
				t.Errorf("lint: %v", err)
			}
			for _, m := range res.Messages {
				if m.Severity > support.InfoSev {
					t.Errorf("lint: %s", m)
				}
			}
		})
	}
}

// TestHelm_Render renders the chart with its defaults and with each
// documented toggle, and runs on every render the checks the kustomize
// output passes: strict decoding, the DaemonSet must-haves, Pod Security
// (Baseline broken only by hostPath, Restricted only by the root hostPath
// agent's reasons), least-privilege RBAC; then the toggle's own assertion.
func TestHelm_Render(t *testing.T) {
	for _, tg := range helmToggles {
		t.Run(tg.name, func(t *testing.T) {
			objs, custom := helmRender(t, withValues(tg.vals))
			ds := agentDaemonSet(t, objs)
			for _, err := range checkDaemonSet(ds, chartAgentExpect(t, objs)) {
				t.Errorf("DaemonSet: %v", err)
			}
			// The API server refuses a request above the limit.
			if r := agentContainer(t, objs).Resources; r.Requests.Memory().Cmp(*r.Limits.Memory()) > 0 {
				t.Errorf("memory request %s above the limit %s", r.Requests.Memory(), r.Limits.Memory())
			}
			baseline, err := pssForbidden(psapi.LevelBaseline, &ds.Spec.Template.ObjectMeta, &ds.Spec.Template.Spec)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(baseline, agentBaselineAllowed) {
				t.Errorf("baseline forbidden %q, want exactly %q", baseline, agentBaselineAllowed)
			}
			for _, err := range checkAgentPSS(&ds.Spec.Template.ObjectMeta, &ds.Spec.Template.Spec) {
				t.Error(err)
			}
			roles := find[*rbacv1.ClusterRole](objs)
			bindings := find[*rbacv1.ClusterRoleBinding](objs)
			if len(roles) != 1 || len(bindings) != 1 {
				t.Fatalf("%d ClusterRoles, %d bindings; want 1 and 1", len(roles), len(bindings))
			}
			for _, err := range checkRules(roles[0].Rules) {
				t.Error(err)
			}
			if err := checkBinding(bindings[0], ds.Spec.Template.Spec.ServiceAccountName, helmNamespace); err != nil {
				t.Error(err)
			}
			if bindings[0].RoleRef.Name != roles[0].Name {
				t.Errorf("binding refers to %s, role is %s", bindings[0].RoleRef.Name, roles[0].Name)
			}
			if len(find[*corev1.ServiceAccount](objs)) != 1 {
				t.Errorf("want one ServiceAccount")
			}
			// Every mounted configuration the chart renders is one logship
			// accepts; the generated one has the base's directives.
			for _, cm := range find[*corev1.ConfigMap](objs) {
				if conf, ok := cm.Data["fluent.conf"]; ok {
					agentPipeline(t, conf)
					if _, custom := tg.vals["fluentConf"]; !custom {
						for _, err := range checkFluentConfGenerated(conf, tg.vals) {
							t.Error(err)
						}
					}
				}
			}
			tg.check(t, objs, custom)
		})
	}
}

// checkFluentConfGenerated applies checkFluentConf to a generated
// configuration, minus the file-buffer directives when the toggle chose a
// memory buffer and the pos_file one in the Fluentd-migration mode (which
// names Fluentd's pos_file; its own toggle checks where positions go).
func checkFluentConfGenerated(conf string, vals map[string]any) []error {
	var errs []error
	memory, migrate := false, false
	if b, ok := vals["buffer"].(map[string]any); ok && b["type"] == "memory" {
		memory = true
	}
	if m, ok := vals["fluentdMigration"].(map[string]any); ok && m["enabled"] == true {
		migrate = true
	}
	for _, err := range checkFluentConf(conf) {
		if memory && (strings.Contains(err.Error(), "file buffer") || strings.Contains(err.Error(), "buffer on the state hostPath")) {
			continue
		}
		if migrate && strings.Contains(err.Error(), "pos_file on the state hostPath") {
			continue
		}
		errs = append(errs, err)
	}
	return errs
}

// TestHelm_Refuses: values.schema.json rejects typos and wrong types, and the
// templates refuse what the schema cannot express. Each case must fail with
// its own reason.
func TestHelm_Refuses(t *testing.T) {
	ch := loadChart(t)
	for _, tt := range []struct {
		name string
		vals map[string]any
		want string
	}{
		{"top-level typo", withValues(map[string]any{"logGroupName": "/x"}), "logGroupName"},
		{"nested typo", withValues(map[string]any{"serviceAccount": map[string]any{"anotations": map[string]any{}}}), "anotations"},
		{"wrong type", withValues(map[string]any{"listen": map[string]any{"port": "2021"}}), "port"},
		{"unknown buffer type", withValues(map[string]any{"buffer": map[string]any{"type": "disk"}}), "type"},
		{"image tag latest", withValues(map[string]any{"image": map[string]any{"tag": "latest"}}), "tag"},
		{"no region", map[string]any{"logGroup": "/k8s/x"}, "region is required"},
		{"no logGroup", map[string]any{"region": "us-east-1"}, "logGroup is required"},
		{"fluentConf and existingConfigMap", withValues(map[string]any{"fluentConf": customFluentConf, "existingConfigMap": "x"}), "not both"},
		{"grace below the flush deadline", withValues(map[string]any{"terminationGracePeriodSeconds": 35}), "terminationGracePeriodSeconds 35"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := helmTemplate(ch, tt.vals)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("render error %v, want one naming %q", err, tt.want)
			}
		})
	}
}

// TestHelm_MatchesKustomizeBase renders the chart's defaults (with the base's
// placeholder region and group) and deploy/base and requires the same
// DaemonSet spec apart from object names and labels, the same environment
// and a configuration that maps onto the same pipeline, so the two install
// paths cannot drift apart.
func TestHelm_MatchesKustomizeBase(t *testing.T) {
	chartObjs, _ := helmRender(t, requiredValues())
	baseObjs := renderDecoded(t, "base")

	// normalize blanks what legitimately differs: the selector and the pod
	// template's labels and annotations, and the ConfigMap names (kustomize
	// appends a content hash; the chart rolls pods with a checksum annotation).
	normalize := func(objs []object) string {
		ds := agentDaemonSet(t, objs).DeepCopy()
		ds.Spec.Selector = nil
		ds.Spec.Template.ObjectMeta = metav1.ObjectMeta{}
		ps := &ds.Spec.Template.Spec
		for i := range ps.Volumes {
			if cm := ps.Volumes[i].ConfigMap; cm != nil {
				cm.Name = "<config>"
			}
		}
		for i := range ps.Containers {
			for j := range ps.Containers[i].Env {
				if ref := ps.Containers[i].Env[j].ValueFrom; ref != nil && ref.ConfigMapKeyRef != nil {
					ref.ConfigMapKeyRef.Name = "<env>"
				}
			}
		}
		b, err := yaml.Marshal(ds.Spec)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if c, b := normalize(chartObjs), normalize(baseObjs); c != b {
		t.Errorf("chart and deploy/base DaemonSet specs differ:\n%s", lineDiff(b, c))
	}
	if c, b := envConfigMap(t, chartObjs), envConfigMap(t, baseObjs); !maps.Equal(c, b) {
		t.Errorf("environment: chart %v, base %v", c, b)
	}
	cp, bp := agentPipeline(t, fluentConf(t, chartObjs)), agentPipeline(t, fluentConf(t, baseObjs))
	// (TailSource holds a function; compare its data.)
	if c, b := cp.Sources[0].Tail, bp.Sources[0].Tail; !reflect.DeepEqual(c.Tail, b.Tail) || c.Tag != b.Tag || c.Line.Container != b.Line.Container || !reflect.DeepEqual(c.Line.Parse, b.Line.Parse) {
		t.Errorf("tail source: chart %+v, base %+v", c, b)
	}
	co, bo := onlyOutput(t, cp), onlyOutput(t, bp)
	if !reflect.DeepEqual(*co.CloudWatch, *bo.CloudWatch) || co.ID != bo.ID {
		t.Errorf("output: chart %s %+v, base %s %+v", co.ID, *co.CloudWatch, bo.ID, *bo.CloudWatch)
	}
	if !reflect.DeepEqual(*co.Buffer, *bo.Buffer) {
		t.Errorf("buffer: chart %+v, base %+v", *co.Buffer, *bo.Buffer)
	}
	if len(cp.Filters) != len(bp.Filters) {
		t.Errorf("%d filters, base %d", len(cp.Filters), len(bp.Filters))
	}
	// The same kinds besides: the chart leaves the Namespace to the user.
	kinds := func(objs []object) []string {
		var k []string
		for _, o := range objs {
			if o.Kind != "Namespace" {
				k = append(k, o.Kind)
			}
		}
		slices.Sort(k)
		return k
	}
	if c, b := kinds(chartObjs), kinds(baseObjs); !slices.Equal(c, b) {
		t.Errorf("kinds: chart %v, base %v", c, b)
	}
}

// lineDiff lists the lines of want missing from got (-) and of got missing
// from want (+).
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var out []string
	for _, l := range w {
		if !slices.Contains(g, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range g {
		if !slices.Contains(w, l) {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}
