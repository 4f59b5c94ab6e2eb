package enrich

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"logship/buffer"
	"logship/internal/kubetest"
)

// BenchmarkPodCache_Apply is the per-line cost of the kubernetes_metadata
// filter with a PodCache of 500 pods on the node: batches of 100 lines per
// container, as the tailer hands them over, so the per-container encoding is
// reused and each line costs a tag compare, a cache lookup and two field sets.
func BenchmarkPodCache_Apply(b *testing.B) {
	c, _ := newTestCache(b, PodsConfig{})
	nsStore{c}.Replace([]any{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns", UID: "ns-uid", Labels: map[string]string{"env": "prod"}}}}, "1")
	var podsTags, containersTags []string
	for i := range 500 {
		name, uid := fmt.Sprintf("web-%d", i), fmt.Sprintf("0000-%04d", i)
		p := testPod("ns", name, uid, map[string]string{"app": "web", "pod-template-hash": fmt.Sprint(i)})
		podStore{c}.Add(p)
		podsTags = append(podsTags, "kubernetes.var.log.pods.ns_"+name+"_"+uid+".app.0.log")
		containersTags = append(containersTags, "kubernetes.var.log.containers."+name+"_ns_app-"+hexID64+".log")
	}
	for _, bc := range []struct {
		name string
		tags []string
	}{
		{"uid", podsTags},        // /var/log/pods form: lookup by UID
		{"name", containersTags}, // /var/log/containers form: lookup by namespace/name
	} {
		b.Run(bc.name, func(b *testing.B) {
			k, err := NewKubernetes(KubernetesConfig{NodeName: "node-a"}, c, nil)
			if err != nil {
				b.Fatal(err)
			}
			line := []byte("2026-01-02T03:04:05.123456789Z stdout F GET /healthz 200")
			fields := make(buffer.Fields, 0, 8)
			b.SetBytes(int64(len(line)))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r := buffer.Record{Tag: bc.tags[(i/100)%len(bc.tags)], Fields: append(fields[:0], buffer.Field{Key: "log", Value: buffer.Str(line)})}
				k.Apply(&r)
				i++
			}
			r := buffer.Record{Tag: bc.tags[0]}
			k.Apply(&r)
			if v, _ := r.Fields.Get("kubernetes"); len(v.Bytes) == 0 || !strings.Contains(string(v.Bytes), `"namespace_labels":{"env":"prod"}`) {
				b.Fatalf("record not enriched: %s", v.Bytes)
			}
		})
	}
}

const hexID64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// requestRate is the outcome of measureRequests.
type requestRate struct {
	window           time.Duration
	short            time.Duration // WatchTimeout of the short-watch cache
	shortCounts      map[RequestKey]int64
	defaultCounts    map[RequestKey]int64
	shortWatches     int64
	shortOther       int64
	defaultRequests  int64
	perHourAtDefault float64 // projected from the short-watch renewals
}

// measureRequests runs two caches against a real API server with pods on the
// node and counts their requests over a steady-state window while pods and
// namespaces change: one cache with the default watch timeout, one with a
// timeout of seconds, whose renewals (one watch request each, no list)
// measure the cost of a renewal and project the default's hourly rate.
func measureRequests(tb testing.TB, pods int, window time.Duration) requestRate {
	cl := kubetest.Start(tb)
	cs := cl.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, metav1.CreateOptions{}); err != nil {
		tb.Fatal(err)
	}
	for i := range pods {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: fmt.Sprintf("web-%d", i), Labels: map[string]string{"app": "web"}},
			Spec:       corev1.PodSpec{NodeName: "node-a", Containers: []corev1.Container{{Name: "app", Image: "registry.test/app:1"}}},
		}
		if _, err := cs.CoreV1().Pods("shop").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			tb.Fatal(err)
		}
	}
	const short = 2 * time.Second
	start := func(cfg PodsConfig) *PodCache {
		rc := cl.Config()
		pc, err := NewPodCache(cfg, rc, prometheus.NewRegistry(), zap.NewNop())
		if err != nil {
			tb.Fatal(err)
		}
		runCache(tb, ctx, pc)
		waitSynced(tb, pc, 60*time.Second)
		if live, _ := pc.Len(); live != pods {
			tb.Fatalf("%d pods in the cache, want %d", live, pods)
		}
		return pc
	}
	def := start(PodsConfig{NodeName: "node-a"})
	fast := start(PodsConfig{NodeName: "node-a", WatchTimeout: short})

	sum := func(m map[RequestKey]int64) (n int64) {
		for _, v := range m {
			n += v
		}
		return n
	}
	diff := func(a, b map[RequestKey]int64) map[RequestKey]int64 {
		out := map[RequestKey]int64{}
		for k, v := range b {
			if d := v - a[k]; d != 0 {
				out[k] = d
			}
		}
		return out
	}
	def0, fast0 := def.Requests(), fast.Requests()
	began := time.Now()
	for i := 0; time.Since(began) < window; i++ {
		// Churn: label changes arrive through the open watches.
		patch := fmt.Appendf(nil, `{"metadata":{"labels":{"rev":"%d"}}}`, i)
		if _, err := cs.CoreV1().Pods("shop").Patch(ctx, fmt.Sprintf("web-%d", i%pods), types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
			tb.Fatal(err)
		}
		time.Sleep(time.Second)
	}
	r := requestRate{window: time.Since(began), short: short}
	r.defaultCounts, r.shortCounts = diff(def0, def.Requests()), diff(fast0, fast.Requests())
	r.defaultRequests = sum(r.defaultCounts)
	for k, v := range r.shortCounts {
		if k.Verb == "watch" {
			r.shortWatches += v
		} else {
			r.shortOther += v
		}
	}
	// Watch lifetimes are uniform in [T, 2T): mean 1.5 T for both caches, so
	// the rate scales with short/DefaultWatchTimeout.
	perSecond := float64(r.shortWatches) / r.window.Seconds()
	r.perHourAtDefault = perSecond * 3600 * float64(short) / float64(DefaultWatchTimeout)
	return r
}

