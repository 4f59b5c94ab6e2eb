package enrich_test

import (
	"strings"
	"testing"

	"logship/buffer"
	"logship/enrich"
)

const hexID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestTagParser_Parse(t *testing.T) {
	tests := []struct {
		tag  string
		want enrich.PathInfo
		ok   bool
	}{
		{"kubernetes.var.log.containers.web-7d9f_default_nginx-" + hexID + ".log",
			enrich.PathInfo{Namespace: "default", Pod: "web-7d9f", Container: "nginx", ContainerID: hexID}, true},
		{"kubernetes.var.log.containers.a.b-c_kube-system_side_car-" + hexID + ".log",
			enrich.PathInfo{Namespace: "kube-system", Pod: "a.b-c", Container: "side_car", ContainerID: hexID}, true},
		{"kubernetes.var.log.pods.default_web-7d9f_1b2c-3d.nginx.0.log",
			enrich.PathInfo{Namespace: "default", Pod: "web-7d9f", PodUID: "1b2c-3d", Container: "nginx"}, true},
		{"kubernetes.var.log.containers.Web_default_nginx-" + hexID + ".log", enrich.PathInfo{}, false},
		{"kubernetes.var.log.containers.web_default_nginx-abc.log", enrich.PathInfo{}, false},
		{"kubelet", enrich.PathInfo{}, false},
	}
	p, err := enrich.NewTagParser("")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		got, ok := p.Parse(tt.tag)
		if ok != tt.ok || got != tt.want {
			t.Errorf("Parse(%q)=%+v,%v, want %+v,%v", tt.tag, got, ok, tt.want, tt.ok)
		}
	}
}

func TestTagParser_RubyGroups(t *testing.T) {
	p, err := enrich.NewTagParser(`^(?<namespace>[^.]+)\.(?<pod_name>[^.]+)\.(?<container_name>.+)$`)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := p.Parse("ns.pod.ctr")
	if want := (enrich.PathInfo{Namespace: "ns", Pod: "pod", Container: "ctr"}); !ok || got != want {
		t.Fatalf("Parse=%+v,%v, want %+v", got, ok, want)
	}
	if _, err := enrich.NewTagParser(`(?<pod_name>x)`); err == nil {
		t.Fatal("NewTagParser without namespace group: want error")
	}
}

