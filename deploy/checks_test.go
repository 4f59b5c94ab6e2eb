package deploy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	psapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"

	"logship/buffer"
)

// pssForbidden evaluates the Pod Security Standards level on a pod template
// and returns the forbidden reasons (empty when allowed).
func pssForbidden(level psapi.Level, meta *metav1.ObjectMeta, spec *corev1.PodSpec) ([]string, error) {
	ev, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		return nil, err
	}
	res := policy.AggregateCheckResults(ev.EvaluatePod(psapi.LevelVersion{Level: level, Version: psapi.LatestVersion()}, meta, spec))
	return res.ForbiddenReasons, nil
}

// agentBaselineAllowed is what a hostPath log agent cannot avoid at Baseline.
var agentBaselineAllowed = []string{"hostPath volumes"}

// agentRestrictedAllowed is what a root hostPath log agent cannot avoid at
// Restricted (it reads root-owned 0640 files as uid 0; docs/deploy-design.md,
// "Why uid 0"). Any
// other Restricted finding is a hardening gap.
var agentRestrictedAllowed = []string{"restricted volume types", "runAsNonRoot != true", "runAsUser=0"}

// checkAgentPSS evaluates a node agent's pod template: Baseline may be
// violated only by hostPath volumes, Restricted only by the reasons a root
// hostPath agent cannot avoid.
func checkAgentPSS(meta *metav1.ObjectMeta, spec *corev1.PodSpec) []error {
	var errs []error
	for _, lv := range []struct {
		level   psapi.Level
		allowed []string
	}{{psapi.LevelBaseline, agentBaselineAllowed}, {psapi.LevelRestricted, agentRestrictedAllowed}} {
		reasons, err := pssForbidden(lv.level, meta, spec)
		if err != nil {
			return []error{err}
		}
		for _, r := range reasons {
			if !slices.Contains(lv.allowed, r) {
				errs = append(errs, fmt.Errorf("pod security %s: %s", lv.level, r))
			}
		}
	}
	return errs
}

// agentExpect parameterises the DaemonSet checks per overlay.
type agentExpect struct {
	// writable are the hostPath mount paths that may be read-write.
	writable []string
	// stateDir is the writable hostPath for positions and the buffer.
	stateDir string
	// flushDeadline is the agent's final-flush deadline (the longest
	// <buffer> shutdown_timeout of the mounted configuration).
	flushDeadline time.Duration
}

var defaultAgentExpect = agentExpect{writable: []string{"/var/lib/logship"}, stateDir: "/var/lib/logship", flushDeadline: buffer.DefaultShutdownTimeout}

// shutdownMargin is the time the pod keeps after the agent's flush deadline
// (saving positions, exit) before the kubelet's SIGKILL.
const shutdownMargin = 10 * time.Second

// daemonSetCheck is one must-have property of the agent's DaemonSet.
type daemonSetCheck struct {
	name  string
	check func(ds *appsv1.DaemonSet, c *corev1.Container, want agentExpect) error
}

func envVar(c *corev1.Container, name string) (corev1.EnvVar, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e, true
		}
	}
	return corev1.EnvVar{}, false
}

// hostPathMounts maps each of c's mounts backed by a hostPath volume to the
// volume.
func hostPathMounts(spec *corev1.PodSpec, c *corev1.Container) map[*corev1.VolumeMount]*corev1.HostPathVolumeSource {
	vols := map[string]*corev1.HostPathVolumeSource{}
	for i := range spec.Volumes {
		if hp := spec.Volumes[i].HostPath; hp != nil {
			vols[spec.Volumes[i].Name] = hp
		}
	}
	out := map[*corev1.VolumeMount]*corev1.HostPathVolumeSource{}
	for i := range c.VolumeMounts {
		if hp, ok := vols[c.VolumeMounts[i].Name]; ok {
			out[&c.VolumeMounts[i]] = hp
		}
	}
	return out
}

