// Command bench measures the smartcrm server end to end: item-add throughput over the
// REST API against a raw SQLite baseline, crm.item.list latency on a large type,
// smartcrm.stage.counts latency on a ten-stage funnel, stage changes through
// crm.item.update, and the server's peak memory. It builds the server itself, runs it as a child process on a
// fresh database, and prints its figures as text followed by one JSON line.
//
//	go run ./bench [--quick] [--items 200000] [--adds 20000] [--concurrency 8]
//	               [--stage-items 200000] [--moves 20000] [--db postgres://…] [--keep]
//
// See bench/README.md for what each figure means.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// config is what the flags ask for.
type config struct {
	items       int // items seeded into the list type
	adds        int // crm.item.add calls timed over HTTP
	concurrency int
	listReqs    int // requests per list mode
	stageItems  int // items seeded into the ten-stage type
	stageReqs   int // timed smartcrm.stage.counts requests
	moves       int // timed crm.item.update stage changes
	db          string
	keep        bool
	quick       bool
	// phases names the phases to run (see README); the custom-field ones below.
	phases  map[string]bool
	cfItems int           // items of the custom-field list type (fast path)
	soak    time.Duration // duration of the mixed soak
	pprof   string        // the server's --pprof address, "" none
	pgAdds  int           // adds (and moves) per concurrency level of the PostgreSQL write phase
}

// has reports whether a phase runs.
func (c config) has(phase string) bool { return c.phases[phase] }

func parseFlags() config {
	var c config
	flag.IntVar(&c.items, "items", 200000, "items seeded into the type the list benchmark reads")
	flag.IntVar(&c.adds, "adds", 20000, "crm.item.add calls timed over HTTP (and rows in the raw SQLite baseline)")
	flag.IntVar(&c.concurrency, "concurrency", 8, "client goroutines (and raw SQLite writer goroutines)")
	flag.IntVar(&c.listReqs, "list-requests", 2000, "crm.item.list requests per paging mode")
	flag.IntVar(&c.stageItems, "stage-items", 200000, "items seeded into the ten-stage type of the stage phases")
	flag.IntVar(&c.stageReqs, "stage-requests", 2000, "smartcrm.stage.counts requests timed")
	flag.IntVar(&c.moves, "moves", 20000, "crm.item.update calls timed, each moving a distinct item to another stage")
	flag.StringVar(&c.db, "db", "", "database for the server: empty = a fresh SQLite file in the temp dir, or a postgres:// URL")
	flag.BoolVar(&c.keep, "keep", false, "keep the temp dir (server binary, database, server log)")
	flag.BoolVar(&c.quick, "quick", false, "small sizes, for a smoke run of the harness")
	phases := flag.String("phases", "adds,lists,stages", "phases to run, comma-separated: adds, lists, stages, custom, soak, pgwrites (pgwrites needs --db postgres://…)")
	flag.IntVar(&c.cfItems, "cf-items", 200000, "items of the custom-field list type, seeded by the fast path (phase custom)")
	flag.DurationVar(&c.soak, "soak", 5*time.Minute, "duration of the 16-client mixed soak (phase soak)")
	flag.IntVar(&c.pgAdds, "pg-adds", 20000, "adds and moves per pass, at concurrency 1, 8, 32, 32, 8 (phase pgwrites)")
	flag.StringVar(&c.pprof, "server-pprof", "", "address the server serves /debug/pprof on (serve --pprof), to profile a phase while it runs")
	flag.Parse()
	c.phases = map[string]bool{}
	for _, p := range strings.Split(*phases, ",") {
		c.phases[strings.TrimSpace(p)] = true
	}
	if c.quick {
		// Explicit flags still win over the quick defaults, so `--quick --adds 5000`
		// does what it says.
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["items"] {
			c.items = 2000
		}
		if !set["adds"] {
			c.adds = 500
		}
		if !set["list-requests"] {
			c.listReqs = 200
		}
		if !set["stage-items"] {
			c.stageItems = 2000
		}
		if !set["stage-requests"] {
			c.stageReqs = 200
		}
		if !set["moves"] {
			c.moves = min(500, c.stageItems)
		}
		if !set["cf-items"] {
			c.cfItems = 5000
		}
		if !set["soak"] {
			c.soak = 20 * time.Second
		}
		if !set["pg-adds"] {
			c.pgAdds = 300
		}
	}
	return c
}

