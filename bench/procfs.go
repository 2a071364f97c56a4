package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// readStatusKB reads a "Name:   123 kB" line of /proc/<pid>/status; 0 when absent
// (process gone, or not Linux).
func readStatusKB(pid int, name string) int64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), name+":")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return 0
		}
		n, _ := strconv.ParseInt(fields[0], 10, 64)
		return n
	}
	return 0
}

// clockTicks is USER_HZ. Go has no sysconf; every Linux architecture Go supports
// exports 100 to user space, whatever the kernel's internal HZ.
const clockTicks = 100

// readCPUSeconds is user+system CPU time of a process from /proc/<pid>/stat.
func readCPUSeconds(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) is in parentheses and may hold spaces: count fields
	// after the last ')'. utime and stime are fields 14 and 15, i.e. 12 and 13 after it.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return float64(ut+st) / clockTicks
}

// selfCPUSeconds is the bench process's own CPU time (the client side competes with the
// server for the same cores, so it belongs in the report).
func selfCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// rssSampler polls VmRSS of a process. VmHWM is the authoritative peak; the samples show
// that the peak was reached during the run and not, say, at start-up.
type rssSampler struct {
	mu      sync.Mutex
	max     int64
	samples int
	done    chan struct{}
	once    sync.Once
}

func startRSSSampler(pid int, every time.Duration) *rssSampler {
	s := &rssSampler{done: make(chan struct{})}
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if kb := readStatusKB(pid, "VmRSS"); kb > 0 {
				s.mu.Lock()
				s.samples++
				if kb > s.max {
					s.max = kb
				}
				s.mu.Unlock()
			}
			select {
			case <-t.C:
			case <-s.done:
				return
			}
		}
	}()
	return s
}

func (s *rssSampler) stop() { s.once.Do(func() { close(s.done) }) }

func (s *rssSampler) peak() (kb int64, samples int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.max, s.samples
}

// machineBusySeconds is the CPU time all processes of the machine have used since boot
// (every /proc/stat field but idle and iowait, summed over cores).
func machineBusySeconds() float64 {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0
	}
	fields := strings.Fields(sc.Text())
	if len(fields) < 5 || fields[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range fields[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 8 { // guest time is already counted in user
			break
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		busy += n
	}
	return float64(busy) / clockTicks
}

// cpuMeter measures the CPU spent during a phase by the server, by the bench, and by
// everything else on the machine. The last matters on a shared machine: a build or test
// run next to the bench takes cores from the server and lowers its figures.
type cpuMeter struct {
	pid                   int
	server, self, machine float64
	startedAt             time.Time
}

func startCPU(pid int) cpuMeter {
	return cpuMeter{pid: pid, server: readCPUSeconds(pid), self: selfCPUSeconds(),
		machine: machineBusySeconds(), startedAt: time.Now()}
}

// phaseCPU is CPU seconds spent in a phase, and the share of one core it amounts to.
type phaseCPU struct {
	ServerCPUSec float64 `json:"server_cpu_s"`
	BenchCPUSec  float64 `json:"bench_cpu_s"`
	OtherCPUSec  float64 `json:"other_cpu_s"`  // other processes on the machine
	ServerCores  float64 `json:"server_cores"` // average cores busy in the server
	BenchCores   float64 `json:"bench_cores"`
	OtherCores   float64 `json:"other_cores"`
}

func (m cpuMeter) done() phaseCPU {
	wall := time.Since(m.startedAt).Seconds()
	p := phaseCPU{ServerCPUSec: readCPUSeconds(m.pid) - m.server, BenchCPUSec: selfCPUSeconds() - m.self}
	// Tick-granular counters from different files: clamp the small negative noise.
	p.OtherCPUSec = max(0, machineBusySeconds()-m.machine-p.ServerCPUSec-p.BenchCPUSec)
	if wall > 0 {
		p.ServerCores, p.BenchCores, p.OtherCores = p.ServerCPUSec/wall, p.BenchCPUSec/wall, p.OtherCPUSec/wall
	}
	return p
}