// daemonSetChecks are the agent's must-have DaemonSet fields (issue 7;
// docs/deploy-design.md, "The DaemonSet", gives the reason for each).
var daemonSetChecks = []daemonSetCheck{
	{"priorityClassName system-node-critical", func(ds *appsv1.DaemonSet, _ *corev1.Container, _ agentExpect) error {
		if got := ds.Spec.Template.Spec.PriorityClassName; got != "system-node-critical" {
			return fmt.Errorf("priorityClassName=%q, want system-node-critical", got)
		}
		return nil
	}},
	{"tolerates every taint", func(ds *appsv1.DaemonSet, _ *corev1.Container, _ agentExpect) error {
		for _, t := range ds.Spec.Template.Spec.Tolerations {
			if t.Operator == corev1.TolerationOpExists && t.Key == "" && t.Effect == "" {
				return nil
			}
		}
		return fmt.Errorf("no toleration {operator: Exists} (tolerations %v)", ds.Spec.Template.Spec.Tolerations)
	}},
	{"RollingUpdate maxUnavailable 1 maxSurge 0", func(ds *appsv1.DaemonSet, _ *corev1.Container, _ agentExpect) error {
		us := ds.Spec.UpdateStrategy
		if us.Type != appsv1.RollingUpdateDaemonSetStrategyType || us.RollingUpdate == nil {
			return fmt.Errorf("updateStrategy %q without rollingUpdate", us.Type)
		}
		ru := us.RollingUpdate
		if ru.MaxUnavailable == nil || ru.MaxUnavailable.String() != "1" {
			return fmt.Errorf("maxUnavailable=%v, want 1", ru.MaxUnavailable)
		}
		if ru.MaxSurge == nil || ru.MaxSurge.String() != "0" {
			return fmt.Errorf("maxSurge=%v, want explicit 0 (two agents on a node share one position file)", ru.MaxSurge)
		}
		return nil
	}},
	{"terminationGracePeriodSeconds above the flush deadline", func(ds *appsv1.DaemonSet, _ *corev1.Container, want agentExpect) error {
		d := want.flushDeadline
		g := ds.Spec.Template.Spec.TerminationGracePeriodSeconds
		if g == nil {
			return fmt.Errorf("terminationGracePeriodSeconds unset (30 s default), flush deadline %v", d)
		}
		if grace := time.Duration(*g) * time.Second; grace < d+shutdownMargin {
			return fmt.Errorf("terminationGracePeriodSeconds=%v, want ≥ flush deadline %v + %v", grace, d, shutdownMargin)
		}
		return nil
	}},
	{"NODE_NAME from the downward API", func(_ *appsv1.DaemonSet, c *corev1.Container, _ agentExpect) error {
		e, ok := envVar(c, "NODE_NAME")
		if !ok || e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "spec.nodeName" {
			return fmt.Errorf("env NODE_NAME not from fieldRef spec.nodeName")
		}
		return nil
	}},
	{"liveness /healthz and readiness /readyz", func(_ *appsv1.DaemonSet, c *corev1.Container, _ agentExpect) error {
		for _, p := range []struct {
			name  string
			probe *corev1.Probe
			path  string
		}{{"livenessProbe", c.LivenessProbe, "/healthz"}, {"readinessProbe", c.ReadinessProbe, "/readyz"}} {
			if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path {
				return fmt.Errorf("%s is not httpGet %s", p.name, p.path)
			}
		}
		return nil
	}},
	{"requests cpu+memory, memory limit, no cpu limit", func(_ *appsv1.DaemonSet, c *corev1.Container, _ agentExpect) error {
		r := c.Resources
		if r.Requests.Cpu().IsZero() || r.Requests.Memory().IsZero() {
			return fmt.Errorf("requests %v: want cpu and memory", r.Requests)
		}
		if r.Limits.Memory().IsZero() {
			return fmt.Errorf("no memory limit")
		}
		if _, ok := r.Limits[corev1.ResourceCPU]; ok {
			return fmt.Errorf("cpu limit %v: a throttled shipper falls behind", r.Limits.Cpu())
		}
		return nil
	}},
	{"capabilities drop ALL, none added", func(_ *appsv1.DaemonSet, c *corev1.Container, _ agentExpect) error {
		sc := c.SecurityContext
		if sc == nil || sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			return fmt.Errorf("capabilities.drop does not contain ALL")
		}
		if len(sc.Capabilities.Add) > 0 {
			return fmt.Errorf("capabilities.add %v", sc.Capabilities.Add)
		}
		return nil
	}},
	{"no privilege escalation, not privileged", func(_ *appsv1.DaemonSet, c *corev1.Container, _ agentExpect) error {
		sc := c.SecurityContext
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			return fmt.Errorf("allowPrivilegeEscalation is not false")
		}
		if sc.Privileged != nil && *sc.Privileged {
			return fmt.Errorf("privileged: true")
		}
		return nil
	}},
	{"read-only root filesystem", func(_ *appsv1.DaemonSet, c *corev1.Container, _ agentExpect) error {
		if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			return fmt.Errorf("readOnlyRootFilesystem is not true")
		}
		return nil
	}},
	{"seccomp RuntimeDefault", func(ds *appsv1.DaemonSet, c *corev1.Container, _ agentExpect) error {
		p := ds.Spec.Template.Spec.SecurityContext
		if sc := c.SecurityContext; sc != nil && sc.SeccompProfile != nil {
			if sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				return fmt.Errorf("container seccompProfile %q", sc.SeccompProfile.Type)
			}
			return nil
		}
		if p == nil || p.SeccompProfile == nil || p.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			return fmt.Errorf("no seccompProfile RuntimeDefault")
		}
		return nil
	}},
	{"no host namespaces", func(ds *appsv1.DaemonSet, _ *corev1.Container, _ agentExpect) error {
		s := ds.Spec.Template.Spec
		if s.HostNetwork || s.HostPID || s.HostIPC {
			return fmt.Errorf("hostNetwork=%v hostPID=%v hostIPC=%v", s.HostNetwork, s.HostPID, s.HostIPC)
		}
		return nil
	}},
	{"host paths read-only except the state dir", func(ds *appsv1.DaemonSet, c *corev1.Container, want agentExpect) error {
		var bad []string
		for m, hp := range hostPathMounts(&ds.Spec.Template.Spec, c) {
			if !m.ReadOnly && !slices.Contains(want.writable, hp.Path) {
				bad = append(bad, hp.Path)
			}
		}
		if len(bad) > 0 {
			slices.Sort(bad)
			return fmt.Errorf("writable host paths %v", bad)
		}
		return nil
	}},
	{"/var/log mounted", func(ds *appsv1.DaemonSet, c *corev1.Container, _ agentExpect) error {
		for m, hp := range hostPathMounts(&ds.Spec.Template.Spec, c) {
			if hp.Path == "/var/log" && m.MountPath == "/var/log" {
				return nil
			}
		}
		return fmt.Errorf("host /var/log not mounted at /var/log")
	}},
	{"state hostPath DirectoryOrCreate", func(ds *appsv1.DaemonSet, c *corev1.Container, want agentExpect) error {
		for m, hp := range hostPathMounts(&ds.Spec.Template.Spec, c) {
			if hp.Path == want.stateDir {
				if m.ReadOnly {
					return fmt.Errorf("%s mounted read-only", want.stateDir)
				}
				if hp.Type == nil || *hp.Type != corev1.HostPathDirectoryOrCreate {
					return fmt.Errorf("%s hostPath type %v, want DirectoryOrCreate", want.stateDir, hp.Type)
				}
				return nil
			}
		}
		return fmt.Errorf("no writable state hostPath %s (positions and buffer would live in /var/log or be lost)", want.stateDir)
	}},
	{"no static AWS keys in env", func(_ *appsv1.DaemonSet, c *corev1.Container, _ agentExpect) error {
		var bad []string
		for _, e := range c.Env {
			if strings.HasPrefix(e.Name, "AWS_ACCESS_KEY") || strings.HasPrefix(e.Name, "AWS_SECRET") || e.Name == "AWS_SESSION_TOKEN" {
				bad = append(bad, e.Name)
			}
		}
		if len(bad) > 0 {
			return fmt.Errorf("static credentials in env %v (use Pod Identity or IRSA)", bad)
		}
		return nil
	}},
	{"image pinned, not :latest", func(_ *appsv1.DaemonSet, c *corev1.Container, _ agentExpect) error {
		return checkImagePinned(c.Image)
	}},
}

