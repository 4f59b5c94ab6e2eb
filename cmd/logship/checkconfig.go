package main

import (
	"context"
	"fmt"
	"io"
	"os"
)

// runCheckConfig implements 'logship check-config [FILE]': it prints the
// effective pipeline, or the configuration errors with file:line:column and
// a non-zero exit.
func runCheckConfig(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("check-config", stderr)
	pf := addPipelineFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() == 1 && *pf.config == "":
		*pf.config = fs.Arg(0)
	case fs.NArg() > 1:
		return usageError{fmt.Errorf("want one configuration file, got %q", fs.Args())}
	}
	c, p, err := loadPipeline(pf, os.LookupEnv)
	if c != nil {
		for _, w := range c.Diag.Warnings() {
			fmt.Fprintln(stderr, "warning:", w)
		}
	}
	if err != nil {
		return fmt.Errorf("configuration is not valid:\n%w", err)
	}
	fmt.Fprintf(stdout, "configuration %s is valid\n", configName(*pf.config))
	for _, line := range p.Describe() {
		fmt.Fprintln(stdout, line)
	}
	return nil
}