func TestParsePodsPath(t *testing.T) {
	tests := []struct {
		path string
		want enrich.PathInfo
		ok   bool
	}{
		{"/var/log/pods/default_web-7d9f_1b2c-3d/nginx/0.log", enrich.PathInfo{Namespace: "default", Pod: "web-7d9f", PodUID: "1b2c-3d", Container: "nginx"}, true},
		{"/var/log/pods/default_web_uid/nginx/3.log.20240101-120000", enrich.PathInfo{Namespace: "default", Pod: "web", PodUID: "uid", Container: "nginx"}, true},
		{"/var/log/pods/default_web/nginx/0.log", enrich.PathInfo{}, false},
		{"/var/log/containers/x.log", enrich.PathInfo{}, false},
	}
	for _, tt := range tests {
		got, ok := enrich.ParsePodsPath(tt.path)
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParsePodsPath(%q)=%+v,%v, want %+v,%v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
}

type podMap map[string]*enrich.Pod

func (m podMap) Pod(uid, ns, name string) (*enrich.Pod, bool) {
	p, ok := m[ns+"/"+name]
	return p, ok
}

type fileMap map[uint64]string

func (m fileMap) RealPath(src uint64) (string, bool) { p, ok := m[src]; return p, ok }

func record(tag string, src uint64, fields ...string) buffer.Record {
	r := buffer.Record{Tag: tag, Source: src}
	for i := 0; i+1 < len(fields); i += 2 {
		r.Fields = append(r.Fields, buffer.Field{Key: fields[i], Value: buffer.Str([]byte(fields[i+1]))})
	}
	return r
}

func TestKubernetes_Apply(t *testing.T) {
	tag := "kubernetes.var.log.containers.web-7d9f_default_nginx-" + hexID + ".log"
	pod := &enrich.Pod{
		UID: "uid-1", Name: "web-7d9f", Namespace: "default", IP: "10.0.0.7", NodeName: "node-a",
		Labels:       []enrich.KV{{"app", "web"}, {"app.kubernetes.io/name", "web"}},
		Annotations:  []enrich.KV{{"team", "x"}, {"other", "y"}},
		Containers:   []enrich.Container{{Name: "nginx", Image: "nginx:1", ImageID: "sha256:ab", ID: "cid"}},
		NamespaceUID: "ns-uid", NamespaceLabels: []enrich.KV{{"env", "prod"}},
	}
	tests := []struct {
		name  string
		cfg   enrich.KubernetesConfig
		pods  enrich.PodLookup
		files enrich.FileLookup
		rec   buffer.Record
		want  string
	}{
		{
			name:  "path only",
			cfg:   enrich.KubernetesConfig{NodeName: "node-a"},
			files: fileMap{7: "/var/log/pods/default_web-7d9f_uid-from-path/nginx/0.log"},
			rec:   record(tag, 7, "stream", "stdout", "logtag", "F", "message", "hi"),
			// As the plugin without kubernetes_url: no pod_id from the
			// /var/log/pods path, no host from NODE_NAME.
			want: `{"stream":"stdout","logtag":"F","message":"hi","docker":{"container_id":"` + hexID + `"},"kubernetes":{"container_name":"nginx","namespace_name":"default","pod_name":"web-7d9f"}}`,
		},
		{
			name: "current with pod",
			cfg:  enrich.KubernetesConfig{NodeName: "node-a", MasterURL: "https://10.100.0.1:443/api", AnnotationMatch: []string{"^team$"}},
			pods: podMap{"default/web-7d9f": pod},
			rec:  record(tag, 0, "log", "hi\n", "stream", "stdout"),
			want: `{"log":"hi\n","stream":"stdout","docker":{"container_id":"cid"},"kubernetes":{"container_name":"nginx","namespace_name":"default","pod_name":"web-7d9f","container_image":"nginx:1","container_image_id":"sha256:ab","pod_id":"uid-1","pod_ip":"10.0.0.7","host":"node-a","labels":{"app":"web","app.kubernetes.io/name":"web"},"annotations":{"team":"x"},"master_url":"https://10.100.0.1:443/api","namespace_id":"ns-uid","namespace_labels":{"env":"prod"}}}`,
		},
		{
			name: "current skips",
			cfg:  enrich.KubernetesConfig{MasterURL: "u", SkipLabels: true, SkipContainerMetadata: true, SkipMasterURL: true, SkipNamespaceMetadata: true},
			pods: podMap{"default/web-7d9f": pod},
			rec:  record(tag, 0, "log", "x"),
			want: `{"log":"x","docker":{"container_id":"cid"},"kubernetes":{"container_name":"nginx","namespace_name":"default","pod_name":"web-7d9f","pod_id":"uid-1","pod_ip":"10.0.0.7","host":"node-a"}}`,
		},
		{
			// The record the 2017 AWS workshop's Fluentd sends (aws-samples/aws-workshop-for-kubernetes@8b98373
			// cluster-logging/templates/fluentd-configmap.yaml: merge_json_log, preserve_json_log).
			name: "legacy merge_json_log",
			cfg: enrich.KubernetesConfig{Dialect: enrich.Legacy, MasterURL: "https://10.100.0.1:443/api", DeDot: true,
				MergeJSONLog: true, PreserveJSONLog: true},
			pods: podMap{"default/web-7d9f": pod},
			rec:  record(tag, 0, "log", "{\"level\":\"info\",\"msg\":\"hi\"}\n", "stream", "stdout"),
			want: `{"level":"info","msg":"hi","log":"{\"level\":\"info\",\"msg\":\"hi\"}\n","stream":"stdout","docker":{"container_id":"` + hexID + `"},"kubernetes":{"container_name":"nginx","namespace_name":"default","pod_name":"web-7d9f","pod_id":"uid-1","labels":{"app":"web","app_kubernetes_io/name":"web"},"host":"node-a","master_url":"https://10.100.0.1:443/api"}}`,
		},
		{
			name: "legacy merge without preserve, originals win",
			cfg:  enrich.KubernetesConfig{Dialect: enrich.Legacy, MergeJSONLog: true},
			rec:  record(tag, 0, "log", ` {"stream":"fake","a":"b"} `, "stream", "stdout"),
			want: `{"stream":"stdout","a":"b","docker":{"container_id":"` + hexID + `"},"kubernetes":{"container_name":"nginx","namespace_name":"default","pod_name":"web-7d9f"}}`,
		},
		{
			name: "legacy merge ignores non-objects",
			cfg:  enrich.KubernetesConfig{Dialect: enrich.Legacy, MergeJSONLog: true, PreserveJSONLog: true},
			rec:  record(tag, 0, "log", `{not json}`),
			want: `{"log":"{not json}","docker":{"container_id":"` + hexID + `"},"kubernetes":{"container_name":"nginx","namespace_name":"default","pod_name":"web-7d9f"}}`,
		},
		{
			name: "unmatched tag unchanged",
			cfg:  enrich.KubernetesConfig{NodeName: "n"},
			rec:  record("kubelet", 0, "message", "m"),
			want: `{"message":"m"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := enrich.NewKubernetes(tt.cfg, tt.pods, tt.files)
			if err != nil {
				t.Fatal(err)
			}
			r := tt.rec
			k.Apply(&r)
			if got := string(r.Fields.AppendJSON(nil)); got != tt.want {
				t.Fatalf("record=%s\nwant   %s", got, tt.want)
			}
		})
	}
}

// TestKubernetes_PodChange checks that a changed pod (a new *Pod) is picked up
// and that records of one container share one encoding otherwise.
func TestKubernetes_PodChange(t *testing.T) {
	tag := "kubernetes.var.log.containers.web_default_nginx-" + hexID + ".log"
	pods := podMap{"default/web": {Name: "web", Namespace: "default", Labels: []enrich.KV{{"v", "1"}}}}
	k, err := enrich.NewKubernetes(enrich.KubernetesConfig{}, pods, nil)
	if err != nil {
		t.Fatal(err)
	}
	kube := func() []byte {
		r := record(tag, 0, "log", "x")
		k.Apply(&r)
		v, _ := r.Fields.Get("kubernetes")
		return v.Bytes
	}
	a, b := kube(), kube()
	if &a[0] != &b[0] {
		t.Fatal("two records of one container got separate encodings")
	}
	pods["default/web"] = &enrich.Pod{Name: "web", Namespace: "default", Labels: []enrich.KV{{"v", "2"}}}
	if c := kube(); !strings.Contains(string(c), `"v":"2"`) {
		t.Fatalf("after pod change kubernetes=%s, want label v=2", c)
	}
}

func BenchmarkKubernetes_Apply(b *testing.B) {
	pods := podMap{}
	var tags []string
	for i := 0; i < 500; i++ {
		name := "pod-" + strings.Repeat("x", i%7) + string(rune('a'+i%26))
		ns := "ns" + string(rune('a'+i%5))
		pods[ns+"/"+name] = &enrich.Pod{Name: name, Namespace: ns, UID: "u", Labels: []enrich.KV{{"app", name}}}
		tags = append(tags, "kubernetes.var.log.containers."+name+"_"+ns+"_app-"+hexID+".log")
	}
	k, err := enrich.NewKubernetes(enrich.KubernetesConfig{NodeName: "node"}, pods, nil)
	if err != nil {
		b.Fatal(err)
	}
	fields := make(buffer.Fields, 0, 8)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Batches of 100 lines per container, as the tailer hands them over.
		r := buffer.Record{Tag: tags[(i/100)%len(tags)], Fields: append(fields[:0],
			buffer.Field{Key: "log", Value: buffer.Str([]byte("hello"))})}
		k.Apply(&r)
	}
}

// uidPods finds pods by UID only, recording the UIDs it was asked for.
type uidPods struct {
	pods  map[string]*enrich.Pod
	asked []string
}

func (u *uidPods) Pod(uid, ns, name string) (*enrich.Pod, bool) {
	u.asked = append(u.asked, uid)
	p, ok := u.pods[uid]
	return p, ok
}

// TestKubernetes_PathOnly checks that without an API server the record
// carries only what the path names, as
// fluent-plugin-kubernetes_metadata_filter v3.7.1 does without
// kubernetes_url (no pod_id although /var/log/pods paths hold the UID, no
// host), and that with an API server the path UID still finds the pod.
func TestKubernetes_PathOnly(t *testing.T) {
	linkTag := "kubernetes.var.log.containers.web-7d9f_default_nginx-" + hexID + ".log"
	podsTag := "kubernetes.var.log.pods.default_web-7d9f_uid-9.nginx.0.log"
	files := fileMap{7: "/var/log/pods/default_web-7d9f_uid-9/nginx/0.log"}
	names := `"container_name":"nginx","namespace_name":"default","pod_name":"web-7d9f"`
	tests := []struct {
		name string
		cfg  enrich.KubernetesConfig
		tag  string
		want string
	}{
		{"containers symlink, real path known", enrich.KubernetesConfig{NodeName: "node-a"}, linkTag,
			`{"log":"x","docker":{"container_id":"` + hexID + `"},"kubernetes":{` + names + `}}`},
		{"var.log.pods tag with the UID", enrich.KubernetesConfig{NodeName: "node-a"}, podsTag,
			`{"log":"x","kubernetes":{` + names + `}}`},
		{"legacy shape", enrich.KubernetesConfig{NodeName: "node-a", Dialect: enrich.Legacy}, linkTag,
			`{"log":"x","docker":{"container_id":"` + hexID + `"},"kubernetes":{"namespace_name":"default","pod_name":"web-7d9f","container_name":"nginx"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := enrich.NewKubernetes(tt.cfg, nil, files)
			if err != nil {
				t.Fatal(err)
			}
			r := record(tt.tag, 7, "log", "x")
			k.Apply(&r)
			got := string(r.Fields.AppendJSON(nil))
			if strings.Contains(got, "pod_id") || strings.Contains(got, "host") {
				t.Errorf("record=%s: pod_id or host without an API server", got)
			}
			if !strings.Contains(got, `"kubernetes":{`) || !strings.Contains(got, `"pod_name":"web-7d9f"`) {
				t.Errorf("record=%s, want the path's names", got)
			}
			if tt.cfg.Dialect != enrich.Legacy && got != tt.want {
				t.Errorf("record=%s\nwant   %s", got, tt.want)
			}
		})
	}

	t.Run("with an API server the path UID finds the pod", func(t *testing.T) {
		pods := &uidPods{pods: map[string]*enrich.Pod{"uid-9": {UID: "uid-9", Name: "web-7d9f", Namespace: "default", NodeName: "node-b"}}}
		k, err := enrich.NewKubernetes(enrich.KubernetesConfig{NodeName: "node-a"}, pods, files)
		if err != nil {
			t.Fatal(err)
		}
		r := record(linkTag, 7, "log", "x")
		k.Apply(&r)
		got := string(r.Fields.AppendJSON(nil))
		if want := `"kubernetes":{` + names + `,"pod_id":"uid-9","host":"node-b"}`; !strings.Contains(got, want) {
			t.Errorf("record=%s, want %s", got, want)
		}
		if len(pods.asked) == 0 || pods.asked[len(pods.asked)-1] != "uid-9" {
			t.Errorf("lookups by UID %q, want the path's uid-9", pods.asked)
		}
	})
}
