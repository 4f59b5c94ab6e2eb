package tail_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"go.uber.org/zap"

	"logship/tail"
)

// Example follows a CRI log: a P fragment and its F are joined into one
// line; acknowledging it advances the saved position.
func Example() {
	dir, _ := os.MkdirTemp("", "tail-example")
	defer os.RemoveAll(dir)
	log := filepath.Join(dir, "0.log")
	os.WriteFile(log, []byte(
		"2024-01-01T00:00:00.5Z stdout P hello, \n"+
			"2024-01-01T00:00:00.6Z stderr F oops\n"+
			"2024-01-01T00:00:00.7Z stdout F world\n"), 0o644)

	var w *tail.Watcher
	h := tail.HandlerFunc(func(_ context.Context, lines []tail.Line) error {
		for _, l := range lines {
			fmt.Printf("%s %q offset %d\n", l.Stream, l.Text, l.Offset)
			w.Ack(l.Source, l.Offset) // once delivered or durably buffered
		}
		return nil
	})
	w, _ = tail.New(tail.Config{
		Paths:         []string{filepath.Join(dir, "*.log")},
		ReadFromHead:  true,
		PositionsFile: filepath.Join(dir, "positions"),
	}, h, zap.NewNop())
	ctx := context.Background()
	w.Sync(ctx) // what Run does on its timers
	w.Poll(ctx)
	if err := w.SavePositions(); err != nil {
		fmt.Println(err)
	}
	w.Close()
	// Output:
	// stderr "oops" offset 77
	// stdout "hello, world" offset 115
}
