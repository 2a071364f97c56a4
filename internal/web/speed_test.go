package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"smartcrm/internal/crm"
	"smartcrm/internal/field"
	"smartcrm/internal/store"
	"smartcrm/internal/web"
)

// The speed figures of the web UI, on SQLite:
//
//   - the Kanban page of a funnel with 10 stages and 200,000 items, rendered by the
//     server in under 100 ms and under 300 KB;
//   - its first contentful paint in headless Chromium under 500 ms;
//   - a card move (the page's POST, answered) under 50 ms at the 99th percentile.
//
// Seeding 200,000 items takes a while, so the figures are measured on demand:
//
//	SMARTCRM_SPEED=1 go test ./internal/web -run TestSpeedFigures -v -count=1
//	go test ./internal/web -run '^$' -bench . -benchtime 200x     (the Go benchmarks)
const speedItems = 200_000

type speedEnv struct {
	e      *env
	b      *browser
	typ    *crm.Type
	kanban string
	stages []string
	ids    []int64 // a few items to move
}

// seedSpeed makes the 10-stage funnel with 200,000 items: rows written in bulk, the
// stage counters set to match (as the write path would have kept them).
func seedSpeed(t testing.TB) *speedEnv {
	t.Helper()
	e := start(t, store.SQLite)
	ctx := context.Background()
	v := e.visits()
	cat := v.DefaultCategory()
	for i := 0; i < 5; i++ {
		name, sort := fmt.Sprintf("Step %d", i+1), int64(31+i)
		if _, err := e.s.App.CRM.AddStage(ctx, admin, crm.StageSpec{Directory: v.StageDirectory(cat.ID), StatusID: fmt.Sprintf("STEP%d", i+1), Name: &name, Sort: &sort}); err != nil {
			t.Fatal(err)
		}
	}
	v, _ = e.s.App.CRM.ItemType(ctx, admin, v.EntityTypeID)
	var codes []string
	for _, st := range v.StagesOf(cat.ID) {
		codes = append(codes, st.StatusID)
	}
	if len(codes) != 10 {
		t.Fatalf("%d stages", len(codes))
	}
	cols := []store.Column{{Name: "title", Storage: field.StorageText}, {Name: "category_id", Storage: field.StorageInt},
		{Name: "stage_id", Storage: field.StorageText}, {Name: "assigned_by_id", Storage: field.StorageInt},
		{Name: "opportunity", Storage: field.StorageFloat}, {Name: "currency_id", Storage: field.StorageText},
		{Name: "opened", Storage: field.StorageText}, {Name: "created_by", Storage: field.StorageInt}, {Name: "updated_by", Storage: field.StorageInt}}
	counts := map[string]*store.StageCountDelta{}
	for _, c := range codes {
		counts[c] = &store.StageCountDelta{CategoryID: cat.ID, StageID: c}
	}
	rows := make([][]any, 0, 10000)
	for done := 0; done < speedItems; done += len(rows) {
		rows = rows[:0]
		for i := done; i < done+10000 && i < speedItems; i++ {
			stage := codes[i%len(codes)]
			amount := float64(100 + i%900)
			rows = append(rows, []any{fmt.Sprintf("Installation visit %d, Elm street %d", i, i%300), cat.ID, stage, int64(1), amount, "USD", "Y", int64(1), int64(1)})
			counts[stage].Items++
			counts[stage].Amount += amount
		}
		if err := e.s.App.Store.InTx(ctx, func(tx *store.Tx) error { return tx.SeedItemsRaw(ctx, v.EntityTypeID, cols, rows) }); err != nil {
			t.Fatal(err)
		}
	}
	var deltas []store.StageCountDelta
	for _, c := range codes {
		deltas = append(deltas, *counts[c])
	}
	sort.Slice(deltas, func(i, j int) bool { return deltas[i].StageID < deltas[j].StageID })
	if err := e.s.App.Store.InTx(ctx, func(tx *store.Tx) error { return tx.AddToStageCounts(ctx, v.EntityTypeID, deltas) }); err != nil {
		t.Fatal(err)
	}
	se := &speedEnv{e: e, typ: v, kanban: web.KanbanPath(v.EntityTypeID, cat.ID), stages: codes}
	se.b = e.signIn("admin", "admin-password-1")
	for i := int64(1); i <= 2000; i++ {
		se.ids = append(se.ids, i*97)
	}
	return se
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func TestSpeedFigures(t *testing.T) {
	if os.Getenv("SMARTCRM_SPEED") == "" {
		t.Skip("seeds 200,000 items: run with SMARTCRM_SPEED=1")
	}
	started := time.Now()
	se := seedSpeed(t)
	t.Logf("seeded %d items in 10 stages in %s", speedItems, time.Since(started).Round(time.Millisecond))

	// The page, rendered by the server: time to the last byte, and its size.
	var times []time.Duration
	size := 0
	for i := 0; i < 60; i++ {
		t0 := time.Now()
		resp := se.b.get(se.kanban)
		body, _ := io.ReadAll(resp.Body)
		d := time.Since(t0)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `data-stage-id`) {
			t.Fatalf("Kanban page: %d", resp.StatusCode)
		}
		if i >= 10 { // the first ones warm the caches
			times = append(times, d)
		}
		size = len(body)
	}
	med, p99 := percentile(times, 0.5), percentile(times, 0.99)
	t.Logf("Kanban page, 10 stages, %d items: median %s, p99 %s, %d bytes (%.1f KB), %d cards",
		speedItems, med.Round(10*time.Microsecond), p99.Round(10*time.Microsecond), size, float64(size)/1024, 10*20)
	if med > 100*time.Millisecond || size > 300*1024 {
		t.Errorf("the Kanban page takes %s and %d bytes; the goal is under 100 ms and 300 KB", med, size)
	}

	// First contentful paint in headless Chromium (signed in, caches warm: the second
	// load, as a person opening the board again).
	ctx := tab(t)
	run(t, ctx, "sign in", desktop(), chromedp.Navigate(se.e.s.HTTP.URL+"/login"), chromedp.SendKeys(chromedp.ID("login"), "admin"),
		chromedp.SendKeys(chromedp.ID("password"), "admin-password-1"), chromedp.Submit(chromedp.ID("password")),
		waitJS(`location.pathname !== '/login'`), chromedp.Navigate(se.e.s.HTTP.URL+se.kanban), chromedp.WaitVisible(chromedp.CSS(".board")))
	var fcps []float64
	for i := 0; i < 5; i++ {
		run(t, ctx, "load the Kanban", chromedp.Navigate(se.e.s.HTTP.URL+se.kanban), chromedp.WaitVisible(chromedp.CSS(".board")),
			waitJS(`performance.getEntriesByName('first-contentful-paint').length > 0`))
		fcps = append(fcps, eval[float64](t, ctx, `performance.getEntriesByName('first-contentful-paint')[0].startTime`))
		if os.Getenv("SMARTCRM_SPEED_DEBUG") != "" {
			t.Log(eval[string](t, ctx, `JSON.stringify(performance.getEntriesByType('navigation')[0])`))
		}
	}
	sort.Float64s(fcps)
	t.Logf("first contentful paint of the Kanban in headless Chromium: median %.0f ms (runs: %v)", fcps[len(fcps)/2], fcps)
	if fcps[len(fcps)/2] > 500 {
		t.Errorf("first contentful paint %.0f ms; the goal is under 500 ms", fcps[len(fcps)/2])
	}

	// Card moves: the page's POST as its script sends it, answered.
	moves := moveTimes(t, se, 1000)
	t.Logf("card move round trip over HTTP, %d moves: median %s, p99 %s, max %s", len(moves),
		percentile(moves, 0.5).Round(10*time.Microsecond), percentile(moves, 0.99).Round(10*time.Microsecond), percentile(moves, 1).Round(10*time.Microsecond))
	if p := percentile(moves, 0.99); p > 50*time.Millisecond {
		t.Errorf("card move p99 %s; the goal is under 50 ms", p)
	}
}

