package rest_test

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

// rssGrowth runs f and reports how much the process's resident memory grew: at its peak
// while f ran (VmHWM, reset just before f) and what stayed afterwards (VmRSS after a
// collection that returns freed memory to the OS), both against the resident size
// before f. Tests run the server in-process, so this is the server's memory. Where it
// cannot be measured (not Linux, the race detector) f still runs and measured is false,
// so the test's other checks still hold.
func rssGrowth(t *testing.T, f func()) (peak, after int64, measured bool) {
	t.Helper()
	if runtime.GOOS != "linux" || raceDetector {
		t.Log("resident memory not measured: needs Linux /proc and no race detector")
		f()
		return 0, 0, false
	}
	settle := func() {
		runtime.GC()
		debug.FreeOSMemory()
	}
	settle()
	base := procStatus(t, "VmRSS")
	// Writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0+).
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Logf("resident memory not measured: cannot reset the peak: %v", err)
		f()
		return 0, 0, false
	}
	f()
	peak = procStatus(t, "VmHWM") - base
	settle()
	after = procStatus(t, "VmRSS") - base
	return peak, after, true
}

// procStatus reads a "kB" line of /proc/self/status, in bytes.
func procStatus(t *testing.T, field string) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatalf("reading /proc/self/status: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			t.Fatalf("%s: %v", sc.Text(), err)
		}
		return kb << 10
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}
