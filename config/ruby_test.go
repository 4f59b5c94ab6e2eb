package config_test

import (
	"errors"
	"strings"
	"testing"

	"logship/config"
)

// k8sURL is the kubernetes_url expression of the upstream v1.19 image
// (fixtures/fluentd-kubernetes-daemonset-v1.19-cloudwatch/conf/kubernetes.conf).
const k8sURL = `ENV['FLUENT_FILTER_KUBERNETES_URL'] || (host = ENV.fetch('KUBERNETES_SERVICE_HOST'); port = ENV.fetch('KUBERNETES_SERVICE_PORT'); host = (IPAddr.new(host).ipv6? ? '[' + host + ']' : host rescue host); 'https://' + host + ':' + port + '/api')`

func TestParse_Embedded(t *testing.T) {
	svc := func(host string) map[string]string {
		return map[string]string{"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": "443"}
	}
	tests := []struct {
		name string
		code string
		env  map[string]string
		want string
		kind config.ValueKind
	}{
		{"ENV single quotes", `ENV['A']`, map[string]string{"A": "a"}, "a", config.KindString},
		{"ENV double quotes", `ENV["A"]`, map[string]string{"A": "a"}, "a", config.KindString},
		{"ENV unset is empty", `ENV['A']`, nil, "", config.KindString},
		{"or default", `ENV['A'] || 'd'`, nil, "d", config.KindString},
		{"or keeps empty string (truthy in Ruby)", `ENV['A'] || 'd'`, map[string]string{"A": ""}, "", config.KindString},
		{"or true", `ENV['KUBERNETES_VERIFY_SSL'] || true`, nil, "true", config.KindString},
		{"or nil string", `ENV['RETENTION_IN_DAYS'] || 'nil'`, nil, "nil", config.KindString},
		{"chained or", `ENV['A'] || ENV['B'] || 'c'`, map[string]string{"B": "b"}, "b", config.KindString},
		{"fetch default", `ENV.fetch('A', 'd')`, nil, "d", config.KindString},
		{"fetch set", `ENV.fetch('A', 'd')`, map[string]string{"A": "a"}, "a", config.KindString},
		{"fetch block", `ENV.fetch('A') { 'd' }`, nil, "d", config.KindString},
		{"fetch block set", `ENV.fetch('A') { 'd' }`, map[string]string{"A": "a"}, "a", config.KindString},
		{"File.join empty middle", `File.join('/var/log/', ENV.fetch('FLUENT_POS_EXTRA_DIR', ''), 'fluentd-containers.log.pos')`, nil, "/var/log/fluentd-containers.log.pos", config.KindString},
		{"File.join extra dir", `File.join('/var/log/', ENV.fetch('FLUENT_POS_EXTRA_DIR', ''), 'x.pos')`, map[string]string{"FLUENT_POS_EXTRA_DIR": "extra"}, "/var/log/extra/x.pos", config.KindString},
		{"File.join slashes", `File.join('a/', '/b/', 'c')`, nil, "a/b/c", config.KindString},
		{"File.join leading empty", `File.join('', 'b')`, nil, "/b", config.KindString},
		{"File.join one", `File.join('a')`, nil, "a", config.KindString},
		{"Socket.gethostname", `Socket.gethostname`, nil, "node-1", config.KindString},
		{"hostname variable", `hostname`, nil, "node-1", config.KindString},
		{"worker_id unset", `worker_id`, nil, "", config.KindString},
		{"worker_id", `worker_id`, map[string]string{"SERVERENGINE_WORKER_ID": "2"}, "2", config.KindString},
		{"use_default", `ENV['A'] || use_default`, nil, "", config.KindDefault},
		{"use_default not reached", `ENV['A'] || use_default`, map[string]string{"A": "a"}, "a", config.KindString},
		{"use_nil", `ENV['A'] || use_nil`, nil, "", config.KindNil},
		{"nil", `nil`, nil, "", config.KindString},
		{"false", `false`, nil, "false", config.KindString},
		{"concat", `'a' + ENV['A'] + "c"`, map[string]string{"A": "b"}, "abc", config.KindString},
		{"rescue", `'a' + ENV['A'] rescue 'r'`, nil, "r", config.KindString},
		{"local variables", `x = 'a'; y = x + 'b'; y + x`, nil, "aba", config.KindString},
		{"ternary", `ENV['A'] ? 'yes' : 'no'`, nil, "no", config.KindString},
		{"ipv4?", `IPAddr.new('10.0.0.1').ipv4?`, nil, "true", config.KindString},
		{"ipv6? bracketed", `IPAddr.new('[fd00::1]').ipv6?`, nil, "true", config.KindString},
		{"kubernetes_url IPv4", k8sURL, svc("172.20.0.1"), "https://172.20.0.1:443/api", config.KindString},
		{"kubernetes_url IPv6", k8sURL, svc("fd00:10:96::1"), "https://[fd00:10:96::1]:443/api", config.KindString},
		{"kubernetes_url hostname (IPAddr raises, rescued)", k8sURL, svc("kubernetes.default.svc"), "https://kubernetes.default.svc:443/api", config.KindString},
		{"kubernetes_url override", k8sURL, map[string]string{"FLUENT_FILTER_KUBERNETES_URL": "https://k8s:6443"}, "https://k8s:6443", config.KindString},
		{"comment in code", "ENV['A'] || 'd' # why\n", nil, "d", config.KindString},
		{"brace in string", `ENV['A'] || '}'`, nil, "}", config.KindString},
		{"empty code", ``, nil, "", config.KindString},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := "k \"#{" + tc.code + "}\"\n"
			c := mustParse(t, src, tc.env)
			p := c.Root.Param("k")
			if p.Value != tc.want || p.Kind != tc.kind {
				t.Fatalf("#{%s} = %q kind %d, want %q kind %d", tc.code, p.Value, p.Kind, tc.want, tc.kind)
			}
		})
	}
}

