package enrich

import (
	"fmt"
	"regexp"
	"strings"

	"logship/buffer"
)

// Dialect selects the record shape of a fluent-plugin-kubernetes_metadata_filter
// generation, as lib/fluent/plugin/filter_kubernetes_metadata.rb of
// fabric8io/fluent-plugin-kubernetes_metadata_filter builds it: tag v0.29.0
// for Legacy, v3.7.1 (commit c5047ca) for Current.
type Dialect uint8

const (
	// Current is the 3.x shape (fluentd-kubernetes-daemonset v1.x images).
	Current Dialect = iota
	// Legacy is the 0.27–0.29 shape that the seed's v0.12 image produces:
	// labels and annotations de-dotted, no container image fields.
	Legacy
)

// KubernetesConfig configures the kubernetes_metadata filter. The zero value is
// the 3.x plugin's defaults.
type KubernetesConfig struct {
	// Dialect is the record shape; zero is Current.
	Dialect Dialect
	// TagRegexp is tag_to_kubernetes_name_regexp; "" means the dialect's default.
	TagRegexp string
	// NodeName is this node's name, used for kubernetes.host when the pod is
	// not (yet) known from the API server; "" omits it.
	NodeName string
	// MasterURL is kubernetes.master_url (the API server URL); "" omits it.
	MasterURL string
	// SkipLabels, SkipContainerMetadata, SkipMasterURL and SkipNamespaceMetadata
	// trim the output as the plugin's skip_* options do.
	SkipLabels, SkipContainerMetadata, SkipMasterURL, SkipNamespaceMetadata bool
	// DeDot replaces '.' in label and annotation keys with DeDotSeparator
	// (Legacy default true; the config layer sets it).
	DeDot bool
	// DeDotSeparator replaces '.' when DeDot is set; "" means "_".
	DeDotSeparator string
	// AnnotationMatch are regular expressions; annotations whose key matches
	// one are added. Empty adds none.
	AnnotationMatch []string
	// MergeJSONLog merges a JSON object held in the "log" field into the record
	// (original keys win); PreserveJSONLog keeps "log" afterwards. Legacy only.
	MergeJSONLog, PreserveJSONLog bool
}

// Pod is the metadata of one pod, as the API server reports it. Values are
// immutable once published: a change produces a new *Pod, so a pointer
// comparison tells whether cached encodings are still current.
type Pod struct {
	UID, Name, Namespace, IP, NodeName string
	Labels, Annotations                []KV // sorted by key
	Containers                         []Container
	NamespaceUID                       string
	NamespaceLabels                    []KV
	NamespaceAnnotations               []KV
}

// Container is one container status of a pod.
type Container struct {
	Name, Image, ImageID string
	// ID is the runtime's container id without its "containerd://"-style prefix.
	ID string
}

// KV is one label or annotation.
type KV struct{ Key, Value string }

// PodLookup finds pod metadata. The informer cache implements it; a map does in
// tests. It must not block: a miss returns nil, false.
type PodLookup interface {
	Pod(uid, namespace, name string) (*Pod, bool)
}

// FileLookup tells the real path (under /var/log/pods) behind a record's
// Source, so the pod UID can be read from it. The tailer implements it.
type FileLookup interface {
	RealPath(source uint64) (string, bool)
}

// Kubernetes is the kubernetes_metadata filter: it appends "docker" and
// "kubernetes" fields to records whose tag names a container log file. The
// metadata of a container is encoded to JSON once and shared by all its
// records (as Raw values); it is re-encoded only when the pod changes.
//
// A Kubernetes is used by one goroutine at a time.
type Kubernetes struct {
	cfg     KubernetesConfig
	tags    *TagParser
	annot   []*regexp.Regexp
	pods    PodLookup  // may be nil: metadata from the path only
	files   FileLookup // may be nil
	cache   map[string]*containerMeta
	last    *containerMeta
	lastTag string
	scratch []byte
}

// maxCachedTags bounds the per-tag cache; past it the cache is dropped and
// rebuilt (tags are per container file, so this is only reached on nodes with
// enormous churn).
const maxCachedTags = 16384

type containerMeta struct {
	ok     bool // the tag matched
	info   PathInfo
	source uint64
	pod    *Pod // the pod the encodings were made from (nil: path only)
	docker []byte
	kube   []byte
}

