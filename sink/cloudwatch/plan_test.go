package cloudwatch_test

import (
	"bytes"
	"testing"
	"time"

	"logship/buffer"
	"logship/sink/cloudwatch"
)

func TestPlan(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	key := buffer.StreamKey{Group: "g", Stream: "s"}
	msg := bytes.Repeat([]byte("x"), 100)
	var recs []buffer.Record
	recs = append(recs, buffer.Record{Key: key, Time: now.Add(-15 * 24 * time.Hour).UnixNano(), Message: msg}) // too old
	for i := 0; i < 25000; i++ {
		recs = append(recs, buffer.Record{Key: key, Time: now.Add(-time.Hour + time.Duration(i)*time.Millisecond).UnixNano(), Message: msg})
	}
	plan := cloudwatch.Plan(cloudwatch.Config{LogGroupName: "g", LogStreamName: "s"}, recs, now.UnixNano())
	events, old := 0, 0
	for _, r := range plan {
		events += r.Events
		old += r.DroppedTooOld
		if r.Events > cloudwatch.MaxBatchEvents || r.Bytes > cloudwatch.MaxBatchBytes {
			t.Fatalf("request over the limits: %+v", r)
		}
		if r.Events > 0 && (r.Key != key || r.First > r.Last) {
			t.Fatalf("bad request plan %+v", r)
		}
	}
	// As few requests as the binding limit allows.
	perEvent := len(msg) + cloudwatch.EventOverhead
	byCount := (25000 + cloudwatch.MaxBatchEvents - 1) / cloudwatch.MaxBatchEvents
	byBytes := (25000*perEvent + cloudwatch.MaxBatchBytes - 1) / cloudwatch.MaxBatchBytes
	if events != 25000 || old != 1 || len(plan) != max(byCount, byBytes) {
		t.Fatalf("Plan: %d requests, %d events, %d too old; want %d, 25000, 1", len(plan), events, old, max(byCount, byBytes))
	}
}

// TestFormatter_AppendFormat checks that messages are appended after what dst
// holds, and that a skipped record leaves dst as it was.
func TestFormatter_AppendFormat(t *testing.T) {
	f, err := cloudwatch.NewFormatter(cloudwatch.Config{LogGroupName: "g", LogStreamNameKey: "s"})
	if err != nil {
		t.Fatal(err)
	}
	dst := []byte("prefix")
	ok := buffer.Record{Fields: buffer.Fields{{Key: "s", Value: buffer.Str([]byte("st"))}, {Key: "m", Value: buffer.Str([]byte("x"))}}}
	if dst, err = f.AppendFormat(dst, &ok); err != nil {
		t.Fatal(err)
	}
	if got, want := string(dst), `prefix{"s":"st","m":"x"}`; got != want || string(ok.Message) != want[len("prefix"):] || ok.Key.Stream != "st" {
		t.Fatalf("AppendFormat: dst=%s message=%s key=%v", dst, ok.Message, ok.Key)
	}
	before := string(dst)
	bad := buffer.Record{Fields: buffer.Fields{{Key: "m", Value: buffer.Str([]byte("y"))}}} // no stream field
	if dst, err = f.AppendFormat(dst, &bad); err == nil || string(dst) != before {
		t.Fatalf("AppendFormat of a record without its stream: err=%v dst=%s, want an error and dst unchanged", err, dst)
	}
}
