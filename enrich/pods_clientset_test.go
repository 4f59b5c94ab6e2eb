package enrich

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// clientsetPods is podsAPI over a clientset (the fake one in unit tests).
type clientsetPods struct{ cs kubernetes.Interface }

func (c clientsetPods) listPods(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
	return c.cs.CoreV1().Pods(metav1.NamespaceAll).List(ctx, o)
}

func (c clientsetPods) watchPods(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
	return c.cs.CoreV1().Pods(metav1.NamespaceAll).Watch(ctx, o)
}

func (c clientsetPods) listNamespaces(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
	return c.cs.CoreV1().Namespaces().List(ctx, o)
}

func (c clientsetPods) watchNamespaces(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
	return c.cs.CoreV1().Namespaces().Watch(ctx, o)
}
