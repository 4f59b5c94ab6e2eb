package deploy

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"logship/internal/kubetest"
)

// warnings collects the API server's Warning headers (Pod Security
// Admission warns about workload templates in namespaces with a warn level).
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.msgs
	w.msgs = nil
	return m
}

// applier server-side applies rendered manifests to a real kube-apiserver.
type applier struct {
	dyn    dynamic.Interface
	mapper meta.RESTMapper
	warn   *warnings
}

const fieldManager = "logship-deploy-test"

// apply server-side applies one object (dry-run first when dryRun) and
// returns the server's object and the warnings it sent.
func (a *applier) apply(ctx context.Context, u *unstructured.Unstructured, dryRun bool) (*unstructured.Unstructured, []string, error) {
	gvk := u.GroupVersionKind()
	m, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: mapping: %w", gvk, err)
	}
	var ri dynamic.ResourceInterface = a.dyn.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		if u.GetNamespace() == "" {
			return nil, nil, fmt.Errorf("%s %s: namespaced object without a namespace", gvk.Kind, u.GetName())
		}
		ri = a.dyn.Resource(m.Resource).Namespace(u.GetNamespace())
	}
	opts := metav1.ApplyOptions{FieldManager: fieldManager, Force: true}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	a.warn.take()
	out, err := ri.Apply(ctx, u.GetName(), u, opts)
	return out, a.warn.take(), err
}

// newApplier connects an applier and a clientset to c as its admin.
func newApplier(t *testing.T, c *kubetest.Cluster) (*applier, kubernetes.Interface) {
	t.Helper()
	w := &warnings{}
	cfg := c.Config()
	cfg.WarningHandler = w
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a := &applier{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc)), warn: w}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a, cs
}

// unstructuredDocs splits a multi-document YAML stream into unstructured
// objects.
func unstructuredDocs(t *testing.T, data []byte) []*unstructured.Unstructured {
	t.Helper()
	docs, err := splitYAML(data)
	if err != nil {
		t.Fatal(err)
	}
	var out []*unstructured.Unstructured
	for _, d := range docs {
		var m map[string]any
		if err := yaml.Unmarshal(d, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
	return out
}

// renderUnstructured renders a kustomization into unstructured objects,
// namespaces first (namespaced objects need them to exist).
func renderUnstructured(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	out, err := render(dir)
	if err != nil {
		t.Fatal(err)
	}
	var nss, rest []*unstructured.Unstructured
	for _, u := range unstructuredDocs(t, out) {
		if u.GetKind() == "Namespace" {
			nss = append(nss, u)
		} else {
			rest = append(rest, u)
		}
	}
	return append(nss, rest...)
}

// TestServerSide applies every rendered kustomization to a real
// kube-apiserver v1.37.2 (internal/kubetest): a server-side dry-run first,
// then for real, then again to prove the apply is a no-op. It checks Pod
// Security Admission's warnings and that the HPA's target resolves to a
// scalable Deployment. Skipped when the etcd or kube-apiserver binary is
// missing (see internal/kubetest), failed instead in CI
// (LOGSHIP_KUBE_REQUIRE=1).
func TestServerSide(t *testing.T) {
	c := kubetest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	a, cs := newApplier(t, c)

	for _, dir := range kustomizations {
		t.Run(dir, func(t *testing.T) {
			objs := renderUnstructured(t, dir)
			for _, u := range objs {
				id := u.GetKind() + "/" + u.GetName()
				if _, _, err := a.apply(ctx, u, true); err != nil {
					t.Errorf("%s: dry-run apply: %v", id, err)
					continue
				}
				a.applyTwice(ctx, t, dir, u)
			}
		})
	}

	t.Run("agent pod admitted only in its namespace", func(t *testing.T) {
		ds, err := cs.AppsV1().DaemonSets("logship").Get(ctx, "logship", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			ns     string
			reject string
		}{
			{"logship", ""},
			{"hpa-demo", `violates PodSecurity "baseline:latest": hostPath volumes`},
		} {
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "logship-admission-probe", Namespace: tt.ns, Labels: ds.Spec.Template.Labels},
				Spec:       *ds.Spec.Template.Spec.DeepCopy(),
			}
			pod.Spec.NodeName = "node-1"
			pod.Spec.ServiceAccountName = "default"
			_, err := cs.CoreV1().Pods(tt.ns).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			switch {
			case tt.reject == "" && err != nil:
				t.Errorf("namespace %s: pod refused: %v", tt.ns, err)
			case tt.reject != "" && (err == nil || !strings.Contains(err.Error(), tt.reject)):
				t.Errorf("namespace %s: pod admitted or refused for another reason (%v), want %q", tt.ns, err, tt.reject)
			}
		}
	})

	t.Run("seed manifests refused", func(t *testing.T) {
		for _, f := range []string{"fluentd-ds.yaml", "fluentd-role.yaml", "fluentd-role-binding.yaml", "heapster.yaml", "head/hpa-manifest.yaml"} {
			b, err := os.ReadFile(seedFile(t, f))
			if err != nil {
				t.Fatal(err)
			}
			refused := 0
			for _, u := range unstructuredDocs(t, b) {
				if u.GetNamespace() == "" {
					u.SetNamespace("default")
				}
				if _, _, err := a.apply(ctx, u, true); err != nil {
					refused++
					t.Logf("REJECTED %s [server-side apply]: %s %s: %v", f, u.GetAPIVersion(), u.GetKind(), err)
				}
			}
			if refused == 0 {
				t.Errorf("%s: the API server accepted every document", f)
			}
		}
	})

	t.Run("HPA target resolves", func(t *testing.T) {
		hpas, err := cs.AutoscalingV2().HorizontalPodAutoscalers("hpa-demo").List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(hpas.Items) != 1 {
			t.Fatalf("%d HPAs in hpa-demo, want 1", len(hpas.Items))
		}
		checkHPATarget(ctx, t, cs, a.mapper, &hpas.Items[0])
	})
}

