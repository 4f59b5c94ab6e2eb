package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"

	"logship/agent"
	"logship/config"
	"logship/plugin"
)

// defaultConfig is the configuration `logship run` uses without --config.
//
//go:embed default.conf
var defaultConfig []byte

// defaultConfigName is the name errors give the embedded configuration.
const defaultConfigName = "(built-in default.conf)"

// pipelineFlags are the flags shared by run, replay and check-config.
type pipelineFlags struct {
	config            *string
	stateDir          *string
	ignoreUnsupported *bool
}

func addPipelineFlags(fs interface {
	String(name, value, usage string) *string
	Bool(name string, value bool, usage string) *bool
}) pipelineFlags {
	return pipelineFlags{
		config:            fs.String("config", "", "Fluentd configuration `file` (empty: the built-in default, tuned by the fluentd-kubernetes-daemonset environment variables)"),
		stateDir:          fs.String("state-dir", envOr("LOGSHIP_STATE_DIR", config.DefaultStateDir), "`dir`ectory for positions, file buffers and dead letters"),
		ignoreUnsupported: fs.Bool("ignore-unsupported", false, "warn about and skip directives logship does not implement, instead of failing"),
	}
}

func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// nodeName is the node this agent runs on (NODE_NAME or K8S_NODE_NAME from
// the downward API), "" when unknown.
func nodeName(env func(string) (string, bool)) string {
	for _, name := range []string{"NODE_NAME", "K8S_NODE_NAME"} {
		if v, ok := env(name); ok && v != "" {
			return v
		}
	}
	return ""
}

// loadPipeline parses the configuration (file or built-in) and maps it onto
// the stages. env looks up the variables "#{ENV[...]}" reads.
func loadPipeline(pf pipelineFlags, env func(string) (string, bool)) (*config.Config, *config.Pipeline, error) {
	opts := config.Options{Env: env, Hostname: os.Hostname, IgnoreUnsupported: *pf.ignoreUnsupported}
	var c *config.Config
	var err error
	if *pf.config == "" {
		c, err = config.Parse(defaultConfigName, defaultConfig, opts)
	} else {
		c, err = config.ParseFile(*pf.config, opts)
	}
	if err != nil {
		return nil, nil, err
	}
	p, err := config.Build(c, config.BuildOptions{StateDir: *pf.stateDir, NodeName: nodeName(env)})
	return c, p, err
}

// runAgent implements 'logship run'.
func runAgent(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", stderr)
	pf := addPipelineFlags(fs)
	listen := fs.String("listen", ":2021", "`address` of /metrics, /healthz and /readyz (empty: none)")
	pprofOn := fs.Bool("pprof", false, "serve net/http/pprof under /debug/pprof/ on the --listen address")
	logf := addLogFlags(fs, "json", "info")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	log, err := logf.logger(stderr)
	if err != nil {
		return err
	}
	defer log.Sync()
	c, p, err := loadPipeline(pf, os.LookupEnv)
	if c != nil {
		for _, w := range c.Diag.Warnings() {
			log.Warn("config", zap.String("warning", w.Error()))
		}
	}
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	opts := agent.Options{Log: log, Registry: reg, OpsAddr: *listen}
	if *pprofOn {
		opts.OpsHandlers = map[string]http.Handler{
			"/debug/pprof/":        http.HandlerFunc(pprof.Index),
			"/debug/pprof/cmdline": http.HandlerFunc(pprof.Cmdline),
			"/debug/pprof/profile": http.HandlerFunc(pprof.Profile),
			"/debug/pprof/symbol":  http.HandlerFunc(pprof.Symbol),
			"/debug/pprof/trace":   http.HandlerFunc(pprof.Trace),
		}
	}
	a, err := agent.New(p, opts)
	if err != nil {
		return err
	}
	var bound int64
	for _, o := range p.Outputs {
		if bc, ok := o.Plugin.(plugin.BufferedConfig); ok {
			bound += bc.BufferConfig().MemoryBound()
		}
	}
	if limit, from := setMemoryLimit(os.Getenv, os.ReadFile, bound); limit > 0 {
		log.Info("soft memory limit (GOMEMLIMIT) set", zap.Int64("bytes", limit), zap.String("from", from),
			zap.Int64("buffer_bound_bytes", bound))
	}
	log.Info("logship starting", zap.String("version", version), zap.String("config", configName(*pf.config)),
		zap.String("state_dir", *pf.stateDir), zap.String("node", nodeName(os.LookupEnv)))
	if err := a.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func configName(path string) string {
	if path == "" {
		return strings.Trim(defaultConfigName, "()")
	}
	return path
}
