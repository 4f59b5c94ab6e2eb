package main

import (
	"context"
	"fmt"
	"io"
)

// runDemo implements 'logship demo'.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("demo: %w", errNotYet)
}
