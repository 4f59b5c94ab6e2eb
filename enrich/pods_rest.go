package enrich

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
)

// podsAPI is what the pod cache asks of the API server: list and watch pods
// (with the options' field selector) and namespaces.
type podsAPI interface {
	listPods(ctx context.Context, o metav1.ListOptions) (runtime.Object, error)
	watchPods(ctx context.Context, o metav1.ListOptions) (watch.Interface, error)
	listNamespaces(ctx context.Context, o metav1.ListOptions) (runtime.Object, error)
	watchNamespaces(ctx context.Context, o metav1.ListOptions) (watch.Interface, error)
}

// coreREST is podsAPI over a REST client of the core/v1 group alone. The
// generated clientset (k8s.io/client-go/kubernetes) would serve too, but it
// links and registers every API group at start-up, which costs the agent
// several MiB of resident memory for two resources. The requests are those
// of the clientset's typed pods and namespaces clients: GET /api/v1/pods and
// /api/v1/namespaces, with the list options as query parameters and
// ?watch=true for watches.
type coreREST struct {
	rc     *rest.RESTClient
	params runtime.ParameterCodec
}

// newCoreREST returns a core/v1 client for rc (copied; JSON, as the
// clientset's default).
func newCoreREST(rc *rest.Config) (*coreREST, error) {
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	metav1.AddToGroupVersion(scheme, corev1.SchemeGroupVersion)
	cfg := rest.CopyConfig(rc)
	cfg.GroupVersion = &corev1.SchemeGroupVersion
	cfg.APIPath = "/api"
	cfg.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	if cfg.UserAgent == "" {
		cfg.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	client, err := rest.RESTClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("core/v1 client: %w", err)
	}
	return &coreREST{rc: client, params: runtime.NewParameterCodec(scheme)}, nil
}

func (c *coreREST) list(ctx context.Context, resource string, o metav1.ListOptions, into runtime.Object) (runtime.Object, error) {
	var timeout time.Duration
	if o.TimeoutSeconds != nil {
		timeout = time.Duration(*o.TimeoutSeconds) * time.Second
	}
	err := c.rc.Get().Resource(resource).VersionedParams(&o, c.params).Timeout(timeout).Do(ctx).Into(into)
	if err != nil {
		return nil, err
	}
	return into, nil
}

func (c *coreREST) watch(ctx context.Context, resource string, o metav1.ListOptions) (watch.Interface, error) {
	var timeout time.Duration
	if o.TimeoutSeconds != nil {
		timeout = time.Duration(*o.TimeoutSeconds) * time.Second
	}
	o.Watch = true
	return c.rc.Get().Resource(resource).VersionedParams(&o, c.params).Timeout(timeout).Watch(ctx)
}

func (c *coreREST) listPods(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
	return c.list(ctx, "pods", o, &corev1.PodList{})
}

func (c *coreREST) watchPods(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
	return c.watch(ctx, "pods", o)
}

func (c *coreREST) listNamespaces(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
	return c.list(ctx, "namespaces", o, &corev1.NamespaceList{})
}

func (c *coreREST) watchNamespaces(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
	return c.watch(ctx, "namespaces", o)
}
