package deploy

import (
	"bytes"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	psapi "k8s.io/pod-security-admission/api"

	"logship/buffer"
	"logship/config"
)

func TestKustomize_RenderAndDecodeStrict(t *testing.T) {
	for _, dir := range kustomizations {
		t.Run(dir, func(t *testing.T) {
			objs := renderDecoded(t, dir)
			for _, o := range objs {
				if o.Name == "" {
					t.Errorf("%s: no name", o)
				}
			}
		})
	}
}

// TestDecodeStrict_Rejects proves the decoder bites on the mistakes it is
// there for.
func TestDecodeStrict_Rejects(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"unknown field", "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      containers:\n      - name: x\n        resoures: {}\n", `unknown field "spec.template.spec.containers[0].resoures"`},
		{"duplicate field", "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\nmetadata: {name: b}\n", "already set"},
		{"removed apiVersion", "apiVersion: extensions/v1beta1\nkind: DaemonSet\nmetadata: {name: x}\n", "extensions/v1beta1 is removed"},
		{"unknown kind", "apiVersion: v1\nkind: Widget\nmetadata: {name: x}\n", "no kind"},
		{"removed HPA version", "apiVersion: autoscaling/v2beta2\nkind: HorizontalPodAutoscaler\nmetadata: {name: x}\n", "autoscaling/v2beta2 is removed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeStrict([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("decodeStrict()=%v, want error containing %q", err, tt.want)
			}
		})
	}
}

// agentOverlays are the kustomizations that render the agent, with what
// each may differ in.
var agentOverlays = map[string]agentExpect{
	"base":                          defaultAgentExpect,
	"overlays/irsa":                 defaultAgentExpect,
	"overlays/pod-identity":         defaultAgentExpect,
	"overlays/docker-nodes":         defaultAgentExpect,
	"overlays/migrate-from-fluentd": defaultAgentExpect,
}

func agentDaemonSet(t *testing.T, objs []object) *appsv1.DaemonSet {
	t.Helper()
	dss := find[*appsv1.DaemonSet](objs)
	if len(dss) != 1 {
		t.Fatalf("%d DaemonSets, want 1", len(dss))
	}
	return dss[0]
}

func TestDaemonSet_MustHave(t *testing.T) {
	for dir, want := range agentOverlays {
		objs := renderDecoded(t, dir)
		ds := agentDaemonSet(t, objs)
		want.flushDeadline = flushDeadline(t, agentPipeline(t, fluentConf(t, objs)))
		c := &ds.Spec.Template.Spec.Containers[0]
		for _, ck := range daemonSetChecks {
			t.Run(dir+"/"+ck.name, func(t *testing.T) {
				if err := ck.check(ds, c, want); err != nil {
					t.Error(err)
				}
			})
		}
	}
}

