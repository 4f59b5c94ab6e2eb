package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"logship/internal/fixtures"
)

// seedFile returns the path of a file of the 2017 AWS workshop among the
// real-world fixtures, or skips the test on a bare clone.
func seedFile(t *testing.T, name string) string {
	t.Helper()
	return fixtures.Path(t, "seed-workshop-2017/"+name)
}

// kustomizations are every kustomization in deploy/, rendered and checked.
var kustomizations = []string{
	"base",
	"overlays/irsa",
	"overlays/pod-identity",
	"overlays/docker-nodes",
	"overlays/migrate-from-fluentd",
	"examples/hpa",
	"jobs/subscribe",
}

// targetMinor is the Kubernetes minor version manifests must be served by:
// an apiVersion whose type was deprecated or removed at or before it fails.
const targetMinor = 30

// render builds the kustomization in dir (relative to deploy/) with the
// kustomize API, as 'kubectl kustomize' would, and returns the YAML stream.
func render(dir string) ([]byte, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize %s: %w", dir, err)
	}
	out, err := m.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("kustomize %s: yaml: %w", dir, err)
	}
	return out, nil
}

// splitYAML splits a multi-document YAML stream, dropping documents that hold
// only comments or whitespace.
func splitYAML(data []byte) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		d, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(stripComments(d))) == 0 {
			continue
		}
		docs = append(docs, d)
	}
}

func stripComments(d []byte) []byte {
	var b bytes.Buffer
	for _, line := range bytes.Split(d, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' && !bytes.Equal(t, []byte("---")) {
			b.Write(line)
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// object is one decoded Kubernetes document.
type object struct {
	APIVersion, Kind, Name string
	Obj                    runtime.Object
}

func (o object) String() string { return o.APIVersion + " " + o.Kind + "/" + o.Name }

// lifecycle is implemented by the API types that carry prerelease lifecycle
// metadata (k8s.io/api zz_generated.prerelease-lifecycle.go).
type lifecycle interface {
	APILifecycleDeprecated() (major, minor int)
	APILifecycleRemoved() (major, minor int)
}

// deniedAPIVersions are apiVersions that are no longer served for the kinds
// manifests use (https://kubernetes.io/docs/reference/using-api/deprecation-guide/);
// a backstop for types that lack lifecycle metadata.
var deniedAPIVersions = map[string]string{
	"extensions/v1beta1":                "removed in Kubernetes 1.16 (workloads) and 1.22; use apps/v1 or networking.k8s.io/v1",
	"apps/v1beta1":                      "removed in Kubernetes 1.16; use apps/v1",
	"apps/v1beta2":                      "removed in Kubernetes 1.16; use apps/v1",
	"rbac.authorization.k8s.io/v1beta1": "removed in Kubernetes 1.22; use rbac.authorization.k8s.io/v1",
	"autoscaling/v2beta1":               "removed in Kubernetes 1.25; use autoscaling/v2",
	"autoscaling/v2beta2":               "removed in Kubernetes 1.26; use autoscaling/v2",
	"policy/v1beta1":                    "removed in Kubernetes 1.25; use policy/v1",
	"batch/v1beta1":                     "removed in Kubernetes 1.25; use batch/v1",
}

// decodeStrict decodes one document with the client-go scheme and strict
// decoding: unknown or duplicate fields, unknown kinds and deprecated or
// removed apiVersions are errors.
func decodeStrict(raw []byte) (object, error) {
	var tm struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(raw, &tm); err != nil {
		return object{}, fmt.Errorf("yaml: %w", err)
	}
	o := object{APIVersion: tm.APIVersion, Kind: tm.Kind, Name: tm.Metadata.Name}
	if why, ok := deniedAPIVersions[tm.APIVersion]; ok {
		return o, fmt.Errorf("%s: apiVersion %s is %s", o, tm.APIVersion, why)
	}
	codecs := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict)
	obj, _, err := codecs.UniversalDeserializer().Decode(raw, nil, nil)
	if err != nil {
		return o, fmt.Errorf("%s: %w", o, err)
	}
	if lc, ok := obj.(lifecycle); ok {
		if maj, min := lc.APILifecycleRemoved(); maj == 1 && min > 0 && min <= targetMinor {
			return o, fmt.Errorf("%s: apiVersion %s removed in Kubernetes %d.%d", o, tm.APIVersion, maj, min)
		}
		if maj, min := lc.APILifecycleDeprecated(); maj == 1 && min > 0 && min <= targetMinor {
			return o, fmt.Errorf("%s: apiVersion %s deprecated since Kubernetes %d.%d", o, tm.APIVersion, maj, min)
		}
	}
	o.Obj = obj
	return o, nil
}

// decodeAll splits and strictly decodes a YAML stream; it returns the objects
// that decoded and one error per document that did not.
func decodeAll(data []byte) ([]object, []error) {
	docs, err := splitYAML(data)
	if err != nil {
		return nil, []error{err}
	}
	var objs []object
	var errs []error
	for _, d := range docs {
		o, err := decodeStrict(d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		objs = append(objs, o)
	}
	return objs, errs
}

// renderDecoded renders dir and decodes every document, failing the test on
// any error.
func renderDecoded(t *testing.T, dir string) []object {
	t.Helper()
	out, err := render(dir)
	if err != nil {
		t.Fatal(err)
	}
	objs, errs := decodeAll(out)
	for _, err := range errs {
		t.Errorf("%s: %v", dir, err)
	}
	if len(objs) == 0 {
		t.Fatalf("%s: rendered no objects", dir)
	}
	return objs
}

// readSeed decodes a seed fixture file, returning decoded objects and errors.
func readSeed(t *testing.T, name string) ([]object, []error) {
	t.Helper()
	data, err := os.ReadFile(seedFile(t, name))
	if err != nil {
		t.Fatalf("seed fixture: %v", err)
	}
	return decodeAll(data)
}

// podTemplate returns the pod template of a workload object.
func podTemplate(obj runtime.Object) (*metav1.ObjectMeta, *corev1.PodSpec, bool) {
	switch o := obj.(type) {
	case *appsv1.DaemonSet:
		return &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec, true
	case *appsv1.Deployment:
		return &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec, true
	case *appsv1.StatefulSet:
		return &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec, true
	case *batchv1.Job:
		return &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec, true
	case *corev1.Pod:
		return &o.ObjectMeta, &o.Spec, true
	}
	return nil, nil, false
}

// find returns the objects of one kind.
func find[T runtime.Object](objs []object) []T {
	var out []T
	for _, o := range objs {
		if v, ok := o.Obj.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// joinErrs formats findings for a failure message.
func joinErrs(errs []error) string {
	s := make([]string, len(errs))
	for i, e := range errs {
		s[i] = e.Error()
	}
	return strings.Join(s, "; ")
}
