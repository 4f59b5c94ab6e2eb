package enrich

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-logr/logr"
	"go.uber.org/zap"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
)

// DefaultSecretDir is where the service-account token and CA are mounted,
// the plugin's secret_dir default.
const DefaultSecretDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// ErrNoAPIServer is returned by ClientConfig.RESTConfig when neither a
// kubeconfig, a kubernetes_url nor the in-cluster environment names an API
// server: the plugin then adds path metadata only, and so do we.
var ErrNoAPIServer = errors.New("kubernetes: no API server (no kubeconfig, kubernetes_url or KUBERNETES_SERVICE_HOST)")

// ClientConfig says how to reach the API server. Its fields are the
// kubernetes_metadata filter's options, so an existing filter section works
// as written (fluent-plugin-kubernetes_metadata_filter v3.7.1 README.md,
// "Configuration"). The zero value is the
// in-cluster configuration.
type ClientConfig struct {
	// Kubeconfig is a kubeconfig file; when set, the other fields are ignored.
	Kubeconfig string
	// URL is kubernetes_url, e.g. "https://10.100.0.1:443/api" (a trailing
	// "/api" is dropped: client-go adds it). "" means
	// https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT.
	URL string
	// BearerTokenFile is bearer_token_file; "" means SecretDir/token if it
	// exists. client-go re-reads it, so rotated tokens work.
	BearerTokenFile string
	// CAFile is ca_file; "" means SecretDir/ca.crt if it exists, else the
	// system roots.
	CAFile string
	// ClientCert and ClientKey are client_cert and client_key (PEM files);
	// "" means none.
	ClientCert, ClientKey string
	// InsecureSkipVerify is verify_ssl false: the server certificate is not
	// checked.
	InsecureSkipVerify bool
	// SecretDir is secret_dir; "" means DefaultSecretDir.
	SecretDir string
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
}

// RESTConfig builds the client configuration. It reads the kubeconfig (if
// any) and looks for the service-account files; it does not contact the
// server.
func (c ClientConfig) RESTConfig() (*rest.Config, error) {
	if c.Kubeconfig != "" {
		rc, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("kubeconfig %s: %w", c.Kubeconfig, err)
		}
		return rc, nil
	}
	host := c.MasterURL()
	if host == "" {
		return nil, ErrNoAPIServer
	}
	host = strings.TrimSuffix(strings.TrimSuffix(host, "/"), "/api")
	dir := c.SecretDir
	if dir == "" {
		dir = DefaultSecretDir
	}
	exists := func(name string) string {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		return ""
	}
	rc := &rest.Config{
		Host:            host,
		BearerTokenFile: c.BearerTokenFile,
		TLSClientConfig: rest.TLSClientConfig{
			CAFile:   c.CAFile,
			CertFile: c.ClientCert,
			KeyFile:  c.ClientKey,
			Insecure: c.InsecureSkipVerify,
		},
	}
	if rc.BearerTokenFile == "" && rc.CertFile == "" {
		rc.BearerTokenFile = exists("token")
	}
	if rc.CAFile == "" && !rc.Insecure {
		rc.CAFile = exists("ca.crt")
	}
	return rc, nil
}

// MasterURL is kubernetes.master_url as the plugin reports it: URL, else
// https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api (IPv6
// bracketed); "" when neither is known. With a kubeconfig it is the
// kubeconfig's server.
func (c ClientConfig) MasterURL() string {
	if c.URL != "" {
		return c.URL
	}
	if c.Kubeconfig != "" {
		if rc, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig); err == nil {
			return rc.Host
		}
		return ""
	}
	getenv := c.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	h, p := getenv("KUBERNETES_SERVICE_HOST"), getenv("KUBERNETES_SERVICE_PORT")
	if h == "" || p == "" {
		return ""
	}
	return "https://" + net.JoinHostPort(h, p) + "/api"
}

// klogToZap routes client-go's contextual logging (reflector retries, watch
// errors) to log at debug level: apiHealth says what operators need once.
func klogToZap(log *zap.Logger) klog.Logger {
	return logr.New(&zapSink{log: log.Named("client-go")})
}

type zapSink struct {
	log *zap.Logger
}

func (s *zapSink) Init(logr.RuntimeInfo) {}

// Enabled passes verbosity 0–2 (client-go's warnings and state changes).
func (s *zapSink) Enabled(level int) bool { return level <= 2 && s.log.Core().Enabled(zap.DebugLevel) }

func (s *zapSink) Info(_ int, msg string, kv ...any) { s.log.Debug(msg, kvFields(kv)...) }

func (s *zapSink) Error(err error, msg string, kv ...any) {
	s.log.Debug(msg, append(kvFields(kv), zap.Error(err))...)
}

func (s *zapSink) WithValues(kv ...any) logr.LogSink {
	return &zapSink{log: s.log.With(kvFields(kv)...)}
}

func (s *zapSink) WithName(name string) logr.LogSink { return &zapSink{log: s.log.Named(name)} }

func kvFields(kv []any) []zap.Field {
	out := make([]zap.Field, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			k = fmt.Sprint(kv[i])
		}
		out = append(out, zap.Any(k, kv[i+1]))
	}
	return out
}
