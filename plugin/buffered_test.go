package plugin_test

import (
	"context"
	"testing"

	"logship/buffer"
	"logship/plugin"
	"logship/plugin/plugintest"
)

type fakeFormatter struct{}

func (fakeFormatter) AppendRecords(dst []byte, out []buffer.Record, in *buffer.Record) ([]byte, []buffer.Record, error) {
	v, _ := in.Fields.Get("m")
	if len(v.Bytes) == 0 {
		return dst, out, context.Canceled // any error: skipped
	}
	r := *in
	start := len(dst)
	dst = append(dst, v.Bytes...)
	r.Key = buffer.StreamKey{Group: "g", Stream: r.Tag}
	r.Message = dst[start:]
	r.Fields = nil
	return dst, append(out, r), nil
}

type adder struct{ got []buffer.Record }

func (a *adder) Add(_ context.Context, recs []buffer.Record) error {
	for _, r := range recs {
		r.Message = append([]byte(nil), r.Message...)
		a.got = append(a.got, r)
	}
	return nil
}

func TestBufferedOutput_Emit(t *testing.T) {
	var acked []int64
	ad := &adder{}
	o := plugin.NewBufferedOutput(fakeFormatter{}, ad, plugintest.AckFunc(func(recs []buffer.Record) {
		for _, r := range recs {
			acked = append(acked, r.Offset)
		}
	}))
	if err := o.Emit(context.Background(), []buffer.Record{plugintest.Rec("t", "a", 1), plugintest.Rec("t", "", 2), plugintest.Rec("t", "b", 3)}); err != nil {
		t.Fatal(err)
	}
	if len(ad.got) != 2 || string(ad.got[0].Message) != "a" || string(ad.got[1].Message) != "b" || ad.got[1].Key.Stream != "t" {
		t.Fatalf("added %+v", ad.got)
	}
	if len(acked) != 1 || acked[0] != 2 || o.Skipped.Load() != 1 {
		t.Fatalf("acked %v skipped %d, want [2] 1", acked, o.Skipped.Load())
	}
}
