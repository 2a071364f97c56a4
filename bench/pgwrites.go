package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"smartcrm/internal/store"
)

// pgWritesReport compares crm.item.add and stage moves over HTTP with raw autocommit
// statements of the same rows on the same PostgreSQL, at rising concurrency.
type pgWritesReport struct {
	// Levels are the passes in the order they ran; Pooled, each level's passes together.
	Levels []pgLevel  `json:"levels"`
	Pooled []pgPooled `json:"pooled"`
	// StatementsPerAdd is the server's statements (BEGIN and COMMIT included) per add,
	// from smartcrm_db_statements_total around the adds of the first pass at c=8.
	StatementsPerAdd  float64 `json:"statements_per_add"`
	StatementsPerMove float64 `json:"statements_per_move"`
	// RoundTripsPerAdd and RoundTripsPerMove count the trips those statements took
	// (smartcrm_db_round_trips_total): a pipelined transaction sends several at once.
	RoundTripsPerAdd  float64 `json:"round_trips_per_add"`
	RoundTripsPerMove float64 `json:"round_trips_per_move"`
	// MovesFromWritten is the share of those moves that started from the item as the
	// server last wrote it (smartcrm_item_cache_hits_total against misses): one round
	// trip; the others read the row first. Here every moved item was just added.
	MovesFromWritten float64 `json:"moves_from_written"`
}

type pgLevel struct {
	Concurrency int `json:"concurrency"`
	// Pass is 1 for a level's first run and 2 for its second (see pgPassOrder).
	Pass      int     `json:"pass"`
	Add       summary `json:"add"`
	RawInsert summary `json:"raw_insert"`
	AddRatio  float64 `json:"add_to_raw"`
	Move      summary `json:"move"`
	RawUpdate summary `json:"raw_update"`
	MoveRatio float64 `json:"move_to_raw"`
}

// pgPooled is one concurrency's passes taken together: all their operations over all
// their wall time, so that each rate weighs its passes by how long they ran.
type pgPooled struct {
	Concurrency     int     `json:"concurrency"`
	Passes          int     `json:"passes"`
	AddPerSec       float64 `json:"add_per_s"`
	RawInsertPerSec float64 `json:"raw_insert_per_s"`
	AddRatio        float64 `json:"add_to_raw"`
	MovePerSec      float64 `json:"move_per_s"`
	RawUpdatePerSec float64 `json:"raw_update_per_s"`
	MoveRatio       float64 `json:"move_to_raw"`
}

// pgPassOrder runs c=8 and c=32 twice, in mirrored order. Each pass writes a fresh
// items table, but the outbox, timeline and stage history every pass writes to grow
// from pass to pass: run once each in rising order, c=32 always met the largest of
// them, and "c=32 no lower than c=8" compared unlike conditions. Mirrored, both levels
// sit at the same place on average (passes 2 and 5, 3 and 4).
var pgPassOrder = []int{1, 8, 32, 32, 8}

// benchPGWrites runs each pass of pgPassOrder (benchPGPass), then pools each level's
// passes.
func benchPGWrites(ctx context.Context, cl *client, srv *serverProc, cfg config, dsn string) (pgWritesReport, error) {
	var rep pgWritesReport
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return rep, err
	}
	defer db.Close()
	// Every connection stays open between statements (database/sql keeps two idle
	// ones by default): the raw rates must not include opening backends.
	db.SetMaxOpenConns(64)
	db.SetMaxIdleConns(64)
	passes := map[int]int{}
	for _, conc := range pgPassOrder {
		passes[conc]++
		lv, err := benchPGPass(ctx, cl, srv, cfg, db, conc, passes[conc], &rep)
		if err != nil {
			return rep, err
		}
		rep.Levels = append(rep.Levels, lv)
	}
	rep.Pooled = poolPGLevels(rep.Levels)
	for _, p := range rep.Pooled {
		fmt.Printf("  PG c=%-2d  %d pass(es) pooled: add %6.0f/s raw INSERT %6.0f/s  ratio %.2f | move %6.0f/s raw UPDATE %6.0f/s  ratio %.2f\n",
			p.Concurrency, p.Passes, p.AddPerSec, p.RawInsertPerSec, p.AddRatio, p.MovePerSec, p.RawUpdatePerSec, p.MoveRatio)
	}
	return rep, ctx.Err()
}

