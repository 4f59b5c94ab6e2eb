package fidelity

import "testing"

// A value Fluentd's concat joined with "\n" and logship joined as written is
// its own class; any other change to the text is not.
func TestJoinedWithNewlines(t *testing.T) {
	for _, tc := range []struct {
		f, l string
		want bool
	}{
		{`aaa\nbbb\nccc`, `aaabbbccc`, true},
		{"aaa\nbbb", "aaabbb", true},
		{`aaa\nbbb`, `aaa\nbbb`, false}, // same
		{`aaa\nbbb`, `aaaxbbb`, false},  // other text
		{`aaabbb`, `aaa\nbbb`, false},   // the newline only in logship
	} {
		if got := joinedWithNewlines(tc.f, tc.l); got != tc.want {
			t.Errorf("joinedWithNewlines(%q, %q) = %v, want %v", tc.f, tc.l, got, tc.want)
		}
	}
}
