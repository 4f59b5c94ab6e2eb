package enrich

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// DefaultDeleteGrace is how long a deleted pod's metadata is kept, so that
// the last lines of a finished pod, still being read, keep their metadata.
// Vector keeps 60 s (delay_deletion_ms, vectordotdev/vector
// src/sources/kubernetes_logs/mod.rs), as does Filebeat (cleanup_timeout,
// elastic/beats libbeat/processors/add_kubernetes_metadata/docs/add_kubernetes_metadata.asciidoc).
const DefaultDeleteGrace = 60 * time.Second

// DefaultWatchTimeout is the shortest life of one watch request; each watch
// lasts a random time between it and twice it, then is renewed from the last
// resource version (one request, no list). client-go's own default is 5 min;
// 30 min cuts steady-state requests to about 1.3 per informer per hour.
const DefaultWatchTimeout = 30 * time.Minute

// ErrNoNodeName is returned by NewPodCache without a node name: a cluster-wide
// pod watch from every node is what overloads API servers
// (https://github.com/kubernetes/kubernetes/issues/77733,
// https://github.com/fluent-plugins-nursery/fluent-plugin-kubernetes_metadata_filter/pull/189).
var ErrNoNodeName = errors.New("kubernetes: node name unknown (set NODE_NAME or K8S_NODE_NAME)")

// PodsConfig configures a PodCache.
type PodsConfig struct {
	// NodeName is the node whose pods are watched (field selector
	// spec.nodeName); the config layer takes it from NODE_NAME or
	// K8S_NODE_NAME. Required.
	NodeName string
	// SkipNamespaces runs no namespace informer: pods carry no namespace_id,
	// namespace_labels or namespace_annotations (skip_namespace_metadata).
	SkipNamespaces bool
	// DeleteGrace is how long a deleted pod stays in the cache; 0 means
	// DefaultDeleteGrace, negative removes deleted pods at once.
	DeleteGrace time.Duration
	// WatchTimeout is the shortest life of a watch request before it is
	// renewed; 0 means DefaultWatchTimeout. Tests use seconds.
	WatchTimeout time.Duration
	// Now is the clock for the delete grace; nil means time.Now.
	Now func() time.Time
}

// PodCache is the pod metadata of one node, kept current by a pod informer
// (field-selected on the node) and a namespace informer. It implements
// PodLookup: lookups read memory only and never wait for the API server.
// While the API server is unreachable the cache keeps what it had (new pods
// are misses, so records carry their path metadata) and client-go's reflector
// retries with backoff; a metric and one log line say so.
//
// Entries are keyed by pod UID; a namespace/name index serves tags without a
// UID and prefers the live pod of that name. A deleted pod stays for
// DeleteGrace, and a pod recreated under the same name gets its own entry.
type PodCache struct {
	cfg     PodsConfig
	client  podsAPI
	log     *zap.Logger
	now     func() time.Time
	health  *apiHealth
	metrics podMetrics

	snap atomic.Pointer[podSnapshot] // read by lookups

	mu     sync.RWMutex // guards the following; writers publish snap
	byUID  map[string]*podEntry
	byName map[podName]*podEntry // the live pod of that name, else the last deleted one
	ns     map[string]*nsMeta

	syncMu     sync.Mutex
	podsSynced bool
	nsSynced   bool
	synced     chan struct{}
}

var _ PodLookup = (*PodCache)(nil)

type podName struct{ namespace, name string }

type podEntry struct {
	base    *Pod      // converted pod without namespace metadata
	pod     *Pod      // published: base plus namespace metadata
	deleted time.Time // zero while live
}

type nsMeta struct {
	uid                 string
	labels, annotations []KV
}

