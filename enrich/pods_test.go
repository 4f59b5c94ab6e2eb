package enrich

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	"logship/buffer"
	"logship/internal/testclock"
)

func newTestCache(t testing.TB, cfg PodsConfig) (*PodCache, *testclock.Clock) {
	t.Helper()
	clk := testclock.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	if cfg.NodeName == "" {
		cfg.NodeName = "node-a"
	}
	cfg.Now = clk.Now
	c, err := newPodCacheForClient(cfg, clientsetPods{fake.NewClientset()}, prometheus.NewRegistry(), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	return c, clk
}

func testPod(ns, name, uid string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(uid), Labels: labels},
		Spec:       corev1.PodSpec{NodeName: "node-a", Containers: []corev1.Container{{Name: "app", Image: "app:1"}}},
		Status: corev1.PodStatus{PodIP: "10.1.0.9", ContainerStatuses: []corev1.ContainerStatus{
			{Name: "app", Image: "app:1", ImageID: "sha256:aa", ContainerID: "containerd://c1"},
		}},
	}
}

func TestConvertPod(t *testing.T) {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "shop", Name: "web-0", UID: "u-1",
			Labels:      map[string]string{"z": "1", "app.kubernetes.io/name": "web", "a": "2"},
			Annotations: map[string]string{"team": "x", "b": "y"},
		},
		Spec: corev1.PodSpec{NodeName: "node-a"},
		Status: corev1.PodStatus{
			PodIP: "10.1.2.3",
			ContainerStatuses: []corev1.ContainerStatus{
				{Name: "web", Image: "nginx:1.27", ImageID: "docker.io/library/nginx@sha256:abc", ContainerID: "containerd://0123"},
				{Name: "side", Image: "busybox", ImageID: "sha256:def", ContainerID: "cri-o://4567"},
			},
			InitContainerStatuses:      []corev1.ContainerStatus{{Name: "init", Image: "alpine", ImageID: "sha256:i", ContainerID: "docker://89ab"}},
			EphemeralContainerStatuses: []corev1.ContainerStatus{{Name: "debug", Image: "debug:1"}},
		},
	}
	want := &Pod{
		UID: "u-1", Name: "web-0", Namespace: "shop", IP: "10.1.2.3", NodeName: "node-a",
		Labels:      []KV{{"a", "2"}, {"app.kubernetes.io/name", "web"}, {"z", "1"}},
		Annotations: []KV{{"b", "y"}, {"team", "x"}},
		Containers: []Container{
			{Name: "web", Image: "nginx:1.27", ImageID: "docker.io/library/nginx@sha256:abc", ID: "0123"},
			{Name: "side", Image: "busybox", ImageID: "sha256:def", ID: "4567"},
			{Name: "init", Image: "alpine", ImageID: "sha256:i", ID: "89ab"},
			{Name: "debug", Image: "debug:1"},
		},
	}
	if got := convertPod(p); !samePod(got, want) {
		t.Fatalf("convertPod=%+v\nwant       %+v", got, want)
	}
	if got := convertPod(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "bare"}}); got.Labels != nil || got.Containers != nil {
		t.Fatalf("bare pod: %+v, want no labels or containers", got)
	}
}

func TestPodCache_NoNodeName(t *testing.T) {
	_, err := newPodCacheForClient(PodsConfig{}, clientsetPods{fake.NewClientset()}, nil, nil)
	if !errors.Is(err, ErrNoNodeName) {
		t.Fatalf("err=%v, want ErrNoNodeName", err)
	}
}

func TestPodCache_Lookup(t *testing.T) {
	c, _ := newTestCache(t, PodsConfig{})
	s := podStore{c}
	s.Add(testPod("shop", "web-0", "u-1", map[string]string{"app": "web"}))
	tests := []struct {
		name           string
		uid, ns, pod   string
		wantOK         bool
		wantUID, label string
	}{
		{"by uid", "u-1", "shop", "web-0", true, "u-1", "web"},
		{"by uid, other name in path", "u-1", "", "", true, "u-1", "web"},
		{"by name", "", "shop", "web-0", true, "u-1", "web"},
		{"unknown uid never falls back to the name", "u-9", "shop", "web-0", false, "", ""},
		{"unknown name", "", "shop", "web-1", false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := c.Pod(tt.uid, tt.ns, tt.pod)
			if ok != tt.wantOK {
				t.Fatalf("ok=%v, want %v", ok, tt.wantOK)
			}
			if ok && (p.UID != tt.wantUID || p.Labels[0].Value != tt.label) {
				t.Fatalf("pod=%+v, want uid %s label %s", p, tt.wantUID, tt.label)
			}
		})
	}
}

