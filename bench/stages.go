package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// Phases 3 and 4 share one fixture: a smart process whose default funnel has ten stages
// (the five a new type gets plus five more in progress), seeded with --stage-items
// items. Phase 3 times smartcrm.stage.counts on it, phase 4 moves items between its
// stages with crm.item.update. It is its own type, not the list phase's: adding stages
// to that one would change which items the list filter matches, and so the list figures.

// extraStage is a stage the bench adds to the default funnel.
type extraStage struct {
	code string
	sort int
}

// extraStages are in progress, so their SORT must stay below the success stage's 40;
// the defaults are NEW 10, PREPARATION 20, CLIENT 30, SUCCESS 40, FAIL 50.
var extraStages = []extraStage{{"S1", 12}, {"S2", 15}, {"S3", 25}, {"S4", 33}, {"S5", 36}}

const (
	countsTargetMs  = 20   // smartcrm.stage.counts latency to report against
	movesTargetPerS = 3000 // crm.item.update stage changes per second to report against (SQLite)
	// amountTolerance is how far a stage's amount may drift from the exact sum of its
	// items' opportunities: the counters add float deltas, which is not exact in cents.
	amountTolerance = 0.01
)

// stagesReport is phase 3: seeding the ten-stage type and smartcrm.stage.counts latency.
type stagesReport struct {
	EntityTypeID int64      `json:"entity_type_id"`
	CategoryID   int64      `json:"category_id"`
	Stages       int        `json:"stages"`
	Seed         seedReport `json:"seed"`
	// Counts is the timed smartcrm.stage.counts run; every answer's counts must add up
	// to the items seeded.
	Counts   summary `json:"counts"`
	TargetMs float64 `json:"target_ms"`
	// AmountMismatches is how many stages' amounts differ from the seeded opportunities
	// by more than amountTolerance (a warning: counts are what the phase checks).
	AmountMismatches int     `json:"amount_mismatches"`
	RSSAfterMB       float64 `json:"rss_after_mb"`
}

// movesReport is phase 4: stage changes through crm.item.update.
type movesReport struct {
	Moves      summary `json:"moves"`
	TargetPerS float64 `json:"target_per_s"`
	// History rows of the type before and after the phase, the rows with an ID above the
	// last one before it, and whether both grew by exactly the successful updates.
	HistoryBefore int  `json:"history_before"`
	HistoryAfter  int  `json:"history_after"`
	HistoryNew    int  `json:"history_new"`
	HistoryOK     bool `json:"history_ok"`
	// CountsOK is smartcrm.stage.counts after the phase agreeing, stage by stage, with
	// where the successful updates put the items.
	CountsOK bool `json:"counts_ok"`
}

// stageFixture is the ten-stage type as the client knows it: where each seeded item is,
// so that a move always picks another stage and the counters can be checked exactly.
type stageFixture struct {
	etid, cat int64
	codes     []string // full STATUS_IDs, indexed like stageSuffixes of genRowN
	ids       []int64  // item id of row i
	stage     []int    // current stage index of row i
	cents     []int64  // opportunity of row i in cents
	want      []int64  // items per stage index
	wantCents []int64  // opportunity per stage index, in cents
}

// stageCount is one stage of a smartcrm.stage.counts answer.
type stageCount struct {
	StageID   string  `json:"stageId"`
	Name      string  `json:"name"`
	Sort      int     `json:"sort"`
	Semantics string  `json:"semantics"`
	Count     int64   `json:"count"`
	Amount    float64 `json:"amount"`
}

