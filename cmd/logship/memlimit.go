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
// not grow with the bound. Resident memory (VmHWM) runs about 26 MiB above
// the soft limit, the part the limit does not cover (mostly the binary's
// mapped text and data).
//
// Measured with 'logship bench' (2,001,000 CRI lines, 50 files, path
// metadata, chunk_limit_size 1m; shared 2-core machine, two runs each),
// GOMEMLIMIT → peak RSS, lines per CPU-second:
//
//	1m×8 (8 MiB):     32.5 MiB (bound+24+bound/16, the old rule) → 60–61 MiB, 187k–212k
//	                  36 MiB → 62 MiB, 248k–254k; 38 MiB → 64.2 MiB, 263k–289k
//	                  40 MiB → 66 MiB, 285k–310k; 48 MiB → 75 MiB, 316k–333k
//	                  56 MiB → 81 MiB, 308k–316k; off → 85–88 MiB, 345k–376k
//	1m×256 (256 MiB): 264 MiB → 310–311 MiB; 272 MiB → 308–310 MiB;
//	                  280 MiB → 310–312 MiB; 296 MiB (old rule) → 317–318 MiB;
//	                  all 178k–209k (the send path, not the collector, bounds it;
//	                  measured before idle flush threads enqueued due chunks)
//	with this rule, make bench --runs 2: 1m×8 58.9 MiB, 281k–286k;
//	                  1m×256 309 MiB, 203k–215k
//
// Below bound + 28 MiB the collector runs nearly continuously (the live heap
// is the records plus a working set of about 28 MiB, so the limit cannot be
// met); above it resident memory grows by the extra limit. bound + 28 MiB is
// the largest budget keeping 1m×8 within 64 MiB; at 1m×256 the resident
// floor is set by the live heap (≈ bound + 54 MiB whatever the limit).
func memoryBudget(int64) int64 { return 28 << 20 }

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