// moveTimes moves n items to the next stage, one after another, through the page's
// move endpoint with the version the page would send.
func moveTimes(t testing.TB, se *speedEnv, n int) []time.Duration {
	t.Helper()
	var out []time.Duration
	for i := 0; i < n; i++ {
		id := se.ids[i%len(se.ids)]
		_, it, err := se.e.s.App.CRM.GetItem(context.Background(), admin, se.typ.EntityTypeID, id)
		if err != nil {
			t.Fatal(err)
		}
		next := se.stages[(indexOf(se.stages, it.StageID())+1)%3] // among the first three (in progress)
		form := url.Values{"stage": {next}, "version": {strconv.FormatInt(it.Version, 10)}}
		t0 := time.Now()
		status, ans := se.b.fetch(web.DetailsPath(se.typ.EntityTypeID, id)+"stage", form)
		out = append(out, time.Since(t0))
		if status != http.StatusOK {
			t.Fatalf("move %d: %d %v", id, status, ans)
		}
	}
	return out
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return 0
}

// BenchmarkKanbanPage200k renders the 200,000-item Kanban page over HTTP.
func BenchmarkKanbanPage200k(b *testing.B) {
	se := seedSpeed(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp := se.b.get(se.kanban)
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		b.SetBytes(n)
	}
}

// BenchmarkCardMove moves cards through the page's move endpoint on a 200,000-item
// funnel.
func BenchmarkCardMove(b *testing.B) {
	se := seedSpeed(b)
	b.ResetTimer()
	ds := moveTimes(b, se, b.N)
	b.ReportMetric(float64(percentile(ds, 0.99).Microseconds())/1000, "p99-ms")
}
