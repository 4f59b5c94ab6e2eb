package emulator

import (
	"bytes"
	"testing"
)

// slowDecodePut is the encoding/json path of decodePut.
func slowDecodePut(body []byte) (putRequest, *apiError) {
	var in putLogEventsInput
	if e := decode(body, &in); e != nil {
		return putRequest{}, e
	}
	req := putRequest{group: in.LogGroupName, stream: in.LogStreamName, eventsSet: in.LogEvents != nil}
	for _, ev := range in.LogEvents {
		var pe putEvent
		if ev.Timestamp != nil {
			pe.ts, pe.hasTS = *ev.Timestamp, true
		}
		if ev.Message != nil {
			pe.msg, pe.hasMsg = []byte(*ev.Message), true
		}
		req.events = append(req.events, pe)
	}
	return req, nil
}

func strPtrEq(a, b *string) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

func samePut(a, b putRequest) bool {
	if !strPtrEq(a.group, b.group) || !strPtrEq(a.stream, b.stream) || a.eventsSet != b.eventsSet || len(a.events) != len(b.events) {
		return false
	}
	for i := range a.events {
		x, y := a.events[i], b.events[i]
		if x.hasTS != y.hasTS || x.ts != y.ts || x.hasMsg != y.hasMsg || !bytes.Equal(x.msg, y.msg) {
			return false
		}
	}
	return true
}

var putCorpus = []string{
	`{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":1767225600000,"message":"a"}]}`,
	` { "logEvents" : [ { "message" : "x\"y\\z\/\b\f\n\r\t\u00e9\ud83d\ude00" , "timestamp" : -0 } ] , "sequenceToken":"t", "entity":{"a":[1,2.5e3,true,false,null,{"b":"c"}]} } `,
	`{"logGroupName":null,"logStreamName":null,"logEvents":null}`,
	`{"logEvents":[{}]}`,
	`{"logEvents":[]}`,
	`{}`,
	`{"logEvents":[{"timestamp":1,"message":"lone \ud800 surrogate"}]}`,
	`{"logEvents":[{"timestamp":1,"message":"reversed \udc00\ud800 pair"}]}`,
	`{"logEvents":[{"timestamp":1,"message":"ü€😀 raw utf8"}]}`,
	`{"logGroupName":"a","logGroupName":"b"}`,
	`{"LOGGROUPNAME":"folded"}`,
	`{"logEvents":[{"Timestamp":5,"MESSAGE":"folded"}]}`,
	`{"logEvents":[{"timestamp":1.5,"message":"x"}]}`,
	`{"logEvents":[{"timestamp":1e3,"message":"x"}]}`,
	`{"logEvents":[{"timestamp":99999999999999999999,"message":"x"}]}`,
	`{"logEvents":[{"timestamp":01,"message":"x"}]}`,
	`{"logEvents":[null]}`,
	`{"logGroupName":5}`,
	`{"other":1.}`,
	`{"other":-}`,
	"{\"logEvents\":[{\"timestamp\":1,\"message\":\"bad \xff byte\"}]}",
	"{\"logEvents\":[{\"timestamp\":1,\"message\":\"raw \x01 control\"}]}",
	`{"logGroupName":"g"} trailing`,
	`[1,2]`,
	``,
	`{"logEvents":[{"timestamp":1,"message":"x"},]}`,
}

func checkDecodeEquivalence(t *testing.T, body []byte) {
	fast, fastOK := fastDecodePut(body)
	slow, slowErr := slowDecodePut(body)
	if fastOK && slowErr != nil {
		t.Fatalf("fast path accepted %q, encoding/json rejects it: %v", body, slowErr)
	}
	if fastOK && !samePut(fast, slow) {
		t.Fatalf("fast and encoding/json decodings of %q differ:\nfast %+v\nslow %+v", body, fast, slow)
	}
	got, gotErr := decodePut(body)
	if (gotErr == nil) != (slowErr == nil) || (gotErr == nil && !samePut(got, slow)) {
		t.Fatalf("decodePut(%q) = %+v, %v; encoding/json %+v, %v", body, got, gotErr, slow, slowErr)
	}
}

func TestDecodePut_MatchesEncodingJSON(t *testing.T) {
	accepted := 0
	for _, c := range putCorpus {
		checkDecodeEquivalence(t, []byte(c))
		if _, ok := fastDecodePut([]byte(c)); ok {
			accepted++
		}
	}
	if accepted < 8 {
		t.Errorf("fast path accepted %d corpus bodies, want the ordinary ones (>= 8)", accepted)
	}
}

func FuzzDecodePut(f *testing.F) {
	for _, c := range putCorpus {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkDecodeEquivalence(t, body)
	})
}