// NewPodCache returns a cache that talks to the API server rc points at. It
// adds a transport wrapper to (a copy of) rc that counts requests and tracks
// reachability. The metrics are registered on reg (nil: not registered). It
// starts nothing; Run does.
func NewPodCache(cfg PodsConfig, rc *rest.Config, reg *prometheus.Registry, log *zap.Logger) (*PodCache, error) {
	c, err := newPodCache(cfg, reg, log)
	if err != nil {
		return nil, err
	}
	rc = rest.CopyConfig(rc)
	rc.Wrap(c.wrapTransport)
	if rc.WarningHandler == nil && rc.WarningHandlerWithContext == nil {
		rc.WarningHandler = rest.NoWarnings{}
	}
	if rc.UserAgent == "" {
		rc.UserAgent = "logship"
	}
	if c.client, err = newCoreREST(rc); err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return c, nil
}

// newPodCacheForClient is NewPodCache over a ready client (tests: the fake
// clientset); requests are not counted.
func newPodCacheForClient(cfg PodsConfig, client podsAPI, reg *prometheus.Registry, log *zap.Logger) (*PodCache, error) {
	c, err := newPodCache(cfg, reg, log)
	if err != nil {
		return nil, err
	}
	c.client = client
	return c, nil
}

func newPodCache(cfg PodsConfig, reg *prometheus.Registry, log *zap.Logger) (*PodCache, error) {
	if cfg.NodeName == "" {
		return nil, ErrNoNodeName
	}
	if cfg.DeleteGrace == 0 {
		cfg.DeleteGrace = DefaultDeleteGrace
	}
	if cfg.WatchTimeout <= 0 {
		cfg.WatchTimeout = DefaultWatchTimeout
	}
	if log == nil {
		log = zap.NewNop()
	}
	c := &PodCache{
		cfg:    cfg,
		log:    log,
		now:    cfg.Now,
		byUID:  make(map[string]*podEntry),
		byName: make(map[podName]*podEntry),
		ns:     make(map[string]*nsMeta),
		synced: make(chan struct{}),
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.snap.Store(&podSnapshot{})
	m, err := newPodMetrics(reg)
	if err != nil {
		return nil, err
	}
	c.metrics = m
	c.health = &apiHealth{log: log, metrics: m}
	if cfg.SkipNamespaces {
		c.nsSynced = true
	}
	return c, nil
}

// Pod returns the metadata of the pod with that UID or, when uid is "", of
// the pod with that namespace and name (the live one if a deleted pod of the
// same name is still kept). A UID lookup never falls back to the name: the
// pod of that name may be a different one. It never blocks on the API.
func (c *PodCache) Pod(uid, namespace, name string) (*Pod, bool) {
	s := c.snap.Load()
	var p *Pod
	if uid != "" {
		p = s.byUID[uid]
	} else {
		p = s.byName[podName{namespace, name}]
	}
	return p, p != nil
}

// podSnapshot is what lookups read: immutable maps, replaced as a whole on
// every change (changes are rare, lookups happen for every line), so a lookup
// takes no lock.
type podSnapshot struct {
	byUID  map[string]*Pod
	byName map[podName]*Pod
}

// publishAndUnlock publishes a new snapshot of the entries and releases mu.
func (c *PodCache) publishAndUnlock() {
	s := &podSnapshot{byUID: make(map[string]*Pod, len(c.byUID)), byName: make(map[podName]*Pod, len(c.byName))}
	for uid, e := range c.byUID {
		s.byUID[uid] = e.pod
	}
	for k, e := range c.byName {
		s.byName[k] = e.pod
	}
	c.snap.Store(s)
	c.mu.Unlock()
}

// Synced is closed once the first list of pods (and of namespaces, unless
// skipped) is in the cache. The pipeline may wait on it, with a deadline,
// before reading files so that the first lines carry full metadata.
func (c *PodCache) Synced() <-chan struct{} { return c.synced }

// Len returns the number of live and of deleted (still kept) pods.
func (c *PodCache) Len() (live, deleted int) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, e := range c.byUID {
		if e.deleted.IsZero() {
			live++
		} else {
			deleted++
		}
	}
	return live, deleted
}

// Requests returns the API requests made so far, by verb ("list", "watch",
// "get", ...) and resource ("pods", "namespaces").
func (c *PodCache) Requests() map[RequestKey]int64 { return c.health.requests() }