func TestDaemonSet_Overlays(t *testing.T) {
	mount := func(c *corev1.Container, path string) *corev1.VolumeMount {
		for i := range c.VolumeMounts {
			if c.VolumeMounts[i].MountPath == path {
				return &c.VolumeMounts[i]
			}
		}
		return nil
	}
	t.Run("irsa", func(t *testing.T) {
		sas := find[*corev1.ServiceAccount](renderDecoded(t, "overlays/irsa"))
		if len(sas) != 1 || !strings.HasPrefix(sas[0].Annotations["eks.amazonaws.com/role-arn"], "arn:aws:iam::") {
			t.Fatalf("ServiceAccounts %v: want one with eks.amazonaws.com/role-arn", sas)
		}
	})
	t.Run("pod-identity", func(t *testing.T) {
		base, err := render("base")
		if err != nil {
			t.Fatal(err)
		}
		pi, err := render("overlays/pod-identity")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(base, pi) {
			t.Fatal("pod-identity renders differently from base; Pod Identity needs no manifest change")
		}
		readme, err := os.ReadFile("overlays/pod-identity/README.md")
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"aws eks create-pod-identity-association", "--namespace logship", "--service-account logship", "AWS::EKS::PodIdentityAssociation"} {
			if !bytes.Contains(readme, []byte(s)) {
				t.Errorf("README.md lacks %q", s)
			}
		}
	})
	t.Run("docker-nodes", func(t *testing.T) {
		objs := renderDecoded(t, "overlays/docker-nodes")
		c := &agentDaemonSet(t, objs).Spec.Template.Spec.Containers[0]
		m := mount(c, "/var/lib/docker/containers")
		if m == nil || !m.ReadOnly {
			t.Fatalf("mount /var/lib/docker/containers=%v, want read-only", m)
		}
	})
	t.Run("migrate-from-fluentd", func(t *testing.T) {
		objs := renderDecoded(t, "overlays/migrate-from-fluentd")
		conf := fluentConf(t, objs)
		if !strings.Contains(conf, "pos_file /var/log/fluentd-containers.log.pos") {
			t.Fatalf("fluent.conf does not name Fluentd's pos_file:\n%s", conf)
		}
		c := &agentDaemonSet(t, objs).Spec.Template.Spec.Containers[0]
		if m := mount(c, "/var/log"); m == nil || !m.ReadOnly {
			t.Fatalf("mount /var/log=%v, want read-only (Fluentd's pos_file is only read)", m)
		}
		p := agentPipeline(t, conf)
		if len(p.Sources) != 1 || p.Sources[0].Tail == nil {
			t.Fatalf("sources %+v, want one tail", p.Sources)
		}
		tc := p.Sources[0].Tail.Tail
		if tc.FluentdPosFile != "/var/log/fluentd-containers.log.pos" || !strings.HasPrefix(tc.PositionsFile, "/var/lib/logship/") {
			t.Errorf("tail takes over %q and keeps positions in %q; want Fluentd's pos_file and the state dir", tc.FluentdPosFile, tc.PositionsFile)
		}
	})
}

// fluentConf returns the fluent.conf of the ConfigMap the DaemonSet mounts.
func fluentConf(t *testing.T, objs []object) string {
	t.Helper()
	ds := agentDaemonSet(t, objs)
	var name string
	for _, v := range ds.Spec.Template.Spec.Volumes {
		if v.ConfigMap != nil {
			name = v.ConfigMap.Name
		}
	}
	for _, cm := range find[*corev1.ConfigMap](objs) {
		if cm.Name == name {
			return cm.Data["fluent.conf"]
		}
	}
	t.Fatalf("ConfigMap %q mounted by the DaemonSet not rendered", name)
	return ""
}

// TestConfigMap_FluentConf checks the base configuration's directives: the
// modern equivalent of the seed's output section.
func TestConfigMap_FluentConf(t *testing.T) {
	objs := renderDecoded(t, "base")
	conf := fluentConf(t, objs)
	for _, err := range checkFluentConf(conf) {
		t.Error(err)
	}
	// The environment the configuration reads is set by the DaemonSet.
	c := &agentDaemonSet(t, objs).Spec.Template.Spec.Containers[0]
	for _, name := range []string{"AWS_REGION", "LOG_GROUP_NAME"} {
		if _, ok := envVar(c, name); !ok {
			t.Errorf("DaemonSet env lacks %s, read by fluent.conf", name)
		}
	}
	if got, want := strings.Join(c.Args, " "), "run --config /etc/logship/fluent.conf"; got != want {
		t.Errorf("args %q, want %q", got, want)
	}
}

