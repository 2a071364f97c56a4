package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"smartcrm/internal/field"
	"smartcrm/internal/store"
)

// The custom-field phases (issue 12): lists that filter and sort on custom fields, a
// substring search, point reads while searches run, a mixed soak from an empty table,
// and (on PostgreSQL) adds and stage moves at rising concurrency against raw
// autocommit statements of the same rows. See README "Custom-field lists".

// cfType is the smart process of the custom-field phases: amount (double), status
// (string), due (datetime) and ten more strings.
type cfType struct {
	etid, typeID, cat int64
	wire              map[string]string // short name → wire name (ufCrm{id}Status)
	col               map[string]string // short name → column
}

func (c *client) createCFType(ctx context.Context, title string) (*cfType, error) {
	var res struct {
		Type struct {
			ID           int64 `json:"id"`
			EntityTypeID int64 `json:"entityTypeId"`
		} `json:"type"`
	}
	if _, err := c.call(ctx, "crm.type.add", map[string]any{"fields": map[string]any{"title": title, "isStagesEnabled": "Y"}}, &res); err != nil {
		return nil, err
	}
	t := &cfType{etid: res.Type.EntityTypeID, typeID: res.Type.ID, wire: map[string]string{}, col: map[string]string{}}
	fields := [][2]string{{"STATUS", "string"}, {"AMOUNT", "double"}, {"DUE", "datetime"}}
	for i := 1; i <= 10; i++ {
		fields = append(fields, [2]string{fmt.Sprintf("S%d", i), "string"})
	}
	for _, f := range fields {
		name := fmt.Sprintf("UF_CRM_%d_%s", t.typeID, f[0])
		if _, err := c.call(ctx, "userfieldconfig.add", map[string]any{"moduleId": "crm", "field": map[string]any{
			"entityId": fmt.Sprintf("CRM_%d", t.typeID), "fieldName": name, "userTypeId": f[1]}}, nil); err != nil {
			return nil, err
		}
		short := strings.ToLower(f[0])
		t.col[short] = strings.ToLower(name)
		t.wire[short] = fmt.Sprintf("ufCrm%d%s", t.typeID, strings.ToUpper(f[0][:1])+strings.ToLower(f[0][1:]))
	}
	var first addedItem
	if _, err := c.call(ctx, "crm.item.add", map[string]any{"entityTypeId": t.etid, "fields": map[string]any{"title": "first"}}, &first); err != nil {
		return nil, err
	}
	t.cat = first.Item.CategoryID
	return t, nil
}

// cfRow is row i of the custom-field type: a status of ten, an amount of 0…999, a due
// time within two years, 1% of titles holding the searched word.
func cfRow(i int) (title, status string, amount float64, due time.Time, stage int) {
	h := splitmix64(uint64(i) + 0xcf)
	title = fmt.Sprintf("Order %d", i)
	if h%100 == 7 {
		title += " zqx"
	}
	return title, fmt.Sprintf("s%d", (h>>8)%10), float64((h >> 16) % 1000), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration((h>>24)%(2*365*24)) * time.Hour), int((h >> 40) % 5)
}

// seedFast writes items n0…n-1 of the type straight into its table (store.SeedItemsRaw,
// 10,000 rows per transaction) with their stage counters, then refreshes the planner's
// statistics: the same rows an add would write, minus the history, timeline and
// outbox rows, at bulk speed. 1,000,000 adds over HTTP would take an hour.
func seedFast(ctx context.Context, dsn string, t *cfType, n0, n int) (time.Duration, error) {
	started := time.Now()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	cols := []store.Column{{Name: "title", Storage: field.StorageText}, {Name: "category_id", Storage: field.StorageInt},
		{Name: "stage_id", Storage: field.StorageText}, {Name: "assigned_by_id", Storage: field.StorageInt},
		{Name: "created_by", Storage: field.StorageInt}, {Name: "updated_by", Storage: field.StorageInt},
		{Name: "created_time", Storage: field.StorageTime}, {Name: "updated_time", Storage: field.StorageTime},
		{Name: "opportunity", Storage: field.StorageFloat}, {Name: "currency_id", Storage: field.StorageText},
		{Name: t.col["status"], Storage: field.StorageText}, {Name: t.col["amount"], Storage: field.StorageFloat},
		{Name: t.col["due"], Storage: field.StorageTime}}
	for i := 1; i <= 10; i++ {
		cols = append(cols, store.Column{Name: t.col[fmt.Sprintf("s%d", i)], Storage: field.StorageText})
	}
	now := time.Now().UTC().Truncate(time.Second)
	const chunk = 10000
	for lo := n0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		rows := make([][]any, 0, hi-lo)
		counts := map[int]int64{}
		for i := lo; i < hi; i++ {
			title, status, amount, due, stage := cfRow(i)
			row := []any{title, t.cat, stageID(t.etid, t.cat, stage), int64(1), int64(1), int64(1), now, now, amount, "USD", status, amount, due}
			for j := 1; j <= 10; j++ {
				row = append(row, fmt.Sprintf("v%d-%d", j, splitmix64(uint64(i*j))%1000))
			}
			rows = append(rows, row)
			counts[stage]++
		}
		err := st.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.SeedItemsRaw(ctx, t.etid, cols, rows); err != nil {
				return err
			}
			var deltas []store.StageCountDelta
			for s := range stageSuffixes {
				if counts[s] > 0 {
					deltas = append(deltas, store.StageCountDelta{CategoryID: t.cat, StageID: stageID(t.etid, t.cat, s), Items: counts[s]})
				}
			}
			return tx.AddToStageCounts(ctx, t.etid, deltas)
		})
		if err != nil {
			return 0, err
		}
	}
	st.Optimize(ctx)
	return time.Since(started), nil
}

