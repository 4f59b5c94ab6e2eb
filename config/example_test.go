package config_test

import (
	"fmt"
	"time"

	"logship/config"
)

// Example parses a configuration, decodes typed values, routes a tag and
// reports what the mapping did not consume.
func Example() {
	src := `
<source>
  @type tail
  path /var/log/containers/*.log
  tag kubernetes.*
</source>
<filter kubernetes.**>
  @type kubernetes_metadata
</filter>
<match **>
  @type cloudwatch_logs
  log_group_name "#{ENV['LOG_GROUP_NAME'] || 'default-group'}"
  flush_interval 5s
  buffer_chunk_limit 2M
  disable_retry_limit
  colour blue
</match>
`
	c, err := config.Parse("fluent.conf", []byte(src), config.Options{
		Env: config.MapEnv(map[string]string{"LOG_GROUP_NAME": "/eks/demo"}),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := config.NewRouter(c)
	if err != nil {
		fmt.Println(err)
		return
	}
	src0 := c.Directives("source")[0]
	tag := config.ExpandTailTag(src0.String("tag", ""), "/var/log/containers/app.log")
	rt := r.Source(src0).Route(tag)
	out := rt.Match
	typ, _ := out.Type()
	flush, _ := out.Duration("flush_interval", time.Minute)
	chunk, _ := out.Size("buffer_chunk_limit", 8<<20)
	forever, _ := out.Bool("disable_retry_limit", false)
	fmt.Println(tag, len(rt.Filters), "filter ->", typ)
	fmt.Println(out.String("log_group_name", ""), flush, chunk, forever)
	// A real mapping reads every parameter it supports; here the rest.
	src0.Type()
	src0.Param("path").MarkUsed()
	rt.Filters[0].Type()
	c.ReportUnused()
	for _, w := range c.Diag.Warnings() {
		fmt.Println("warning:", w)
	}
	// Output:
	// kubernetes.var.log.containers.app.log 1 filter -> cloudwatch_logs
	// /eks/demo 5s 2097152 true
	// warning: fluent.conf:16:3: parameter "colour" in <match **> is not used
}
