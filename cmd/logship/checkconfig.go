package main

import (
	"context"
	"fmt"
	"io"
)

// runCheckConfig implements 'logship check-config'.
func runCheckConfig(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("check-config: %w", errNotYet)
}
