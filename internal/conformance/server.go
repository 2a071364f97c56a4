// Package conformance holds black-box tests that drive a real smartcrm
// binary with real, unmodified Bitrix24 clients, and the helpers to build,
// start and stop that binary against SQLite or PostgreSQL.
//
// The helpers live in a non-test file so that other test packages can reuse
// them; they are only ever called from tests.
package conformance

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// readyTimeout bounds the wait for /healthz; a cold PostgreSQL
	// migration is the slowest thing the server does at start.
	readyTimeout = 60 * time.Second
	// stopTimeout bounds the graceful shutdown after SIGTERM.
	stopTimeout = 15 * time.Second
)

// RepoRoot returns the module root (the directory holding go.mod). go test
// runs a package's tests in that package's directory, so walking up from the
// working directory finds it without depending on runtime.Caller paths,
// which -trimpath would rewrite.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod found above the test's working directory")
		}
		dir = parent
	}
}

// BuildServer compiles ./cmd/smartcrm into a temporary directory owned by t
// and returns the binary's path. Call it once in a parent test and share the
// path with its subtests; the binary is removed when t ends.
func BuildServer(t testing.TB) string {
	t.Helper()
	root := RepoRoot(t)
	trackModuleFiles(t, root)
	bin := filepath.Join(t.TempDir(), "smartcrm")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/smartcrm")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./cmd/smartcrm: %v\n%s", err, out)
	}
	return bin
}

// trackModuleFiles stats every file of the module (outside .git and
// node_modules). go test caches a passing result keyed on the test binary
// and on the files and environment variables the test touched through the
// os package; the server is built in a subprocess, so without this a cached
// PASS would survive any change to the server's source or to sdktest/.
// Stat records size and mtime, which is what the cache compares.
func trackModuleFiles(t testing.TB, root string) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed while we walked; nothing to track
		}
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (d.Name() == ".git" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if _, err := os.Stat(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatalf("scan module files: %v", err)
	}
}

// Server is a running smartcrm process.
type Server struct {
	// BaseURL is http://127.0.0.1:PORT, without a trailing slash.
	BaseURL string
	// AdminToken is the SMARTCRM_ADMIN_TOKEN it was started with; it is
	// also user 1's webhook secret.
	AdminToken string
	// Webhook is user 1's inbound webhook, http://127.0.0.1:PORT/rest/1/TOKEN/.
	Webhook string

	t       testing.TB
	cmd     *exec.Cmd
	log     *LogWriter
	exited  chan struct{} // closed when the process has exited
	waitErr error         // valid after exited is closed
	stop    sync.Once
}

// StartServer starts bin as `smartcrm serve` on a free loopback port with the
// given database DSN and a fresh data directory, waits until GET /healthz
// answers 200, and registers a cleanup that stops it with SIGTERM. The
// server's stdout and stderr go to t's log, prefixed "server: ".
func StartServer(t testing.TB, bin, dsn string) *Server {
	t.Helper()
	port := freePort(t)
	token := randomHex(t, 16)
	addr := fmt.Sprintf("127.0.0.1:%d", port)

	s := &Server{
		BaseURL:    "http://" + addr,
		AdminToken: token,
		Webhook:    fmt.Sprintf("http://%s/rest/1/%s/", addr, token),
		t:          t,
		log:        NewLogWriter(t, "server: "),
		exited:     make(chan struct{}),
	}
	s.cmd = exec.Command(bin, "serve", "--addr", addr, "--db", dsn, "--data-dir", t.TempDir())
	s.cmd.Env = append(os.Environ(), "SMARTCRM_ADMIN_TOKEN="+token)
	s.cmd.Stdout = s.log
	s.cmd.Stderr = s.log
	// If the server leaves a child holding the output pipe, do not let Wait
	// hang the test forever.
	s.cmd.WaitDelay = 5 * time.Second
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(s.Stop)

	if err := s.waitReady(); err != nil {
		t.Fatalf("smartcrm did not become ready: %v", err)
	}
	return s
}

// waitReady polls /healthz until it answers 200, the process exits, or
// readyTimeout passes.
func (s *Server) waitReady() error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(readyTimeout)
	var last string
	for {
		resp, err := client.Get(s.BaseURL + "/healthz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = "GET /healthz: HTTP " + resp.Status
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no 200 from %s/healthz within %s (last: %s)", s.BaseURL, readyTimeout, last)
		}
		select {
		case <-s.exited:
			return fmt.Errorf("server exited before it was ready: %v", s.waitErr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop sends SIGTERM and waits for the process to exit, killing it after
// stopTimeout. A slow or unclean shutdown fails the test. Stop is idempotent
// and is registered as a cleanup by StartServer.
func (s *Server) Stop() {
	s.stop.Do(func() {
		defer s.log.Flush()
		select {
		case <-s.exited:
			s.t.Errorf("smartcrm exited before the test stopped it: %v", s.waitErr)
			return
		default:
		}
		if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			s.t.Errorf("SIGTERM smartcrm: %v", err)
		}
		select {
		case <-s.exited:
		case <-time.After(stopTimeout):
			_ = s.cmd.Process.Kill()
			<-s.exited
			s.t.Errorf("smartcrm did not exit within %s after SIGTERM; killed", stopTimeout)
			return
		}
		if s.waitErr != nil {
			s.t.Errorf("smartcrm did not shut down cleanly after SIGTERM: %v", s.waitErr)
		}
	})
}

// LogWriter is an io.Writer that forwards whole lines to t.Log, so a child
// process's output shows up in `go test -v` (and in the log of a failed
// test) next to the test that produced it.
type LogWriter struct {
	t      testing.TB
	prefix string
	mu     sync.Mutex
	buf    bytes.Buffer
}

// NewLogWriter returns a LogWriter that prefixes every line with prefix.
func NewLogWriter(t testing.TB, prefix string) *LogWriter {
	return &LogWriter{t: t, prefix: prefix}
}

// Write implements io.Writer. Complete lines are logged at once; a trailing
// partial line waits for its newline or for Flush.
func (w *LogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if errors.Is(err, io.EOF) {
			// Put the partial line back for the next Write.
			w.buf.WriteString(line)
			return len(p), nil
		}
		w.t.Log(w.prefix + strings.TrimRight(line, "\r\n"))
	}
}

// Flush logs a trailing line that had no newline. Call it after the process
// has exited (and before the test ends: t.Log panics after that).
func (w *LogWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	sc := bufio.NewScanner(&w.buf)
	for sc.Scan() {
		w.t.Log(w.prefix + sc.Text())
	}
	w.buf.Reset()
}

// freePort asks the kernel for a free loopback port and releases it for the
// server to bind. Another process could take it in between; the server then
// exits at start and waitReady reports that with the server's output.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatalf("release port %d: %v", port, err)
	}
	return port
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random: %v", err)
	}
	return hex.EncodeToString(b)
}