func TestPodCache_DeleteGrace(t *testing.T) {
	tests := []struct {
		name      string
		grace     time.Duration
		after     time.Duration
		wantFound bool
	}{
		{"default grace, just before", 0, DefaultDeleteGrace - time.Second, true},
		{"default grace, at expiry", 0, DefaultDeleteGrace, false},
		{"configured grace, before", 5 * time.Minute, 4 * time.Minute, true},
		{"configured grace, after", 5 * time.Minute, 5*time.Minute + time.Second, false},
		{"negative grace removes at once", -1, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, clk := newTestCache(t, PodsConfig{DeleteGrace: tt.grace})
			s := podStore{c}
			p := testPod("shop", "web-0", "u-1", map[string]string{"app": "web"})
			s.Add(p)
			before, _ := c.Pod("u-1", "", "")
			s.Delete(p)
			clk.Advance(tt.after)
			c.Sweep()
			got, ok := c.Pod("u-1", "", "")
			if ok != tt.wantFound {
				t.Fatalf("found=%v after %v, want %v", ok, tt.after, tt.wantFound)
			}
			if ok && got != before {
				t.Fatal("deleting republished the pod: cached encodings would be redone")
			}
			if _, ok := c.Pod("", "shop", "web-0"); ok != tt.wantFound {
				t.Fatalf("by name found=%v, want %v", ok, tt.wantFound)
			}
		})
	}
}

// TestPodCache_SameNameRecreated: a StatefulSet pod deleted and recreated
// under its name. The old UID keeps the old metadata during the grace period,
// the name finds the live pod, and the old entry's expiry does not remove
// the new one — whatever order the events come in.
func TestPodCache_SameNameRecreated(t *testing.T) {
	orders := []struct {
		name string
		ops  func(s podStore, old, cur *corev1.Pod)
	}{
		{"delete then add", func(s podStore, old, cur *corev1.Pod) { s.Delete(old); s.Add(cur) }},
		{"add then delete", func(s podStore, old, cur *corev1.Pod) { s.Add(cur); s.Delete(old) }},
		{"relist without the old", func(s podStore, old, cur *corev1.Pod) { s.Replace([]any{cur}, "9") }},
	}
	for _, o := range orders {
		t.Run(o.name, func(t *testing.T) {
			c, clk := newTestCache(t, PodsConfig{})
			s := podStore{c}
			old := testPod("db", "pg-0", "old-uid", map[string]string{"gen": "1"})
			cur := testPod("db", "pg-0", "new-uid", map[string]string{"gen": "2"})
			s.Add(old)
			o.ops(s, old, cur)

			check := func(uid, ns, name, wantGen string) {
				t.Helper()
				p, ok := c.Pod(uid, ns, name)
				if wantGen == "" {
					if ok {
						t.Fatalf("Pod(%q,%q,%q) found %s, want miss", uid, ns, name, p.UID)
					}
					return
				}
				if !ok || p.Labels[0].Value != wantGen {
					t.Fatalf("Pod(%q,%q,%q)=%+v,%v, want gen %s", uid, ns, name, p, ok, wantGen)
				}
			}
			check("old-uid", "db", "pg-0", "1")
			check("new-uid", "db", "pg-0", "2")
			check("", "db", "pg-0", "2")
			if live, deleted := c.Len(); live != 1 || deleted != 1 {
				t.Fatalf("Len=%d,%d, want 1 live 1 deleted", live, deleted)
			}
			clk.Advance(DefaultDeleteGrace)
			if n := c.Sweep(); n != 1 {
				t.Fatalf("Sweep removed %d, want 1", n)
			}
			check("old-uid", "db", "pg-0", "")
			check("new-uid", "db", "pg-0", "2")
			check("", "db", "pg-0", "2")
		})
	}
}