// benchStageCounts builds the fixture and times smartcrm.stage.counts on it.
func benchStageCounts(ctx context.Context, cl *client, srv *serverProc, cfg config) (stagesReport, *stageFixture, error) {
	var rep stagesReport
	rep.TargetMs = countsTargetMs
	etid, err := cl.createType(ctx, "Stages bench")
	if err != nil {
		return rep, nil, err
	}
	rep.EntityTypeID = etid
	cat, err := defaultCategory(ctx, cl, etid)
	if err != nil {
		return rep, nil, err
	}
	rep.CategoryID = cat
	suffixes := slices.Clone(stageSuffixes)
	for i, st := range extraStages {
		if _, err := cl.call(ctx, "crm.status.add", map[string]any{"fields": map[string]any{
			"ENTITY_ID": fmt.Sprintf("DYNAMIC_%d_STAGE_%d", etid, cat),
			"STATUS_ID": st.code, "NAME": fmt.Sprintf("Stage %d", i+1), "SORT": st.sort,
		}}, nil); err != nil {
			return rep, nil, err
		}
		suffixes = append(suffixes, st.code)
	}
	rep.Stages = len(suffixes)

	fx := &stageFixture{etid: etid, cat: cat, ids: make([]int64, cfg.stageItems),
		stage: make([]int, cfg.stageItems), cents: make([]int64, cfg.stageItems),
		want: make([]int64, len(suffixes)), wantCents: make([]int64, len(suffixes))}
	for _, s := range suffixes {
		fx.codes = append(fx.codes, stageCode(etid, cat, s))
	}
	for i := range cfg.stageItems {
		r := genRowN(i, len(suffixes))
		fx.stage[i], fx.cents[i] = r.Stage, int64(math.Round(r.Opportunity*100))
		fx.want[r.Stage]++
		fx.wantCents[r.Stage] += fx.cents[i]
	}
	rep.Seed, _, err = seedItems(ctx, cl, srv, cfg.concurrency,
		seedSpec{etid: etid, cat: cat, n: cfg.stageItems, suffixes: suffixes, ids: fx.ids})
	rep.Seed.RSSAfterMB = kbToMB(srv.rssNowKB())
	if err != nil {
		return rep, nil, err
	}
	if rep.Seed.Errors > 0 {
		return rep, nil, fmt.Errorf("%d seeding batch calls failed", rep.Seed.Errors)
	}

	// One full check before the clock: ten stages, each with the items and amount the
	// seeding put there.
	body, _ := json.Marshal(map[string]any{"entityTypeId": etid, "categoryId": cat})
	stages, err := fetchStageCounts(ctx, cl, body)
	if err != nil {
		return rep, nil, err
	}
	if rep.AmountMismatches, err = fx.check(stages); err != nil {
		return rep, nil, fmt.Errorf("after seeding: %w", err)
	}

	// The timed answers are checked more cheaply: the counts must add up to the items.
	op := func(ctx context.Context, _ int) error {
		stages, err := fetchStageCounts(ctx, cl, body)
		if err != nil {
			return err
		}
		var sum int64
		for _, s := range stages {
			sum += s.Count
		}
		if len(stages) != len(fx.codes) || sum != int64(cfg.stageItems) {
			return fmt.Errorf("%d stages with %d items, want %d stages with %d", len(stages), sum, len(fx.codes), cfg.stageItems)
		}
		return nil
	}
	// Warm-up, untimed, as for the list phase: the first calls load the counter rows.
	if r := runConcurrent(ctx, cfg.concurrency*4, cfg.concurrency, op); r.firstErr != nil {
		return rep, nil, r.firstErr
	}
	cpu := startCPU(srv.pid)
	r := runConcurrent(ctx, cfg.stageReqs, cfg.concurrency, op)
	rep.Counts = summarize(r, cfg.stageReqs-r.errors)
	rep.Counts.CPU = cpu.done()
	rep.RSSAfterMB = kbToMB(srv.rssNowKB())
	if r.errors > 0 {
		return rep, fx, fmt.Errorf("%d of %d smartcrm.stage.counts answers failed; first: %v", r.errors, cfg.stageReqs, r.firstErr)
	}
	return rep, fx, ctx.Err()
}

