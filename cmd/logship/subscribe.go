package main

import (
	"context"
	"fmt"
	"io"
)

// runSubscribe implements 'logship subscribe'.
func runSubscribe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("subscribe: %w", errNotYet)
}