// Run runs the informers and the expiry of deleted pods until ctx is done,
// then returns nil. API errors are not returned: the reflectors retry them.
func (c *PodCache) Run(ctx context.Context) error {
	ctx = klog.NewContext(ctx, klogToZap(c.log))
	logger := klog.FromContext(ctx)
	var wg sync.WaitGroup
	pods := cache.NewReflectorWithOptions(c.podWatcher(), &corev1.Pod{}, podStore{c}, cache.ReflectorOptions{
		Name: "pods", Logger: &logger, MinWatchTimeout: c.cfg.WatchTimeout,
	})
	wg.Go(func() { pods.RunWithContext(ctx) })
	if !c.cfg.SkipNamespaces {
		nss := cache.NewReflectorWithOptions(c.namespaceWatcher(), &corev1.Namespace{}, nsStore{c}, cache.ReflectorOptions{
			Name: "namespaces", Logger: &logger, MinWatchTimeout: c.cfg.WatchTimeout,
		})
		wg.Go(func() { nss.RunWithContext(ctx) })
	}
	every := c.cfg.DeleteGrace / 4
	if every < time.Second {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-t.C:
			c.Sweep()
		}
	}
	wg.Wait()
	return nil
}

// watchTimeout returns the timeout of one watch request: WatchTimeout plus a
// random part of it, so that the watches of many nodes spread out. The
// reflector's own choice is overridden because it will not go below 5 min,
// and tests measure renewals with seconds.
func (c *PodCache) watchTimeout() *int64 {
	d := c.cfg.WatchTimeout + time.Duration(rand.Int64N(int64(c.cfg.WatchTimeout)))
	s := int64(d / time.Second)
	if s < 1 {
		s = 1
	}
	return &s
}

func (c *PodCache) podWatcher() cache.ListerWatcher {
	sel := fields.OneTermEqualSelector("spec.nodeName", c.cfg.NodeName).String()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = sel
			return c.client.listPods(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			o.TimeoutSeconds = c.watchTimeout()
			return c.client.watchPods(ctx, o)
		},
	}
	return cache.ToListWatcherWithWatchListSemantics(lw, listThenWatch{})
}

// listThenWatch makes the reflector start with a plain list at
// resourceVersion "0", served from the API server's watch cache (as the
// plugin does), instead of trying a WatchList stream first: that costs one
// request per start, and API servers without the feature refuse it.
type listThenWatch struct{}

func (listThenWatch) IsWatchListSemanticsUnSupported() bool { return true }

func (c *PodCache) namespaceWatcher() cache.ListerWatcher {
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.client.listNamespaces(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.TimeoutSeconds = c.watchTimeout()
			return c.client.watchNamespaces(ctx, o)
		},
	}
	return cache.ToListWatcherWithWatchListSemantics(lw, listThenWatch{})
}

// Sweep removes pods deleted more than DeleteGrace ago and returns how many
// it removed. Run calls it periodically.
func (c *PodCache) Sweep() int {
	now := c.now()
	n := 0
	c.mu.Lock()
	for uid, e := range c.byUID {
		if !e.deleted.IsZero() && now.Sub(e.deleted) >= c.cfg.DeleteGrace {
			c.removeLocked(uid, e)
			n++
		}
	}
	if n == 0 {
		c.mu.Unlock()
		return 0
	}
	c.publishAndUnlock()
	c.updatePodGauges()
	return n
}

func (c *PodCache) removeLocked(uid string, e *podEntry) {
	delete(c.byUID, uid)
	key := podName{e.base.Namespace, e.base.Name}
	if c.byName[key] == e {
		delete(c.byName, key)
	}
}

// upsertPod stores a pod from an ADDED or MODIFIED event (or a list).
func (c *PodCache) upsertPod(p *corev1.Pod) {
	base := convertPod(p)
	c.mu.Lock()
	c.upsertLocked(base)
	c.publishAndUnlock()
}

func (c *PodCache) upsertLocked(base *Pod) {
	e := c.byUID[base.UID]
	if e == nil {
		e = &podEntry{}
		c.byUID[base.UID] = e
	}
	e.deleted = time.Time{}
	if e.base == nil || !samePod(e.base, base) {
		e.base = base
		e.pod = c.withNamespaceLocked(base)
	}
	c.byName[podName{base.Namespace, base.Name}] = e
}