// checkImagePinned rejects images without a tag or digest and :latest.
func checkImagePinned(image string) error {
	if strings.Contains(image, "@sha256:") {
		return nil
	}
	slash := strings.LastIndex(image, "/")
	colon := strings.LastIndex(image, ":")
	if colon <= slash {
		return fmt.Errorf("image %q has no tag or digest", image)
	}
	if image[colon+1:] == "latest" {
		return fmt.Errorf("image %q uses :latest", image)
	}
	return nil
}

// checkDaemonSet runs every must-have check on the DaemonSet's first
// container and returns the failures, prefixed by the check's name.
func checkDaemonSet(ds *appsv1.DaemonSet, want agentExpect) []error {
	if len(ds.Spec.Template.Spec.Containers) == 0 {
		return []error{fmt.Errorf("no containers")}
	}
	c := &ds.Spec.Template.Spec.Containers[0]
	var errs []error
	for _, ck := range daemonSetChecks {
		if err := ck.check(ds, c, want); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ck.name, err))
		}
	}
	return errs
}

// Least-privilege RBAC for the agent (docs/deploy-design.md, "RBAC").
var (
	rbacAllowedVerbs     = []string{"get", "list", "watch"}
	rbacAllowedResources = []string{"pods", "namespaces"}
)

// checkRules rejects wildcards, verbs beyond get/list/watch, resources beyond
// pods and namespaces (so no secrets), and non-resource URLs.
func checkRules(rules []rbacv1.PolicyRule) []error {
	var errs []error
	for i, r := range rules {
		for _, g := range r.APIGroups {
			if g != "" {
				errs = append(errs, fmt.Errorf("rule %d: apiGroup %q (only the core group is needed)", i, g))
			}
		}
		for _, v := range r.Verbs {
			if !slices.Contains(rbacAllowedVerbs, v) {
				errs = append(errs, fmt.Errorf("rule %d: verb %q not in %v", i, v, rbacAllowedVerbs))
			}
		}
		for _, res := range r.Resources {
			if !slices.Contains(rbacAllowedResources, res) {
				errs = append(errs, fmt.Errorf("rule %d: resource %q not in %v", i, res, rbacAllowedResources))
			}
		}
		if len(r.NonResourceURLs) > 0 {
			errs = append(errs, fmt.Errorf("rule %d: nonResourceURLs %v", i, r.NonResourceURLs))
		}
	}
	return errs
}

