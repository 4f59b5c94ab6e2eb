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
// https://pkg.go.dev/runtime/debug#SetMemoryLimit), unless GOMEMLIMIT is set.
// Without a cgroup v2 memory limit it is the buffers' memory bound (bound,
// the sum of buffer.Config.MemoryBound over the outputs; 0: none) plus
// memoryBudget. The collector then works harder near the limit instead of
// letting the heap grow to twice the live data (GOGC 100), which is what the
// pod's limit is set from. It returns the limit set (0 if none) and where it
// came from ("cgroup" or "buffers").
//
// Inside a container with a memory limit the soft limit is cgroupSoftLimit.
func setMemoryLimit(getenv func(string) string, readFile func(string) ([]byte, error), bound int64) (int64, string) {
	if getenv("GOMEMLIMIT") != "" {
		return 0, ""
	}
	if limit := cgroupLimit(readFile); limit > 0 {
		limit = cgroupSoftLimit(limit, bound)
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

// Margins below a container's memory limit, for cgroupSoftLimit.
const (
	// residentOverSoft is about how far resident memory runs above a small
	// soft limit (the binary's mapped text and data, which the limit does
	// not cover): 40 MiB → 56.1, 48 MiB → 63.2 (memoryBudget's figures).
	residentOverSoft = 16 << 20
	// cgroupMinMargin is the least room left below the container's limit.
	// With a large buffer at its bound resident memory runs at about the
	// soft limit (300 MiB → 298.8–302.4 MiB at 1m×256).
	cgroupMinMargin = 4 << 20
)

// cgroupSoftLimit is the soft limit inside a container whose memory limit is
// limit, for buffers bounded by bound (0: none): the container's limit less
// what resident memory runs above the soft limit (residentOverSoft), or the
// buffers' own limit (bound + memoryBudget) when that is larger, and in any
// case at least cgroupMinMargin below the container's limit (and no lower
// than half of it).
//
// A fixed fraction of the container's limit (90 %, as before) starves the
// collector of a large buffer: the chart sets the limit to the bound plus
// 48 MiB, so 90 % of 304 MiB for a 256 MiB bound is 273.6 MiB, below what a
// full buffer keeps live. Measured with 'logship bench' (2,001,000 CRI
// lines, 1m×256) in a cgroup v1 memory group of 304 MiB on a shared 2-core
// machine: GOMEMLIMIT 273.6 MiB → 224k–281k lines per CPU-second; 288 MiB →
// 261k–309k; 300 MiB → 415k–503k at 299.3–302.4 MiB resident, no failures
// to charge, no OOM kill.
func cgroupSoftLimit(limit, bound int64) int64 {
	soft := limit - residentOverSoft
	if bound > 0 {
		soft = max(soft, bound+memoryBudget(bound))
	}
	return max(min(soft, limit-cgroupMinMargin), limit/2)
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
