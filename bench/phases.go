package main

import (
	"context"
	"fmt"
	"runtime"
)

// runClassic runs the phases of the first benchmarks (adds, lists, stages) that
// --phases names.
func runClassic(ctx context.Context, cl *client, srv *serverProc, cfg config, rep *report, tmp string) error {
	var err error
	// 1. Adds over HTTP, then the raw SQLite baseline of the same rows.
	if cfg.has("adds") {
		if rep.AddHTTP, err = benchAdds(ctx, cl, srv, cfg); err != nil {
			return fmt.Errorf("add phase: %w", err)
		}
		rep.RSSAfterAddsMB = kbToMB(srv.rssNowKB())
		if rep.Raw, err = benchRaw(ctx, tmp, cfg); err != nil {
			return fmt.Errorf("raw sqlite phase: %w", err)
		}
		if rep.Raw.PerRowTx.PerSec > 0 {
			rep.ServerToRawRatio = rep.AddHTTP.PerSec / rep.Raw.PerRowTx.PerSec
		}
		rep.printAdds()
	}

	// 2. Seed the list type, then time crm.item.list in both paging modes.
	if cfg.has("lists") {
		if rep.Seed, rep.List, err = benchList(ctx, cl, srv, cfg); err != nil {
			return fmt.Errorf("list phase: %w", err)
		}
		rep.RSSAfterListMB = kbToMB(srv.rssNowKB())
		rep.printList()
	}

	if !cfg.has("stages") {
		return nil
	}
	// 3. A ten-stage funnel: seed it, then time smartcrm.stage.counts. The figures are
	// printed even when a check fails, with the failure after them.
	var fx *stageFixture
	rep.Stages, fx, err = benchStageCounts(ctx, cl, srv, cfg)
	rep.printStages()
	if err != nil {
		return fmt.Errorf("stage counts phase: %w", err)
	}

	// 4. Stage changes on the same type, checked against the history and the counters.
	rep.Moves, err = benchMoves(ctx, cl, srv, cfg, fx)
	rep.RSSAfterMovesMB = kbToMB(srv.rssNowKB())
	rep.printMoves()
	if err != nil {
		return fmt.Errorf("stage moves phase: %w", err)
	}
	return nil
}

// runCustom runs the phases of issue 12 that --phases names.
func runCustom(ctx context.Context, cl *client, srv *serverProc, cfg config, rep *report, dsn string) error {
	var err error
	if cfg.has("custom") {
		rep.Custom, err = benchCustomLists(ctx, cl, srv, cfg, dsn)
		rep.printCustom()
		if err != nil {
			return fmt.Errorf("custom-field list phase: %w", err)
		}
	}
	if cfg.has("soak") {
		rep.Soak, err = benchSoak(ctx, cl, cfg)
		rep.printSoak()
		if err != nil {
			return fmt.Errorf("soak phase: %w", err)
		}
	}
	if cfg.has("pgwrites") {
		fmt.Println("\n# PostgreSQL writes: HTTP vs raw autocommit statements, same rows, same run")
		rep.PGWrites, err = benchPGWrites(ctx, cl, srv, cfg, dsn)
		fmt.Printf("  statements per add %.1f in %.1f round trips, per stage move %.1f in %.1f (BEGIN and COMMIT included; smartcrm_db_statements_total, smartcrm_db_round_trips_total)\n",
			rep.PGWrites.StatementsPerAdd, rep.PGWrites.RoundTripsPerAdd, rep.PGWrites.StatementsPerMove, rep.PGWrites.RoundTripsPerMove)
		fmt.Printf("  moves that started from the item as last written (no read): %.0f%% (smartcrm_item_cache_hits_total / lookups)\n",
			100*rep.PGWrites.MovesFromWritten)
		if err != nil {
			return fmt.Errorf("pg writes phase: %w", err)
		}
	}
	return nil
}

func goal(p99, limit float64) string {
	if p99 <= limit {
		return fmt.Sprintf("goal p99 ≤ %.0f ms met", limit)
	}
	return fmt.Sprintf("goal p99 ≤ %.0f ms NOT met", limit)
}

func (r *report) printCustom() {
	c := r.Custom
	fmt.Printf("\n# Custom-field lists: %d items (seeded by the fast path in %.1fs), %d match the filter, %d the substring\n",
		c.Items, c.SeedSec, c.Matching, c.SearchMatch)
	printSummary("filter+order, total", "req/s", c.Counted)
	fmt.Printf("  %-28s %s\n", "", goal(c.Counted.P99ms, 15))
	printSummary("filter+order, start=-1", "req/s", c.NoCount)
	fmt.Printf("  %-28s %s\n", "", goal(c.NoCount.P99ms, 5))
	printSummary("%title, total", "req/s", c.Search)
	fmt.Printf("  %-28s %s\n", "", goal(c.Search.P99ms, 20))
	printSummary("get during %title lists", "req/s", c.GetUnder)
	fmt.Printf("  %-28s %s; the searching clients meanwhile: %.0f req/s\n", "", goal(c.GetUnder.P99ms, 5), c.SearchesBeside)
	printSummary("raw SQL list+count", "req/s", c.RawCounted)
	printSummary("raw SQL list", "req/s", c.RawNoCount)
	printSummary("raw SQL LIKE list+count", "req/s", c.RawSearch)
}

func (r *report) printSoak() {
	s := r.Soak
	fmt.Printf("\n# Mixed soak: %d clients, %.0fs, 25%% each add/update/substring list/get, from an empty type\n", s.Clients, s.Seconds)
	fmt.Printf("  ops/s per %.0fs window: %.0f\n", s.WindowSec, s.PerWindow)
	fmt.Printf("  items at each window's end: %d\n", s.ItemsPerWindow)
	fmt.Printf("  machine busy cores per window: %.2f (of %d)\n", s.BusyCores, runtime.NumCPU())
	fmt.Printf("  end/start %.2f (goal ≥ 0.70 %s), items at end %d, errors %d %s\n", s.EndToStart, metOrNot(s.EndToStart >= 0.7), s.ItemsAtEnd, s.Errors, s.FirstError)
	fmt.Printf("  p99 ms: %v\n", s.P99ms)
	for _, k := range soakKinds {
		fmt.Printf("  mean ms per window, %-15s %.2f\n", k+":", s.MeanMs[k])
	}
}