// defaultCategory is the id of a type's default funnel (the first one listed when none
// says isDefault).
func defaultCategory(ctx context.Context, cl *client, etid int64) (int64, error) {
	var res struct {
		Categories []struct {
			ID        int64  `json:"id"`
			IsDefault string `json:"isDefault"`
		} `json:"categories"`
	}
	if _, err := cl.call(ctx, "crm.category.list", map[string]any{"entityTypeId": etid}, &res); err != nil {
		return 0, err
	}
	if len(res.Categories) == 0 {
		return 0, fmt.Errorf("crm.category.list: type %d has no funnel", etid)
	}
	for _, c := range res.Categories {
		if c.IsDefault == "Y" {
			return c.ID, nil
		}
	}
	return res.Categories[0].ID, nil
}

func fetchStageCounts(ctx context.Context, cl *client, body []byte) ([]stageCount, error) {
	env, err := cl.callRaw(ctx, "smartcrm.stage.counts", body)
	if err != nil {
		return nil, err
	}
	var res struct {
		Stages []stageCount `json:"stages"`
	}
	if err := json.Unmarshal(env.Result, &res); err != nil {
		return nil, fmt.Errorf("smartcrm.stage.counts: %w", err)
	}
	return res.Stages, nil
}

// check compares a smartcrm.stage.counts answer with where the client put the items:
// the same stages, each with its count. A count off is an error; amounts off by more
// than amountTolerance are only counted (and printed), as the phase is about counts.
func (fx *stageFixture) check(stages []stageCount) (amountMismatches int, err error) {
	if len(stages) != len(fx.codes) {
		return 0, fmt.Errorf("smartcrm.stage.counts lists %d stages, want %d", len(stages), len(fx.codes))
	}
	var sum, want int64
	var bad []string
	for _, s := range stages {
		sum += s.Count
		i := slices.Index(fx.codes, s.StageID)
		if i < 0 {
			return 0, fmt.Errorf("smartcrm.stage.counts lists an unknown stage %s", s.StageID)
		}
		want += fx.want[i]
		if s.Count != fx.want[i] {
			bad = append(bad, fmt.Sprintf("%s has %d, want %d", s.StageID, s.Count, fx.want[i]))
		}
		if exp := float64(fx.wantCents[i]) / 100; math.Abs(s.Amount-exp) > amountTolerance {
			amountMismatches++
			fmt.Printf("WARNING: stage %s amount %.2f, want %.2f\n", s.StageID, s.Amount, exp)
		}
	}
	if sum != want || len(bad) > 0 {
		return amountMismatches, fmt.Errorf("stage counts sum to %d, want %d; %s", sum, want, strings.Join(bad, "; "))
	}
	return amountMismatches, nil
}

