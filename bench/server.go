package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// moduleRoot is the directory of the smartcrm go.mod, so that the bench works from any
// working directory inside the module.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run the bench inside the smartcrm module")
	}
	return filepath.Dir(mod), nil
}

// buildServer compiles ./cmd/smartcrm into out. A normal build (no race detector, no
// coverage) so that the figures are those of a release binary.
func buildServer(ctx context.Context, root, out string) (time.Duration, error) {
	started := time.Now()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/smartcrm")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("building the server: %w\n%s", err, b)
	}
	return time.Since(started), nil
}

// serverProc is the running server child.
type serverProc struct {
	cmd  *exec.Cmd
	pid  int
	addr string
	// metricsAddr is where the server serves /metrics (its own listener, on a
	// kernel-chosen port).
	metricsAddr string
	logPath     string
	exited      chan struct{} // closed when the child has exited
	waitErr     error
	rss         *rssSampler
	// hwmKB is VmHWM read just before SIGTERM: after exit /proc has nothing.
	hwmKB int64
}

var (
	listeningRe = regexp.MustCompile(`msg="smartcrm listening" addr=(\S+)`)
	metricsRe   = regexp.MustCompile(`msg="metrics listening" addr=(\S+)`)
)

// startServer runs `smartcrm serve` on a kernel-chosen port (--addr 127.0.0.1:0, read
// back from the server's "listening" log line, so there is no port race) and returns
// once /healthz answers 200.
func startServer(ctx context.Context, bin, db, dataDir, token, logPath, pprofAddr string) (*serverProc, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	// Not CommandContext: the server must get SIGTERM and time to shut down, not the
	// SIGKILL CommandContext sends when ctx ends; stop() does that.
	args := []string{"serve", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--db", db, "--data-dir", dataDir}
	if pprofAddr != "" {
		args = append(args, "--pprof", pprofAddr)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "SMARTCRM_ADMIN_TOKEN="+token)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &serverProc{cmd: cmd, pid: cmd.Process.Pid, logPath: logPath, exited: make(chan struct{})}
	addrc, metricsc := make(chan string, 1), make(chan string, 1)
	var copyDone sync.WaitGroup
	copyDone.Add(1)
	go func() {
		// Copy the log to the file and pick out the listening address. Reading stderr
		// to EOF keeps the child from blocking on a full pipe.
		defer copyDone.Done()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			for re, c := range map[*regexp.Regexp]chan string{listeningRe: addrc, metricsRe: metricsc} {
				if m := re.FindStringSubmatch(line); m != nil {
					select {
					case c <- m[1]:
					default:
					}
				}
			}
		}
	}()
	go func() {
		copyDone.Wait() // Wait closes the pipe; finish reading first
		p.waitErr = cmd.Wait()
		logf.Close()
		close(p.exited)
	}()
	p.rss = startRSSSampler(p.pid, 100*time.Millisecond)

	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	select {
	case p.addr = <-addrc:
	case <-p.exited:
		return nil, fmt.Errorf("server exited before listening: %v\n%s", p.waitErr, tail(logPath))
	case <-deadline.C:
		_, _ = p.stop(5 * time.Second)
		return nil, fmt.Errorf("server did not start listening within 60s\n%s", tail(logPath))
	case <-ctx.Done():
		_, _ = p.stop(5 * time.Second)
		return nil, ctx.Err()
	}
	// The server logs its metrics address right after the API's.
	select {
	case p.metricsAddr = <-metricsc:
	case <-time.After(5 * time.Second):
	}
	if err := p.waitHealthy(ctx, deadline.C); err != nil {
		_, _ = p.stop(5 * time.Second)
		return nil, err
	}
	return p, nil
}

