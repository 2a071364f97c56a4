// Package serverproc builds the smartcrm binary and runs it as a child process, for the
// tests and benchmarks that must see the real server: killed with SIGKILL and
// restarted, measured from outside.
package serverproc

import (
	"bufio"
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

// Build compiles ./cmd/smartcrm of the module the working directory is in into out.
func Build(ctx context.Context, out string) error {
	mod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(mod)))
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/smartcrm")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building the server: %w\n%s", err, b)
	}
	return nil
}

// Proc is a running server.
type Proc struct {
	// Addr is the API's address, host:port.
	Addr    string
	cmd     *exec.Cmd
	log     *syncBuffer
	exited  chan struct{}
	waitErr error
}

var listening = regexp.MustCompile(`msg="smartcrm listening" addr=(\S+)`)

// Start runs `smartcrm serve` with args (after serve) and env (added to this
// process's) on a port the kernel chooses, and returns once /healthz answers.
func Start(ctx context.Context, bin string, args, env []string) (*Proc, error) {
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--metrics-addr", "off"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	p := &Proc{cmd: cmd, log: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout = p.log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	addrc := make(chan string, 1)
	var copied sync.WaitGroup
	copied.Add(1)
	go func() {
		defer copied.Done()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(p.log, line)
			if m := listening.FindStringSubmatch(line); m != nil {
				select {
				case addrc <- m[1]:
				default:
				}
			}
		}
	}()
	go func() {
		copied.Wait()
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	deadline := time.After(60 * time.Second)
	select {
	case p.Addr = <-addrc:
	case <-p.exited:
		return nil, fmt.Errorf("the server exited before listening: %v\n%s", p.waitErr, p.Log())
	case <-deadline:
		p.Kill()
		return nil, fmt.Errorf("the server did not listen within 60 s\n%s", p.Log())
	case <-ctx.Done():
		p.Kill()
		return nil, ctx.Err()
	}
	for {
		resp, err := http.Get("http://" + p.Addr + "/healthz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-p.exited:
			return nil, fmt.Errorf("the server exited while starting: %v\n%s", p.waitErr, p.Log())
		case <-deadline:
			p.Kill()
			return nil, errors.New("/healthz did not answer in time")
		}
	}
}

// Kill ends the server with SIGKILL, as a crash or the OOM killer would, and waits
// for it to be gone.
func (p *Proc) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// Stop asks the server to shut down (SIGTERM) and waits up to grace before killing it.
func (p *Proc) Stop(grace time.Duration) error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return nil
	case <-time.After(grace):
		p.Kill()
		return fmt.Errorf("the server did not stop within %s of SIGTERM", grace)
	}
}

// Log is what the server wrote so far.
func (p *Proc) Log() string { return p.log.String() }

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 4<<20 {
		return len(p), nil // keep the start; a runaway log must not eat the test's memory
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Pid is the server's process id (for reading its CPU time from /proc).
func (p *Proc) Pid() int { return p.cmd.Process.Pid }
