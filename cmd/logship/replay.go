package main

import (
	"context"
	"fmt"
	"io"
)

// runReplay implements 'logship replay'.
func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("replay: %w", errNotYet)
}
