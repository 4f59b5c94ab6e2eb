package main

import (
	"runtime/debug"
	"strconv"
	"strings"
)

// cgroupMemoryMax is the cgroup v2 memory limit file of this container.
const cgroupMemoryMax = "/sys/fs/cgroup/memory.max"

// setMemoryLimit gives the Go runtime a soft memory limit of 90 % of the
// container's memory limit, unless GOMEMLIMIT is set: the collector then works
// harder near the limit instead of letting the pod be OOM-killed. It returns
// the limit set, or 0.
func setMemoryLimit(getenv func(string) string, readFile func(string) ([]byte, error)) int64 {
	if getenv("GOMEMLIMIT") != "" {
		return 0
	}
	b, err := readFile(cgroupMemoryMax)
	if err != nil {
		return 0
	}
	s := strings.TrimSpace(string(b))
	if s == "" || s == "max" {
		return 0
	}
	max, err := strconv.ParseInt(s, 10, 64)
	if err != nil || max <= 0 {
		return 0
	}
	limit := max / 10 * 9
	debug.SetMemoryLimit(limit)
	return limit
}