func TestPodSecurity(t *testing.T) {
	t.Run("agent", func(t *testing.T) {
		for dir := range agentOverlays {
			ds := agentDaemonSet(t, renderDecoded(t, dir))
			baseline, err := pssForbidden(psapi.LevelBaseline, &ds.Spec.Template.ObjectMeta, &ds.Spec.Template.Spec)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(baseline, agentBaselineAllowed) {
				t.Errorf("%s: baseline forbidden %q, want exactly %q", dir, baseline, agentBaselineAllowed)
			}
			for _, err := range checkAgentPSS(&ds.Spec.Template.ObjectMeta, &ds.Spec.Template.Spec) {
				t.Errorf("%s: %v", dir, err)
			}
			restricted, _ := pssForbidden(psapi.LevelRestricted, &ds.Spec.Template.ObjectMeta, &ds.Spec.Template.Spec)
			t.Logf("%s: restricted violations (inherent to a root hostPath agent): %q", dir, restricted)
		}
	})
	for _, tt := range []struct {
		dir   string
		level map[string]psapi.Level // workload name → level it must meet
	}{
		{"examples/hpa", map[string]psapi.Level{"php-apache": psapi.LevelBaseline, "load-generator": psapi.LevelRestricted}},
		{"jobs/subscribe", map[string]psapi.Level{"logship-subscribe": psapi.LevelRestricted}},
	} {
		t.Run(tt.dir, func(t *testing.T) {
			seen := 0
			for _, o := range renderDecoded(t, tt.dir) {
				meta, spec, ok := podTemplate(o.Obj)
				if !ok {
					continue
				}
				seen++
				level, ok := tt.level[o.Name]
				if !ok {
					t.Errorf("%s: no expected level", o)
					continue
				}
				reasons, err := pssForbidden(level, meta, spec)
				if err != nil {
					t.Fatal(err)
				}
				if len(reasons) > 0 {
					t.Errorf("%s: %s forbidden %q", o, level, reasons)
				}
			}
			if seen != len(tt.level) {
				t.Errorf("%d workloads, want %d", seen, len(tt.level))
			}
		})
	}
}

func TestNamespace_PodSecurityLabels(t *testing.T) {
	for dir, want := range map[string]map[string]string{
		"base": {
			"pod-security.kubernetes.io/enforce": "privileged",
			"pod-security.kubernetes.io/audit":   "baseline",
			"pod-security.kubernetes.io/warn":    "baseline",
		},
		"examples/hpa": {"pod-security.kubernetes.io/enforce": "baseline"},
	} {
		nss := find[*corev1.Namespace](renderDecoded(t, dir))
		if len(nss) != 1 {
			t.Fatalf("%s: %d namespaces", dir, len(nss))
		}
		for k, v := range want {
			if got := nss[0].Labels[k]; got != v {
				t.Errorf("%s: %s=%q, want %q", dir, k, got, v)
			}
		}
	}
	ns, err := os.ReadFile("base/namespace.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(ns, []byte("hostPath")) {
		t.Error("base/namespace.yaml does not say why it is privileged (hostPath)")
	}
}

func TestRBAC_LeastPrivilege(t *testing.T) {
	objs := renderDecoded(t, "base")
	roles := find[*rbacv1.ClusterRole](objs)
	if len(roles) != 1 {
		t.Fatalf("%d ClusterRoles, want 1", len(roles))
	}
	if len(roles[0].Rules) == 0 {
		t.Fatal("ClusterRole has no rules")
	}
	for _, err := range checkRules(roles[0].Rules) {
		t.Error(err)
	}
	if got := len(find[*rbacv1.Role](objs)); got != 0 {
		t.Errorf("%d namespaced Roles, want 0", got)
	}
	bs := find[*rbacv1.ClusterRoleBinding](objs)
	if len(bs) != 1 {
		t.Fatalf("%d ClusterRoleBindings, want 1", len(bs))
	}
	if bs[0].RoleRef.Name != roles[0].Name {
		t.Errorf("binding roleRef %q, want %q", bs[0].RoleRef.Name, roles[0].Name)
	}
	if err := checkBinding(bs[0], "logship", "logship"); err != nil {
		t.Error(err)
	}
	ds := agentDaemonSet(t, objs)
	if ds.Spec.Template.Spec.ServiceAccountName != "logship" {
		t.Errorf("DaemonSet serviceAccountName %q", ds.Spec.Template.Spec.ServiceAccountName)
	}
	// The checks bite.
	bad := []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"secrets", "*"}, Verbs: []string{"get", "*", "create"}}}
	if got := len(checkRules(bad)); got != 5 {
		t.Errorf("checkRules(wildcards, secrets, create)=%d findings, want 5", got)
	}
}