// poolPGLevels pools the passes of each concurrency, in the order levels first ran.
func poolPGLevels(levels []pgLevel) []pgPooled {
	// Per level: how many passes, and the successful operations and wall seconds of
	// adds, raw INSERTs, moves and raw UPDATEs.
	type sums struct {
		passes  int
		n, wall [4]float64
	}
	var order []int
	by := map[int]*sums{}
	for _, lv := range levels {
		s := by[lv.Concurrency]
		if s == nil {
			s = &sums{}
			by[lv.Concurrency] = s
			order = append(order, lv.Concurrency)
		}
		s.passes++
		for i, sm := range []summary{lv.Add, lv.RawInsert, lv.Move, lv.RawUpdate} {
			s.n[i] += float64(sm.N - sm.Errors)
			s.wall[i] += sm.WallSec
		}
	}
	div := func(a, b float64) float64 {
		if b <= 0 {
			return 0
		}
		return a / b
	}
	out := make([]pgPooled, 0, len(order))
	for _, conc := range order {
		s := by[conc]
		p := pgPooled{Concurrency: conc, Passes: s.passes,
			AddPerSec: div(s.n[0], s.wall[0]), RawInsertPerSec: div(s.n[1], s.wall[1]),
			MovePerSec: div(s.n[2], s.wall[2]), RawUpdatePerSec: div(s.n[3], s.wall[3])}
		p.AddRatio, p.MoveRatio = div(p.AddPerSec, p.RawInsertPerSec), div(p.MovePerSec, p.RawUpdatePerSec)
		out = append(out, p)
	}
	return out
}

