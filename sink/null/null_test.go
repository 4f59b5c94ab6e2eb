package null_test

import (
	"context"
	"testing"

	"logship/buffer"
	"logship/sink/null"
)

type counter struct{ n int }

func (c *counter) Ack(recs []buffer.Record) { c.n += len(recs) }

func TestOutput_Emit(t *testing.T) {
	var ack counter
	o := null.New(&ack)
	for _, n := range []int{3, 2} {
		if err := o.Emit(context.Background(), make([]buffer.Record, n)); err != nil {
			t.Fatal(err)
		}
	}
	if got := o.Count.Load(); got != 5 || ack.n != 5 {
		t.Errorf("Count %d, acknowledged %d; want 5 and 5", got, ack.n)
	}
	if err := null.New(nil).Emit(context.Background(), make([]buffer.Record, 1)); err != nil {
		t.Fatal(err)
	}
}