func main() {
	cfg := parseFlags()
	if err := validate(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	// SIGINT stops the run but still lets the deferred clean-up stop the server child.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func validate(c config) error {
	switch {
	case c.items < 50:
		return errors.New("--items must be at least 50 (one page)")
	case c.adds < 1:
		return errors.New("--adds must be positive")
	case c.concurrency < 1:
		return errors.New("--concurrency must be positive")
	case c.listReqs < 1:
		return errors.New("--list-requests must be positive")
	case c.stageItems < 1:
		return errors.New("--stage-items must be positive")
	case c.stageReqs < 1:
		return errors.New("--stage-requests must be positive")
	case c.moves < 1:
		return errors.New("--moves must be positive")
	case c.moves > c.stageItems:
		// Each move takes its own item: two moves of one item could run at once and
		// the second one's target stage could be where the item already is.
		return errors.New("--moves must not exceed --stage-items (each move takes a distinct item)")
	case c.has("pgwrites") && !isPostgres(c.db):
		return errors.New("phase pgwrites needs --db postgres://…")
	case c.has("custom") && c.cfItems < 1000:
		return errors.New("--cf-items must be at least 1000")
	case c.db != "" && !isPostgres(c.db) && !strings.HasSuffix(c.db, ".db"):
		// Guard against pointing the bench at a real database file by mistake: the
		// server would add tens of thousands of items to it.
		return errors.New("--db must be a postgres:// URL, or a fresh SQLite path ending in .db")
	}
	return nil
}

func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// run is the whole benchmark. Phases run one after another on the same server process,
// so that its peak RSS covers all of them.
func run(ctx context.Context, cfg config) (err error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "smartcrm-bench-*")
	if err != nil {
		return err
	}
	defer func() {
		if cfg.keep {
			fmt.Printf("kept temp dir: %s\n", tmp)
			return
		}
		_ = os.RemoveAll(tmp)
	}()

	rep := &report{
		Started: time.Now().UTC().Format(time.RFC3339),
		GoOS:    runtime.GOOS, GoArch: runtime.GOARCH, NumCPU: runtime.NumCPU(), GoVersion: runtime.Version(),
		Items: cfg.items, Adds: cfg.adds, Concurrency: cfg.concurrency, ListRequests: cfg.listReqs, Quick: cfg.quick,
		StageItems: cfg.stageItems, StageRequests: cfg.stageReqs, MoveCount: cfg.moves,
	}
	rep.DB = "sqlite"
	dbArg := cfg.db
	if dbArg == "" {
		dbArg = filepath.Join(tmp, "smartcrm.db")
	}
	if isPostgres(dbArg) {
		rep.DB = "postgres"
	}
	fmt.Printf("smartcrm bench: db=%s items=%d adds=%d concurrency=%d list-requests=%d stage-items=%d stage-requests=%d moves=%d cpus=%d %s\n",
		rep.DB, cfg.items, cfg.adds, cfg.concurrency, cfg.listReqs, cfg.stageItems, cfg.stageReqs, cfg.moves, rep.NumCPU, rep.GoVersion)

	bin := filepath.Join(tmp, "smartcrm")
	buildTime, err := buildServer(ctx, root, bin)
	if err != nil {
		return err
	}
	fmt.Printf("built server in %.1fs\n", buildTime.Seconds())

	token := randomToken()
	srv, err := startServer(ctx, bin, dbArg, filepath.Join(tmp, "data"), token, filepath.Join(tmp, "server.log"), cfg.pprof)
	if err != nil {
		return err
	}
	fmt.Printf("server pid %d listening on %s (log: %s)\n", srv.pid, srv.addr, srv.logPath)
	defer func() {
		// Stop the child whatever happened (a no-op after the normal stop below).
		if _, stopErr := srv.stop(40 * time.Second); err == nil && stopErr != nil {
			err = stopErr
		}
	}()

	cl := newClient(srv.webhookBase(token), cfg.concurrency)
	if err := cl.ensureAuth(ctx, srv, bin, dbArg); err != nil {
		return err
	}

	if err := runClassic(ctx, cl, srv, cfg, rep, tmp); err != nil {
		return err
	}
	if err := runCustom(ctx, cl, srv, cfg, rep, dbArg); err != nil {
		return err
	}

	// 5. Memory: the kernel's high-water mark of the child, read before it exits, and
	// the highest of the periodic samples (which can miss a short spike VmHWM catches).
	rep.Memory = srv.memory()
	rep.DBSizeMB = dbSizeMB(dbArg)
	rep.ServerMetrics = srv.scrapeMetrics(ctx)
	// Drop the client's idle keep-alive connections first. Go's http.Server.Shutdown
	// counts a connection that never carried a request as active for its first 5 s,
	// and the transport can leave such spare dials in its pool; without this, shutdown
	// time would measure that rule rather than the server.
	cl.closeIdle()
	stopStarted := time.Now()
	code, err := srv.stop(40 * time.Second)
	rep.ServerExit, rep.ShutdownSec = code, time.Since(stopStarted).Seconds()
	if err != nil {
		return err
	}
	rep.printMemory()

	line, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	fmt.Println(string(line))
	return nil
}

func randomToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "bench" + hex.EncodeToString(b)
}

func kbToMB(kb int64) float64 { return float64(kb) / 1024 }

// dbSizeMB is the size of a SQLite database with its WAL (0 for PostgreSQL).
func dbSizeMB(dsn string) float64 {
	if isPostgres(dsn) {
		return 0
	}
	var total int64
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if st, err := os.Stat(dsn + suffix); err == nil {
			total += st.Size()
		}
	}
	return float64(total) / (1 << 20)
}