// deletePod starts the grace period of a deleted pod.
func (c *PodCache) deletePod(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	uid := string(p.UID)
	c.mu.Lock()
	if e := c.byUID[uid]; e != nil && e.deleted.IsZero() {
		if c.cfg.DeleteGrace < 0 {
			c.removeLocked(uid, e)
		} else {
			e.deleted = c.now()
		}
	}
	c.publishAndUnlock()
}

// replacePods installs a full list: pods absent from it were deleted while
// no watch was running and start their grace period now.
func (c *PodCache) replacePods(items []any) {
	seen := make(map[string]struct{}, len(items))
	bases := make([]*Pod, 0, len(items))
	for _, it := range items {
		if p, ok := it.(*corev1.Pod); ok {
			b := convertPod(p)
			bases = append(bases, b)
			seen[b.UID] = struct{}{}
		}
	}
	now := c.now()
	c.mu.Lock()
	for uid, e := range c.byUID {
		if _, ok := seen[uid]; !ok && e.deleted.IsZero() {
			if c.cfg.DeleteGrace < 0 {
				c.removeLocked(uid, e)
			} else {
				e.deleted = now
			}
		}
	}
	for _, b := range bases {
		c.upsertLocked(b)
	}
	c.publishAndUnlock()
	c.markSynced(true, false)
}

// setNamespace stores a namespace's metadata and republishes its pods when
// it changed.
func (c *PodCache) setNamespace(n *corev1.Namespace) {
	m := &nsMeta{uid: string(n.UID), labels: sortedKVs(n.Labels), annotations: sortedKVs(n.Annotations)}
	c.mu.Lock()
	c.setNamespaceLocked(n.Name, m)
	c.publishAndUnlock()
}

func (c *PodCache) setNamespaceLocked(name string, m *nsMeta) {
	if old := c.ns[name]; old != nil && old.uid == m.uid &&
		slices.Equal(old.labels, m.labels) && slices.Equal(old.annotations, m.annotations) {
		return
	}
	c.ns[name] = m
	c.republishLocked(name)
}

func (c *PodCache) republishLocked(namespace string) {
	for _, e := range c.byUID {
		if e.base.Namespace == namespace {
			e.pod = c.withNamespaceLocked(e.base)
		}
	}
}

// deleteNamespace forgets a namespace. Pods already published keep the
// namespace metadata they carry (they are being deleted too, and their last
// lines should keep it).
func (c *PodCache) deleteNamespace(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if n, ok := obj.(*corev1.Namespace); ok {
		c.mu.Lock()
		delete(c.ns, n.Name)
		c.mu.Unlock()
	}
}

func (c *PodCache) replaceNamespaces(items []any) {
	c.mu.Lock()
	seen := make(map[string]struct{}, len(items))
	for _, it := range items {
		if n, ok := it.(*corev1.Namespace); ok {
			seen[n.Name] = struct{}{}
			c.setNamespaceLocked(n.Name, &nsMeta{uid: string(n.UID), labels: sortedKVs(n.Labels), annotations: sortedKVs(n.Annotations)})
		}
	}
	for name := range c.ns {
		if _, ok := seen[name]; !ok {
			delete(c.ns, name)
		}
	}
	c.publishAndUnlock()
	c.markSynced(false, true)
}

func (c *PodCache) withNamespaceLocked(base *Pod) *Pod {
	p := *base
	if m := c.ns[base.Namespace]; m != nil {
		p.NamespaceUID, p.NamespaceLabels, p.NamespaceAnnotations = m.uid, m.labels, m.annotations
	}
	return &p
}

func (c *PodCache) markSynced(pods, namespaces bool) {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	was := c.podsSynced && c.nsSynced
	c.podsSynced = c.podsSynced || pods
	c.nsSynced = c.nsSynced || namespaces
	if !was && c.podsSynced && c.nsSynced {
		close(c.synced)
	}
	c.health.ok()
	c.updatePodGauges()
}

