package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// seedReport is how the list type was filled.
type seedReport struct {
	Items      int     `json:"items"`
	BatchCalls int     `json:"batch_calls"`
	Errors     int     `json:"errors"`
	WallSec    float64 `json:"wall_s"`
	// RSSAfterMB is the server's RSS once seeding is done: the writer's page cache is
	// warm, the readers' not yet.
	RSSAfterMB float64  `json:"rss_after_mb"`
	ItemsPerS  float64  `json:"items_per_s"`
	CallP50ms  float64  `json:"batch_p50_ms"`
	CallP99ms  float64  `json:"batch_p99_ms"`
	CPU        phaseCPU `json:"cpu"`
}

// listReport is crm.item.list latency in both paging modes.
type listReport struct {
	EntityTypeID int64  `json:"entity_type_id"`
	Filter       string `json:"filter"`
	Matching     int    `json:"matching"` // `total` of the filter
	Pages        int    `json:"pages"`    // start=N picks among the first this many pages
	// NoCount is start=-1: one page, no COUNT.
	NoCount summary `json:"start_minus_1"`
	// Offset is start=N: a page at an offset plus, when the page is full, a COUNT of the
	// whole filter for `total`.
	Offset summary `json:"start_n"`
}

const (
	batchSize = 50 // Bitrix24's maximum commands per batch
	maxPages  = 10 // start=N stays within the first pages, as UIs and scripts mostly do
	listLow   = 100
	listHigh  = 5000
)