// cfListReport is the custom-field list phase.
type cfListReport struct {
	Items       int      `json:"items"`
	SeedSec     float64  `json:"seed_s"`
	Matching    int      `json:"matching"`
	SearchMatch int      `json:"search_matching"`
	IndexWaitS  float64  `json:"index_wait_s"`
	Indexes     []string `json:"indexes"`
	Counted     summary  `json:"filter_order_total"`
	NoCount     summary  `json:"filter_order_start_-1"`
	Search      summary  `json:"substring_total"`
	GetUnder    summary  `json:"get_during_substring"`
	// SearchesBeside is how many substring lists per second the other clients finished
	// while the gets ran: the share the gets left them. A faster get bought by starving
	// the searches shows here.
	SearchesBeside float64 `json:"substring_per_s_during_gets"`
	RawCounted     summary `json:"raw_filter_order_count"`
	RawNoCount     summary `json:"raw_filter_order"`
	RawSearch      summary `json:"raw_substring_count"`
}

// benchCustomLists seeds cfg.cfItems items (fast path) and times the lists of issue 12.
func benchCustomLists(ctx context.Context, cl *client, srv *serverProc, cfg config, dsn string) (cfListReport, error) {
	rep := cfListReport{Items: cfg.cfItems}
	t, err := cl.createCFType(ctx, "Bench custom fields")
	if err != nil {
		return rep, err
	}
	took, err := seedFast(ctx, dsn, t, 0, cfg.cfItems)
	if err != nil {
		return rep, fmt.Errorf("seeding: %w", err)
	}
	rep.SeedSec = took.Seconds()
	fmt.Printf("seeded %d items (fast path) in %.1fs\n", cfg.cfItems, rep.SeedSec)
	filter := map[string]any{t.wire["status"]: "s2", ">" + t.wire["amount"]: 500}
	order := map[string]string{t.wire["due"]: "DESC"}
	sel := []string{"id", "title", t.wire["status"], t.wire["amount"], t.wire["due"]}
	body := func(f map[string]any, o map[string]string, start int) []byte {
		b, _ := json.Marshal(map[string]any{"entityTypeId": t.etid, "select": sel, "filter": f, "order": o, "start": start})
		return b
	}
	total := func(f map[string]any, o map[string]string) (int, error) {
		env, err := cl.callRaw(ctx, "crm.item.list", body(f, o, 0))
		if err != nil || env.Total == nil {
			return 0, fmt.Errorf("crm.item.list total: %v", err)
		}
		return *env.Total, nil
	}
	if rep.Matching, err = total(filter, order); err != nil {
		return rep, err
	}
	search := map[string]any{"%title": "zqx"}
	byID := map[string]string{"id": "DESC"}
	if rep.SearchMatch, err = total(search, byID); err != nil {
		return rep, err
	}
	pages := func(n int) int { return max(1, min(maxPages, n/crmPage)) }
	call := func(b []byte, counted bool, want int) error {
		env, err := cl.callRaw(ctx, "crm.item.list", b)
		if err != nil {
			return err
		}
		if counted && (env.Total == nil || *env.Total != want) {
			return fmt.Errorf("total %v, want %d", env.Total, want)
		}
		return nil
	}
	listOp := func(f map[string]any, o map[string]string, matching int, counted bool) func(context.Context, int) error {
		bodies := make([][]byte, pages(matching))
		for p := range bodies {
			start := p * crmPage
			if !counted {
				start = -1
			}
			bodies[p] = body(f, o, start)
		}
		return func(_ context.Context, i int) error {
			return call(bodies[int(splitmix64(uint64(i))%uint64(len(bodies)))], counted, matching)
		}
	}
	counted, noCount := listOp(filter, order, rep.Matching, true), listOp(filter, order, rep.Matching, false)
	searchOp := listOp(search, byID, rep.SearchMatch, true)

	// Warm up: the server sees the shapes, builds their indexes in the background;
	// wait until they are ready, as a type in daily use would have them.
	waitStart := time.Now()
	// Small types are fast without list indexes (the server builds none for shapes
	// that are not slow): then there is nothing to wait for.
	maxWait := 3 * time.Minute
	if cfg.cfItems < 50000 {
		maxWait = 5 * time.Second
	}
	for round := 0; ; round++ {
		runConcurrent(ctx, 4*cfg.concurrency, cfg.concurrency, counted)
		runConcurrent(ctx, 4*cfg.concurrency, cfg.concurrency, noCount)
		var res struct {
			Indexes []struct {
				Name  string `json:"name"`
				Ready bool   `json:"ready"`
			} `json:"indexes"`
		}
		if _, err := cl.call(ctx, "smartcrm.index.list", map[string]any{"entityTypeId": t.etid}, &res); err != nil {
			return rep, err
		}
		ready := 0
		rep.Indexes = rep.Indexes[:0]
		for _, ix := range res.Indexes {
			if ix.Ready {
				ready++
				rep.Indexes = append(rep.Indexes, ix.Name)
			}
		}
		if ready >= 2 || time.Since(waitStart) > maxWait || ctx.Err() != nil {
			break
		}
		time.Sleep(2 * time.Second)
	}
	rep.IndexWaitS = time.Since(waitStart).Seconds()
	fmt.Printf("list indexes after %.0fs: %v\n", rep.IndexWaitS, rep.Indexes)
	runConcurrent(ctx, 4*cfg.concurrency, cfg.concurrency, searchOp)

	timed := func(op func(context.Context, int) error) summary {
		return timedRun(ctx, srv, cfg.listReqs, cfg.concurrency, op)
	}
	rep.Counted, rep.NoCount, rep.Search = timed(counted), timed(noCount), timed(searchOp)

	// Point reads while cfg.concurrency clients run the substring list.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var searched atomic.Int64
	for w := range cfg.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ; i += cfg.concurrency {
				select {
				case <-stop:
					return
				default:
				}
				if searchOp(ctx, i) == nil {
					searched.Add(1)
				}
			}
		}()
	}
	gets := make([][]byte, cfg.listReqs)
	for i := range gets {
		gets[i], _ = json.Marshal(map[string]any{"entityTypeId": t.etid, "id": 1 + splitmix64(uint64(i)+3)%uint64(cfg.cfItems)})
	}
	cpu := startCPU(srv.pid)
	searchedBefore, getsStarted := searched.Load(), time.Now()
	res := runConcurrent(ctx, cfg.listReqs, 2, func(ctx context.Context, i int) error {
		_, err := cl.callRaw(ctx, "crm.item.get", gets[i])
		return err
	})
	rep.SearchesBeside = float64(searched.Load()-searchedBefore) / time.Since(getsStarted).Seconds()
	close(stop)
	wg.Wait()
	rep.GetUnder = summarize(res, cfg.listReqs-res.errors)
	rep.GetUnder.CPU = cpu.done()

	if err := rawLists(ctx, dsn, t, cfg, &rep); err != nil {
		return rep, fmt.Errorf("raw baseline: %w", err)
	}
	return rep, ctx.Err()
}