func TestHPA_Example(t *testing.T) {
	objs := renderDecoded(t, "examples/hpa")
	hpas := find[*autoscalingv2.HorizontalPodAutoscaler](objs)
	if len(hpas) != 1 {
		t.Fatalf("%d autoscaling/v2 HPAs, want 1", len(hpas))
	}
	h := hpas[0]
	for _, err := range checkHPA(h, objs) {
		t.Error(err)
	}
	if *h.Spec.MinReplicas != 1 || h.Spec.MaxReplicas != 10 {
		t.Errorf("replicas %d..%d, want 1..10", *h.Spec.MinReplicas, h.Spec.MaxReplicas)
	}
	if len(h.Spec.Metrics) != 1 || h.Spec.Metrics[0].Resource == nil || h.Spec.Metrics[0].Resource.Target.AverageUtilization == nil || *h.Spec.Metrics[0].Resource.Target.AverageUtilization != 50 {
		t.Errorf("metrics %+v, want cpu utilization 50", h.Spec.Metrics)
	}
	deps := map[string]*appsv1.Deployment{}
	for _, d := range find[*appsv1.Deployment](objs) {
		deps[d.Name] = d
	}
	pa := deps["php-apache"]
	if pa == nil {
		t.Fatal("no php-apache Deployment")
	}
	c := pa.Spec.Template.Spec.Containers[0]
	if !strings.HasPrefix(c.Image, "registry.k8s.io/hpa-example") || c.Resources.Requests.Cpu().String() != "200m" || c.Resources.Limits.Cpu().String() != "500m" {
		t.Errorf("php-apache image %s requests %v limits %v", c.Image, c.Resources.Requests, c.Resources.Limits)
	}
	lg := deps["load-generator"]
	if lg == nil || lg.Spec.Replicas == nil || *lg.Spec.Replicas != 0 {
		t.Errorf("load-generator %v: want replicas 0", lg)
	}
	svcs := find[*corev1.Service](objs)
	if len(svcs) != 1 || svcs[0].Name != "php-apache" {
		t.Errorf("Services %v, want php-apache", svcs)
	}
	// The checks bite: no target, no behavior.
	bad := h.DeepCopy()
	bad.Spec.ScaleTargetRef.Name = "nope"
	bad.Spec.Behavior = nil
	if got := len(checkHPA(bad, objs)); got != 2 {
		t.Errorf("checkHPA(bad)=%d findings, want 2", got)
	}
}

// TestImage_MatchesDockerfile ties the DaemonSet's image to the Dockerfile
// that builds it.
func TestImage_MatchesDockerfile(t *testing.T) {
	df, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"base", "jobs/subscribe"} {
		for _, o := range renderDecoded(t, dir) {
			_, spec, ok := podTemplate(o.Obj)
			if !ok {
				continue
			}
			img := spec.Containers[0].Image
			if err := checkImagePinned(img); err != nil {
				t.Errorf("%s: %v", o, err)
			}
			repo := img[:strings.LastIndex(img, ":")]
			if !bytes.Contains(df, []byte(repo)) {
				t.Errorf("%s: image repository %s not named in the Dockerfile", o, repo)
			}
			if !bytes.Contains(readme, []byte("docker build -t "+img+" ")) {
				t.Errorf("%s: README.md does not build %s", o, img)
			}
		}
	}
	if !regexp.MustCompile(`(?m)^ENTRYPOINT \["/logship"\]$`).Match(df) {
		t.Error(`Dockerfile ENTRYPOINT is not ["/logship"] (the DaemonSet passes only args)`)
	}
}