// waitHealthy polls /healthz until it answers 200, the deadline fires, or the child dies.
func (p *serverProc) waitHealthy(ctx context.Context, deadline <-chan time.Time) error {
	hc := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := hc.Get("http://" + p.addr + "/healthz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-tick.C:
		case <-p.exited:
			return fmt.Errorf("server exited while starting: %v\n%s", p.waitErr, tail(p.logPath))
		case <-deadline:
			return fmt.Errorf("/healthz did not answer 200 in time (last error: %v)", err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (p *serverProc) webhookBase(token string) string {
	return "http://" + p.addr + "/rest/1/" + token + "/"
}

// stop sends SIGTERM, waits up to grace for a clean exit, and kills the child after
// that. It returns the exit code (-1 when killed by a signal).
func (p *serverProc) stop(grace time.Duration) (int, error) {
	select {
	case <-p.exited:
	default:
		if hwm := readStatusKB(p.pid, "VmHWM"); hwm > 0 {
			p.hwmKB = hwm
		}
		p.rss.stop()
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(grace):
			_ = p.cmd.Process.Kill()
			<-p.exited
			return -1, fmt.Errorf("server did not stop within %s of SIGTERM; killed", grace)
		}
	}
	p.rss.stop()
	code := p.cmd.ProcessState.ExitCode()
	if code != 0 {
		return code, fmt.Errorf("server exited with code %d: %v\n%s", code, p.waitErr, tail(p.logPath))
	}
	return code, nil
}

// rssNowKB is the child's current resident set.
func (p *serverProc) rssNowKB() int64 { return readStatusKB(p.pid, "VmRSS") }

// memory reads the child's memory figures while it is still running.
func (p *serverProc) memory() memoryReport {
	hwm := readStatusKB(p.pid, "VmHWM")
	if hwm == 0 {
		hwm = p.hwmKB
	}
	peak, samples := p.rss.peak()
	return memoryReport{PeakRSSMB: kbToMB(hwm), PeakSampledRSSMB: kbToMB(peak), Samples: samples,
		CPUSeconds: readCPUSeconds(p.pid)}
}

// metricNames are the lines of the server's /metrics worth keeping: they tell whether
// readers queued for a pooled connection, and how much the GC ran.
var metricNames = []string{
	"go_sql_wait_count_total", "go_sql_wait_duration_seconds_total", "go_sql_max_open_connections",
	"go_gc_duration_seconds_count", "go_gc_duration_seconds_sum", "go_goroutines",
	"go_memstats_heap_inuse_bytes", "go_memstats_sys_bytes", "process_cpu_seconds_total", "smartcrm_db_statements_total", "smartcrm_db_round_trips_total",
	"smartcrm_item_cache_hits_total", "smartcrm_item_cache_misses_total", "smartcrm_db_stale_assumptions_total",
}

// scrapeMetrics reads selected gauges and counters from /metrics.
func (p *serverProc) scrapeMetrics(ctx context.Context) map[string]float64 {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.metricsAddr+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		for _, name := range metricNames {
			// Exact name followed by a space or a label set; labelled series are summed.
			rest, ok := strings.CutPrefix(line, name)
			if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '{') {
				continue
			}
			var v float64
			if i := strings.LastIndexByte(rest, ' '); i >= 0 {
				if _, err := fmt.Sscan(rest[i+1:], &v); err == nil {
					out[name] += v
				}
			}
		}
	}
	return out
}

// tail is the end of the server log, for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}

// createWebhook makes an administrator webhook with the server's own CLI. Needed on a
// PostgreSQL database that already has users: SMARTCRM_ADMIN_TOKEN only applies on the
// very first start, so our token is unknown there.
func createWebhook(ctx context.Context, bin, db, addr string) (string, error) {
	out, err := exec.CommandContext(ctx, bin, "webhook", "create", "--user", "1", "--db", db,
		"--addr", addr, "--title", "bench").Output()
	if err != nil {
		return "", fmt.Errorf("smartcrm webhook create: %w", err)
	}
	lines := strings.Fields(string(out))
	if len(lines) == 0 {
		return "", errors.New("smartcrm webhook create printed nothing")
	}
	return lines[len(lines)-1], nil
}