func TestPodCache_Updates(t *testing.T) {
	c, _ := newTestCache(t, PodsConfig{})
	s, ns := podStore{c}, nsStore{c}
	p := testPod("shop", "web-0", "u-1", map[string]string{"app": "web"})
	s.Add(p)
	p0, _ := c.Pod("u-1", "", "")
	if p0.NamespaceUID != "" {
		t.Fatalf("namespace metadata before the namespace is known: %+v", p0)
	}

	steps := []struct {
		name    string
		do      func()
		changed bool
		check   func(p *Pod) bool
	}{
		{"namespace arrives", func() {
			ns.Add(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", UID: "ns-uid", Labels: map[string]string{"env": "prod"}, Annotations: map[string]string{"owner": "t"}}})
		}, true, func(p *Pod) bool {
			return p.NamespaceUID == "ns-uid" && slices.Equal(p.NamespaceLabels, []KV{{"env", "prod"}}) &&
				slices.Equal(p.NamespaceAnnotations, []KV{{"owner", "t"}}) && p.Labels[0].Value == "web"
		}},
		{"unrelated namespace", func() {
			ns.Add(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "other", UID: "o"}})
		}, false, nil},
		{"status change we do not publish", func() {
			q := p.DeepCopy()
			q.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
			s.Update(q)
		}, false, nil},
		{"label change", func() {
			q := p.DeepCopy()
			q.Labels["version"] = "2"
			s.Update(q)
		}, true, func(p *Pod) bool {
			return slices.Equal(p.Labels, []KV{{"app", "web"}, {"version", "2"}}) && p.NamespaceUID == "ns-uid"
		}},
		{"namespace label change", func() {
			ns.Update(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", UID: "ns-uid", Labels: map[string]string{"env": "staging"}}})
		}, true, func(p *Pod) bool {
			return slices.Equal(p.NamespaceLabels, []KV{{"env", "staging"}}) && p.NamespaceAnnotations == nil && len(p.Labels) == 2
		}},
		{"container restarted", func() {
			q := p.DeepCopy()
			q.Labels["version"] = "2"
			q.Status.ContainerStatuses[0].ContainerID = "containerd://c2"
			s.Update(q)
		}, true, func(p *Pod) bool { return p.Containers[0].ID == "c2" }},
		{"namespace deleted: pods keep what they carry", func() {
			ns.Delete(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", UID: "ns-uid"}})
		}, false, nil},
	}
	prev := p0
	for _, st := range steps {
		st.do()
		got, ok := c.Pod("u-1", "", "")
		if !ok {
			t.Fatalf("%s: pod gone", st.name)
		}
		if (got != prev) != st.changed {
			t.Fatalf("%s: new *Pod=%v, want %v", st.name, got != prev, st.changed)
		}
		if st.check != nil && !st.check(got) {
			t.Fatalf("%s: pod=%+v", st.name, got)
		}
		prev = got
	}
}

func TestPodCache_ReplaceNamespaces(t *testing.T) {
	c, _ := newTestCache(t, PodsConfig{})
	podStore{c}.Add(testPod("a", "p", "u", nil))
	nsStore{c}.Replace([]any{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a", UID: "a-uid"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "b", UID: "b-uid"}},
	}, "1")
	if p, _ := c.Pod("u", "", ""); p.NamespaceUID != "a-uid" {
		t.Fatalf("namespace_id=%q, want a-uid", p.NamespaceUID)
	}
	select {
	case <-c.Synced():
		t.Fatal("synced before the pods were listed")
	default:
	}
	podStore{c}.Replace([]any{testPod("a", "p", "u", nil)}, "2")
	select {
	case <-c.Synced():
	default:
		t.Fatal("not synced after both lists")
	}
	nsStore{c}.Replace([]any{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "b", UID: "b-uid"}}}, "3")
	c.mu.RLock()
	_, hasA := c.ns["a"]
	c.mu.RUnlock()
	if hasA {
		t.Fatal("namespace a still known after a list without it")
	}
}