// rawLists times the same lists as plain SQL through database/sql on the same database
// and indexes: what the database itself takes, without HTTP, JSON and the domain.
func rawLists(ctx context.Context, dsn string, t *cfType, cfg config, rep *cfListReport) error {
	driver, source, like := "sqlite", "file:"+dsn+"?"+sqlitePragmas+"&_pragma=query_only(1)", "title LIKE ?"
	ph := func(n int) string { return "?" }
	if isPostgres(dsn) {
		driver, source, like = "pgx", dsn, "title ILIKE $1"
		ph = func(n int) string { return fmt.Sprintf("$%d", n) }
	}
	db, err := sql.Open(driver, source)
	if err != nil {
		return err
	}
	defer db.Close()
	// database/sql keeps two idle connections unless told otherwise: the other clients'
	// connections would be closed after each request and opened again for the next,
	// and the baseline would time connection set-up (a new backend, or SQLite reading
	// the schema) instead of the query.
	db.SetMaxOpenConns(cfg.concurrency)
	db.SetMaxIdleConns(cfg.concurrency)
	table := store.ItemTable(t.etid)
	where := fmt.Sprintf("%s = %s AND %s > %s", t.col["status"], ph(1), t.col["amount"], ph(2))
	list := fmt.Sprintf("SELECT id, title, %s, %s, %s FROM %s WHERE %s ORDER BY %s DESC, id DESC LIMIT 50 OFFSET %s",
		t.col["status"], t.col["amount"], t.col["due"], table, where, t.col["due"], ph(3))
	count := "SELECT COUNT(*) FROM " + table + " WHERE " + where
	searchList := "SELECT id, title FROM " + table + " WHERE " + like + " ORDER BY id DESC LIMIT 50"
	searchCount := "SELECT COUNT(*) FROM " + table + " WHERE " + like
	drain := func(q string, args ...any) error {
		rows, err := db.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
		}
		return rows.Err()
	}
	// The lists run as many requests as the HTTP runs: their p99 is the floor the
	// server's p99 is held against, and with 500 requests it was the fifth-slowest
	// sample, one stall of the machine. The substring list runs fewer: on SQLite it
	// reads the whole table (the FTS index is the server's).
	timed := func(n int, op func(int) error) summary {
		// Untimed first: each connection's first statements (planning, a backend's
		// caches, the trigram module) are not what the database takes per request.
		call := func(_ context.Context, i int) error { return op(i) }
		runConcurrent(ctx, 2*cfg.concurrency, cfg.concurrency, call)
		res := runConcurrent(ctx, n, cfg.concurrency, call)
		return summarize(res, n-res.errors)
	}
	offset := func(i int) int {
		return int(splitmix64(uint64(i))%uint64(max(1, min(maxPages, rep.Matching/crmPage)))) * crmPage
	}
	rep.RawCounted = timed(cfg.listReqs, func(i int) error {
		if err := drain(list, "s2", 500, offset(i)); err != nil {
			return err
		}
		return drain(count, "s2", 500)
	})
	rep.RawNoCount = timed(cfg.listReqs, func(int) error { return drain(list, "s2", 500, 0) })
	rep.RawSearch = timed(min(cfg.listReqs, 500), func(int) error {
		if err := drain(searchList, "%zqx%"); err != nil {
			return err
		}
		return drain(searchCount, "%zqx%")
	})
	return nil
}

