package kubetest

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

func TestCluster(t *testing.T) {
	c := Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	v, err := c.Client().Discovery().ServerVersion()
	if err != nil {
		t.Fatalf("server version: %v", err)
	}
	if v.GitVersion != Version {
		t.Errorf("server version = %q, want %q", v.GitVersion, Version)
	}

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kubetest", Labels: map[string]string{"a": "b"}}}
	if _, err := c.Client().CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace: %v", err)
	}

	kc, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig())
	if err != nil {
		t.Fatalf("kubeconfig: %v", err)
	}
	certCfg := &rest.Config{Host: c.URL, TLSClientConfig: rest.TLSClientConfig{CAFile: c.CAFile, CertFile: c.ClientCert, KeyFile: c.ClientKey}}
	tokenFileCfg := &rest.Config{Host: c.URL, BearerTokenFile: c.TokenFile, TLSClientConfig: rest.TLSClientConfig{CAFile: c.CAFile}}
	for _, tc := range []struct {
		name string
		cfg  *rest.Config
	}{
		{"token", c.Config()},
		{"kubeconfig", kc},
		{"client-cert", certCfg},
		{"token-file", tokenFileCfg},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := kubernetes.NewForConfigOrDie(tc.cfg)
			got, err := cs.CoreV1().Namespaces().Get(ctx, "kubetest", metav1.GetOptions{})
			if err != nil {
				t.Fatalf("get namespace: %v", err)
			}
			if got.Labels["a"] != "b" {
				t.Errorf("labels = %v, want a=b", got.Labels)
			}
		})
	}

	t.Run("rbac", func(t *testing.T) {
		anon := kubernetes.NewForConfigOrDie(&rest.Config{Host: c.URL, TLSClientConfig: rest.TLSClientConfig{CAFile: c.CAFile}})
		_, err := anon.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		if !apierrors.IsForbidden(err) {
			t.Errorf("anonymous list pods: err = %v, want forbidden", err)
		}
	})

	t.Run("restart", func(t *testing.T) {
		c.Stop()
		short, cancelShort := context.WithTimeout(ctx, 3*time.Second)
		_, err := c.Client().CoreV1().Namespaces().Get(short, "kubetest", metav1.GetOptions{})
		cancelShort()
		if err == nil {
			t.Fatalf("get after Stop: no error")
		}
		c.Restart()
		got, err := c.Client().CoreV1().Namespaces().Get(ctx, "kubetest", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get after Restart: %v", err)
		}
		if got.Labels["a"] != "b" {
			t.Errorf("labels after restart = %v, want a=b (etcd data kept)", got.Labels)
		}
	})
}
