package stdout_test

import (
	"context"
	"strings"
	"testing"

	"logship/buffer"
	"logship/plugin/plugintest"
	"logship/sink/stdout"
)

func TestStdoutOutput_Emit(t *testing.T) {
	var sb strings.Builder
	o := stdout.New(&sb, nil, nil)
	r := plugintest.Rec("tag.x", "hi", 1)
	r.Time = 1700000000123456789
	if err := o.Emit(context.Background(), []buffer.Record{r}); err != nil {
		t.Fatal(err)
	}
	// time.Local is whatever the test machine has; check the shape only.
	if got := sb.String(); !strings.HasSuffix(got, ` tag.x: {"m":"hi"}`+"\n") || !strings.Contains(got, ".123456789 ") {
		t.Fatalf("stdout=%q", got)
	}
}