func (c *PodCache) updatePodGauges() {
	if c.metrics.pods == nil {
		return
	}
	live, deleted := c.Len()
	c.metrics.pods.WithLabelValues("live").Set(float64(live))
	c.metrics.pods.WithLabelValues("deleted").Set(float64(deleted))
}

// convertPod makes the immutable metadata of a pod: labels and annotations
// sorted by key (the order the API server's JSON has, so the plugin's), and
// the statuses of its containers, init and ephemeral containers included.
func convertPod(p *corev1.Pod) *Pod {
	out := &Pod{
		UID:         string(p.UID),
		Name:        p.Name,
		Namespace:   p.Namespace,
		IP:          p.Status.PodIP,
		NodeName:    p.Spec.NodeName,
		Labels:      sortedKVs(p.Labels),
		Annotations: sortedKVs(p.Annotations),
	}
	n := len(p.Status.ContainerStatuses) + len(p.Status.InitContainerStatuses) + len(p.Status.EphemeralContainerStatuses)
	if n > 0 {
		out.Containers = make([]Container, 0, n)
		for _, list := range [][]corev1.ContainerStatus{p.Status.ContainerStatuses, p.Status.InitContainerStatuses, p.Status.EphemeralContainerStatuses} {
			for i := range list {
				s := &list[i]
				out.Containers = append(out.Containers, Container{
					Name: s.Name, Image: s.Image, ImageID: s.ImageID, ID: stripRuntime(s.ContainerID),
				})
			}
		}
	}
	return out
}

// stripRuntime removes the "<runtime>://" prefix of a container id
// ("containerd://0123…" → "0123…"), as the plugin does.
func stripRuntime(id string) string {
	if i := strings.Index(id, "://"); i >= 0 {
		return id[i+3:]
	}
	return id
}

func sortedKVs(m map[string]string) []KV {
	if len(m) == 0 {
		return nil
	}
	out := make([]KV, 0, len(m))
	for k, v := range m {
		out = append(out, KV{k, v})
	}
	slices.SortFunc(out, func(a, b KV) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// samePod tells whether two converted pods carry the same metadata, so an
// update that changes nothing we publish (a condition, a restart count)
// keeps the published pointer and the encodings made from it.
func samePod(a, b *Pod) bool {
	return a.UID == b.UID && a.Name == b.Name && a.Namespace == b.Namespace && a.IP == b.IP &&
		a.NodeName == b.NodeName && slices.Equal(a.Labels, b.Labels) &&
		slices.Equal(a.Annotations, b.Annotations) && slices.Equal(a.Containers, b.Containers)
}

// podStore is the reflector's store for pods: it converts and indexes them
// directly, without keeping the API objects.
type podStore struct{ c *PodCache }

func (s podStore) Add(obj any) error { return s.Update(obj) }
func (s podStore) Resync() error     { return nil }
func (s podStore) Delete(obj any) error {
	s.c.deletePod(obj)
	s.c.updatePodGauges()
	return nil
}
func (s podStore) Update(obj any) error {
	if p, ok := obj.(*corev1.Pod); ok {
		s.c.upsertPod(p)
		s.c.updatePodGauges()
	}
	return nil
}
func (s podStore) Replace(items []any, _ string) error { s.c.replacePods(items); return nil }

// nsStore is the reflector's store for namespaces.
type nsStore struct{ c *PodCache }

func (s nsStore) Add(obj any) error    { return s.Update(obj) }
func (s nsStore) Resync() error        { return nil }
func (s nsStore) Delete(obj any) error { s.c.deleteNamespace(obj); return nil }
func (s nsStore) Update(obj any) error {
	if n, ok := obj.(*corev1.Namespace); ok {
		s.c.setNamespace(n)
	}
	return nil
}
func (s nsStore) Replace(items []any, _ string) error { s.c.replaceNamespaces(items); return nil }

var (
	_ cache.ReflectorStore = podStore{}
	_ cache.ReflectorStore = nsStore{}
)