// checkBinding requires a binding to name one ServiceAccount subject.
func checkBinding(b *rbacv1.ClusterRoleBinding, sa, ns string) error {
	if len(b.Subjects) != 1 {
		return fmt.Errorf("%d subjects, want 1", len(b.Subjects))
	}
	s := b.Subjects[0]
	if s.Kind != rbacv1.ServiceAccountKind || s.Name != sa || s.Namespace != ns {
		return fmt.Errorf("subject %s %s/%s, want ServiceAccount %s/%s", s.Kind, s.Namespace, s.Name, ns, sa)
	}
	return nil
}

// checkHPA checks an autoscaling/v2 HPA against the objects rendered with it:
// the target exists and requests CPU, bounds are sane, behavior is set.
func checkHPA(h *autoscalingv2.HorizontalPodAutoscaler, objs []object) []error {
	var errs []error
	if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 1 || *h.Spec.MinReplicas > h.Spec.MaxReplicas {
		errs = append(errs, fmt.Errorf("minReplicas %v, maxReplicas %d", h.Spec.MinReplicas, h.Spec.MaxReplicas))
	}
	if h.Spec.Behavior == nil || h.Spec.Behavior.ScaleDown == nil || h.Spec.Behavior.ScaleUp == nil {
		errs = append(errs, fmt.Errorf("no scaleUp/scaleDown behavior"))
	}
	ref := h.Spec.ScaleTargetRef
	var target *appsv1.Deployment
	for _, d := range find[*appsv1.Deployment](objs) {
		if ref.Kind == "Deployment" && ref.APIVersion == "apps/v1" && d.Name == ref.Name {
			target = d
		}
	}
	if target == nil {
		return append(errs, fmt.Errorf("scaleTargetRef %s %s/%s not among the rendered objects", ref.APIVersion, ref.Kind, ref.Name))
	}
	for _, m := range h.Spec.Metrics {
		if m.Type != autoscalingv2.ResourceMetricSourceType || m.Resource == nil || m.Resource.Name != corev1.ResourceCPU {
			continue
		}
		for _, c := range target.Spec.Template.Spec.Containers {
			if c.Resources.Requests.Cpu().IsZero() {
				errs = append(errs, fmt.Errorf("target container %s has no cpu request: utilization is <unknown>", c.Name))
			}
		}
	}
	return errs
}