// NewKubernetes returns the filter. pods and files may be nil.
func NewKubernetes(cfg KubernetesConfig, pods PodLookup, files FileLookup) (*Kubernetes, error) {
	expr := cfg.TagRegexp
	if expr == "" && cfg.Dialect == Legacy {
		expr = LegacyTagRegexp
	}
	tp, err := NewTagParser(expr)
	if err != nil {
		return nil, err
	}
	k := &Kubernetes{cfg: cfg, tags: tp, pods: pods, files: files, cache: make(map[string]*containerMeta)}
	for _, a := range cfg.AnnotationMatch {
		re, err := regexp.Compile(RubyRegexp(a))
		if err != nil {
			return nil, fmt.Errorf("annotation_match %q: %w", a, err)
		}
		k.annot = append(k.annot, re)
	}
	if k.cfg.DeDotSeparator == "" {
		k.cfg.DeDotSeparator = "_"
	}
	return k, nil
}

// Apply adds metadata to r.
func (k *Kubernetes) Apply(r *buffer.Record) {
	m := k.meta(r)
	if !m.ok {
		return
	}
	if k.cfg.MergeJSONLog {
		k.mergeJSONLog(r)
	}
	if len(m.docker) > 0 {
		r.Fields = r.Fields.Set("docker", buffer.RawJSON(m.docker))
	}
	r.Fields = r.Fields.Set("kubernetes", buffer.RawJSON(m.kube))
}

func (k *Kubernetes) meta(r *buffer.Record) *containerMeta {
	m := k.last
	if m == nil || r.Tag != k.lastTag {
		m = k.cache[r.Tag]
		if m == nil {
			if len(k.cache) >= maxCachedTags {
				clear(k.cache)
			}
			m = &containerMeta{}
			m.info, m.ok = k.tags.Parse(r.Tag)
			k.cache[r.Tag] = m
			if m.ok {
				k.encode(m)
			}
		}
		k.last, k.lastTag = m, r.Tag
	}
	if !m.ok {
		return m
	}
	if m.info.PodUID == "" && r.Source != 0 && k.files != nil && m.source != r.Source {
		m.source = r.Source
		if p, ok := k.files.RealPath(r.Source); ok {
			if pi, ok := ParsePodsPath(p); ok && pi.Namespace == m.info.Namespace && pi.Pod == m.info.Pod {
				m.info.PodUID = pi.PodUID
				k.encode(m)
			}
		}
	}
	if k.pods != nil {
		if p, ok := k.pods.Pod(m.info.PodUID, m.info.Namespace, m.info.Pod); ok && p != m.pod {
			m.pod = p
			k.encode(m)
		}
	}
	return m
}