// TestPodCache_FakeClientset runs the informers against client-go's fake
// clientset: the initial list, watch updates and deletes reach lookups and
// the kubernetes_metadata filter's records.
func TestPodCache_FakeClientset(t *testing.T) {
	client := fake.NewClientset(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", UID: "ns-uid", Labels: map[string]string{"env": "prod"}}},
		testPod("shop", "web-0", "u-1", map[string]string{"app": "web"}),
	)
	reg := prometheus.NewRegistry()
	c, err := newPodCacheForClient(PodsConfig{NodeName: "node-a"}, clientsetPods{client}, reg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	runCache(t, ctx, c)
	waitSynced(t, c, 10*time.Second)

	k, err := NewKubernetes(KubernetesConfig{NodeName: "node-a"}, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	tag := "kubernetes.var.log.pods.shop_web-0_u-1.app.0.log"
	kube := func() string {
		r := buffer.Record{Tag: tag, Fields: buffer.Fields{{Key: "log", Value: buffer.Str([]byte("x"))}}}
		k.Apply(&r)
		v, _ := r.Fields.Get("kubernetes")
		return string(v.Bytes)
	}
	want := `{"container_name":"app","namespace_name":"shop","pod_name":"web-0","container_image":"app:1","container_image_id":"sha256:aa","pod_id":"u-1","pod_ip":"10.1.0.9","host":"node-a","labels":{"app":"web"},"namespace_id":"ns-uid","namespace_labels":{"env":"prod"}}`
	if got := kube(); got != want {
		t.Fatalf("kubernetes=%s\nwant       %s", got, want)
	}

	// The pod list and watch are field-selected on the node.
	// The informer's watch starts after the list that marks it synced, so
	// wait for it rather than read the actions once.
	var selectors []string
	podRequests := func() []string {
		var sel []string
		for _, a := range client.Actions() {
			if a.GetResource().Resource == "pods" {
				if lw, ok := a.(k8stesting.ListAction); ok {
					sel = append(sel, a.GetVerb()+" "+lw.GetListRestrictions().Fields.String())
				}
				if w, ok := a.(k8stesting.WatchAction); ok {
					sel = append(sel, a.GetVerb()+" "+w.GetWatchRestrictions().Fields.String())
				}
			}
		}
		return sel
	}
	deadline := time.Now().Add(10 * time.Second)
	for selectors = podRequests(); !slices.Contains(selectors, "watch spec.nodeName=node-a") && time.Now().Before(deadline); selectors = podRequests() {
		time.Sleep(10 * time.Millisecond)
	}
	if !slices.Contains(selectors, "list spec.nodeName=node-a") || !slices.Contains(selectors, "watch spec.nodeName=node-a") {
		t.Fatalf("pod requests %q, want list and watch with spec.nodeName=node-a", selectors)
	}

	p := testPod("shop", "web-0", "u-1", map[string]string{"app": "web", "version": "2"})
	if _, err := client.CoreV1().Pods("shop").Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "label update", func() bool { p, _ := c.Pod("u-1", "", ""); return len(p.Labels) == 2 })
	want2 := `"labels":{"app":"web","version":"2"}`
	if got := kube(); !strings.Contains(got, want2) {
		t.Fatalf("kubernetes=%s, want %s", got, want2)
	}

	if err := client.CoreV1().Pods("shop").Delete(ctx, "web-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "delete", func() bool { _, deleted := c.Len(); return deleted == 1 })
	if got := kube(); !strings.Contains(got, want2) {
		t.Fatalf("kubernetes after delete=%s, want metadata kept", got)
	}
	if got := metricValue(c.metrics.pods.WithLabelValues("deleted")); got != 1 {
		t.Fatalf("logship_kubernetes_pods{state=deleted}=%v, want 1", got)
	}
}

// waitFor polls cond for up to 20 s (the informer goroutines deliver
// asynchronously).
// runCache runs c in the background until the test ends (or ctx is
// cancelled), then reports an error Run returned.
func runCache(tb testing.TB, ctx context.Context, c *PodCache) {
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx) }()
	tb.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			tb.Errorf("Run: %v", err)
		}
	})
}

// waitSynced fails tb unless c has synced within d.
func waitSynced(tb testing.TB, c *PodCache, d time.Duration) {
	tb.Helper()
	select {
	case <-c.Synced():
	case <-time.After(d):
		tb.Fatalf("not synced within %v", d)
	}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	waitForWithin(t, what, 20*time.Second, cond)
}