// agentPipeline parses a fluent.conf with logship's own configuration
// package and maps it onto the agent's stages, as 'logship run' does, with
// the environment the DaemonSet sets.
func agentPipeline(t *testing.T, conf string) *config.Pipeline {
	t.Helper()
	c, err := config.Parse("fluent.conf", []byte(conf), config.Options{Env: config.MapEnv(map[string]string{
		"AWS_REGION": "us-east-1", "LOG_GROUP_NAME": "/k8s/my-cluster/containers", "NODE_NAME": "node-1",
	})})
	if err != nil {
		t.Fatalf("logship config parse: %v", err)
	}
	p, err := config.Build(c, config.BuildOptions{NodeName: "node-1"})
	if err != nil {
		t.Fatalf("logship config build: %v", err)
	}
	for _, w := range c.Diag.Warnings() {
		t.Errorf("logship config warning: %v", w)
	}
	return p
}

// flushDeadline is the longest final-flush deadline of the pipeline's
// buffers.
func flushDeadline(t *testing.T, p *config.Pipeline) time.Duration {
	t.Helper()
	var d time.Duration
	for _, o := range p.Outputs {
		if o.Buffer == nil {
			continue
		}
		sd := o.Buffer.ShutdownTimeout
		if sd == 0 {
			sd = buffer.DefaultShutdownTimeout
		}
		d = max(d, sd)
	}
	if d == 0 {
		t.Fatal("no buffered output")
	}
	return d
}

// TestFluentConf_AgentAccepts maps every shipped configuration with
// logship's own config package: no errors, no ignored parameters, and the
// stages the manifests assume (positions and file buffer on the state
// hostPath, the group from the environment, a 30 s final flush).
func TestFluentConf_AgentAccepts(t *testing.T) {
	for dir := range agentOverlays {
		t.Run(dir, func(t *testing.T) {
			p := agentPipeline(t, fluentConf(t, renderDecoded(t, dir)))
			if len(p.Sources) != 1 || p.Sources[0].Tail == nil || len(p.Outputs) != 1 {
				t.Fatalf("pipeline: %d sources, %d outputs; want one tail and one output", len(p.Sources), len(p.Outputs))
			}
			tc := p.Sources[0].Tail.Tail
			if !strings.HasPrefix(tc.PositionsFile, "/var/lib/logship/") {
				t.Errorf("positions file %q outside the state hostPath", tc.PositionsFile)
			}
			for _, o := range p.Outputs {
				if o.CloudWatch == nil || o.CloudWatch.LogGroupName != "/k8s/my-cluster/containers" || !o.CloudWatch.UseTagAsStream || o.CloudWatch.Region != "us-east-1" {
					t.Errorf("output %s: cloudwatch %+v", o.ID, o.CloudWatch)
				}
				if o.Buffer == nil || o.Buffer.Type != "file" || !strings.HasPrefix(o.Buffer.Path, "/var/lib/logship/") {
					t.Errorf("output %s: buffer %+v, want a file buffer under /var/lib/logship", o.ID, o.Buffer)
				}
			}
			if d := flushDeadline(t, p); d != 30*time.Second {
				t.Errorf("flush deadline %v, want 30s", d)
			}
		})
	}
}

