package enrich

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"logship/buffer"
	"logship/internal/kubetest"
)

// apiPod creates a pod bound to node (no kubelet runs: it stays as created)
// and sets its status as a kubelet would: IP and container statuses.
func apiPod(t *testing.T, ctx context.Context, cs kubernetes.Interface, ns, name, node string, labels, annotations map[string]string) *corev1.Pod {
	t.Helper()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels, Annotations: annotations},
		Spec: corev1.PodSpec{
			NodeName:       node,
			InitContainers: []corev1.Container{{Name: "init", Image: "registry.test/init:1"}},
			Containers:     []corev1.Container{{Name: "app", Image: "registry.test/app:1"}},
		},
	}
	p, err := cs.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod %s/%s: %v", ns, name, err)
	}
	started := metav1.NewTime(time.Now().Truncate(time.Second))
	p.Status = corev1.PodStatus{
		Phase:  corev1.PodRunning,
		PodIP:  "10.9.0.7",
		PodIPs: []corev1.PodIP{{IP: "10.9.0.7"}},
		InitContainerStatuses: []corev1.ContainerStatus{{
			Name: "init", Image: "registry.test/init:1", ImageID: "registry.test/init@sha256:11",
			ContainerID: "containerd://init-" + string(p.UID),
			State:       corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, StartedAt: started, FinishedAt: started}},
		}},
		ContainerStatuses: []corev1.ContainerStatus{{
			Name: "app", Image: "registry.test/app:1", ImageID: "registry.test/app@sha256:22",
			ContainerID: "containerd://app-" + string(p.UID), Ready: true,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}},
		}},
	}
	p, err = cs.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update status of %s/%s: %v", ns, name, err)
	}
	return p
}

// kubeOf runs one record of the container's /var/log/pods file through the
// filter and returns its "kubernetes" value.
func kubeOf(k *Kubernetes, ns, pod string, uid types.UID, container string) string {
	r := buffer.Record{Tag: "kubernetes.var.log.pods." + ns + "_" + pod + "_" + string(uid) + "." + container + ".0.log",
		Fields: buffer.Fields{{Key: "log", Value: buffer.Str([]byte("line"))}}}
	k.Apply(&r)
	v, _ := r.Fields.Get("kubernetes")
	return string(v.Bytes)
}

