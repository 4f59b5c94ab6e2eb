package main

import (
	"runtime/debug"
	"strconv"
	"strings"
)

// cgroupMemoryMax is the cgroup v2 memory limit file of this container.
const cgroupMemoryMax = "/sys/fs/cgroup/memory.max"

// memoryBudget is what the agent needs beside its buffers' records: read
// blocks, the batch being formatted, request bodies being built and sent,
// the runtime, and room for garbage between collections, which grows with
// the bound (a sixteenth of it). The soft limit derived from the buffers is
// their bound plus this budget.
func memoryBudget(bound int64) int64 { return 24<<20 + bound/16 }

// setMemoryLimit gives the Go runtime a soft memory limit (GOMEMLIMIT, see
// https://pkg.go.dev/runtime/debug#SetMemoryLimit), unless GOMEMLIMIT is set:
// 90 % of the container's cgroup v2 memory limit when there is one, else the
// buffers' memory bound (bound, the sum of buffer.Config.MemoryBound over the
// outputs; 0: none) plus memoryBudget. The collector then works harder near
// the limit instead of letting the heap grow to twice the live data (GOGC
// 100), which is what the pod's limit is set from. It returns the limit set
// (0 if none) and where it came from ("cgroup" or "buffers").
func setMemoryLimit(getenv func(string) string, readFile func(string) ([]byte, error), bound int64) (int64, string) {
	if getenv("GOMEMLIMIT") != "" {
		return 0, ""
	}
	if limit := cgroupLimit(readFile); limit > 0 {
		limit = limit / 10 * 9
		debug.SetMemoryLimit(limit)
		return limit, "cgroup"
	}
	if bound <= 0 {
		return 0, ""
	}
	limit := bound + memoryBudget(bound)
	debug.SetMemoryLimit(limit)
	return limit, "buffers"
}

// cgroupLimit returns the cgroup v2 memory limit, or 0 if there is none.
func cgroupLimit(readFile func(string) ([]byte, error)) int64 {
	b, err := readFile(cgroupMemoryMax)
	if err != nil {
		return 0
	}
	s := strings.TrimSpace(string(b))
	if s == "" || s == "max" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}
