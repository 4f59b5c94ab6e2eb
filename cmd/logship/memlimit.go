package main

import (
	"runtime/debug"
	"strconv"
	"strings"
)

// cgroupMemoryMax is the cgroup v2 memory limit file of this container.
const cgroupMemoryMax = "/sys/fs/cgroup/memory.max"

// memoryBudget is the Go memory the agent needs beside its buffers' records:
// read blocks, the batch being formatted, request bodies being built and
// sent, the runtime's own structures, and some room for garbage between
// collections. The soft limit derived from the buffers is their bound plus
// this budget. It is a fixed amount: the working set beside the records does
// not grow with the bound. Resident memory (VmHWM) runs about 16 MiB above
// the soft limit, the part the limit does not cover (mostly the binary's
// mapped text and data).
//
// Measured with 'logship bench' (1,001,000 CRI lines, 50 files, path
// metadata, chunk_limit_size 1m × 8: 8 MiB; shared 2-core machine, helpers
// building beside it), GOMEMLIMIT → peak RSS, lines per CPU-second, after
// the pod cache stopped linking every API group (35 MB binary, was 52):
//
//	40 MiB → 56.1 MiB, 181k; 44 MiB → 59.7 MiB, 187k; 48 MiB → 63.2 MiB, 192k
//
// and before it (52 MB binary): 36 MiB → 60.3–60.7 MiB, 163k–178k;
// 38 MiB → 62.0–62.6 MiB, 185k–200k; 40 MiB → 63.8–64.2 MiB, 186k–201k.
// Below bound + 28 MiB the collector runs nearly continuously (the live heap
// is the records plus a working set of about 24 MiB); above it resident
// memory grows with the limit while the gain in CPU flattens. bound + 36 MiB
// keeps 1m×8 below 64 MiB with room for longer runs.
//
// A large buffer is held at its bound for a whole backlog, and then the
// headroom the limit leaves the collector above the records is what sets
// its pace: at 1m×256 (2,001,000 lines, A/B twice) 292 MiB → 292.6–292.8
// MiB, 177k–187k; 300 MiB → 298.8–300.9 MiB, 210k–219k. So a bound adds
// 1/32 of itself, at most 8 MiB (resident memory stays within bound +
// 48 MiB whatever the bound).
func memoryBudget(bound int64) int64 { return 36<<20 + min(bound/32, 8<<20) }

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