// benchPGPass runs, at concurrency conc, cfg.pgAdds adds on a fresh type and as many
// raw INSERTs into a copy of its table (LIKE … INCLUDING ALL: same columns, indexes and
// identity), then as many stage moves of those items and raw UPDATEs. The first pass at
// c=8 also fills rep's statement and round-trip counts.
func benchPGPass(ctx context.Context, cl *client, srv *serverProc, cfg config, db *sql.DB, conc, pass int, rep *pgWritesReport) (pgLevel, error) {
	lv := pgLevel{Concurrency: conc, Pass: pass}
	counting := conc == 8 && pass == 1
	// The same length of name on every pass: the raw INSERTs write titles from it.
	typeName := fmt.Sprintf("Bench PG writes c%d/%d", conc, pass)
	etid, err := cl.createType(ctx, typeName)
	if err != nil {
		return lv, err
	}
	var first addedItem
	if _, err := cl.call(ctx, "crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"title": "warm-up"}}, &first); err != nil {
		return lv, err
	}
	cat := first.Item.CategoryID
	n := cfg.pgAdds
	bodies := make([][]byte, n)
	for i := range bodies {
		r := genRow(i)
		bodies[i], _ = json.Marshal(addParams{EntityTypeID: etid, Fields: addFields{StageID: stageID(etid, cat, r.Stage), AssignedByID: 1, Opportunity: r.Opportunity}})
	}
	ids := make([]int64, n)
	m := srv.scrapeMetrics(ctx)
	before, beforeTrips := m["smartcrm_db_statements_total"], m["smartcrm_db_round_trips_total"]
	lv.Add = timedRun(ctx, srv, n, conc, func(ctx context.Context, i int) error {
		env, err := cl.callRaw(ctx, "crm.item.add", bodies[i])
		if err != nil {
			return err
		}
		var it addedItem
		if err := json.Unmarshal(env.Result, &it); err != nil {
			return err
		}
		ids[i] = it.Item.ID
		return nil
	})
	if counting {
		m := srv.scrapeMetrics(ctx)
		rep.StatementsPerAdd = (m["smartcrm_db_statements_total"] - before) / float64(n)
		rep.RoundTripsPerAdd = (m["smartcrm_db_round_trips_total"] - beforeTrips) / float64(n)
	}

	table := store.ItemTable(etid)
	raw := "bench_raw_" + table
	if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS "+raw); err != nil {
		return lv, err
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE "+raw+" (LIKE "+table+" INCLUDING ALL)"); err != nil {
		return lv, err
	}
	now := time.Now().UTC()
	rawIDs := make([]int64, n)
	lv.RawInsert = timedRun(ctx, srv, n, conc, func(ctx context.Context, i int) error {
		r := genRow(i)
		return db.QueryRowContext(ctx, "INSERT INTO "+raw+" (title, category_id, stage_id, assigned_by_id, created_by, updated_by, created_time, updated_time, opportunity) VALUES ($1, $2, $3, 1, 1, 1, $4, $4, $5) RETURNING id",
			// The title an add without one gets: the type's name and the item's id.
			fmt.Sprintf("%s #%d", typeName, first.Item.ID+1+int64(i)), cat, stageID(etid, cat, r.Stage), now, r.Opportunity).Scan(&rawIDs[i])
	})
	if lv.RawInsert.PerSec > 0 {
		lv.AddRatio = lv.Add.PerSec / lv.RawInsert.PerSec
	}

	moves := make([][]byte, n)
	for i := range moves {
		moves[i], _ = json.Marshal(map[string]any{"entityTypeId": etid, "id": ids[i], "fields": map[string]any{"stageId": stageID(etid, cat, (genRow(i).Stage+1)%len(stageSuffixes))}})
	}
	m = srv.scrapeMetrics(ctx)
	before, beforeTrips = m["smartcrm_db_statements_total"], m["smartcrm_db_round_trips_total"]
	beforeHits, beforeMisses := m["smartcrm_item_cache_hits_total"], m["smartcrm_item_cache_misses_total"]
	lv.Move = timedRun(ctx, srv, n, conc, func(ctx context.Context, i int) error {
		_, err := cl.callRaw(ctx, "crm.item.update", moves[i])
		return err
	})
	if counting {
		m := srv.scrapeMetrics(ctx)
		rep.StatementsPerMove = (m["smartcrm_db_statements_total"] - before) / float64(n)
		rep.RoundTripsPerMove = (m["smartcrm_db_round_trips_total"] - beforeTrips) / float64(n)
		hits, misses := m["smartcrm_item_cache_hits_total"]-beforeHits, m["smartcrm_item_cache_misses_total"]-beforeMisses
		if hits+misses > 0 {
			rep.MovesFromWritten = hits / (hits + misses)
		}
	}
	lv.RawUpdate = timedRun(ctx, srv, n, conc, func(ctx context.Context, i int) error {
		_, err := db.ExecContext(ctx, "UPDATE "+raw+" SET stage_id = $1, updated_time = $2, version = version + 1 WHERE id = $3",
			stageID(etid, cat, (genRow(i).Stage+1)%len(stageSuffixes)), now, rawIDs[i])
		return err
	})
	if lv.RawUpdate.PerSec > 0 {
		lv.MoveRatio = lv.Move.PerSec / lv.RawUpdate.PerSec
	}
	if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS "+raw); err != nil {
		return lv, err
	}
	fmt.Printf("  PG c=%-2d pass %d  add %6.0f/s (p99 %6.1f ms) raw INSERT %6.0f/s  ratio %.2f | move %6.0f/s (p99 %6.1f ms) raw UPDATE %6.0f/s  ratio %.2f\n",
		conc, pass, lv.Add.PerSec, lv.Add.P99ms, lv.RawInsert.PerSec, lv.AddRatio, lv.Move.PerSec, lv.Move.P99ms, lv.RawUpdate.PerSec, lv.MoveRatio)
	perOp := func(s summary) string {
		us := func(sec float64) float64 { return sec / float64(max(s.N, 1)) * 1e6 }
		return fmt.Sprintf("server %3.0f bench %3.0f other %3.0f", us(s.CPU.ServerCPUSec), us(s.CPU.BenchCPUSec), us(s.CPU.OtherCPUSec))
	}
	fmt.Printf("         CPU µs per op: add %s | raw INSERT %s | move %s | raw UPDATE %s\n",
		perOp(lv.Add), perOp(lv.RawInsert), perOp(lv.Move), perOp(lv.RawUpdate))
	if lv.Add.FirstError != "" || lv.Move.FirstError != "" {
		fmt.Printf("  first errors: add %q move %q\n", lv.Add.FirstError, lv.Move.FirstError)
	}
	return lv, ctx.Err()
}
