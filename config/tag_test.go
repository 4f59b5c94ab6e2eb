package config_test

import (
	"testing"

	"logship/config"
)

func TestTailTag_Expand(t *testing.T) {
	tests := []struct{ tag, path, want string }{
		{"kubernetes.*", "/var/log/containers/x.log", "kubernetes.var.log.containers.x.log"},
		{"kubernetes.*", "/var/log/containers/web-7d9f_default_nginx-0123abcd.log", "kubernetes.var.log.containers.web-7d9f_default_nginx-0123abcd.log"},
		{"kubernetes.*", "/var/log/containers/a..b.log", "kubernetes.var.log.containers.a.b.log"},
		{"kubernetes.*", "//var//log/x.log", "kubernetes.var.log.x.log"},
		{"kubernetes.*", "relative/x.log", "kubernetes.relative.x.log"},
		{"kubernetes.*", "/var/log/", "kubernetes.var.log."},
		{"*", "/var/log/x.log", "var.log.x.log"},
		{"a.*.b", "/x.log", "a.x.log.b"},
		{"a*b*c", "/x", "axb"}, // text after a second '*' is dropped
		{"kubelet", "/var/log/kubelet.log", "kubelet"},
		{"", "/var/log/kubelet.log", ""},
	}
	for _, tc := range tests {
		if got := config.ExpandTailTag(tc.tag, tc.path); got != tc.want {
			t.Errorf("ExpandTailTag(%q, %q) = %q, want %q", tc.tag, tc.path, got, tc.want)
		}
	}
}

func BenchmarkTailTag_Expand(b *testing.B) {
	tt := config.ParseTailTag("kubernetes.*")
	path := "/var/log/containers/web-7d9f_default_nginx-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.log"
	b.ReportAllocs()
	b.SetBytes(int64(len(path)))
	for i := 0; i < b.N; i++ {
		tt.Expand(path)
	}
}
