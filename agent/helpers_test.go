package agent

import (
	"context"
	"testing"
	"time"
)

// StartForTest runs a until stop, which cancels it and returns Run's error.
// The test fails if a stops by itself before stop, or does not stop within
// 60s of it. (Exported for the end-to-end tests of package agent_test.)
func StartForTest(t *testing.T, a *Agent) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		err := a.Run(ctx)
		if ctx.Err() == nil {
			t.Errorf("agent stopped by itself: %v", err)
		}
		done <- err
	}()
	return func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(60 * time.Second):
			t.Fatal("agent did not stop within 60s")
			return nil
		}
	}
}
