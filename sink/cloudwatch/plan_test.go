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
