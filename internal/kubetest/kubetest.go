// Package kubetest runs a real kube-apiserver, backed by a real etcd, on
// 127.0.0.1 for integration tests: random free ports, a self-signed CA and
// serving certificate, a token file (an admin token in system:masters), a
// client certificate for the same admin, a generated service-account signing
// key, and RBAC authorization. No kubelet, scheduler or controller manager
// runs: objects are created as written (pods with spec.nodeName set stay
// where they are put).
//
// The binaries: etcd from Debian's etcd-server package (/usr/bin/etcd, or
// $LOGSHIP_ETCD), and kube-apiserver v1.37.2 built from the Go module
// k8s.io/kubernetes by build.sh ($LOGSHIP_KUBE_APISERVER, else
// $LOGSHIP_KUBE_CACHE/bin/kube-apiserver, else
// $HOME/.cache/logship/kube/bin/kube-apiserver, else $PATH). Start skips the
// test, naming what is missing, when a binary cannot be found, unless
// LOGSHIP_KUBE_REQUIRE=1 (CI sets it), which makes that a failure.
package kubetest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"logship/internal/proc"
)

// Version is the kube-apiserver version build.sh builds.
const Version = "v1.37.2"

// AdminToken is the bearer token of the admin user (group system:masters).
const AdminToken = "logship-kubetest-admin-token"

// Options adjusts a cluster.
type Options struct {
	// ExtraArgs are appended to kube-apiserver's arguments (a later flag
	// overrides an earlier one).
	ExtraArgs []string
	// Tokens are extra lines of the static token file:
	// token,user,uid,"group1,group2".
	Tokens []string
}

// Cluster is a running etcd and kube-apiserver.
type Cluster struct {
	// URL is the API server's address, https://127.0.0.1:<port>.
	URL string
	// Dir holds the certificates, keys, token file and logs.
	Dir string
	// CAFile is the PEM CA that signed the serving and client certificates.
	CAFile string
	// ClientCert and ClientKey are a PEM client certificate and key of the
	// admin user (CN admin, O system:masters).
	ClientCert, ClientKey string
	// TokenFile holds AdminToken (a bearer_token_file).
	TokenFile string
	// ServiceAccountKey is the PEM private key that signs service-account
	// tokens; ServiceAccountIssuer is their issuer.
	ServiceAccountKey, ServiceAccountIssuer string

	tb        testing.TB
	apiserver string
	args      []string
	caPEM     []byte

	mu   sync.Mutex
	etcd *proc.Proc
	api  *proc.Proc
}

// Start starts etcd and kube-apiserver and waits until the API server is
// ready. Both are stopped, and their files removed, when the test ends.
func Start(tb testing.TB) *Cluster { return StartWith(tb, Options{}) }

// StartWith is Start with options.
func StartWith(tb testing.TB, opts Options) *Cluster {
	tb.Helper()
	etcdBin, apiBin, err := Binaries()
	if err != nil {
		if os.Getenv("LOGSHIP_KUBE_REQUIRE") == "1" {
			tb.Fatalf("kubetest: %v (LOGSHIP_KUBE_REQUIRE=1)", err)
		}
		tb.Skipf("kubetest: %v", err)
	}
	dir, err := os.MkdirTemp("", "kubetest-")
	if err != nil {
		tb.Fatalf("kubetest: %v", err)
	}
	c := &Cluster{tb: tb, Dir: dir, apiserver: apiBin}
	tb.Cleanup(c.cleanup)

	if err := c.writeCredentials(opts); err != nil {
		tb.Fatalf("kubetest: credentials: %v", err)
	}
	ports, err := proc.FreePorts(3)
	if err != nil {
		tb.Fatalf("kubetest: %v", err)
	}
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	peerURL := "http://127.0.0.1:" + strconv.Itoa(ports[1])
	c.URL = "https://127.0.0.1:" + strconv.Itoa(ports[2])

	c.etcd, err = startProcess(etcdBin, filepath.Join(dir, "etcd.log"), []string{
		"--name=kubetest",
		"--data-dir=" + filepath.Join(dir, "etcd"),
		"--listen-client-urls=" + etcdURL,
		"--advertise-client-urls=" + etcdURL,
		"--listen-peer-urls=" + peerURL,
		"--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=kubetest=" + peerURL,
		"--logger=zap",
		"--log-level=warn",
	})
	if err != nil {
		tb.Fatalf("kubetest: etcd: %v", err)
	}
	if err := proc.WaitHTTP(http.DefaultClient, etcdURL+"/health", 30*time.Second, c.etcd); err != nil {
		c.dumpLogs()
		tb.Fatalf("kubetest: etcd not healthy: %v", err)
	}

	c.args = append([]string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		// The kubernetes service endpoints may not be loopback; nothing here
		// needs them.
		"--endpoint-reconciler-type=none",
		"--secure-port=" + strconv.Itoa(ports[2]),
		"--tls-cert-file=" + filepath.Join(dir, "apiserver.crt"),
		"--tls-private-key-file=" + filepath.Join(dir, "apiserver.key"),
		"--client-ca-file=" + c.CAFile,
		"--token-auth-file=" + filepath.Join(dir, "tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-account-key-file=" + filepath.Join(dir, "sa.pub"),
		"--service-account-signing-key-file=" + c.ServiceAccountKey,
		"--service-account-issuer=" + c.ServiceAccountIssuer,
		"--service-cluster-ip-range=10.0.0.0/24",
		// No controller manager creates the "default" service account, so
		// the admission plugin that requires it would refuse every pod.
		"--disable-admission-plugins=ServiceAccount",
		"--cert-dir=" + filepath.Join(dir, "certs"),
		"--profiling=false",
		"--v=0",
	}, opts.ExtraArgs...)
	if err := c.startAPIServer(); err != nil {
		c.dumpLogs()
		tb.Fatalf("kubetest: %v", err)
	}
	return c
}

