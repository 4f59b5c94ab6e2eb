package emulator

import (
	"bufio"
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

func TestDiskEvents_RoundTrip(t *testing.T) {
	in := diskEvents{
		{ts: 1767225600000, ingestion: 1767225600001, seq: 1, msg: "plain"},
		{ts: 0, ingestion: 0, seq: 2, msg: "quote \" backslash \\ slash / nl \n tab \t cr \r nul \x00 bell \x07 del \x7f"},
		{ts: 1, ingestion: 2, seq: 18446744073709551615, msg: "ü € 😀 \u2028 \ufffd <html>&"},
	}
	b, err := json.Marshal(struct {
		E diskEvents `json:"e"`
	}{in})
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		E diskEvents `json:"e"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if len(out.E) != len(in) {
		t.Fatalf("decoded %d events, want %d", len(out.E), len(in))
	}
	for i := range in {
		if out.E[i] != in[i] {
			t.Errorf("event %d = %+v, want %+v", i, out.E[i], in[i])
		}
	}
	var bad diskEvents
	if err := json.Unmarshal([]byte(`[[1,2,3]]`), &bad); err == nil {
		t.Error("decoding a 3-element event: nil error, want an error")
	}
}

// TestDiskState_WriteDecodes: the hand-spliced JSON of write decodes back to
// the state it was written from, nested groups, streams, events and filters
// included.
func TestDiskState_WriteDecodes(t *testing.T) {
	in := diskState{Version: 3, Seq: 42, Requests: 7, Groups: []diskGroup{
		{Name: "a", CreationTime: 1, Tags: map[string]string{"k": "v"}, Class: "STANDARD",
			Streams: []diskStream{
				{Name: "s1", CreationTime: 2, HasEvents: true, EventCount: 2, Events: diskEvents{{ts: 5, ingestion: 6, seq: 1, msg: "x"}, {ts: 7, ingestion: 8, seq: 2, msg: "y \"q\""}}},
				{Name: "s2", CreationTime: 3, Events: diskEvents{{ts: 9, ingestion: 9, seq: 3, msg: "z"}}},
			},
			Filters: []diskFilter{{Name: "f", Pattern: "ERROR", DestinationArn: "arn:x", Distribution: "ByLogStream", CreationTime: 4}}},
		{Name: "b", CreationTime: 10, Class: "INFREQUENT_ACCESS",
			Streams: []diskStream{{Name: "t", CreationTime: 11, Events: diskEvents{{ts: 1, ingestion: 1, seq: 4, msg: "w"}}}}},
	}}
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	if err := in.write(w); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	var out diskState
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		t.Fatalf("%s: %v", buf.Bytes(), err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Fatalf("decoded\n%+v\nwant\n%+v\nfrom %s", out, in, buf.Bytes())
	}
}