// soakReport is the mixed soak: throughput per window as the table grows from empty.
type soakReport struct {
	Clients    int       `json:"clients"`
	Seconds    float64   `json:"seconds"`
	WindowSec  float64   `json:"window_s"`
	PerWindow  []float64 `json:"ops_per_s"`
	EndToStart float64   `json:"end_to_start"`
	Errors     int64     `json:"errors"`
	FirstError string    `json:"first_error,omitempty"`
	ItemsAtEnd int64     `json:"items_at_end"`
	// BusyCores is the machine's busy cores (every process, 2 at most on 2 cores) and
	// ItemsPerWindow the type's items at the end of each window: whether the soak's
	// end is bound by CPU or by something waiting, and how big the table had grown.
	BusyCores      []float64          `json:"busy_cores"`
	ItemsPerWindow []int64            `json:"items_per_window"`
	P99ms          map[string]float64 `json:"p99_ms"`
	// MeanMs is each operation's mean latency per window: which of them slows down as
	// the table grows.
	MeanMs map[string][]float64 `json:"mean_ms_per_window"`
}

// soakKinds names the soak's operations in the order each client cycles through them.
var soakKinds = [4]string{"add", "update", "substring_list", "get"}

// benchSoak runs 16 clients for cfg.soak on a new type, a quarter each of adds, updates,
// substring lists (with total) and gets, and reports throughput per window.
func benchSoak(ctx context.Context, cl *client, cfg config) (soakReport, error) {
	const clients = 16
	window := max(10*time.Second, cfg.soak/10)
	rep := soakReport{Clients: clients, WindowSec: window.Seconds(), P99ms: map[string]float64{}}
	etid, err := cl.createType(ctx, "Bench soak")
	if err != nil {
		return rep, err
	}
	var maxID, added, errs atomic.Int64
	var firstErr atomic.Value
	var first addedItem
	if _, err := cl.call(ctx, "crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"title": "Soak 0"}}, &first); err != nil {
		return rep, err
	}
	maxID.Store(first.Item.ID)
	windows := make([]atomic.Int64, int(cfg.soak/window)+2)
	// Per window and operation: the calls that ended in it and their summed latency.
	kindCalls, kindNanos := make([][4]atomic.Int64, len(windows)), make([][4]atomic.Int64, len(windows))
	lat := make([][]time.Duration, 4)
	var latMu sync.Mutex
	started := time.Now()
	deadline := started.Add(cfg.soak)
	var wg sync.WaitGroup
	full := int(cfg.soak / window)
	wg.Add(1)
	go func() {
		defer wg.Done()
		busy := machineBusySeconds()
		for i := range full {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Until(started.Add(time.Duration(i+1) * window))):
			}
			now := machineBusySeconds()
			rep.BusyCores = append(rep.BusyCores, math.Round((now-busy)/window.Seconds()*100)/100)
			rep.ItemsPerWindow = append(rep.ItemsPerWindow, added.Load()+1)
			busy = now
		}
	}()
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 99))
			var mine [4][]time.Duration
			for n := 0; time.Now().Before(deadline) && ctx.Err() == nil; n++ {
				kind := (w + n) % 4
				var err error
				t0 := time.Now()
				switch kind {
				case 0:
					i := added.Add(1)
					title := fmt.Sprintf("Soak %d", i)
					if i%100 == 7 {
						title += " zqx"
					}
					var it addedItem
					_, err = cl.call(ctx, "crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"title": title, "opportunity": r.IntN(1000)}}, &it)
					for err == nil && it.Item.ID > maxID.Load() {
						if maxID.CompareAndSwap(maxID.Load(), it.Item.ID) {
							break
						}
					}
				case 1:
					_, err = cl.call(ctx, "crm.item.update", map[string]any{"entityTypeId": etid, "id": 1 + r.Int64N(maxID.Load()),
						"fields": map[string]any{"opportunity": r.IntN(1000)}}, nil)
					if ae, ok := asAPIError(err); ok && ae.Code == "NOT_FOUND" {
						err = nil
					}
				case 2:
					_, err = cl.call(ctx, "crm.item.list", map[string]any{"entityTypeId": etid, "filter": map[string]any{"%title": "zqx"},
						"order": map[string]string{"id": "DESC"}, "select": []string{"id", "title"}}, nil)
				case 3:
					_, err = cl.call(ctx, "crm.item.get", map[string]any{"entityTypeId": etid, "id": 1 + r.Int64N(maxID.Load())}, nil)
					if ae, ok := asAPIError(err); ok && ae.Code == "NOT_FOUND" {
						err = nil
					}
				}
				took := time.Since(t0)
				mine[kind] = append(mine[kind], took)
				if wi := int(time.Since(started) / window); wi < len(windows) {
					kindCalls[wi][kind].Add(1)
					kindNanos[wi][kind].Add(int64(took))
				}
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				windows[int(time.Since(started)/window)].Add(1)
			}
			latMu.Lock()
			for k := range mine {
				lat[k] = append(lat[k], mine[k]...)
			}
			latMu.Unlock()
		}()
	}
	wg.Wait()
	rep.Seconds = time.Since(started).Seconds()
	for i := range full {
		rep.PerWindow = append(rep.PerWindow, float64(windows[i].Load())/window.Seconds())
	}
	if len(rep.PerWindow) > 1 && rep.PerWindow[0] > 0 {
		rep.EndToStart = rep.PerWindow[len(rep.PerWindow)-1] / rep.PerWindow[0]
	}
	rep.Errors = errs.Load()
	if v, ok := firstErr.Load().(string); ok {
		rep.FirstError = v
	}
	rep.ItemsAtEnd = added.Load() + 1
	rep.MeanMs = map[string][]float64{}
	for k, name := range soakKinds {
		rep.P99ms[name] = summarize(runResult{lat: lat[k]}, 0).P99ms
		for i := range full {
			mean := 0.0
			if n := kindCalls[i][k].Load(); n > 0 {
				mean = math.Round(float64(kindNanos[i][k].Load())/float64(n)/1e4) / 100
			}
			rep.MeanMs[name] = append(rep.MeanMs[name], mean)
		}
	}
	return rep, ctx.Err()
}

func asAPIError(err error) (*apiError, bool) {
	var ae *apiError
	ok := errors.As(err, &ae)
	return ae, ok
}