func TestParse_EmbeddedNilWins(t *testing.T) {
	c := mustParse(t, `k "#{use_default}-#{use_nil}"`+"\n", nil)
	if p := c.Root.Param("k"); p.Kind != config.KindNil {
		t.Fatalf("kind = %d, want KindNil (nil takes precedence as in Fluentd)", p.Kind)
	}
}

func TestParse_EmbeddedErrors(t *testing.T) {
	tests := []struct {
		name, code, msg string
		env             map[string]string
		unsupported     bool
	}{
		{"to_s is not supported", `ENV['A'].to_s`, "method to_s", nil, true},
		{"other constant", `Time.now`, "constant Time", nil, true},
		{"unknown name", `foo`, "undefined name foo", nil, true},
		{"and operator", `ENV['A'] && 'b'`, `operator "&&"`, nil, true},
		{"equality", `ENV['A'] == 'b'`, `operator "=="`, nil, true},
		{"integer", `1 + 2`, `"1"`, nil, true},
		{"backtick", "`id`", `"` + "`" + `"`, nil, true},
		{"if", `if true then 'a' end`, "keyword if", nil, true},
		{"fetch without parens", `ENV.fetch 'A'`, "ENV.fetch with 0", nil, true},
		{"fetch three args", `ENV.fetch('A', 'b', 'c')`, "ENV.fetch with 3", nil, true},
		{"system", `system('rm -rf /')`, "undefined name system", nil, true},
		{"percent literal", `%w[a b]`, `"%"`, nil, true},
		{"indexing a string", `'abc'['a']`, "indexing other than ENV", nil, true},
		{"interpolation in literal", `"a#{1}"`, "interpolation inside a string literal", nil, true},
		{"unset fetch", `ENV.fetch('KUBERNETES_SERVICE_HOST')`, `raised KeyError: key not found: "KUBERNETES_SERVICE_HOST"`, nil, false},
		{"kubernetes_url outside a cluster", k8sURL, `raised KeyError: key not found: "KUBERNETES_SERVICE_HOST"`, nil, false},
		{"nil plus", `'a' + ENV['A']`, "TypeError: no implicit conversion of nil into String", nil, false},
		{"method on string", `'a'.ipv6?`, "NoMethodError", nil, false},
		{"invalid IP", `IPAddr.new('x').ipv6?`, "InvalidAddressError", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := "k \"#{" + tc.code + "}\"\n"
			_, err := parse(t, src, tc.env)
			var e *config.Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q) = %v, want a *config.Error", src, err)
			}
			if e.File != "test.conf" || e.Line != 1 || e.Col < 4 || !strings.Contains(e.Error(), tc.msg) {
				t.Fatalf("Parse(%q) = %v, want test.conf:1:… naming %q", src, err, tc.msg)
			}
			if !strings.Contains(e.Error(), strings.TrimSpace(tc.code)) {
				t.Fatalf("error %q does not name the expression %q", e.Error(), tc.code)
			}
			if got := errors.Is(err, config.ErrUnsupported); got != tc.unsupported {
				t.Fatalf("errors.Is(ErrUnsupported) = %v, want %v (%v)", got, tc.unsupported, err)
			}
		})
	}
}

func TestParse_HostnameUnavailable(t *testing.T) {
	_, err := config.Parse("t.conf", []byte(`k "#{Socket.gethostname}"`+"\n"), config.Options{})
	if err == nil || !strings.Contains(err.Error(), "hostname") {
		t.Fatalf("Parse without Options.Hostname = %v, want a hostname error", err)
	}
}
