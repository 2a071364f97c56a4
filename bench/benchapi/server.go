package benchapi

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"smartcrm/internal/serverproc"
)

// Server is a smartcrm built from this checkout and started for one benchmark, in a
// temporary directory it owns; API calls it as the administrator's webhook.
type Server struct {
	*API
	Proc *serverproc.Proc
	// Dir is the temporary directory: the binary, the SQLite file, uploads.
	Dir   string
	token string
	bin   string
	args  []string
}

// Start builds ./cmd/smartcrm and serves db (a postgres:// URL, or "" for a fresh SQLite
// file in the temporary directory) with extra flags; BENCH_PPROF=addr adds the profiler.
func Start(ctx context.Context, name, db string, extra ...string) (*Server, error) {
	dir, err := os.MkdirTemp("", "smartcrm-"+name+"-bench")
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, token: "bench-" + name + "-token", bin: filepath.Join(dir, "smartcrm")}
	fmt.Println("building the server…")
	if err := serverproc.Build(ctx, s.bin); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if db == "" {
		db = filepath.Join(dir, "bench.db")
	}
	s.args = append([]string{"--db", db, "--data-dir", filepath.Join(dir, "files")}, extra...)
	if pp := os.Getenv("BENCH_PPROF"); pp != "" {
		s.args = append(s.args, "--pprof", pp)
	}
	if err := s.Restart(ctx); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// Restart starts the server again (after Proc.Kill) on the same database and flags.
func (s *Server) Restart(ctx context.Context) error {
	p, err := serverproc.Start(ctx, s.bin, s.args, []string{"SMARTCRM_ADMIN_TOKEN=" + s.token})
	if err != nil {
		return err
	}
	s.Proc = p
	tr := &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}
	s.API = &API{Base: "http://" + p.Addr + "/rest/1/" + s.token + "/", HTTP: &http.Client{Timeout: 30 * time.Second, Transport: tr}}
	return nil
}

// Close stops the server and removes the temporary directory.
func (s *Server) Close() {
	_ = s.Proc.Stop(30 * time.Second)
	os.RemoveAll(s.Dir)
}

// Seed creates n items of a type, titled title, 50 per batch call, and returns their ids.
func (a *API) Seed(etid int64, n int, title string) ([]int64, error) {
	ids := make([]int64, 0, n)
	for len(ids) < n {
		cmd := map[string]any{}
		for i := 0; i < 50 && len(ids)+i < n; i++ {
			cmd[fmt.Sprintf("c%d", i)] = fmt.Sprintf("crm.item.add?entityTypeId=%d&fields[title]=%s", etid, title)
		}
		res, err := a.Call("batch", map[string]any{"halt": 1, "cmd": cmd})
		if err != nil {
			return nil, err
		}
		for i := 0; i < len(cmd); i++ {
			ids = append(ids, Num(res, "result", fmt.Sprintf("c%d", i), "item", "id"))
		}
	}
	return ids, nil
}

// Must ends the benchmark on an error of a set-up call.
func Must(v any, err error) any {
	if err != nil {
		log.Fatal(err)
	}
	return v
}
