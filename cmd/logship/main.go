// Command logship tails Kubernetes container logs and ships them to AWS
// CloudWatch Logs, configured by a Fluentd configuration file.
//
// Subcommands:
//
//	run           the node agent (DaemonSet)
//	emulate       a local CloudWatch Logs endpoint (the emulator)
//	demo          the agent on generated logs into an in-process emulator
//	replay        send log or dead-letter files once, touching no checkpoint
//	check-config  parse a Fluentd config and print the effective pipeline
//	subscribe     set up the CloudWatch Logs → Lambda subscription
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `usage: logship <command> [flags]

commands:
  run           run the node agent
  emulate       run a local CloudWatch Logs emulator
  demo          run the agent on generated logs into an in-process emulator
  replay        send log or dead-letter files once
  check-config  print the effective pipeline of a Fluentd config
  subscribe     set up the CloudWatch Logs subscription to the cwl2es Lambda
  bench         the end-to-end benchmark (make bench)
  version       print the version

Run 'logship <command> -h' for the flags of a command.
`

// command is the signature every subcommand has: it parses its own flags from
// args and writes to the given streams.
type command func(ctx context.Context, args []string, stdout, stderr io.Writer) error

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var cmd command
	switch args[0] {
	case "run":
		cmd = runAgent
	case "emulate":
		cmd = runEmulate
	case "demo":
		cmd = runDemo
	case "replay":
		cmd = runReplay
	case "check-config":
		cmd = runCheckConfig
	case "subscribe":
		cmd = runSubscribe
	case "bench":
		cmd = runBench
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "logship", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "logship: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err := cmd(ctx, args[1:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "logship %s: %v\n", args[0], err)
			return 2
		}
		fmt.Fprintf(stderr, "logship %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// usageError is a mistake in the command line (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// newFlagSet returns a flag set for a subcommand that reports errors instead
// of exiting.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("logship "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args into fs, turning flag mistakes into usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	return nil
}

// parseArgs parses args into fs as parseFlags does; arguments left after
// the flags are a usage error.
func parseArgs(fs *flag.FlagSet, args []string) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments: %q", fs.Args())}
	}
	return nil
}

// logFlags are a command's --log-format and --log-level.
type logFlags struct{ format, level *string }

// addLogFlags defines --log-format and --log-level on fs with the given
// defaults.
func addLogFlags(fs *flag.FlagSet, format, level string) logFlags {
	return logFlags{
		format: fs.String("log-format", format, "log format: json or console"),
		level:  fs.String("log-level", level, "log level: debug, info, warn, error"),
	}
}

// logger is newLogger with the flags' values.
func (l logFlags) logger(w io.Writer) (*zap.Logger, error) { return newLogger(*l.format, *l.level, w) }

// newLogger builds the process logger: JSON (the default, for log pipelines)
// or console (for people), at the given level.
func newLogger(format, level string, w io.Writer) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, usageError{fmt.Errorf("log level: %w", err)}
	}
	var enc zapcore.Encoder
	switch format {
	case "json", "":
		ec := zap.NewProductionEncoderConfig()
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		enc = zapcore.NewJSONEncoder(ec)
	case "console":
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		enc = zapcore.NewConsoleEncoder(ec)
	default:
		return nil, usageError{fmt.Errorf("log format %q: want json or console", format)}
	}
	core := zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), lvl)
	return zap.New(core), nil
}

// errNotYet is returned by subcommands whose issue has not landed yet.
var errNotYet = errors.New("not implemented yet")
