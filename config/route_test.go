package config_test

import (
	"fmt"
	"strings"
	"testing"

	"logship/config"
)

// routeString renders a route as "@id,@id -> @id" (or "none" for no match).
func routeString(rt *config.Route) string {
	var ids []string
	for _, f := range rt.Filters {
		ids = append(ids, f.ID())
	}
	m := "none"
	if rt.Match != nil {
		m = rt.Match.ID()
	}
	return strings.Join(ids, ",") + " -> " + m
}

const routerConf = `
<source>
  @type tail
  @id src_top
  tag kubernetes.*
</source>
<source>
  @type systemd
  @id src_sys
  @label @SYSTEMD
  tag systemd
</source>
<filter kubernetes.**>
  @type kubernetes_metadata
  @id f_meta
</filter>
<filter **>
  @type record_transformer
  @id f_all
</filter>
<match fluent.**>
  @type null
  @id m_fluent
</match>
<filter kubernetes.var.**>
  @type grep
  @id f_var
</filter>
<match kubernetes.** kube.**>
  @type cloudwatch_logs
  @id m_cw
</match>
<filter kubernetes.**>
  @type grep
  @id f_after_match
</filter>
<match **>
  @type stdout
  @id m_rest
</match>
<label @SYSTEMD>
  <filter systemd.**>
    @type parser
    @id f_sys
  </filter>
  <match systemd.kubelet>
    @type relabel
    @id m_relabel
    @label @ROOT
  </match>
  <match systemd>
    @type null
    @id m_sys
  </match>
</label>
<label @FLUENT_LOG>
  <filter **>
    @id f_log
  </filter>
</label>
`

func TestRouter_Route(t *testing.T) {
	c, r := newRouter(t, routerConf)
	tests := []struct {
		label, tag, want string
	}{
		{"", "kubernetes.var.log.containers.x.log", "f_meta,f_all,f_var -> m_cw"},
		{"", "kubernetes.opt.x", "f_meta,f_all -> m_cw"},
		{"", "kube.default.nginx", "f_all -> m_cw"},
		{"", "fluent.info", "f_all -> m_fluent"},
		{"", "other", "f_all -> m_rest"},
		{"@ROOT", "other", "f_all -> m_rest"},
		{"@SYSTEMD", "systemd", "f_sys -> m_sys"},
		{"@SYSTEMD", "systemd.kubelet", "f_sys -> m_relabel"},
		{"@SYSTEMD", "systemd.docker", "f_sys -> none"},
		{"@SYSTEMD", "x", " -> none"},
		{"@FLUENT_LOG", "fluent.warn", "f_log -> none"},
	}
	for _, tc := range tests {
		t.Run(tc.label+"/"+tc.tag, func(t *testing.T) {
			for i := 0; i < 2; i++ { // computed, then cached
				if got := routeString(r.Route(tc.label, tc.tag)); got != tc.want {
					t.Fatalf("Route(%q, %q) = %q, want %q (call %d)", tc.label, tc.tag, got, tc.want, i+1)
				}
			}
		})
	}
	if r.Route("@NOPE", "x") != nil {
		t.Fatalf("Route of an undefined label = non-nil")
	}
	srcs := c.Directives("source")
	if l := r.Source(srcs[0]); l.Name != "" {
		t.Fatalf("Source(src_top) label = %q, want top level", l.Name)
	}
	if l := r.Source(srcs[1]); l.Name != "@SYSTEMD" || l.Section == nil {
		t.Fatalf("Source(src_sys) label = %q", l.Name)
	}
	var ids []string
	for _, d := range r.Label("").Directives() {
		ids = append(ids, d.ID())
	}
	if got := strings.Join(ids, ","); got != "f_meta,f_all,m_fluent,f_var,m_cw,f_after_match,m_rest" {
		t.Fatalf("Directives = %s", got)
	}
}

func TestRouter_Errors(t *testing.T) {
	runTextCases(t, []textCase{
		{"undefined label on a source", "<source>\n  @label @NOPE\n</source>\n", "test.conf:2:10: @label @NOPE: no <label @NOPE> is defined"},
		{"undefined label on a match", "<label @A>\n  <match **>\n    @label @B\n  </match>\n</label>\n", "test.conf:3:12: @label @B"},
		{"duplicate label", "<label @A>\n</label>\n<label @A>\n</label>\n", "test.conf:3:1: <label @A> is defined twice (first at test.conf:1:1)"},
		{"unnamed label", "<label>\n</label>\n", "test.conf:1:1: <label> needs a name"},
		{"bad pattern", "<match /abc>\n</match>\n", "test.conf:1:1: <match /abc>: invalid match pattern"},
	}, "NewRouter error", func(t *testing.T, src string) string {
		_, err := config.NewRouter(mustParse(t, src, nil))
		return errText(err)
	})
}

func TestRouter_RouteCachedDoesNotAllocate(t *testing.T) {
	_, r := newRouter(t, routerConf)
	l := r.Label("")
	tag := "kubernetes.var.log.containers.x.log"
	l.Route(tag)
	if n := testing.AllocsPerRun(100, func() { l.Route(tag) }); n != 0 {
		t.Fatalf("cached Route allocates %v times, want 0", n)
	}
}

func TestRouter_Concurrent(t *testing.T) {
	_, r := newRouter(t, routerConf)
	// Sections are configuration-time objects (their accessors mark them
	// used), so the goroutines compare pointers only.
	want := r.Route("", "kube.x.y")
	if routeString(want) != "f_all -> m_cw" {
		t.Fatalf("Route(kube.x.y) = %s", routeString(want))
	}
	done := make(chan string)
	for g := 0; g < 4; g++ {
		go func(g int) {
			bad := ""
			for i := 0; i < 3000; i++ {
				tag := fmt.Sprintf("kube.ns%d.c%d", g, i)
				rt := r.Route("", tag)
				if (rt.Match != want.Match || len(rt.Filters) != 1 || rt.Filters[0] != want.Filters[0]) && bad == "" {
					bad = tag
				}
			}
			done <- bad
		}(g)
	}
	for g := 0; g < 4; g++ {
		if bad := <-done; bad != "" {
			t.Fatalf("concurrent Route(%q) differs from Route(kube.x.y)", bad)
		}
	}
}

func BenchmarkLabel_Route(b *testing.B) {
	_, r := newRouter(b, routerConf)
	l := r.Label("")
	tag := "kubernetes.var.log.containers.web-7d9f_default_nginx-0123abcd.log"
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			l.Route(tag)
		}
	})
}