// encode renders m's docker and kubernetes objects.
func (k *Kubernetes) encode(m *containerMeta) {
	p, info := m.pod, m.info
	var ctr *Container
	if p != nil {
		for i := range p.Containers {
			if p.Containers[i].Name == info.Container {
				ctr = &p.Containers[i]
				break
			}
		}
	}
	dockerID := info.ContainerID
	if k.cfg.Dialect == Current && ctr != nil && ctr.ID != "" {
		dockerID = ctr.ID
	}
	m.docker = nil
	if dockerID != "" {
		b := append([]byte(nil), `{"container_id":`...)
		b = buffer.AppendJSONString(b, dockerID)
		m.docker = append(b, '}')
	}

	b := k.scratch[:0]
	b = append(b, '{')
	first := true
	str := func(key, val string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = buffer.AppendJSONString(b, key)
		b = append(b, ':')
		b = buffer.AppendJSONString(b, val)
	}
	kvs := func(key string, list []KV, filter bool, dedot bool) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = buffer.AppendJSONString(b, key)
		b = append(b, ':', '{')
		n := 0
		for _, kv := range list {
			if filter && !k.annotationWanted(kv.Key) {
				continue
			}
			if n > 0 {
				b = append(b, ',')
			}
			n++
			key := kv.Key
			if dedot && k.cfg.DeDot {
				key = strings.ReplaceAll(key, ".", k.cfg.DeDotSeparator)
			}
			b = buffer.AppendJSONString(b, key)
			b = append(b, ':')
			b = buffer.AppendJSONString(b, kv.Value)
		}
		b = append(b, '}')
	}
	countAnnotations := func(list []KV) int {
		n := 0
		for _, kv := range list {
			if k.annotationWanted(kv.Key) {
				n++
			}
		}
		return n
	}

	str("container_name", info.Container)
	str("namespace_name", info.Namespace)
	str("pod_name", info.Pod)
	host := k.cfg.NodeName
	if p != nil && p.NodeName != "" {
		host = p.NodeName
	}
	uid := info.PodUID
	if p != nil && p.UID != "" {
		uid = p.UID
	}
	if k.pods == nil {
		// No API server (no kubernetes_url): the plugin's record holds only
		// what the tag names — container_name, namespace_name, pod_name and
		// docker.container_id — with no pod_id (even where a
		// /var/log/pods path carries the UID) and no host
		// (fluent-plugin-kubernetes_metadata_filter v3.7.1
		// lib/fluent/plugin/filter_kubernetes_metadata.rb,
		// get_metadata_for_record: pod metadata is merged only when
		// kubernetes_url is present). The path UID is still used above to
		// look pods up when there is an API server.
		host, uid = "", ""
	}
	switch k.cfg.Dialect {
	case Legacy:
		if uid != "" {
			str("pod_id", uid)
		}
		if p != nil {
			kvs("labels", p.Labels, false, true)
		}
		if host != "" {
			str("host", host)
		}
		if k.cfg.MasterURL != "" && !k.cfg.SkipMasterURL {
			str("master_url", k.cfg.MasterURL)
		}
		if p != nil && countAnnotations(p.Annotations) > 0 {
			kvs("annotations", p.Annotations, true, true)
		}
	default:
		if ctr != nil && !k.cfg.SkipContainerMetadata {
			str("container_image", ctr.Image)
			str("container_image_id", ctr.ImageID)
		}
		if uid != "" {
			str("pod_id", uid)
		}
		if p != nil && p.IP != "" {
			str("pod_ip", p.IP)
		}
		if host != "" {
			str("host", host)
		}
		if p != nil && len(p.Labels) > 0 && !k.cfg.SkipLabels {
			kvs("labels", p.Labels, false, false)
		}
		if p != nil && countAnnotations(p.Annotations) > 0 {
			kvs("annotations", p.Annotations, true, false)
		}
		if k.cfg.MasterURL != "" && !k.cfg.SkipMasterURL {
			str("master_url", k.cfg.MasterURL)
		}
		if p != nil && p.NamespaceUID != "" && !k.cfg.SkipNamespaceMetadata {
			str("namespace_id", p.NamespaceUID)
			if len(p.NamespaceLabels) > 0 && !k.cfg.SkipLabels {
				kvs("namespace_labels", p.NamespaceLabels, false, false)
			}
			if countAnnotations(p.NamespaceAnnotations) > 0 {
				kvs("namespace_annotations", p.NamespaceAnnotations, true, false)
			}
		}
	}
	b = append(b, '}')
	k.scratch = b
	m.kube = append([]byte(nil), b...)
}

func (k *Kubernetes) annotationWanted(key string) bool {
	for _, re := range k.annot {
		if re.MatchString(key) {
			return true
		}
	}
	return false
}

// mergeJSONLog implements merge_json_log: a "log" value that, stripped of
// white space, starts with '{' and ends with '}' is parsed; its members come
// first and the record's own fields are merged over them (originals win).
// Parse errors leave the record unchanged (fluent-plugin-kubernetes_metadata_filter
// v0.29.0 lib/fluent/plugin/filter_kubernetes_metadata.rb, merge_json_log;
// the option was removed in 2.1.0).
func (k *Kubernetes) mergeJSONLog(r *buffer.Record) {
	v, ok := r.Fields.Get("log")
	if !ok || v.Kind != buffer.String {
		return
	}
	s := strings.TrimSpace(string(v.Bytes))
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return
	}
	parsed, err := buffer.ParseJSONAsRuby([]byte(s))
	if err != nil || parsed.Kind != buffer.Map {
		return
	}
	merged := parsed.Kids
	for _, f := range r.Fields {
		if f.Key == "log" && !k.cfg.PreserveJSONLog {
			continue
		}
		merged = merged.Set(f.Key, f.Value)
	}
	if !k.cfg.PreserveJSONLog {
		merged = merged.Delete("log")
	}
	r.Fields = merged
}