// Binaries finds etcd and kube-apiserver; the error names what is missing
// and how to get it.
func Binaries() (etcd, apiserver string, err error) {
	etcd = os.Getenv("LOGSHIP_ETCD")
	if etcd == "" {
		etcd = "/usr/bin/etcd"
		if p, err := exec.LookPath("etcd"); err == nil {
			etcd = p
		}
	}
	var missing []error
	if !isExecutable(etcd) {
		missing = append(missing, fmt.Errorf("etcd not found at %s (apt-get install etcd-server, or set LOGSHIP_ETCD)", etcd))
	}
	apiserver = os.Getenv("LOGSHIP_KUBE_APISERVER")
	if apiserver == "" {
		cache := os.Getenv("LOGSHIP_KUBE_CACHE")
		if cache == "" {
			if home, err := os.UserHomeDir(); err == nil {
				cache = filepath.Join(home, ".cache", "logship", "kube")
			}
		}
		apiserver = filepath.Join(cache, "bin", "kube-apiserver")
		if !isExecutable(apiserver) {
			if p, err := exec.LookPath("kube-apiserver"); err == nil {
				apiserver = p
			}
		}
	}
	if !isExecutable(apiserver) {
		missing = append(missing, fmt.Errorf("kube-apiserver %s not found at %s (run internal/kubetest/build.sh, or set LOGSHIP_KUBE_APISERVER)", Version, apiserver))
	}
	return etcd, apiserver, errors.Join(missing...)
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// Config returns a client configuration of the admin user (bearer token,
// server certificate checked against the CA).
func (c *Cluster) Config() *rest.Config {
	return &rest.Config{
		Host:            c.URL,
		BearerToken:     AdminToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: bytes.Clone(c.caPEM)},
		QPS:             -1, // no client-side rate limit in tests
	}
}

// Client returns an admin clientset.
func (c *Cluster) Client() kubernetes.Interface {
	cs, err := kubernetes.NewForConfig(c.Config())
	if err != nil {
		c.tb.Fatalf("kubetest: client: %v", err)
	}
	return cs
}

// Kubeconfig writes a kubeconfig file for the admin user (token auth) into
// Dir and returns its path.
func (c *Cluster) Kubeconfig() string {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["kubetest"] = &clientcmdapi.Cluster{Server: c.URL, CertificateAuthorityData: bytes.Clone(c.caPEM)}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: AdminToken}
	cfg.Contexts["kubetest"] = &clientcmdapi.Context{Cluster: "kubetest", AuthInfo: "admin"}
	cfg.CurrentContext = "kubetest"
	path := filepath.Join(c.Dir, "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		c.tb.Fatalf("kubetest: kubeconfig: %v", err)
	}
	return path
}

// Stop stops the API server (SIGTERM, then SIGKILL after 10 s); etcd keeps
// running, so Restart brings back the same data on the same address.
func (c *Cluster) Stop() {
	c.tb.Helper()
	c.mu.Lock()
	p := c.api
	c.api = nil
	c.mu.Unlock()
	if p != nil {
		p.Stop(stopGrace)
	}
}

// Restart starts the API server again after Stop (or stops it first) and
// waits until it is ready.
func (c *Cluster) Restart() {
	c.tb.Helper()
	c.Stop()
	if err := c.startAPIServer(); err != nil {
		c.dumpLogs()
		c.tb.Fatalf("kubetest: restart: %v", err)
	}
}

func (c *Cluster) startAPIServer() error {
	p, err := startProcess(c.apiserver, filepath.Join(c.Dir, "kube-apiserver.log"), c.args)
	if err != nil {
		return fmt.Errorf("kube-apiserver: %w", err)
	}
	c.mu.Lock()
	c.api = p
	c.mu.Unlock()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.caPEM)
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &bearer{
		token: AdminToken,
		next:  &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}}
	if err := proc.WaitHTTP(hc, c.URL+"/readyz", 120*time.Second, p); err != nil {
		return fmt.Errorf("kube-apiserver not ready: %w", err)
	}
	return nil
}

func (c *Cluster) cleanup() {
	c.mu.Lock()
	api, etcd := c.api, c.etcd
	c.api, c.etcd = nil, nil
	c.mu.Unlock()
	if c.tb.Failed() {
		c.dumpLogs()
	}
	if api != nil {
		api.Stop(stopGrace)
	}
	if etcd != nil {
		etcd.Stop(stopGrace)
	}
	os.RemoveAll(c.Dir)
}

// dumpLogs logs the tail of both processes' logs.
func (c *Cluster) dumpLogs() {
	for _, name := range []string{"etcd.log", "kube-apiserver.log"} {
		b, err := os.ReadFile(filepath.Join(c.Dir, name))
		if err != nil {
			continue
		}
		if len(b) > 6000 {
			b = b[len(b)-6000:]
		}
		c.tb.Logf("kubetest: tail of %s:\n%s", name, b)
	}
}

type bearer struct {
	token string
	next  http.RoundTripper
}

func (b *bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// stopGrace is how long a stopped process has after SIGTERM before SIGKILL.
const stopGrace = 10 * time.Second

// startProcess starts bin with its output appended to logPath.
func startProcess(bin, logPath string, args []string) (*proc.Proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	// Killed with the test binary, even when it dies without cleanup.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return proc.Start(cmd, logf)
}