func waitForWithin(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not seen within %v", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAPIHealth_LogsOnce(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	m, err := newPodMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	h := &apiHealth{log: zap.New(core), metrics: m}
	h.ok()
	h.failed(errors.New("connection refused"))
	h.failed(errors.New("connection refused"))
	h.failed(errors.New("503"))
	if h.reachable() || metricValue(m.reachable) != 0 {
		t.Fatal("reachable after failures")
	}
	h.ok()
	h.ok()
	var msgs []string
	for _, e := range logs.All() {
		msgs = append(msgs, e.Level.String()+": "+e.Message)
	}
	if len(msgs) != 2 || logs.All()[0].Level != zapcore.WarnLevel || logs.All()[1].Level != zapcore.InfoLevel {
		t.Fatalf("logs=%q, want one warning and one recovery line", msgs)
	}
	if got := metricValue(m.failures); got != 3 {
		t.Fatalf("failures=%v, want 3", got)
	}
	if !h.reachable() || metricValue(m.reachable) != 1 {
		t.Fatal("not reachable after recovery")
	}
}

func TestClassifyRequest(t *testing.T) {
	tests := []struct {
		method, url string
		want        RequestKey
	}{
		{"GET", "/api/v1/pods?fieldSelector=spec.nodeName%3Dn&resourceVersion=0", RequestKey{"list", "pods"}},
		{"GET", "/api/v1/pods?watch=true&resourceVersion=12", RequestKey{"watch", "pods"}},
		{"GET", "/api/v1/namespaces?watch=1", RequestKey{"watch", "namespaces"}},
		{"GET", "/api/v1/namespaces", RequestKey{"list", "namespaces"}},
		{"GET", "/api/v1/namespaces/shop", RequestKey{"get", "namespaces"}},
		{"GET", "/api/v1/namespaces/shop/pods", RequestKey{"list", "pods"}},
		{"GET", "/api/v1/namespaces/shop/pods/web-0", RequestKey{"get", "pods"}},
		{"PUT", "/api/v1/namespaces/shop/pods/web-0/status", RequestKey{"update", "pods"}},
		{"GET", "/apis/apps/v1/namespaces/shop/daemonsets", RequestKey{"list", "daemonsets"}},
		{"POST", "/apis/apps/v1/namespaces/shop/daemonsets", RequestKey{"create", "daemonsets"}},
		{"GET", "/version", RequestKey{Verb: "other"}},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(tt.method, tt.url, nil)
		if got := classifyRequest(req); got != tt.want {
			t.Errorf("%s %s: %+v, want %+v", tt.method, tt.url, got, tt.want)
		}
	}
}

func TestCountingTransport(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) }))
	defer srv.Close()
	c, _ := newTestCache(t, PodsConfig{})
	hc := &http.Client{Transport: c.wrapTransport(http.DefaultTransport)}
	get := func(path string) {
		resp, err := hc.Get(srv.URL + path)
		if err == nil {
			resp.Body.Close()
		}
	}
	get("/api/v1/pods?resourceVersion=0")
	get("/api/v1/pods?watch=true")
	if !c.Reachable() {
		t.Fatal("unreachable after 200s")
	}
	status = http.StatusServiceUnavailable
	get("/api/v1/pods?watch=true")
	if c.Reachable() {
		t.Fatal("reachable after a 503")
	}
	status = http.StatusOK
	get("/api/v1/namespaces?watch=true")
	srv.Close()
	get("/api/v1/pods?watch=true") // connection refused
	if c.Reachable() {
		t.Fatal("reachable after connection refused")
	}
	want := map[RequestKey]int64{{"list", "pods"}: 1, {"watch", "pods"}: 3, {"watch", "namespaces"}: 1}
	if got := c.Requests(); !mapsEqual(got, want) {
		t.Fatalf("Requests=%v, want %v", got, want)
	}
	if got := metricValue(c.metrics.requests.WithLabelValues("watch", "pods")); got != 3 {
		t.Fatalf("requests_total{watch,pods}=%v, want 3", got)
	}
}

