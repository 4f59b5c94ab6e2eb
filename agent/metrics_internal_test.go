package agent

import (
	"runtime"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestCollectMemory: /metrics reports the process's resident memory, its
// peak, the Go heap and the soft memory limit.
func TestCollectMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("resident memory comes from /proc/self/status")
	}
	got := map[*prometheus.Desc]float64{}
	collectMemory(func(d *prometheus.Desc, v float64, _ ...string) { got[d] = v })
	for _, d := range []*prometheus.Desc{descRSS, descPeakRSS, descHeap, descMemLimit} {
		if got[d] <= 0 {
			t.Errorf("%s = %v, want > 0", d, got[d])
		}
	}
	if got[descPeakRSS] < got[descRSS] {
		t.Errorf("peak RSS %v below RSS %v", got[descPeakRSS], got[descRSS])
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if h := got[descHeap]; h > float64(ms.HeapSys) {
		t.Errorf("heap objects %v above the heap's %d bytes from the OS", h, ms.HeapSys)
	}
}
