package enrich_test

import (
	"errors"
	"testing"
	"time"

	"logship/enrich"
)

func TestTimeFormat_Parse(t *testing.T) {
	now := func() time.Time { return time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		format, in string
		want       time.Time
	}{
		{"%Y-%m-%dT%H:%M:%S.%NZ", "2017-09-25T18:00:00.123456789Z", time.Date(2017, 9, 25, 18, 0, 0, 123456789, time.UTC)},
		{"%Y-%m-%dT%H:%M:%S.%NZ", "2017-09-25T18:00:00.1Z", time.Date(2017, 9, 25, 18, 0, 0, 100000000, time.UTC)},
		{"%Y-%m-%dT%H:%M:%S.%L%z", "2024-01-02T03:04:05.678+02:00", time.Date(2024, 1, 2, 1, 4, 5, 678000000, time.UTC)},
		{"%Y-%m-%dT%H:%M:%S.%L%z", "2024-01-02T03:04:05.678Z", time.Date(2024, 1, 2, 3, 4, 5, 678000000, time.UTC)},
		{"%FT%T.%L%Z", "2024-01-02T03:04:05.678UTC", time.Date(2024, 1, 2, 3, 4, 5, 678000000, time.UTC)},
		{"%m%d %H:%M:%S.%N", "0102 03:04:05.000006", time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)},
		{"%b %d %H:%M:%S", "Jan  2 03:04:05", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		{"%Y-%m-%d %H:%M:%S", "2024-01-02 03:04:05", time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
		{"%s", "1700000000", time.Unix(1700000000, 0)},
		{"%d/%b/%Y:%H:%M:%S %z", "10/Oct/2000:13:55:36 -0700", time.Date(2000, 10, 10, 20, 55, 36, 0, time.UTC)},
		{"%Y-%m-%dT%H:%M:%S.%N%:z", "2024-05-06T07:08:09.123456789-00:30", time.Date(2024, 5, 6, 7, 38, 9, 123456789, time.UTC)},
	}
	for _, tt := range tests {
		tf, err := enrich.NewTimeFormat(tt.format, time.UTC, now)
		if err != nil {
			t.Fatalf("NewTimeFormat(%q): %v", tt.format, err)
		}
		got, err := tf.Parse([]byte(tt.in))
		if err != nil {
			t.Fatalf("Parse(%q, %q): %v", tt.format, tt.in, err)
		}
		if got != tt.want.UnixNano() {
			t.Errorf("Parse(%q, %q)=%v, want %v", tt.format, tt.in, time.Unix(0, got).UTC(), tt.want.UTC())
		}
	}
}

func TestTimeFormat_Errors(t *testing.T) {
	if _, err := enrich.NewTimeFormat("%Q", nil, nil); !errors.Is(err, enrich.ErrTimeFormat) {
		t.Fatalf("NewTimeFormat(%%Q) err=%v, want ErrTimeFormat", err)
	}
	tf, _ := enrich.NewTimeFormat("%Y-%m-%d", nil, nil)
	for _, in := range []string{"2024-01", "2024-01-02x", "abcd-01-02", ""} {
		if _, err := tf.Parse([]byte(in)); !errors.Is(err, enrich.ErrTimeMismatch) {
			t.Errorf("Parse(%q) err=%v, want ErrTimeMismatch", in, err)
		}
	}
}

func BenchmarkTimeFormat_Parse(b *testing.B) {
	tf, _ := enrich.NewTimeFormat("%Y-%m-%dT%H:%M:%S.%NZ", nil, nil)
	in := []byte("2017-09-25T18:00:00.123456789Z")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := tf.Parse(in); err != nil {
			b.Fatal(err)
		}
	}
}