// TestPodCache_APIServer runs the cache against a real kube-apiserver and
// etcd (internal/kubetest): records get the pod's and namespace's metadata,
// changes arrive, a deleted pod keeps its metadata for the grace period, a
// same-name pod gets its own entry, and an API server outage neither blocks
// lookups nor stops metadata from resuming.
func TestPodCache_APIServer(t *testing.T) {
	cl := kubetest.Start(t)
	cs := cl.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: "shop", Labels: map[string]string{"env": "prod"}, Annotations: map[string]string{"team": "payments", "note": "x"},
	}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	web := apiPod(t, ctx, cs, "shop", "web-0", "node-a", map[string]string{"app": "web", "app.kubernetes.io/name": "web"}, map[string]string{"team": "storefront", "other": "y"})
	other := apiPod(t, ctx, cs, "shop", "db-0", "node-b", map[string]string{"app": "db"}, nil)
	nsObj, err := cs.CoreV1().Namespaces().Get(ctx, "shop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// The plugin's own options: kubernetes_url, bearer_token_file, ca_file.
	clientCfg := ClientConfig{URL: cl.URL + "/api", BearerTokenFile: cl.TokenFile, CAFile: cl.CAFile, SecretDir: t.TempDir()}
	rc, err := clientCfg.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	rc.Wrap(func(rt http.RoundTripper) http.RoundTripper { return urlLogger{t, rt} })
	core, logs := observer.New(zapcore.InfoLevel)
	pc, err := NewPodCache(PodsConfig{NodeName: "node-a", DeleteGrace: 3 * time.Second}, rc, prometheus.NewRegistry(), zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	runCache(t, ctx, pc)
	waitSynced(t, pc, 60*time.Second)
	k, err := NewKubernetes(KubernetesConfig{NodeName: "node-a", MasterURL: clientCfg.MasterURL(), AnnotationMatch: []string{"^team$"}}, pc, nil)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("records carry the metadata", func(t *testing.T) {
		want := fmt.Sprintf(`{"container_name":"app","namespace_name":"shop","pod_name":"web-0","container_image":"registry.test/app:1","container_image_id":"registry.test/app@sha256:22","pod_id":"%s","pod_ip":"10.9.0.7","host":"node-a","labels":{"app":"web","app.kubernetes.io/name":"web"},"annotations":{"team":"storefront"},"master_url":"%s/api","namespace_id":"%s","namespace_labels":{"env":"prod","kubernetes.io/metadata.name":"shop"},"namespace_annotations":{"team":"payments"}}`,
			web.UID, cl.URL, nsObj.UID)
		if got := kubeOf(k, "shop", "web-0", web.UID, "app"); got != want {
			t.Fatalf("kubernetes=%s\nwant       %s", got, want)
		}
		r := buffer.Record{Tag: "kubernetes.var.log.pods.shop_web-0_" + string(web.UID) + ".init.0.log"}
		k.Apply(&r)
		if d, _ := r.Fields.Get("docker"); string(d.Bytes) != `{"container_id":"init-`+string(web.UID)+`"}` {
			t.Fatalf("init container docker=%s", d.Bytes)
		}
		if _, ok := pc.Pod(string(other.UID), "shop", "db-0"); ok {
			t.Fatal("a pod of another node is in the cache")
		}
	})

	t.Run("client options", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			cfg  ClientConfig
		}{
			{"kubeconfig", ClientConfig{Kubeconfig: cl.Kubeconfig()}},
			{"client_cert and client_key", ClientConfig{URL: cl.URL, CAFile: cl.CAFile, ClientCert: cl.ClientCert, ClientKey: cl.ClientKey, SecretDir: t.TempDir()}},
			{"verify_ssl false", ClientConfig{URL: cl.URL + "/api", BearerTokenFile: cl.TokenFile, InsecureSkipVerify: true, SecretDir: t.TempDir()}},
			{"in cluster (secret_dir, KUBERNETES_SERVICE_*)", ClientConfig{SecretDir: secretDir(t, cl), Getenv: func(k string) string {
				return map[string]string{"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": strings.TrimPrefix(cl.URL, "https://127.0.0.1:")}[k]
			}}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				rc, err := tc.cfg.RESTConfig()
				if err != nil {
					t.Fatal(err)
				}
				list, err := kubernetes.NewForConfigOrDie(rc).CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=node-a", ResourceVersion: "0"})
				if err != nil {
					t.Fatalf("list pods: %v", err)
				}
				if len(list.Items) != 1 || list.Items[0].UID != web.UID {
					t.Fatalf("listed %d pods, want web-0", len(list.Items))
				}
			})
		}
	})

	t.Run("label changes arrive", func(t *testing.T) {
		patch := []byte(`{"metadata":{"labels":{"version":"2"}}}`)
		if _, err := cs.CoreV1().Pods("shop").Patch(ctx, "web-0", types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		nsPatch := []byte(`{"metadata":{"labels":{"env":"staging"}}}`)
		if _, err := cs.CoreV1().Namespaces().Patch(ctx, "shop", types.StrategicMergePatchType, nsPatch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "new labels in records", func() bool {
			got := kubeOf(k, "shop", "web-0", web.UID, "app")
			return strings.Contains(got, `"labels":{"app":"web","app.kubernetes.io/name":"web","version":"2"}`) &&
				strings.Contains(got, `"namespace_labels":{"env":"staging","kubernetes.io/metadata.name":"shop"}`)
		})
	})

	t.Run("deleted pod keeps its metadata for the grace period", func(t *testing.T) {
		old := apiPod(t, ctx, cs, "shop", "job-1", "node-a", map[string]string{"app": "job", "gen": "1"}, nil)
		waitFor(t, "job-1 in the cache", func() bool { _, ok := pc.Pod(string(old.UID), "", ""); return ok })
		zero := int64(0)
		deletedAt := time.Now() // no later than the cache's deletion time
		if err := cs.CoreV1().Pods("shop").Delete(ctx, "job-1", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "delete event", func() bool { _, deleted := pc.Len(); return deleted >= 1 })
		if got := kubeOf(k, "shop", "job-1", old.UID, "app"); !strings.Contains(got, `"gen":"1"`) {
			t.Fatalf("last line of a deleted pod: kubernetes=%s, want its labels", got)
		}

		// Recreated under the same name (a StatefulSet or Job retry).
		cur := apiPod(t, ctx, cs, "shop", "job-1", "node-a", map[string]string{"app": "job", "gen": "2"}, nil)
		waitFor(t, "recreated job-1", func() bool { _, ok := pc.Pod(string(cur.UID), "", ""); return ok })
		if p, ok := pc.Pod(string(old.UID), "shop", "job-1"); time.Since(deletedAt) < 3*time.Second && (!ok || p.UID != string(old.UID)) {
			t.Fatalf("old UID during grace: %+v,%v, want the old pod", p, ok)
		}
		if p, _ := pc.Pod("", "shop", "job-1"); p.UID != string(cur.UID) {
			t.Fatalf("by name: uid %s, want the live pod %s", p.UID, cur.UID)
		}
		waitFor(t, "expiry of the deleted pod", func() bool { _, ok := pc.Pod(string(old.UID), "", ""); return !ok })
		if time.Since(deletedAt) < 3*time.Second {
			t.Fatalf("deleted pod expired after %v, before the 3s grace", time.Since(deletedAt))
		}
		if p, ok := pc.Pod("", "shop", "job-1"); !ok || p.UID != string(cur.UID) {
			t.Fatalf("after expiry by name: %+v,%v, want the live pod", p, ok)
		}
	})

	t.Run("API server outage", func(t *testing.T) {
		before := logs.Len()
		cl.Stop()
		waitFor(t, "unreachable", func() bool { return !pc.Reachable() })
		// Lookups answer from memory while the API is down.
		start := time.Now()
		for range 1000 {
			if _, ok := pc.Pod(string(web.UID), "", ""); !ok {
				t.Fatal("cached pod lost while the API server is down")
			}
			kubeOf(k, "shop", "web-0", web.UID, "app")
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("1000 lookups took %v while the API server was down", d)
		}
		// A pod the cache does not know gets path metadata, at once.
		if got := kubeOf(k, "shop", "new-0", "0000-unknown", "app"); got != `{"container_name":"app","namespace_name":"shop","pod_name":"new-0","pod_id":"0000-unknown","host":"node-a","master_url":"`+cl.URL+`/api"}` {
			t.Fatalf("unknown pod during outage: %s", got)
		}

		cl.Restart()
		fresh := apiPod(t, ctx, cl.Client(), "shop", "after-0", "node-a", map[string]string{"app": "after"}, nil)
		// The reflector's backoff (0.8 s doubling to 30 s, jittered) decides
		// when it comes back.
		waitForWithin(t, "pod created after the restart", 90*time.Second, func() bool {
			return strings.Contains(kubeOf(k, "shop", "after-0", fresh.UID, "app"), `"labels":{"app":"after"}`)
		})
		if !pc.Reachable() {
			t.Fatal("not reachable after the restart")
		}
		var lines []string
		for _, e := range logs.All()[before:] {
			if strings.HasPrefix(e.LoggerName, "client-go") {
				continue
			}
			lines = append(lines, e.Level.String()+" "+e.Message)
		}
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "warn kubernetes API server unreachable") || !strings.HasPrefix(lines[1], "info kubernetes API server reachable again") {
			t.Fatalf("log lines during the outage: %q, want one warning and one recovery", lines)
		}
	})

	reqs := pc.Requests()
	t.Logf("API requests of the whole test: %v", reqs)
	for key, n := range reqs {
		if key.Verb != "list" && key.Verb != "watch" {
			t.Errorf("%d %s requests for %s: the cache should only list and watch", n, key.Verb, key.Resource)
		}
	}
}

type urlLogger struct {
	t  *testing.T
	rt http.RoundTripper
}

func (u urlLogger) RoundTrip(r *http.Request) (*http.Response, error) {
	u.t.Logf("%s %s %s", time.Now().Format("15:04:05.000"), r.Method, r.URL.RequestURI())
	return u.rt.RoundTrip(r)
}

// secretDir lays out a service-account directory (token, ca.crt) as the
// kubelet mounts it, with the admin token.
func secretDir(t *testing.T, cl *kubetest.Cluster) string {
	dir := t.TempDir()
	for name, src := range map[string]string{"token": cl.TokenFile, "ca.crt": cl.CAFile} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