func mapsEqual(a, b map[RequestKey]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestClientConfig_RESTConfig(t *testing.T) {
	secrets := t.TempDir()
	os.WriteFile(filepath.Join(secrets, "token"), []byte("tok"), 0o600)
	os.WriteFile(filepath.Join(secrets, "ca.crt"), []byte("ca"), 0o600)
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	inCluster := env(map[string]string{"KUBERNETES_SERVICE_HOST": "10.100.0.1", "KUBERNETES_SERVICE_PORT": "443"})
	tests := []struct {
		name                              string
		cfg                               ClientConfig
		wantHost, wantToken, wantCA, want string
		wantInsecure                      bool
		wantCert, wantKey                 string
		wantErr                           error
	}{
		{name: "in cluster", cfg: ClientConfig{SecretDir: secrets, Getenv: inCluster},
			wantHost: "https://10.100.0.1:443", wantToken: filepath.Join(secrets, "token"), wantCA: filepath.Join(secrets, "ca.crt"),
			want: "https://10.100.0.1:443/api"},
		{name: "ipv6 in cluster", cfg: ClientConfig{SecretDir: t.TempDir(), Getenv: env(map[string]string{"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"})},
			wantHost: "https://[fd00::1]:443", want: "https://[fd00::1]:443/api"},
		{name: "kubernetes_url with /api and plugin options", cfg: ClientConfig{
			URL: "https://k8s.example:6443/api/", BearerTokenFile: "/t", CAFile: "/ca", SecretDir: secrets, Getenv: inCluster},
			wantHost: "https://k8s.example:6443", wantToken: "/t", wantCA: "/ca", want: "https://k8s.example:6443/api/"},
		{name: "client certificate, verify_ssl false", cfg: ClientConfig{
			URL: "https://k8s.example", ClientCert: "/c", ClientKey: "/k", InsecureSkipVerify: true, SecretDir: secrets},
			wantHost: "https://k8s.example", wantCert: "/c", wantKey: "/k", wantInsecure: true, want: "https://k8s.example"},
		{name: "nothing", cfg: ClientConfig{SecretDir: secrets, Getenv: env(nil)}, wantErr: ErrNoAPIServer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, err := tt.cfg.RESTConfig()
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err=%v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if rc.Host != tt.wantHost || rc.BearerTokenFile != tt.wantToken || rc.CAFile != tt.wantCA ||
				rc.Insecure != tt.wantInsecure || rc.CertFile != tt.wantCert || rc.KeyFile != tt.wantKey {
				t.Fatalf("config host=%q token=%q ca=%q insecure=%v cert=%q key=%q", rc.Host, rc.BearerTokenFile, rc.CAFile, rc.Insecure, rc.CertFile, rc.KeyFile)
			}
			if got := tt.cfg.MasterURL(); got != tt.want {
				t.Fatalf("MasterURL=%q, want %q", got, tt.want)
			}
		})
	}
}

// metricValue reads a gauge's or counter's value.
func metricValue(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	if m.Gauge != nil {
		return m.Gauge.GetValue()
	}
	return m.Counter.GetValue()
}

// TestPodCache_UnreachableAtStart: with no API server listening, lookups
// miss at once, the cache reports itself unreachable with one log line, and
// the reflector keeps retrying.
func TestPodCache_UnreachableAtStart(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // nothing listens there now
	core, logs := observer.New(zapcore.InfoLevel)
	c, err := NewPodCache(PodsConfig{NodeName: "node-a"}, &rest.Config{Host: addr}, prometheus.NewRegistry(), zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	runCache(t, context.Background(), c)
	waitFor(t, "unreachable", func() bool { return !c.Reachable() })
	start := time.Now()
	if _, ok := c.Pod("u-1", "shop", "web-0"); ok {
		t.Fatal("lookup hit with no API server")
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Fatalf("lookup took %v", d)
	}
	waitFor(t, "retries", func() bool { return c.Requests()[RequestKey{"list", "pods"}] >= 2 })
	if n := logs.FilterLevelExact(zapcore.WarnLevel).Len(); n != 1 {
		t.Fatalf("%d warnings, want 1 for the whole outage", n)
	}
	select {
	case <-c.Synced():
		t.Fatal("synced without an API server")
	default:
	}
	if got := metricValue(c.metrics.reachable); got != 0 {
		t.Fatalf("logship_kubernetes_api_reachable=%v, want 0", got)
	}
}
