package main

import (
	"context"
	"fmt"
	"io"
)

// runEmulate implements 'logship emulate'.
func runEmulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("emulate: %w", errNotYet)
}
