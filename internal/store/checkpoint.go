package store

import (
	"context"
	"database/sql"
	"log/slog"
	"time"
)

// In WAL mode SQLite copies the log back into the database file ("checkpoint") every
// 1,000 pages, inside whichever commit crosses the mark, fsyncs included. With one
// writer that stalls every change queued behind it. The writer's automatic checkpoints
// are off instead, and this loop checkpoints from a connection of its own: PASSIVE
// checkpoints never block the writer or readers.
type checkpointer struct {
	db   *sql.DB
	stop chan struct{}
	done chan struct{}
}

const (
	checkpointEvery = 500 * time.Millisecond
	// walPagesForce: under steady writes passive checkpoints copy the log but rarely
	// get to rewind it. Past this many pages (~32 MB) a RESTART checkpoint rewinds it;
	// it briefly holds the writer, but finds most pages already copied.
	walPagesForce = 8192
)

func startCheckpointer(db *sql.DB) *checkpointer {
	c := &checkpointer{db: db, stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			c.checkpoint("TRUNCATE") // leave a small log behind on a clean stop
			return
		case <-t.C:
			if pages := c.checkpoint("PASSIVE"); pages > walPagesForce {
				c.checkpoint("RESTART")
			}
		}
	}
}

// checkpoint runs one checkpoint and returns the log's size in pages.
func (c *checkpointer) checkpoint(mode string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var busy, logPages, done int
	if err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &logPages, &done); err != nil {
		slog.Warn("sqlite checkpoint", "mode", mode, "err", err)
		return 0
	}
	return logPages
}

func (c *checkpointer) close() {
	close(c.stop)
	<-c.done
	c.db.Close()
}
