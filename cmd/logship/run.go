package main

import (
	"context"
	"fmt"
	"io"
)

// runAgent implements 'logship run'.
func runAgent(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("run: %w", errNotYet)
}