// fluentConfWants are the directives the agent's fluent.conf must have: a CRI
// tail of the container logs with positions on the state hostPath, the
// kubernetes_metadata filter, and a cloudwatch_logs output with a bounded,
// never-dropping file buffer.
var fluentConfWants = []struct{ what, re string }{
	{"v1 tail source", `(?m)^\s*@type tail$`},
	{"container log glob", `(?m)^\s*path /var/log/containers/\*\.log$`},
	{"pos_file on the state hostPath", `(?m)^\s*pos_file /var/lib/logship/`},
	{"CRI parser", `(?m)^\s*@type cri$`},
	{"kubernetes_metadata filter", `(?m)^\s*@type kubernetes_metadata$`},
	{"cloudwatch_logs output", `(?m)^\s*@type cloudwatch_logs$`},
	{"log group from the environment", `(?m)^\s*log_group_name "#\{ENV\['LOG_GROUP_NAME'\]\}"$`},
	{"stream per tag", `(?m)^\s*use_tag_as_stream true$`},
	{"auto_create_stream", `(?m)^\s*auto_create_stream true$`},
	{"retention_in_days", `(?m)^\s*retention_in_days \d+$`},
	{"<buffer> section", `(?m)^\s*<buffer>$`},
	{"file buffer", `(?m)^\s*@type file$`},
	{"buffer on the state hostPath", `(?m)^\s*path /var/lib/logship/buffer$`},
	{"flush_interval 5s", `(?m)^\s*flush_interval 5s$`},
	{"chunk_limit_size 1m", `(?m)^\s*chunk_limit_size 1m$`},
	{"total_limit_size", `(?m)^\s*total_limit_size \d+m$`},
	{"retry_forever", `(?m)^\s*retry_forever true$`},
	{"retry_max_interval", `(?m)^\s*retry_max_interval \d+s$`},
	{"overflow_action block", `(?m)^\s*overflow_action block$`},
}

// checkFluentConf returns the directives conf lacks.
func checkFluentConf(conf string) []error {
	var errs []error
	for _, w := range fluentConfWants {
		if !regexp.MustCompile(w.re).MatchString(conf) {
			errs = append(errs, fmt.Errorf("fluent.conf: no %s (%s)", w.what, w.re))
		}
	}
	return errs
}