// benchList seeds cfg.items items into a fresh type through `batch`, then times
// crm.item.list on it.
func benchList(ctx context.Context, cl *client, srv *serverProc, cfg config) (seedReport, listReport, error) {
	var lr listReport
	etid, err := cl.createType(ctx, "Bench list")
	if err != nil {
		return seedReport{}, lr, err
	}
	lr.EntityTypeID = etid
	seed, cat, err := seedItems(ctx, cl, srv, cfg.concurrency, seedSpec{etid: etid, n: cfg.items, suffixes: stageSuffixes})
	if err != nil {
		return seed, lr, err
	}
	seed.RSSAfterMB = kbToMB(srv.rssNowKB())
	if seed.Errors > 0 {
		return seed, lr, fmt.Errorf("%d seeded items failed", seed.Errors)
	}
	filter := map[string]any{
		"stageId":       stageID(etid, cat, stageIndexClient),
		">=opportunity": listLow,
		"<=opportunity": listHigh,
	}
	lr.Filter = displayJSON(filter)
	body := func(start int) []byte {
		b, _ := json.Marshal(map[string]any{
			"entityTypeId": etid,
			"select":       []string{"id", "title", "stageId", "opportunity"},
			"filter":       filter,
			"order":        map[string]string{"id": "DESC"},
			"start":        start,
		})
		return b
	}

	// One counted call learns how many items match, to check every later answer and to
	// keep start=N within existing pages.
	env, err := cl.callRaw(ctx, "crm.item.list", body(0))
	if err != nil {
		return seed, lr, fmt.Errorf("crm.item.list: %w", err)
	}
	if env.Total == nil {
		return seed, lr, fmt.Errorf("crm.item.list with start=0 returned no total")
	}
	lr.Matching = *env.Total
	if lr.Matching == 0 {
		return seed, lr, fmt.Errorf("the list filter matches nothing: %s", lr.Filter)
	}
	lr.Pages = min(maxPages, (lr.Matching+crmPage-1)/crmPage)

	noCount := body(-1)
	offsets := make([][]byte, lr.Pages)
	for p := range offsets {
		offsets[p] = body(p * crmPage)
	}
	pageOf := func(i int) int { return int(splitmix64(uint64(i)^0x1157) % uint64(lr.Pages)) }
	checkPage := func(env *envelope, start int, counted bool) error {
		var res struct {
			Items []json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(env.Result, &res); err != nil {
			return err
		}
		want := min(crmPage, lr.Matching-start)
		if len(res.Items) != want {
			return fmt.Errorf("start=%d: %d items, want %d", start, len(res.Items), want)
		}
		if counted && (env.Total == nil || *env.Total != lr.Matching) {
			return fmt.Errorf("start=%d: total %v, want %d", start, env.Total, lr.Matching)
		}
		return nil
	}
	opNoCount := func(ctx context.Context, _ int) error {
		env, err := cl.callRaw(ctx, "crm.item.list", noCount)
		if err != nil {
			return err
		}
		return checkPage(env, 0, false)
	}
	opOffset := func(ctx context.Context, i int) error {
		p := pageOf(i)
		env, err := cl.callRaw(ctx, "crm.item.list", offsets[p])
		if err != nil {
			return err
		}
		return checkPage(env, p*crmPage, true)
	}

	// Warm-up, untimed: fills SQLite's page cache and the server's caches the same way
	// for both modes, so neither pays for the other's cold start.
	warm := cfg.concurrency * 4
	if r := runConcurrent(ctx, warm, cfg.concurrency, opNoCount); r.firstErr != nil {
		return seed, lr, r.firstErr
	}
	if r := runConcurrent(ctx, warm, cfg.concurrency, opOffset); r.firstErr != nil {
		return seed, lr, r.firstErr
	}

	timed := func(op func(context.Context, int) error) summary {
		return timedRun(ctx, srv, cfg.listReqs, cfg.concurrency, op)
	}
	lr.NoCount = timed(opNoCount)
	lr.Offset = timed(opOffset)
	return seed, lr, ctx.Err()
}

// crmPage is the fixed page size of list methods.
const crmPage = 50

// seedSpec is what seedItems adds.
type seedSpec struct {
	etid int64
	// cat is the funnel the stage codes belong to. 0: learn it from a first item added
	// on its own (which then lands in the funnel's first stage, whatever its row says).
	cat      int64
	n        int      // items in all
	suffixes []string // the funnel's stage codes; row i goes to suffixes[genRowN(i, len).Stage]
	// ids, when not nil (length n), receives the id of row i, for phases that later
	// address the items one by one. Left nil otherwise: decoding 50 items per answer
	// costs client CPU that competes with the server.
	ids []int64
}

// seedItems adds sp.n items through `batch` calls of 50 crm.item.add commands at
// concurrency conc (the first alone when the funnel id is not known yet, to learn it).
// It is the fastest path the API offers; the server still commits each command
// separately. It returns the funnel's id.
func seedItems(ctx context.Context, cl *client, srv *serverProc, conc int, sp seedSpec) (seedReport, int64, error) {
	rep := seedReport{Items: sp.n}
	cpu := startCPU(srv.pid)
	started := time.Now()
	cat, first := sp.cat, 0
	if cat == 0 {
		r0 := genRowN(0, len(sp.suffixes))
		var added addedItem
		if _, err := cl.call(ctx, "crm.item.add", map[string]any{"entityTypeId": sp.etid, "fields": map[string]any{
			"title": r0.Title, "assignedById": 1, "opportunity": r0.Opportunity,
		}}, &added); err != nil {
			return rep, 0, err
		}
		cat, first = added.Item.CategoryID, 1
		if sp.ids != nil {
			sp.ids[0] = added.Item.ID
		}
	}

	rest := sp.n - first
	calls := (rest + batchSize - 1) / batchSize
	rep.BatchCalls = calls
	res := runConcurrent(ctx, calls, conc, func(ctx context.Context, c int) error {
		lo, hi := first+c*batchSize, min(first+(c+1)*batchSize, sp.n)
		cmds := make([]string, 0, hi-lo)
		for i := lo; i < hi; i++ {
			r := genRowN(i, len(sp.suffixes))
			cmds = append(cmds, addCommand(sp.etid, stageCode(sp.etid, cat, sp.suffixes[r.Stage]), r))
		}
		body, err := json.Marshal(map[string]any{"halt": 0, "cmd": cmds})
		if err != nil {
			return err
		}
		env, err := cl.callRaw(ctx, "batch", body)
		if err != nil {
			return err
		}
		var out struct {
			Result      json.RawMessage `json:"result"`
			ResultError json.RawMessage `json:"result_error"`
		}
		if err := json.Unmarshal(env.Result, &out); err != nil {
			return err
		}
		if n := countEntries(out.ResultError); n > 0 {
			return fmt.Errorf("batch %d: %d commands failed: %s", c, n, truncate(string(out.ResultError), 300))
		}
		if sp.ids != nil {
			return batchIDs(out.Result, sp.ids[lo:hi])
		}
		if n := countEntries(out.Result); n != hi-lo {
			return fmt.Errorf("batch %d: %d results, want %d", c, n, hi-lo)
		}
		return nil
	})
	rep.WallSec = time.Since(started).Seconds()
	rep.CPU = cpu.done()
	rep.Errors = res.errors
	if res.errors > 0 {
		fmt.Printf("WARNING: %d of %d batch calls failed; first: %v\n", res.errors, calls, res.firstErr)
	}
	if rep.WallSec > 0 {
		rep.ItemsPerS = float64(sp.n) / rep.WallSec
	}
	s := summarize(res, 0)
	rep.CallP50ms, rep.CallP99ms = s.P50ms, s.P99ms
	return rep, cat, ctx.Err()
}

// batchIDs fills ids from a batch's `result` of crm.item.add answers: a list in command
// order, or an object keyed by command index (how PHP writes an array it cannot prove
// sequential). Every id must be there.
func batchIDs(raw json.RawMessage, ids []int64) error {
	var list []addedItem
	if err := json.Unmarshal(raw, &list); err != nil {
		var obj map[string]addedItem
		if err := json.Unmarshal(raw, &obj); err != nil {
			return fmt.Errorf("batch result is neither a list nor an object: %s", truncate(string(raw), 200))
		}
		list = make([]addedItem, len(ids))
		for k, v := range obj {
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(ids) {
				return fmt.Errorf("batch result has an unexpected key %q", k)
			}
			list[i] = v
		}
	}
	if len(list) != len(ids) {
		return fmt.Errorf("batch: %d results, want %d", len(list), len(ids))
	}
	for i, a := range list {
		if a.Item.ID <= 0 {
			return fmt.Errorf("batch result %d has no item id", i)
		}
		ids[i] = a.Item.ID
	}
	return nil
}

// addCommand is one batch command: crm.item.add with its parameters in URL query syntax.
func addCommand(etid int64, stage string, r benchRow) string {
	var b strings.Builder
	b.WriteString("crm.item.add?entityTypeId=")
	b.WriteString(strconv.FormatInt(etid, 10))
	b.WriteString("&fields[title]=")
	b.WriteString(url.QueryEscape(r.Title))
	b.WriteString("&fields[stageId]=")
	b.WriteString(url.QueryEscape(stage))
	b.WriteString("&fields[assignedById]=1&fields[opportunity]=")
	b.WriteString(strconv.FormatFloat(r.Opportunity, 'f', 2, 64))
	return b.String()
}

// displayJSON is v as JSON without the HTML escaping json.Marshal does (`<=` stays
// readable in the report).
func displayJSON(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSpace(b.String())
}

// countEntries counts the members of a PHP-style map: `[]` or a list, or an object.
func countEntries(raw json.RawMessage) int {
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		return len(list)
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) == nil {
		return len(obj)
	}
	return 0
}