// checkWarnings: the agent's DaemonSet in namespace logship (warn=baseline)
// may draw only the hostPath warning; the load generator in hpa-demo
// (warn=restricted) none; php-apache only the restricted findings of a root
// Apache.
// applyTwice applies u (its warnings checked as what's), then again: the
// second apply must leave the object unchanged.
func (a *applier) applyTwice(ctx context.Context, t *testing.T, what string, u *unstructured.Unstructured) {
	t.Helper()
	id := u.GetKind() + "/" + u.GetName()
	got, warns, err := a.apply(ctx, u, false)
	if err != nil {
		t.Errorf("%s: apply: %v", id, err)
		return
	}
	checkWarnings(t, what, u, warns)
	again, _, err := a.apply(ctx, u, false)
	if err != nil {
		t.Errorf("%s: re-apply: %v", id, err)
		return
	}
	if again.GetResourceVersion() != got.GetResourceVersion() {
		t.Errorf("%s: re-applying changed the object (resourceVersion %s → %s)", id, got.GetResourceVersion(), again.GetResourceVersion())
	}
}

func checkWarnings(t *testing.T, dir string, u *unstructured.Unstructured, warns []string) {
	t.Helper()
	id := dir + ": " + u.GetKind() + "/" + u.GetName()
	switch {
	case u.GetKind() == "DaemonSet":
		if len(warns) != 1 || !strings.Contains(warns[0], `would violate PodSecurity "baseline:latest": hostPath volumes`) {
			t.Errorf("%s: warnings %q, want exactly the baseline hostPath warning", id, warns)
		} else if strings.Contains(warns[0], "privileged") || strings.Contains(warns[0], "capabilities") {
			t.Errorf("%s: warning %q names more than hostPath", id, warns[0])
		}
	case u.GetName() == "php-apache" && u.GetKind() == "Deployment":
		for _, w := range warns {
			if !strings.Contains(w, `"restricted:latest"`) || strings.Contains(w, "hostPath") || strings.Contains(w, "privileged") {
				t.Errorf("%s: warning %q", id, w)
			}
		}
	default:
		if len(warns) > 0 {
			t.Errorf("%s: unexpected warnings %q", id, warns)
		}
	}
}

// checkHPATarget resolves the HPA's scaleTargetRef through the API server's
// discovery and reads the target's scale subresource, as the HPA controller
// does.
func checkHPATarget(ctx context.Context, t *testing.T, cs kubernetes.Interface, mapper meta.RESTMapper, h *autoscalingv2.HorizontalPodAutoscaler) {
	t.Helper()
	ref := h.Spec.ScaleTargetRef
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: ref.Kind}, gv.Version)
	if err != nil {
		t.Fatalf("scaleTargetRef %s %s: %v", ref.APIVersion, ref.Kind, err)
	}
	if m.Resource.Resource != "deployments" {
		t.Fatalf("scaleTargetRef maps to %s, want deployments", m.Resource)
	}
	scale, err := cs.AppsV1().Deployments(h.Namespace).GetScale(ctx, ref.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("scale of %s/%s: %v", h.Namespace, ref.Name, err)
	}
	if scale.Spec.Replicas != 1 || scale.Status.Selector == "" {
		t.Errorf("scale %+v, want 1 replica and a selector", scale)
	}
	d, err := cs.AppsV1().Deployments(h.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Resources.Requests.Cpu().IsZero() {
			t.Errorf("target container %s without a cpu request", c.Name)
		}
	}
}
