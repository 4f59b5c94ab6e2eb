package enrich

import (
	"time"

	"go.uber.org/zap"

	"logship/buffer"
)

// Filter is a record filter (a Fluentd <filter>): it edits r in place and
// reports whether to keep it. A Filter is used by one goroutine at a time
// (the agent's router serialises them).
type Filter interface {
	Filter(r *buffer.Record) bool
}

// FilterConfig is the typed configuration of a filter plugin, as the config
// layer maps it; NewFilter builds the running filter.
type FilterConfig interface {
	NewFilter(deps FilterDeps) (Filter, error)
}

// FilterDeps are what filters may need from the process.
type FilterDeps struct {
	// Hostname is ${hostname} of record_transformer.
	Hostname string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log is the logger; nil means none.
	Log *zap.Logger
	// Ack acknowledges records a filter consumed without routing them
	// (concat's absorbed records), under the router's lock; nil means the
	// runtime offers none (filters that need it refuse to build).
	Ack func([]buffer.Record)
}
