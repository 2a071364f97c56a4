package store

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Merging the substring indexes (SQLite). Each move of pending rows into an FTS table
// writes a segment of its own (search.go), and FTS5 merges segments only when four of
// a size have gathered: a type that grew by adds carries ten to twenty of them, and a
// search looks its trigram up in every one (a dozen single-row moves stayed twelve
// segments). On 200,000 items with eight segments that lookup was 29% of the CPU of a
// substring list's first page; merged into one segment, 9%, and the page took a third
// less CPU (0.66 → 0.44 ms; 67,000 items after a soak: 750 → 630 µs a request at one
// client). Pages further on walk more of the index, and gain less (733–806 → 801–805
// requests a second at one client, a random page of the first ten).
//
// A full merge rewrites the whole index (2 MB at 200,000 items, 0.15 s of the writer),
// so it is not done while writes go on: under a steady stream of adds the segments
// would be back within seconds, and merging the index again and again took an eighth
// of the writer's time at 70,000 items. The maintainer merges at quiet moments instead
// — a second with fewer than QuietWrites write transactions — in steps of
// ftsMergePages pages (about 15 ms of the writer each), at most ftsMergeBudget a
// second and a fiftieth of the time overall (mergeWhenQuiet), so a write that comes
// meanwhile waits for one step at most. Optimize, which runs after bulk changes, merges
// them whole.

const (
	// ftsMergePages is the work of one merge step, in FTS5 pages (about 4 kB each).
	ftsMergePages = 64
	// ftsMergeBudget bounds the merging of one quiet second.
	ftsMergeBudget = 250 * time.Millisecond
	// mergeRest is how many times as long as it merged the maintainer waits before it
	// merges again.
	mergeRest = 50
	// QuietWrites is the write transactions a second below which SQLite counts as
	// quiet, and background work may hold the writer (merges here, list index builds):
	// requests write a little all the time (sessions, a webhook's last use).
	QuietWrites = 20
)

// noteSegment records that an FTS table got a new segment (a move of pending rows).
func (s *searchSet) noteSegment(fts string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.segmentGen++
	s.unmerged[fts] = s.segmentGen
	s.mu.Unlock()
}

// unmergedFTS lists the FTS tables that may hold more than one segment, with the
// generation of their last new segment.
func (s *searchSet) unmergedFTS() map[string]int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]int64, len(s.unmerged))
	for fts, gen := range s.unmerged {
		out[fts] = gen
	}
	return out
}

// merged records that an FTS table is one segment, unless it got a new one since gen.
func (s *searchSet) merged(fts string, gen int64) {
	s.mu.Lock()
	if s.unmerged[fts] == gen {
		delete(s.unmerged, fts)
	}
	s.mu.Unlock()
}

// noteAllUnmerged marks every FTS table as possibly unmerged: at start, nothing is
// known of the segments earlier runs left, nor after a bulk change.
func (s *searchSet) noteAllUnmerged() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for table := range s.m {
		for col := range s.m[table] {
			s.segmentGen++
			s.unmerged[ftsTable(table, col)] = s.segmentGen
		}
	}
}

// mergeSearchIndexes merges the unmerged FTS tables step by step until each is one
// segment or the deadline (zero: none) passes, and answers the time the steps took.
// A table that fails (dropped meanwhile with its type or field) leaves the set; the
// first error is returned.
func (s *Store) mergeSearchIndexes(ctx context.Context, deadline time.Time) (took time.Duration, first error) {
	for fts, gen := range s.search.unmergedFTS() {
		for {
			if !deadline.IsZero() && time.Now().After(deadline) {
				return took, first
			}
			start := time.Now()
			done, err := s.mergeStep(ctx, fts)
			took += time.Since(start)
			if err != nil && ctx.Err() != nil {
				return took, err
			}
			if err != nil && first == nil {
				first = err
			}
			if done || err != nil {
				s.search.merged(fts, gen)
				break
			}
		}
	}
	return took, first
}

// mergeStep does one step of merging an FTS table into one segment and reports
// whether there was nothing (left) to merge. FTS5 tells by the rows the step changed:
// fewer than two when it found nothing to do.
func (s *Store) mergeStep(ctx context.Context, fts string) (done bool, err error) {
	c, err := s.write.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer c.Close()
	var before, after int64
	if err := c.QueryRowContext(ctx, "SELECT total_changes()").Scan(&before); err != nil {
		return false, err
	}
	if _, err := c.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s(%s, rank) VALUES('merge', %d)", fts, fts, -ftsMergePages)); err != nil {
		return false, fmt.Errorf("merging %s: %w", fts, err)
	}
	if err := c.QueryRowContext(ctx, "SELECT total_changes()").Scan(&after); err != nil {
		return false, err
	}
	return after-before < 2, nil
}

// mergeWhenQuiet is the maintainer's turn at the FTS tables: a quiet second since the
// last turn (writes then counted writes now) gets a budget of merge steps, unless the
// merges so far ask for a rest (m.mergeAfter).
//
// A steady trickle of writes — quiet by the count, a new segment every syncEvery rows —
// would otherwise have the whole index rewritten after each: at 1,000,000 items a second
// of the writer every few seconds. So after merging for a while, the maintainer rests
// mergeRest times as long: merges take at most a fiftieth of the writer's time, and
// the segments a trickle adds meanwhile are a few.
func (s *Store) mergeWhenQuiet(ctx context.Context, m *maintainer, writesThen, writesNow int64) {
	limit := s.quietBelow.Load()
	if limit == 0 {
		limit = QuietWrites
	}
	if writesNow-writesThen >= limit || time.Now().Before(m.mergeAfter) {
		return
	}
	took, err := s.mergeSearchIndexes(ctx, time.Now().Add(ftsMergeBudget))
	if err != nil && ctx.Err() == nil {
		slog.Warn("merging substring indexes", "err", err)
	}
	m.mergeAfter = time.Now().Add(mergeRest * took)
}
