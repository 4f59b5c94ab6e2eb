package confgen

import "testing"

func TestCRISource(t *testing.T) {
	got := CRISource("@id a", "pos_file p")
	want := "\n<source>\n  @type tail\n  path {{ROOT}}/var/log/containers/*.log\n  @id a\n  pos_file p\n" +
		"  tag kubernetes.*\n  read_from_head true\n  <parse>\n    @type cri\n  </parse>\n</source>\n"
	if got != want {
		t.Fatalf("CRISource:\n%s\nwant:\n%s", got, want)
	}
}

func TestOutput(t *testing.T) {
	for _, tc := range []struct {
		stream, streamLine string
	}{
		{"", "  use_tag_as_stream true\n"},
		{"s", "  log_stream_name s\n"},
	} {
		got := Output("g", tc.stream, "flush_interval 1s", "retry_forever true")
		want := "<match **>\n  @type cloudwatch_logs\n  log_group_name g\n" + tc.streamLine +
			"  auto_create_stream true\n  {{EMULATOR}}\n  <buffer>\n    flush_interval 1s\n    retry_forever true\n  </buffer>\n</match>\n"
		if got != want {
			t.Fatalf("Output(g, %q):\n%s\nwant:\n%s", tc.stream, got, want)
		}
	}
}
