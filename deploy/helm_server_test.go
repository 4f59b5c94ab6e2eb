package deploy

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"logship/internal/kubetest"
)

// serviceMonitorCRD registers monitoring.coreos.com/v1 ServiceMonitor so the
// chart's ServiceMonitor toggle can be applied. It is a stand-in for
// prometheus-operator's CRD: the kind, group, version and scope are the
// operator's, but the schema accepts any spec, so the server checks the
// object's envelope (apiVersion, kind, metadata, namespace), not its fields;
// TestHelm_Render checks those against the Service it selects.
const serviceMonitorCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: servicemonitors.monitoring.coreos.com
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names:
    kind: ServiceMonitor
    listKind: ServiceMonitorList
    plural: servicemonitors
    singular: servicemonitor
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
`

// helmUnstructured renders the chart with vals into unstructured objects.
func helmUnstructured(t *testing.T, vals map[string]any) []*unstructured.Unstructured {
	t.Helper()
	manifest, err := helmTemplate(loadChart(t), vals)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return unstructuredDocs(t, []byte(manifest))
}

// TestHelm_ServerSide applies the rendered chart to a real kube-apiserver
// v1.37.2 (internal/kubetest), in the namespace deploy/base defines (Pod
// Security enforce=privileged, warn=baseline): a server-side dry-run apply of
// the render of every documented toggle, each object's Pod Security warnings
// checked as the kustomize output's are; then the defaults for real, again
// as a no-op, and the agent's pod admitted. Skipped when the etcd or
// kube-apiserver binary is missing, failed instead in CI
// (LOGSHIP_KUBE_REQUIRE=1).
func TestHelm_ServerSide(t *testing.T) {
	c := kubetest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	a, cs := newApplier(t, c)

	for _, u := range renderUnstructured(t, "base") {
		if u.GetKind() != "Namespace" {
			continue
		}
		if u.GetName() != helmNamespace {
			t.Fatalf("deploy/base namespace %q, the chart test installs into %q", u.GetName(), helmNamespace)
		}
		if _, _, err := a.apply(ctx, u, false); err != nil {
			t.Fatalf("namespace: %v", err)
		}
	}
	var crd unstructured.Unstructured
	if err := yaml.Unmarshal([]byte(serviceMonitorCRD), &crd.Object); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.apply(ctx, &crd, false); err != nil {
		t.Fatalf("ServiceMonitor CRD: %v", err)
	}
	waitForKind(ctx, t, a, "monitoring.coreos.com", "ServiceMonitor", "v1")

	for _, tg := range helmToggles {
		t.Run("dry-run "+tg.name, func(t *testing.T) {
			objs := helmUnstructured(t, withValues(tg.vals))
			for _, u := range objs {
				id := u.GetKind() + "/" + u.GetName()
				_, warns, err := a.apply(ctx, u, true)
				if err != nil {
					t.Errorf("%s: dry-run apply: %v", id, err)
					continue
				}
				checkWarnings(t, "helm "+tg.name, u, warns)
			}
		})
	}

	t.Run("defaults applied, re-applied as a no-op", func(t *testing.T) {
		for _, u := range helmUnstructured(t, requiredValues()) {
			a.applyTwice(ctx, t, "helm defaults", u)
		}
	})

	t.Run("agent pod admitted", func(t *testing.T) {
		dss, err := cs.AppsV1().DaemonSets(helmNamespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(dss.Items) != 1 {
			t.Fatalf("%d DaemonSets in %s, want the chart's one", len(dss.Items), helmNamespace)
		}
		ds := &dss.Items[0]
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "logship-admission-probe", Namespace: helmNamespace, Labels: ds.Spec.Template.Labels},
			Spec:       *ds.Spec.Template.Spec.DeepCopy(),
		}
		pod.Spec.NodeName = "node-1"
		if _, err := cs.CoreV1().Pods(helmNamespace).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
			t.Errorf("pod refused: %v", err)
		}
	})
}

// waitForKind resets the applier's discovery cache until the API server
// serves group/version kind (a new CRD takes a moment to be established).
func waitForKind(ctx context.Context, t *testing.T, a *applier, group, kind, version string) {
	t.Helper()
	r, ok := a.mapper.(meta.ResettableRESTMapper)
	if !ok {
		t.Fatalf("mapper %T cannot be reset", a.mapper)
	}
	var err error
	for ctx.Err() == nil {
		r.Reset()
		if _, err = a.mapper.RESTMapping(schema.GroupKind{Group: group, Kind: kind}, version); err == nil {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Fatalf("%s/%s %s never served: %v", group, version, kind, err)
}