// TestPodCache_SteadyStateRequests checks that at steady state the cache
// only renews its two watches (no lists, no gets, nothing per change) and
// reports the API requests per node per hour.
func TestPodCache_SteadyStateRequests(t *testing.T) {
	r := measureRequests(t, 50, 16*time.Second)
	t.Logf("window %v: default watch timeout: %v; %v watch timeout: %v", r.window.Round(time.Second), r.defaultCounts, r.short, r.shortCounts)
	t.Logf("API requests per node per hour at steady state (default %v watch timeout): %.2f (projected from %d renewals)", DefaultWatchTimeout, r.perHourAtDefault, r.shortWatches)
	if r.defaultRequests != 0 {
		t.Errorf("default cache made %v requests in %v of steady state, want none", r.defaultCounts, r.window)
	}
	if r.shortOther != 0 {
		t.Errorf("short-watch cache made non-watch requests %v, want only watch renewals", r.shortCounts)
	}
	// Two informers, each renewing every [T, 2T).
	lo := 2 * (int64(r.window/(2*r.short)) - 1)
	hi := 2 * (int64(r.window/r.short) + 1)
	if r.shortWatches < lo || r.shortWatches > hi {
		t.Errorf("%d watch renewals in %v with a %v timeout, want %d..%d", r.shortWatches, r.window, r.short, lo, hi)
	}
}

// BenchmarkPodCache_APIRequests reports the API requests per node per hour
// at steady state (list + watch), measured against a real API server with
// 100 pods on the node.
func BenchmarkPodCache_APIRequests(b *testing.B) {
	var r requestRate
	for b.Loop() {
		r = measureRequests(b, 100, 16*time.Second)
	}
	b.ReportMetric(r.perHourAtDefault, "req/node/h")
	b.ReportMetric(float64(r.defaultRequests), "req-in-window@default")
	b.ReportMetric(float64(r.shortWatches)/r.window.Seconds()*3600, "req/node/h@2s-watch")
}

// BenchmarkPodCache_Pod is the lookup alone, 500 pods in the cache.
func BenchmarkPodCache_Pod(b *testing.B) {
	c, _ := newTestCache(b, PodsConfig{})
	var uids, names []string
	for i := range 500 {
		name, uid := fmt.Sprintf("web-%d", i), fmt.Sprintf("0000-%04d", i)
		podStore{c}.Add(testPod("ns", name, uid, map[string]string{"app": "web"}))
		uids, names = append(uids, uid), append(names, name)
	}
	b.Run("uid", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, ok := c.Pod(uids[i%500], "ns", names[i%500]); !ok {
				b.Fatal("miss")
			}
			i++
		}
	})
	b.Run("name", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, ok := c.Pod("", "ns", names[i%500]); !ok {
				b.Fatal("miss")
			}
			i++
		}
	})
}
