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
	Levels []pgLevel `json:"levels"`
	// StatementsPerAdd is the server's statements (BEGIN and COMMIT included) per add,
	// from smartcrm_db_statements_total around the adds at the middle level.
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
	Concurrency int     `json:"concurrency"`
	Add         summary `json:"add"`
	RawInsert   summary `json:"raw_insert"`
	AddRatio    float64 `json:"add_to_raw"`
	Move        summary `json:"move"`
	RawUpdate   summary `json:"raw_update"`
	MoveRatio   float64 `json:"move_to_raw"`
}

// benchPGWrites runs, for each concurrency level, cfg.pgAdds adds on a fresh type and as
// many raw INSERTs into a copy of its table (LIKE … INCLUDING ALL: same columns,
// indexes and identity), then as many stage moves of those items and raw UPDATEs.
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
	for _, conc := range []int{1, 8, 32} {
		lv := pgLevel{Concurrency: conc}
		typeName := fmt.Sprintf("Bench PG writes c%d", conc)
		etid, err := cl.createType(ctx, typeName)
		if err != nil {
			return rep, err
		}
		var first addedItem
		if _, err := cl.call(ctx, "crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"title": "warm-up"}}, &first); err != nil {
			return rep, err
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
		cpu := startCPU(srv.pid)
		res := runConcurrent(ctx, n, conc, func(ctx context.Context, i int) error {
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
		lv.Add = summarize(res, n-res.errors)
		lv.Add.CPU = cpu.done()
		if conc == 8 {
			m := srv.scrapeMetrics(ctx)
			rep.StatementsPerAdd = (m["smartcrm_db_statements_total"] - before) / float64(n)
			rep.RoundTripsPerAdd = (m["smartcrm_db_round_trips_total"] - beforeTrips) / float64(n)
		}

		table := store.ItemTable(etid)
		raw := "bench_raw_" + table
		if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS "+raw); err != nil {
			return rep, err
		}
		if _, err := db.ExecContext(ctx, "CREATE TABLE "+raw+" (LIKE "+table+" INCLUDING ALL)"); err != nil {
			return rep, err
		}
		now := time.Now().UTC()
		rawIDs := make([]int64, n)
		cpu = startCPU(srv.pid)
		res = runConcurrent(ctx, n, conc, func(ctx context.Context, i int) error {
			r := genRow(i)
			return db.QueryRowContext(ctx, "INSERT INTO "+raw+" (title, category_id, stage_id, assigned_by_id, created_by, updated_by, created_time, updated_time, opportunity) VALUES ($1, $2, $3, 1, 1, 1, $4, $4, $5) RETURNING id",
				// The title an add without one gets: the type's name and the item's id.
				fmt.Sprintf("%s #%d", typeName, first.Item.ID+1+int64(i)), cat, stageID(etid, cat, r.Stage), now, r.Opportunity).Scan(&rawIDs[i])
		})
		lv.RawInsert = summarize(res, n-res.errors)
		lv.RawInsert.CPU = cpu.done()
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
		cpu = startCPU(srv.pid)
		res = runConcurrent(ctx, n, conc, func(ctx context.Context, i int) error {
			_, err := cl.callRaw(ctx, "crm.item.update", moves[i])
			return err
		})
		lv.Move = summarize(res, n-res.errors)
		lv.Move.CPU = cpu.done()
		if conc == 8 {
			m := srv.scrapeMetrics(ctx)
			rep.StatementsPerMove = (m["smartcrm_db_statements_total"] - before) / float64(n)
			rep.RoundTripsPerMove = (m["smartcrm_db_round_trips_total"] - beforeTrips) / float64(n)
			hits, misses := m["smartcrm_item_cache_hits_total"]-beforeHits, m["smartcrm_item_cache_misses_total"]-beforeMisses
			if hits+misses > 0 {
				rep.MovesFromWritten = hits / (hits + misses)
			}
		}
		cpu = startCPU(srv.pid)
		res = runConcurrent(ctx, n, conc, func(ctx context.Context, i int) error {
			_, err := db.ExecContext(ctx, "UPDATE "+raw+" SET stage_id = $1, updated_time = $2, version = version + 1 WHERE id = $3",
				stageID(etid, cat, (genRow(i).Stage+1)%len(stageSuffixes)), now, rawIDs[i])
			return err
		})
		lv.RawUpdate = summarize(res, n-res.errors)
		lv.RawUpdate.CPU = cpu.done()
		if lv.RawUpdate.PerSec > 0 {
			lv.MoveRatio = lv.Move.PerSec / lv.RawUpdate.PerSec
		}
		if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS "+raw); err != nil {
			return rep, err
		}
		rep.Levels = append(rep.Levels, lv)
		fmt.Printf("  PG c=%-2d  add %6.0f/s (p99 %6.1f ms) raw INSERT %6.0f/s  ratio %.2f | move %6.0f/s (p99 %6.1f ms) raw UPDATE %6.0f/s  ratio %.2f\n",
			conc, lv.Add.PerSec, lv.Add.P99ms, lv.RawInsert.PerSec, lv.AddRatio, lv.Move.PerSec, lv.Move.P99ms, lv.RawUpdate.PerSec, lv.MoveRatio)
		perOp := func(s summary) string {
			us := func(sec float64) float64 { return sec / float64(max(s.N, 1)) * 1e6 }
			return fmt.Sprintf("server %3.0f bench %3.0f other %3.0f", us(s.CPU.ServerCPUSec), us(s.CPU.BenchCPUSec), us(s.CPU.OtherCPUSec))
		}
		fmt.Printf("         CPU µs per op: add %s | raw INSERT %s | move %s | raw UPDATE %s\n",
			perOp(lv.Add), perOp(lv.RawInsert), perOp(lv.Move), perOp(lv.RawUpdate))
		if lv.Add.FirstError != "" || lv.Move.FirstError != "" {
			fmt.Printf("  first errors: add %q move %q\n", lv.Add.FirstError, lv.Move.FirstError)
		}
	}
	return rep, ctx.Err()
}
