package agent_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"logship/internal/kubelog"
	"logship/internal/kubetest"
	"logship/sink/emulator"
	"logship/sink/emulator/emulatortest"
)

const kubeConfig = `
<source>
  @type tail
  path {{ROOT}}/var/log/containers/*.log
  pos_file {{ROOT}}/c.pos
  tag kubernetes.*
  read_from_head true
  <parse>
    @type cri
  </parse>
</source>
<filter kubernetes.**>
  @type kubernetes_metadata
  kubernetes_url {{API}}
  ca_file {{CA}}
  client_cert {{CERT}}
  client_key {{KEY}}
</filter>
<match **>
  @type cloudwatch_logs
  log_group_name kube
  use_tag_as_stream true
  auto_create_stream true
  region us-east-1
  endpoint {{URL}}
  aws_key_id {{AK}}
  aws_sec_key {{SK}}
  <buffer>
    flush_interval 1s
  </buffer>
</match>
`

// TestAgent_KubernetesMetadata runs the agent with a kubernetes_metadata
// filter against a real kube-apiserver: records carry the pod's labels,
// image and namespace metadata, looked up by the pod UID of the log path.
func TestAgent_KubernetesMetadata(t *testing.T) {
	cl := kubetest.Start(t)
	cs := cl.Client()
	ctx := context.Background()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: "shop", Labels: map[string]string{"team": "payments"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod, err := cs.CoreV1().Pods("shop").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-1", Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "app", Image: "registry.test/web:2"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// No kubelet runs: set the status it would report.
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.9.0.7", ContainerStatuses: []corev1.ContainerStatus{{
		Name: "app", Image: "registry.test/web:2", ImageID: "registry.test/web@sha256:22",
		ContainerID: "containerd://abc", Ready: true}}}
	if pod, err = cs.CoreV1().Pods("shop").UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	env := emulatortest.Start(t, emulator.Config{})
	root, state := t.TempDir(), t.TempDir()
	node := &kubelog.Node{Root: filepath.Join(root, "var", "log"), Start: time.Now().Add(-time.Minute)}
	c, err := node.AddContainerUID("shop", "web-1", string(pod.UID), "app", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.Write(c, 20, 100); err != nil {
		t.Fatal(err)
	}
	cfg := strings.NewReplacer("{{ROOT}}", root, "{{URL}}", env.URL, "{{AK}}", env.AccessKeyID, "{{SK}}", env.SecretAccessKey,
		"{{API}}", cl.URL, "{{CA}}", cl.CAFile, "{{CERT}}", cl.ClientCert, "{{KEY}}", cl.ClientKey).Replace(kubeConfig)
	stop := runAgent(t, cfg, state, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	waitEvents(t, env, nil, 20)
	if err := stop(); err != nil {
		t.Fatalf("agent: %v", err)
	}
	stream := "kubernetes." + strings.ReplaceAll(strings.TrimPrefix(c.Link, "/"), "/", ".")
	evs := env.Server.Events("kube", stream)
	if len(evs) != 20 {
		t.Fatalf("%d events, want 20", len(evs))
	}
	var m struct {
		Kube struct {
			Pod       string            `json:"pod_name"`
			PodID     string            `json:"pod_id"`
			Image     string            `json:"container_image"`
			Host      string            `json:"host"`
			Labels    map[string]string `json:"labels"`
			NsLabels  map[string]string `json:"namespace_labels"`
			MasterURL string            `json:"master_url"`
		} `json:"kubernetes"`
	}
	if err := json.Unmarshal([]byte(evs[0].Message), &m); err != nil {
		t.Fatal(err)
	}
	k := m.Kube
	if k.Pod != "web-1" || k.PodID != string(pod.UID) || k.Image != "registry.test/web:2" || k.Host != "node-1" ||
		k.Labels["app"] != "web" || k.NsLabels["team"] != "payments" || k.MasterURL != cl.URL {
		t.Fatalf("kubernetes metadata %+v, want the API server's pod (uid %s)\n%s", k, pod.UID, evs[0].Message)
	}
}
