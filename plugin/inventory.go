package plugin

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"logship/buffer"
)

// Inventory is the agent's plugins as the sources that report the agent
// read them (monitor_agent, prometheus_monitor, prometheus_output_monitor,
// prometheus_tail_monitor). The agent implements it; a test gives a fixed
// list.
type Inventory interface {
	// Plugins lists every plugin as Fluentd's root agent lists them
	// (inputs, then outputs, then filters), with its counters as of the
	// call. The length and order are fixed once the agent is built, so an
	// index names a plugin. The Config slices are shared: read only.
	Plugins() []PluginStatus
	// RouteOutput returns the index (in Plugins) of the output a record
	// tagged tag goes to from the top level; false when no output takes it.
	RouteOutput(tag string) (int, bool)
	// TailFiles lists the files the tail input at index i has read lines
	// from, with their committed positions (nil for another plugin).
	TailFiles(i int) []TailFile
}

// PluginStatus is one plugin as Fluentd's monitor_agent lists it.
type PluginStatus struct {
	// ID is the @id, else "object:<hex>" derived from the directive's
	// position (stable across restarts).
	ID string
	// Category is "input", "output" or "filter".
	Category string
	// Type is the @type.
	Type string
	// Config is the section's parameters as written, secrets masked.
	Config [][2]string
	// Buffered is set for an output that keeps a buffer; Buffer is then its
	// statistics.
	Buffered bool
	Buffer   buffer.Stats
	// Emits and EmitRecords count the router's Emit calls to an output and
	// their records (zero for another plugin).
	Emits, EmitRecords uint64
}

// TailFile is one file a tail input follows.
type TailFile struct {
	// Path is the glob's name for the file (Fluentd's watcher path) while a
	// glob still names it, else its real path (a rotated file).
	Path string
	// Position is the committed (acknowledged) offset, not the read offset.
	Position int64
	// Inode is the file's inode number.
	Inode uint64
}

// Metrics is the agent's metrics registry and ops listener as the
// prometheus sources use them. The agent implements it.
type Metrics interface {
	// Handler serves the agent's registry (logship's metrics and the
	// Fluentd families the monitors add) in the Prometheus text format.
	Handler() http.Handler
	// RegisterOnce adds c to the registry unless a collector was added
	// under key before; it reports whether c was added.
	RegisterOnce(key string, c prometheus.Collector) (bool, error)
	// ServeOps serves h at paths on the ops listener when bind:port is its
	// address (the same port, and the same host or either one a wildcard)
	// and reports whether it does; false means the caller listens itself.
	// It is called from NewSource, before the agent runs.
	ServeOps(bind string, port int, h http.Handler, paths ...string) bool
}
