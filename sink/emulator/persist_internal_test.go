package emulator

import (
	"encoding/json"
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