// benchMoves times cfg.moves crm.item.update calls that each move a different item to
// another stage, then checks the stage history and the counters against them.
func benchMoves(ctx context.Context, cl *client, srv *serverProc, cfg config, fx *stageFixture) (movesReport, error) {
	rep := movesReport{TargetPerS: movesTargetPerS}
	before, lastID, err := stageHistory(ctx, cl, fx.etid, 0)
	if err != nil {
		return rep, err
	}
	rep.HistoryBefore = before

	// Each update moves a distinct item (moves ≤ stage-items is validated), so no two
	// workers write one row and each item's current stage is known when its body is
	// built. The items are a random sample, not the first ids: a real funnel's moves
	// land all over the table, not in a few hot B-tree pages. The target stage is
	// another stage picked by hash: an update to the stage an item is already in
	// writes nothing and would flatter the figure.
	rows := rand.New(rand.NewPCG(0x5e, 0xed)).Perm(len(fx.ids))[:cfg.moves]
	to := make([]int, cfg.moves)
	bodies := make([][]byte, cfg.moves)
	needles := make([][]byte, cfg.moves)
	k := uint64(len(fx.codes))
	for i, r := range rows {
		to[i] = int((uint64(fx.stage[r]) + 1 + splitmix64(uint64(i)^0x30e5)%(k-1)) % k)
		bodies[i], err = json.Marshal(map[string]any{"entityTypeId": fx.etid, "id": fx.ids[r],
			"fields": map[string]any{"stageId": fx.codes[to[i]]}})
		if err != nil {
			return rep, err
		}
		// A substring test, not a decode: the answer is a whole item, and decoding 20,000
		// of them would take client CPU from the server on a small machine.
		needles[i] = []byte(`"stageId":"` + fx.codes[to[i]] + `"`)
	}
	ok := make([]bool, cfg.moves) // each index is written by one worker only
	cpu := startCPU(srv.pid)
	res := runConcurrent(ctx, cfg.moves, cfg.concurrency, func(ctx context.Context, i int) error {
		env, err := cl.callRaw(ctx, "crm.item.update", bodies[i])
		if err != nil {
			return err
		}
		if !bytes.Contains(env.Result, needles[i]) {
			return fmt.Errorf("crm.item.update answer lacks %s: %s", needles[i], truncate(string(env.Result), 200))
		}
		ok[i] = true
		return nil
	})
	done := cfg.moves - res.errors
	rep.Moves = summarize(res, done)
	rep.Moves.CPU = cpu.done()
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}
	if res.errors > 0 {
		fmt.Printf("WARNING: %d of %d stage moves failed; first: %v\n", res.errors, cfg.moves, res.firstErr)
	}
	for i, r := range rows {
		if !ok[i] {
			continue
		}
		from := fx.stage[r]
		fx.want[from]--
		fx.wantCents[from] -= fx.cents[r]
		fx.want[to[i]]++
		fx.wantCents[to[i]] += fx.cents[r]
		fx.stage[r] = to[i]
	}

	// Every successful update must have written exactly one history row: the type's
	// total grew by that many, and that many rows lie above the last ID before.
	if rep.HistoryAfter, _, err = stageHistory(ctx, cl, fx.etid, 0); err != nil {
		return rep, err
	}
	if rep.HistoryNew, _, err = stageHistory(ctx, cl, fx.etid, lastID); err != nil {
		return rep, err
	}
	rep.HistoryOK = rep.HistoryAfter-rep.HistoryBefore == done && rep.HistoryNew == done

	body, _ := json.Marshal(map[string]any{"entityTypeId": fx.etid, "categoryId": fx.cat})
	stages, err := fetchStageCounts(ctx, cl, body)
	if err != nil {
		return rep, err
	}
	_, countsErr := fx.check(stages)
	rep.CountsOK = countsErr == nil
	switch {
	case !rep.HistoryOK:
		return rep, fmt.Errorf("stage history grew by %d (%d rows above ID %d), want %d successful updates",
			rep.HistoryAfter-rep.HistoryBefore, rep.HistoryNew, lastID, done)
	case countsErr != nil:
		return rep, fmt.Errorf("after the moves: %w", countsErr)
	}
	return rep, nil
}

// stageHistory is the `total` of crm.stagehistory.list for a type's rows with an ID
// above afterID, and the highest ID among them (0 when none).
func stageHistory(ctx context.Context, cl *client, etid, afterID int64) (total int, lastID int64, err error) {
	var res struct {
		Items []struct {
			ID json.Number `json:"ID"`
		} `json:"items"`
	}
	env, err := cl.call(ctx, "crm.stagehistory.list", map[string]any{
		"entityTypeId": etid, "filter": map[string]any{">ID": afterID},
		"order": map[string]string{"ID": "DESC"}, "select": []string{"ID"}, "start": 0,
	}, &res)
	if err != nil {
		return 0, 0, err
	}
	if env.Total == nil {
		return 0, 0, fmt.Errorf("crm.stagehistory.list with start=0 returned no total")
	}
	if len(res.Items) > 0 {
		if lastID, err = strconv.ParseInt(res.Items[0].ID.String(), 10, 64); err != nil {
			return 0, 0, fmt.Errorf("crm.stagehistory.list: ID %q: %w", res.Items[0].ID, err)
		}
	}
	return *env.Total, lastID, nil
}
