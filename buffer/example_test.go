package buffer_test

import (
	"context"
	"fmt"

	"logship/buffer"
)

type printSender struct{}

func (printSender) Send(_ context.Context, c *buffer.Chunk) error {
	for _, r := range c.Records[c.Sent:] {
		fmt.Printf("%s: %s\n", c.Key, r.Message)
	}
	return nil
}

type printAcker struct{}

func (printAcker) Ack(recs []buffer.Record) {
	for _, r := range recs {
		fmt.Printf("ack source %d offset %d\n", r.Source, r.Offset)
	}
}

func ExampleBuffer() {
	b, err := buffer.New(buffer.Config{}, printSender{}, printAcker{}, nil, nil)
	if err != nil {
		panic(err)
	}
	key := buffer.StreamKey{Group: "/k8s/app", Stream: "node-1"}
	_ = b.Add(context.Background(), []buffer.Record{
		{Key: key, Message: []byte(`{"log":"hello"}`), Source: 7, Offset: 16},
		{Key: key, Message: []byte(`{"log":"world"}`), Source: 7, Offset: 32},
	})
	// Run would flush after flush_interval; Flush does it now.
	if err := b.Flush(context.Background()); err != nil {
		panic(err)
	}
	// Output:
	// /k8s/app/node-1: {"log":"hello"}
	// /k8s/app/node-1: {"log":"world"}
	// ack source 7 offset 16
	// ack source 7 offset 32
}
