package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	_ "modernc.org/sqlite"

	"smartcrm/internal/store"
)

// noopArgs is the bare job: River's own cost, nothing of ours.
type noopArgs struct{}

func (noopArgs) Kind() string { return "bench.noop" }

type noopWorker struct {
	river.WorkerDefaults[noopArgs]
	done *atomic.Int64
}

func (w *noopWorker) Work(context.Context, *river.Job[noopArgs]) error {
	w.done.Add(1)
	return nil
}

// riverBare measures River alone on the same kind of database the server used: jobs
// inserted one per transaction by 8 writers while 32 workers work them, the rate of
// jobs worked over d. The database is a fresh SQLite file — opened as River's
// documentation does (sql.Open), or, with kept, with the server's own writer
// connection, which keeps statements prepared — or a schema of its own in the given
// PostgreSQL database.
func riverBare(ctx context.Context, dir, pgURL string, kept bool, d time.Duration) (float64, error) {
	var db *sql.DB
	var err error
	schema := ""
	switch {
	case pgURL == "" && kept:
		db = store.SQLiteWriter(filepath.Join(dir, fmt.Sprintf("river-bare-%d.db", time.Now().UnixNano())))
	case pgURL == "":
		db, err = sql.Open("sqlite", "file:"+filepath.Join(dir, fmt.Sprintf("river-bare-%d.db", time.Now().UnixNano()))+
			"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_txlock=immediate")
		db.SetMaxOpenConns(1) // one writer, as the server's store
	default:
		db, err = sql.Open("pgx", pgURL)
		schema = fmt.Sprintf("river_bare_%d", time.Now().UnixNano())
		if err == nil {
			_, err = db.ExecContext(ctx, "CREATE SCHEMA "+schema)
			defer db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE") //nolint:errcheck
		}
	}
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var done atomic.Int64
	workers := river.NewWorkers()
	river.AddWorker(workers, &noopWorker{done: &done})
	cfg := &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 32}},
		Workers:           workers,
		FetchPollInterval: 20 * time.Millisecond,
		FetchCooldown:     5 * time.Millisecond,
		Schema:            schema,
		Logger:            slog.New(slog.DiscardHandler),
	}
	var drv riverdriver.Driver[*sql.Tx] = riverdatabasesql.New(db)
	if pgURL == "" {
		drv = riversqlite.New(db)
	}
	m, err := rivermigrate.New(drv, &rivermigrate.Config{Schema: schema})
	if err != nil {
		return 0, err
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return 0, err
	}
	client, err := river.NewClient(drv, cfg)
	if err != nil {
		return 0, err
	}
	insert := func(ctx context.Context) error { return insertOne(ctx, db, client) }
	start, stop := client.Start, client.Stop
	if err := start(ctx); err != nil {
		return 0, err
	}
	defer stop(context.Background()) //nolint:errcheck
	lctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	var insertErr atomic.Value
	began := time.Now()
	startDone := done.Load()
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lctx.Err() == nil {
				if err := insert(lctx); err != nil && lctx.Err() == nil {
					insertErr.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	worked := done.Load() - startDone
	if e, _ := insertErr.Load().(error); e != nil {
		return 0, e
	}
	return float64(worked) / time.Since(began).Seconds(), nil
}

// insertOne inserts one job in a transaction of its own, as a stage move does.
func insertOne(ctx context.Context, db *sql.DB, client *river.Client[*sql.Tx]) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if _, err := client.InsertTx(ctx, tx, noopArgs{}, nil); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}