// TestDaemonSetChecks_Bite breaks the base DaemonSet one field at a time and
// expects exactly the matching check to fail.
func TestDaemonSetChecks_Bite(t *testing.T) {
	base := agentDaemonSet(t, renderDecoded(t, "base"))
	ptr := func(b bool) *bool { return &b }
	breaks := map[string]func(ds *appsv1.DaemonSet, c *corev1.Container){
		"priorityClassName system-node-critical": func(ds *appsv1.DaemonSet, _ *corev1.Container) { ds.Spec.Template.Spec.PriorityClassName = "" },
		"tolerates every taint": func(ds *appsv1.DaemonSet, _ *corev1.Container) {
			ds.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: "node-role.kubernetes.io/control-plane", Operator: corev1.TolerationOpExists}}
		},
		"RollingUpdate maxUnavailable 1 maxSurge 0": func(ds *appsv1.DaemonSet, _ *corev1.Container) { ds.Spec.UpdateStrategy.RollingUpdate.MaxSurge = nil },
		"terminationGracePeriodSeconds above the flush deadline": func(ds *appsv1.DaemonSet, _ *corev1.Container) {
			g := int64(30)
			ds.Spec.Template.Spec.TerminationGracePeriodSeconds = &g
		},
		"NODE_NAME from the downward API": func(_ *appsv1.DaemonSet, c *corev1.Container) {
			c.Env[0].ValueFrom.FieldRef.FieldPath = "metadata.name"
		},
		"liveness /healthz and readiness /readyz": func(_ *appsv1.DaemonSet, c *corev1.Container) { c.ReadinessProbe = nil },
		"requests cpu+memory, memory limit, no cpu limit": func(_ *appsv1.DaemonSet, c *corev1.Container) {
			c.Resources.Limits[corev1.ResourceCPU] = c.Resources.Requests[corev1.ResourceCPU]
		},
		"capabilities drop ALL, none added": func(_ *appsv1.DaemonSet, c *corev1.Container) {
			c.SecurityContext.Capabilities.Add = []corev1.Capability{"SYS_ADMIN"}
		},
		"no privilege escalation, not privileged": func(_ *appsv1.DaemonSet, c *corev1.Container) { c.SecurityContext.Privileged = ptr(true) },
		"read-only root filesystem":               func(_ *appsv1.DaemonSet, c *corev1.Container) { c.SecurityContext.ReadOnlyRootFilesystem = nil },
		"seccomp RuntimeDefault":                  func(ds *appsv1.DaemonSet, _ *corev1.Container) { ds.Spec.Template.Spec.SecurityContext = nil },
		"no host namespaces":                      func(ds *appsv1.DaemonSet, _ *corev1.Container) { ds.Spec.Template.Spec.HostNetwork = true },
		"host paths read-only except the state dir": func(_ *appsv1.DaemonSet, c *corev1.Container) {
			c.VolumeMounts[0].ReadOnly = false // varlog
		},
		"/var/log mounted": func(ds *appsv1.DaemonSet, _ *corev1.Container) {
			ds.Spec.Template.Spec.Volumes[0].HostPath.Path = "/var/log/pods"
		},
		"state hostPath DirectoryOrCreate": func(ds *appsv1.DaemonSet, _ *corev1.Container) {
			ds.Spec.Template.Spec.Volumes[1].HostPath.Type = nil
		},
		"no static AWS keys in env": func(_ *appsv1.DaemonSet, c *corev1.Container) {
			c.Env = append(c.Env, corev1.EnvVar{Name: "AWS_SECRET_ACCESS_KEY", Value: "x"})
		},
		"image pinned, not :latest": func(_ *appsv1.DaemonSet, c *corev1.Container) { c.Image = "ghcr.io/logship/logship:latest" },
	}
	if len(breaks) != len(daemonSetChecks) {
		t.Fatalf("%d breakages for %d checks", len(breaks), len(daemonSetChecks))
	}
	for _, ck := range daemonSetChecks {
		t.Run(ck.name, func(t *testing.T) {
			brk, ok := breaks[ck.name]
			if !ok {
				t.Fatal("no breakage for this check")
			}
			ds := base.DeepCopy()
			brk(ds, &ds.Spec.Template.Spec.Containers[0])
			errs := checkDaemonSet(ds, defaultAgentExpect)
			if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), ck.name+":") {
				t.Fatalf("checkDaemonSet(broken)=%q, want exactly %q to fail", joinErrs(errs), ck.name)
			}
		})
	}
}
