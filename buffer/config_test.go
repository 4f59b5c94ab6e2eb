package buffer_test

import (
	"reflect"
	"testing"
	"time"

	"logship/buffer"
)

func TestConfig_Validate(t *testing.T) {
	tests := []struct {
		name string
		cfg  buffer.Config
		ok   bool
	}{
		{"zero", buffer.Config{}, true},
		{"file without path", buffer.Config{Type: buffer.TypeFile}, false},
		{"file", buffer.Config{Type: buffer.TypeFile, Path: "/x"}, true},
		{"bad type", buffer.Config{Type: "redis"}, false},
		{"bad flush mode", buffer.Config{FlushMode: "sometimes"}, false},
		{"bad overflow", buffer.Config{OverflowAction: "panic"}, false},
		{"bad retry type", buffer.Config{RetryType: "random"}, false},
		{"negative size", buffer.Config{ChunkLimitSize: -1}, false},
		{"negative max times", buffer.Config{RetryMaxTimes: buffer.Int(-1)}, false},
		{"threshold > 1", buffer.Config{ChunkFullThreshold: 1.5}, false},
		{"base < 1", buffer.Config{RetryExponentialBackoffBase: 0.5}, false},
		{"total < chunk", buffer.Config{ChunkLimitSize: 10 << 20, TotalLimitSize: 1 << 20}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate()=%v, want ok=%v", err, tt.ok)
			}
			if _, nerr := buffer.New(tt.cfg, &fakeSender{}, nil, nil, nil); (nerr == nil) != tt.ok {
				t.Fatalf("New()=%v, want ok=%v", nerr, tt.ok)
			}
		})
	}
}

func TestConfig_Defaults(t *testing.T) {
	m := buffer.Config{}.Normalized()
	if m.ChunkLimitSize != buffer.DefaultChunkLimitSize || m.TotalLimitSize != buffer.DefaultMemoryTotalLimitSize ||
		m.FlushInterval != buffer.DefaultFlushInterval || m.FlushThreadCount != 1 || m.QueuedChunksLimitSize != 1 ||
		!*m.FlushAtShutdown || m.OverflowAction != buffer.OverflowBlock || m.DeadLetterDir != "" ||
		m.RetryTimeout != 72*time.Hour || m.RetryMaxTimes != nil {
		t.Errorf("memory defaults: %+v", m)
	}
	f := buffer.Config{Type: buffer.TypeFile, Path: "/p"}.Normalized()
	if f.TotalLimitSize != buffer.DefaultFileTotalLimitSize || *f.FlushAtShutdown || f.DeadLetterDir != "/p/dead-letter" {
		t.Errorf("file defaults: %+v", f)
	}
}

// TestConfig_NormalizedFields: every zero field gets its default, and every
// field already set is kept.
func TestConfig_NormalizedFields(t *testing.T) {
	want := buffer.Config{
		Type: buffer.TypeMemory, ChunkLimitSize: buffer.DefaultChunkLimitSize,
		ChunkFullThreshold: buffer.DefaultChunkFullThreshold, TotalLimitSize: buffer.DefaultMemoryTotalLimitSize,
		RecordOverhead: buffer.DefaultRecordOverhead, QueuedChunksLimitSize: buffer.DefaultFlushThreadCount,
		FlushMode: buffer.FlushModeInterval, FlushInterval: buffer.DefaultFlushInterval,
		FlushThreadCount: buffer.DefaultFlushThreadCount, FlushThreadInterval: buffer.DefaultFlushThreadInterval,
		FlushAtShutdown: buffer.Bool(true), OverflowAction: buffer.DefaultOverflowAction,
		RetryType: buffer.DefaultRetryType, RetryWait: buffer.DefaultRetryWait,
		RetryExponentialBackoffBase: buffer.DefaultRetryExponentialBackoffBase, RetryTimeout: buffer.DefaultRetryTimeout,
		RetryRandomize: buffer.Bool(true), FsyncInterval: buffer.DefaultFsyncInterval,
		SlowFlushLogThreshold: buffer.DefaultSlowFlushLogThreshold, ShutdownTimeout: buffer.DefaultShutdownTimeout,
	}
	if got := (buffer.Config{}).Normalized(); !reflect.DeepEqual(got, want) {
		t.Errorf("zero Normalized()=\n%+v\nwant\n%+v", got, want)
	}
	set := buffer.Config{
		Type: buffer.TypeFile, Path: "/p", ChunkLimitSize: 1 << 20, ChunkLimitRecords: 7, ChunkFullThreshold: 0.5,
		TotalLimitSize: 9 << 20, RecordOverhead: -1, QueuedChunksLimitSize: 3, FlushMode: buffer.FlushModeLazy,
		FlushInterval: 2 * time.Second, FlushThreadCount: 4, FlushThreadInterval: 3 * time.Second,
		FlushThreadBurstInterval: time.Millisecond, FlushAtShutdown: buffer.Bool(true),
		OverflowAction: buffer.OverflowDropOldestChunk, RetryType: buffer.RetryPeriodic, RetryWait: 5 * time.Second,
		RetryExponentialBackoffBase: 3, RetryMaxInterval: time.Minute, RetryTimeout: time.Hour,
		RetryMaxTimes: buffer.Int(2), RetryForever: true, RetryRandomize: buffer.Bool(false), DeadLetterDir: "/dl",
		FsyncInterval: -1, SlowFlushLogThreshold: 6 * time.Second, ShutdownTimeout: 7 * time.Second,
	}
	if got := set.Normalized(); !reflect.DeepEqual(got, set) {
		t.Errorf("set Normalized()=\n%+v\nwant it unchanged\n%+v", got, set)
	}
}
