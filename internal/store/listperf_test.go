package store_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"smartcrm/internal/apitest"
	"smartcrm/internal/crm"
	"smartcrm/internal/customfield"
	"smartcrm/internal/field"
	"smartcrm/internal/listindex"
	"smartcrm/internal/query"
	"smartcrm/internal/store"
	"smartcrm/internal/testdb"
)

// perfType is a smart process with the custom fields of the list benchmark: status
// (text, filterable), amount (double), due (datetime), note (text, searchable).
type perfType struct {
	st   *store.Store
	svc  *crm.Service
	typ  *crm.Type
	etid int64
	f    map[string]*query.Field // by short name, plus "id" and "title"
	cols []store.Column          // title, status, amount, due, note
}

func newPerfType(t testing.TB, dialect string) *perfType {
	t.Helper()
	ctx := context.Background()
	st, svc, typ := withType(t, dialect)
	cf := customfield.New(svc)
	on := true
	p := &perfType{st: st, svc: svc, etid: typ.EntityTypeID, f: map[string]*query.Field{}}
	for _, spec := range []struct{ name, kind string }{{"STATUS", "string"}, {"AMOUNT", "double"}, {"DUE", "datetime"}, {"NOTE", "string"}} {
		s := customfield.Spec{Name: fmt.Sprintf("UF_CRM_%d_%s", typ.ID, spec.name), Kind: spec.kind}
		if spec.name == "NOTE" {
			s.IsSearchable = &on
		}
		if _, err := cf.Add(ctx, admin, typ.EntityTypeID, s); err != nil {
			t.Fatal(err)
		}
	}
	typ, err := svc.ItemType(ctx, admin, typ.EntityTypeID)
	if err != nil {
		t.Fatal(err)
	}
	p.typ = typ
	for _, f := range typ.Fields() {
		qf := typ.QueryField(f)
		if qf == nil {
			continue
		}
		for _, short := range []string{"status", "amount", "due", "note"} {
			if strings.HasSuffix(qf.Column, "_"+short) {
				p.f[short] = qf
			}
		}
		if qf.Column == "id" || qf.Column == "title" {
			p.f[qf.Column] = qf
		}
	}
	for _, n := range []string{"title", "status", "amount", "due", "note"} {
		if p.f[n] == nil {
			t.Fatalf("no field %s", n)
		}
		p.cols = append(p.cols, store.Column{Name: p.f[n].Column, Storage: p.f[n].Type.Storage()})
	}
	return p
}

var words = []string{"Alpha", "beta", "ГАММА", "delta", "Ёлка", "straße", "100%", "a_b", "quote\"d", "x"}

// seed writes n rows with values drawn from r, and returns them (id = index + 1).
func (p *perfType) seed(t testing.TB, n int, r *rand.Rand) [][]any {
	t.Helper()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := make([][]any, n)
	for i := range rows {
		title := words[r.IntN(len(words))] + " " + words[r.IntN(len(words))] + fmt.Sprintf(" %d", r.IntN(1000))
		if r.IntN(100) == 0 {
			title += " Zebra" // a rare word: 1% of the rows
		}
		var note any = words[r.IntN(len(words))] + words[r.IntN(len(words))]
		if r.IntN(5) == 0 {
			note = nil
		}
		rows[i] = []any{title, fmt.Sprintf("s%d", r.IntN(10)), float64(r.IntN(1000)), base.Add(time.Duration(r.IntN(1000)) * time.Hour), note}
	}
	err := p.st.InTx(context.Background(), func(tx *store.Tx) error { return tx.SeedItemsRaw(context.Background(), p.etid, p.cols, rows) })
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// titleContains lists the ids of the items whose title contains s, in id order.
func (p *perfType) titleContains(t testing.TB, s string) []int64 {
	t.Helper()
	where := query.Group{Items: []query.Expr{p.cond("title", field.OpContains, s)}}
	page, err := p.st.ListItems(context.Background(), p.etid, []store.Column{{Name: "id", Storage: field.StorageInt}}, where, []query.Order{{Field: p.f["id"]}}, store.Page{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, row := range page {
		ids = append(ids, row[0].(int64))
	}
	return ids
}

func (p *perfType) cond(name string, op field.Op, v any) query.Cond {
	return query.Cond{Field: p.f[name], Op: op, Value: v}
}

// The benchmark's list — a status, an amount above 500, newest due first — walks an
// index in the order's direction once its shape has an index and the planner has
// statistics: no sort of every matching row. Its count reads only a covering index,
// and a substring filter on the title reads the trigram index.
func TestListPlansUseIndexes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		p := newPerfType(t, dialect)
		p.seed(t, 20000, rand.New(rand.NewPCG(1, 2)))
		where := query.Group{Items: []query.Expr{p.cond("status", field.OpEq, "s2"), p.cond("amount", field.OpGt, 500.0)}}
		order := []query.Order{{Field: p.f["due"], Desc: true}, {Field: p.f["id"], Desc: true}}
		shape, ok := store.ShapeOf(where, order)
		if !ok {
			t.Fatal("no shape")
		}
		var names []string
		for _, cols := range store.IndexesFor(shape) {
			ix, err := p.st.BuildListIndex(ctx, p.etid, store.OriginObserved, cols)
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, ix.Name)
		}
		if len(names) != 2 {
			t.Fatalf("indexes %v, want an order and a count index", names)
		}
		p.st.Optimize(ctx)
		plan, err := p.st.ExplainItems(ctx, p.etid, p.cols, where, order, store.Page{Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan, names[0]) || strings.Contains(plan, "TEMP B-TREE") || strings.Contains(plan, "Sort") {
			t.Errorf("the list does not walk %s in order:\n%s", names[0], plan)
		}
		plan, err = p.st.ExplainCount(ctx, p.etid, where)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan, names[1]) || !(strings.Contains(plan, "COVERING INDEX") || strings.Contains(plan, "Index Only Scan")) {
			t.Errorf("the count does not read only %s:\n%s", names[1], plan)
		}
		search := query.Group{Items: []query.Expr{p.cond("title", field.OpContains, "zebr")}}
		plan, err = p.st.ExplainItems(ctx, p.etid, p.cols, search, order[1:], store.Page{Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan, "_fts_title") && !strings.Contains(plan, "_tg_") {
			t.Errorf("the substring filter does not use the trigram index:\n%s", plan)
		}
		// The matches are found once, through the index, and cut to the page before
		// anything else is read: only the page's rows are read again, whole, by id. The
		// table is neither walked in order nor joined to every match.
		if dialect == store.Postgres && !pagedBeforeJoin(plan) {
			t.Errorf("the substring page reads the table beyond its matches:\n%s", plan)
		}
		plan, err = p.st.ExplainCount(ctx, p.etid, search)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan, "_fts_title") && !strings.Contains(plan, "_tg_") || strings.Contains(plan, "Join") || strings.Contains(plan, "Nested Loop") {
			t.Errorf("the substring count does not count the trigram index's matches alone:\n%s", plan)
		}
		// Its list indexes are listed, and go with their field.
		ixs, err := p.st.ListIndexes(ctx, p.etid)
		if err != nil || len(ixs) != 2 {
			t.Fatalf("list indexes %v, %v", ixs, err)
		}
		err = p.st.InTx(ctx, func(tx *store.Tx) error { return tx.DropUserFieldColumn(ctx, p.etid, p.f["due"].Column) })
		if err != nil {
			t.Fatal(err)
		}
		if ixs, _ = p.st.ListIndexes(ctx, p.etid); len(ixs) != 1 || ixs[0].Name != names[1] {
			t.Errorf("after dropping due: %v, want only %s", ixs, names[1])
		}
	})
}

// Lists and counts answer exactly what a full scan of the rows answers, whatever the
// filter (equalities, ranges, substrings long and short, in any alphabet, with LIKE's
// special characters), order and page, with and without the list indexes.
func TestListsEqualFullScan(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		p := newPerfType(t, dialect)
		r := rand.New(rand.NewPCG(7, uint64(len(dialect))))
		rows := p.seed(t, 1500, r)
		if _, err := p.st.BuildListIndex(ctx, p.etid, store.OriginAdmin, []string{p.f["status"].Column, p.f["due"].Column, "id"}); err != nil {
			t.Fatal(err)
		}
		p.st.Optimize(ctx)
		pick := func() string { // a substring of a word: 1 to 6 characters, any case
			w := []rune(words[r.IntN(len(words))])
			from := r.IntN(len(w))
			s := string(w[from:min(len(w), from+1+r.IntN(6))])
			if r.IntN(2) == 0 {
				s = strings.ToUpper(s)
			}
			return s
		}
		countedAlong := 0 // pages that answered the total themselves
		for round := range 150 {
			var conds []query.Expr
			var checks []func(row []any) bool
			if r.IntN(2) == 0 {
				s := fmt.Sprintf("s%d", r.IntN(10))
				conds, checks = append(conds, p.cond("status", field.OpEq, s)), append(checks, func(row []any) bool { return row[1] == s })
			}
			if r.IntN(2) == 0 {
				a := float64(r.IntN(1000))
				conds, checks = append(conds, p.cond("amount", field.OpGt, a)), append(checks, func(row []any) bool { return row[2].(float64) > a })
			}
			switch r.IntN(5) {
			case 0:
				s := pick()
				conds = append(conds, p.cond("title", field.OpContains, s))
				checks = append(checks, func(row []any) bool { return strings.Contains(strings.ToLower(row[0].(string)), strings.ToLower(s)) })
			case 1:
				s := pick()
				conds = append(conds, p.cond("note", field.OpContains, s))
				checks = append(checks, func(row []any) bool {
					n, ok := row[4].(string)
					return ok && strings.Contains(strings.ToLower(n), strings.ToLower(s))
				})
			case 3: // a string no substring index serves, in either case
				s := []string{"S", "s1", "S2", "3", "s%"}[r.IntN(5)]
				conds = append(conds, p.cond("status", field.OpContains, s))
				checks = append(checks, func(row []any) bool { return strings.Contains(strings.ToLower(row[1].(string)), strings.ToLower(s)) })
			case 2: // a LIKE pattern with a leading wildcard: =%note
				s := pick()
				conds = append(conds, p.cond("note", field.OpLike, "%"+strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)+"%"))
				checks = append(checks, func(row []any) bool {
					n, ok := row[4].(string)
					return ok && strings.Contains(strings.ToLower(n), strings.ToLower(s))
				})
			}
			want := []int64{}
			for i, row := range rows {
				ok := true
				for _, c := range checks {
					ok = ok && c(row)
				}
				if ok {
					want = append(want, int64(i+1))
				}
			}
			var order []query.Order
			desc := r.IntN(2) == 0
			byDue := r.IntN(2) == 0
			if byDue {
				order = append(order, query.Order{Field: p.f["due"], Desc: desc})
			}
			order = append(order, query.Order{Field: p.f["id"], Desc: desc})
			slices.SortFunc(want, func(a, b int64) int {
				c := 0
				if byDue {
					c = rows[a-1][3].(time.Time).Compare(rows[b-1][3].(time.Time))
				}
				if c == 0 {
					c = int(a - b)
				}
				if desc {
					c = -c
				}
				return c
			})
			where := query.Group{Items: conds}
			n, err := p.st.CountItems(ctx, p.etid, where)
			if err != nil {
				t.Fatal(err)
			}
			if n != len(want) {
				t.Fatalf("round %d: count %d, a scan finds %d (filter %s)", round, n, len(want), where.Key())
			}
			offset := r.IntN(len(want) + 25) // sometimes past the end
			page, total, err := p.st.ListItemsCounted(ctx, p.etid, []store.Column{{Name: "id", Storage: field.StorageInt}}, where, order, store.Page{Limit: 20, Offset: offset}, true)
			if err != nil {
				t.Fatal(err)
			}
			if total >= 0 {
				countedAlong++
				if total != len(want) {
					t.Fatalf("round %d: the page counted %d, a scan finds %d (filter %s)", round, total, len(want), where.Key())
				}
			}
			got := make([]int64, len(page))
			for i, row := range page {
				got[i] = row[0].(int64)
			}
			if exp := want[min(offset, len(want)):min(offset+20, len(want))]; !slices.Equal(got, exp) {
				t.Fatalf("round %d: page at %d is %v, a scan gives %v (filter %s)", round, offset, got, exp, where.Key())
			}
		}
		if dialect == store.Postgres && countedAlong == 0 {
			t.Error("no substring page counted its matches along")
		}
	})
}

// A list that runs past its deadline is stopped and reported as such, and the lane
// serves the next list.
func TestListTimeout(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		p := newPerfType(t, dialect)
		p.seed(t, 100, rand.New(rand.NewPCG(3, 4)))
		p.st.SetListTimeout(time.Nanosecond)
		_, err := p.st.ListItems(ctx, p.etid, p.cols, query.Group{}, nil, store.Page{Limit: 50})
		if !errors.Is(err, store.ErrQueryTimeout) {
			t.Fatalf("a list past its deadline: %v, want ErrQueryTimeout", err)
		}
		if _, err := p.st.CountItems(ctx, p.etid, query.Group{}); !errors.Is(err, store.ErrQueryTimeout) {
			t.Fatalf("a count past its deadline: %v, want ErrQueryTimeout", err)
		}
		p.st.SetListTimeout(store.DefaultListTimeout)
		if n, err := p.st.CountItems(ctx, p.etid, query.Group{}); err != nil || n != 100 {
			t.Fatalf("after: %d, %v", n, err)
		}
	})
}

// After bulk changes the planner has statistics of the items table.
func TestStatisticsAfterBulkChanges(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		p := newPerfType(t, dialect)
		p.seed(t, 3000, rand.New(rand.NewPCG(5, 6)))
		p.st.Optimize(ctx)
		if ok, err := p.st.HasStatistics(ctx, p.etid); err != nil || !ok {
			t.Fatalf("no planner statistics of the items table after Optimize: %v", err)
		}
	})
}

// Substring searches have a narrow lane of their own: while searches fill it, an
// indexed list and a get still run at once, and one more search waits (here until its
// deadline) instead of taking another core.
func TestSearchesCannotFillTheListLane(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		p := newPerfType(t, dialect)
		p.seed(t, 100, rand.New(rand.NewPCG(5, 6)))
		release := p.st.HoldSearchLane()
		p.st.SetListTimeout(200 * time.Millisecond)
		indexed := query.Group{Items: []query.Expr{p.cond("status", field.OpEq, "s2")}}
		if _, err := p.st.ListItems(ctx, p.etid, p.cols, indexed, nil, store.Page{Limit: 50}); err != nil {
			t.Fatalf("an indexed list while searches fill their lane: %v", err)
		}
		if _, err := p.st.GetItem(ctx, p.etid, p.cols, 1); err != nil {
			t.Fatalf("a get while searches fill their lane: %v", err)
		}
		search := query.Group{Items: []query.Expr{p.cond("title", field.OpContains, "zebr")}}
		if _, err := p.st.ListItems(ctx, p.etid, p.cols, search, nil, store.Page{Limit: 50}); !errors.Is(err, store.ErrQueryTimeout) {
			t.Fatalf("a search with its lane full: %v, want it to wait until its deadline", err)
		}
		release()
		if _, err := p.st.ListItems(ctx, p.etid, p.cols, search, nil, store.Page{Limit: 50}); err != nil {
			t.Fatalf("a search once the lane is free: %v", err)
		}
	})
}

// However many writes and lists run at once, up to their bounds, a get still finds a
// connection: on PostgreSQL they share one pool, which must hold both bounds and more.
func TestPointReadsFindAConnectionWhileWritesAndListsRun(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		p := newPerfType(t, dialect)
		p.seed(t, 10, rand.New(rand.NewPCG(9, 10)))
		hold, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		release, err := p.st.HoldWritesAndLists(hold)
		if err != nil {
			t.Fatalf("taking every write and list slot: %v", err)
		}
		defer release()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if _, err := p.st.GetItem(ctx, p.etid, p.cols, 1); err != nil {
			t.Fatalf("a get while writes and lists hold their slots: %v", err)
		}
	})
}

// On PostgreSQL an items table whose updates left many dead row versions is vacuumed by
// the maintainer, without waiting for autovacuum's round: searches and counts would
// otherwise step over them.
func TestDeadRowsAreVacuumed(t *testing.T) {
	ctx := context.Background()
	p := newPerfType(t, store.Postgres)
	p.seed(t, 2000, rand.New(rand.NewPCG(7, 8)))
	if err := p.st.TouchAllItems(ctx, p.etid); err != nil {
		t.Fatal(err)
	}
	vacuumedOnceDead(t, p.st, store.ItemTable(p.etid))
}

// On PostgreSQL a type that is only added to, or edited in place, leaves few dead rows,
// yet its planner statistics and the visibility map its index-only counts need go stale:
// the maintainer vacuums and analyzes it after a fifth of its rows are new, whether
// autovacuum runs or not (it does not in CI).
func TestAddedRowsAreAnalyzed(t *testing.T) {
	ctx := context.Background()
	p := newPerfType(t, store.Postgres)
	p.seed(t, 2000, rand.New(rand.NewPCG(3, 4)))
	table := store.ItemTable(p.etid)
	apitest.Eventually(t, table+": added rows counted", 10*time.Second, func() (bool, string) {
		s, err := p.st.TableActivity(ctx, table)
		return err == nil && s.InsertedSinceVacuum >= 2000 || s.Analyzes > 0, fmt.Sprintf("%+v (%v)", s, err)
	})
	p.st.VacuumDeadRows(ctx)
	apitest.Eventually(t, table+": analyzed", 10*time.Second, func() (bool, string) {
		s, err := p.st.TableActivity(ctx, table)
		return err == nil && s.Analyzes > 0 && s.Vacuums > 0, fmt.Sprintf("%+v (%v)", s, err)
	})
}

// Editing a field no index holds rewrites the row on its own page on PostgreSQL (a HOT
// update): no index gets a new entry and no dead version waits for a vacuum. An index
// on the update time, which every edit changes, made every edit write into all of the
// table's indexes and its trigram index; recent changes are listed through an index
// built when that list is seen (listindex).
func TestEditsStayOnTheirPage(t *testing.T) {
	ctx := context.Background()
	p := newPerfType(t, store.Postgres)
	// Edits come later than the adds: the update time changes, in whole seconds.
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	p.svc.Now = func() time.Time { return now }
	const items = 300
	for range items {
		if _, _, err := p.svc.AddItem(ctx, admin, p.etid, crm.Patch{}); err != nil {
			t.Fatal(err)
		}
	}
	table := store.ItemTable(p.etid)
	before, err := p.st.TableActivity(ctx, table)
	if err != nil {
		t.Fatal(err)
	}
	var amount crm.FieldName
	for _, f := range p.typ.Fields() {
		if qf := p.typ.QueryField(f); qf != nil && qf.Column == p.f["amount"].Column {
			amount = f.Name
		}
	}
	// One edit of every fifteenth item: a couple to a page, which its tenth kept free
	// holds without pruning — a transaction open elsewhere in the cluster (the rest of
	// the suite) may hold pruning back, and a page full of edits then moves them off.
	const edits = items / 15
	for i := range edits {
		now = now.Add(time.Minute)
		if _, _, err := p.svc.UpdateItem(ctx, admin, p.etid, int64(1+15*i), crm.Patch{amount: float64(i)}, crm.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	apitest.Eventually(t, table+": edits counted", 10*time.Second, func() (bool, string) {
		s, err := p.st.TableActivity(ctx, table)
		updated, hot := s.Updated-before.Updated, s.HotUpdated-before.HotUpdated
		return err == nil && updated >= edits && hot*10 >= updated*9, fmt.Sprintf("%d updates, %d on their page (%v)", updated, hot, err)
	})
}

// vacuumedOnceDead waits until the statistics count a thousand dead rows in table, runs
// the maintainer's vacuum check and waits until they are gone (PostgreSQL).
func vacuumedOnceDead(t *testing.T, st *store.Store, table string) {
	t.Helper()
	ctx := context.Background()
	// The statistics reach the shared counters within about a second.
	apitest.Eventually(t, table+": dead rows counted", 10*time.Second, func() (bool, string) {
		dead, _, err := st.TableStats(ctx, table)
		return err == nil && dead >= 1000, fmt.Sprintf("%d dead (%v)", dead, err)
	})
	st.VacuumDeadRows(ctx)
	apitest.Eventually(t, table+": vacuumed", 10*time.Second, func() (bool, string) {
		dead, vacuums, err := st.TableStats(ctx, table)
		return err == nil && vacuums > 0 && dead < 1000, fmt.Sprintf("%d dead, %d vacuums (%v)", dead, vacuums, err)
	})
}

// A type's counter delta table is a queue — each write appends, each fold empties it —
// and every counter read scans it: the maintainer vacuums it once folds left it a
// thousand dead rows, whether autovacuum runs or not (it does not in CI).
func TestFoldedCounterDeltasAreVacuumed(t *testing.T) {
	ctx := context.Background()
	p := newPerfType(t, store.Postgres)
	if err := p.st.AppendZeroCountDeltas(ctx, p.etid, 1500); err != nil {
		t.Fatal(err)
	}
	p.st.FoldStageCounts(ctx)
	vacuumedOnceDead(t, p.st, store.ItemTable(p.etid)+"_count_deltas")
}

// A PostgreSQL substring index keeps a small GIN pending list, which makes adds and
// moves cheaper; indexes made by earlier versions without it get it soon after the
// server starts.
func TestSubstringIndexesKeepASmallPendingList(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.DSN(t, store.Postgres)
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		t.Fatal(err)
	}
	seedAdmin(t, st)
	typ, err := crm.New(st).AddType(ctx, admin, crm.TypeSpec{Title: ptr("Requests")})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	raw := openRaw(t, store.Postgres, dsn)
	options := func() string {
		t.Helper()
		var o string
		err := raw.QueryRowContext(ctx, `SELECT COALESCE(array_to_string(c.reloptions, ','), '') FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
WHERE t.relnamespace = current_schema()::regnamespace AND t.relname = $1 AND c.relname LIKE '%\_tg\_%'`, store.ItemTable(typ.EntityTypeID)).Scan(&o)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	const want = "fastupdate=on,gin_pending_list_limit=64"
	if got := options(); got != want {
		t.Fatalf("a new type's title index has options %q, want %q", got, want)
	}
	st.Close()
	asEarlierVersion := func() {
		t.Helper()
		if _, err := raw.ExecContext(ctx, `DO $$ DECLARE n text; BEGIN
SELECT c.relname INTO n FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace
AND c.relname LIKE 'crm\_items\_`+fmt.Sprint(typ.EntityTypeID)+`\_tg\_%';
EXECUTE format('ALTER INDEX %I RESET (gin_pending_list_limit)', n);
EXECUTE format('ALTER INDEX %I SET (fastupdate = off)', n); END $$`); err != nil {
			t.Fatal(err)
		}
		if got := options(); got != "fastupdate=off" {
			t.Fatalf("the index as an earlier version made it: %q", got)
		}
	}
	asEarlierVersion()
	restarted, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	apitest.Eventually(t, "the earlier version's index upgraded", 10*time.Second, func() (bool, string) {
		got := options()
		return got == want, got
	})
	restarted.Close()

	// A transaction reading the table holds the ALTER off: the server gives up after a
	// second, and the table's queries wait no longer than that behind it.
	asEarlierVersion()
	reader, err := raw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Rollback()
	if _, err := reader.ExecContext(ctx, "SELECT 1 FROM "+store.ItemTable(typ.EntityTypeID)+" LIMIT 1"); err != nil {
		t.Fatal(err)
	}
	waiting := func() int {
		t.Helper()
		var n int
		if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'ALTER INDEX crm\_items\_`+fmt.Sprint(typ.EntityTypeID)+`\_tg\_%' AND wait_event_type = 'Lock'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	restarted = openAt(t, dsn)
	apitest.Eventually(t, "the ALTER waiting for the reader", 10*time.Second, func() (bool, string) {
		return waiting() == 1, "not waiting"
	})
	read, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := restarted.CountItems(read, typ.EntityTypeID, query.Group{}); err != nil {
		t.Fatalf("a count while the ALTER waits: %v", err)
	}
	apitest.Eventually(t, "the ALTER given up", 10*time.Second, func() (bool, string) {
		return waiting() == 0, "still waiting"
	})
	if err := reader.Rollback(); err != nil {
		t.Fatal(err)
	}
	if got := options(); got != "fastupdate=off" {
		t.Errorf("an index the server could not lock: options %q, want them left for the next start", got)
	}
}

// pagedBeforeJoin tells whether a PostgreSQL plan reads the table only through the
// trigram index, joining only a page of ids (unnested from the matches' aggregate) back
// to it by primary key: no scan of the whole table, no walk of an index in the order's
// direction, no join of every match.
func pagedBeforeJoin(plan string) bool {
	if strings.Contains(plan, "Seq Scan") || strings.Contains(plan, "Backward") || strings.Contains(plan, "Hash Join") || strings.Contains(plan, "Merge Join") {
		return false
	}
	for _, l := range strings.Split(plan, "\n") {
		if strings.Contains(l, "Index Scan") && !strings.Contains(l, "Bitmap Index Scan") && !strings.Contains(l, "_pkey") {
			return false
		}
	}
	return strings.Contains(plan, "Function Scan on unnest") &&
		strings.Contains(plan, "Bitmap Index Scan on") && strings.Contains(plan, "_tg_")
}

// A smart process made by an earlier version keeps an index on its update time; at the
// next start it goes, and on PostgreSQL the table keeps room on its pages for edits,
// as a table made now would.
func TestEarlierVersionsLoseTheUpdateTimeIndex(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		st, _, typ := withType(t, dialect)
		table := store.ItemTable(typ.EntityTypeID)
		if err := st.MakeAsEarlierVersions(ctx, typ.EntityTypeID, []string{"updated_time"}); err != nil {
			t.Fatal(err)
		}
		indexed := func() bool {
			all, err := st.TableIndexes(ctx, typ.EntityTypeID)
			if err != nil {
				t.Fatal(err)
			}
			return slices.ContainsFunc(all, func(ix store.ListIndex) bool { return ix.Name == table+"_updated_time" })
		}
		if !indexed() {
			t.Fatal("the earlier version's index was not made")
		}
		for range 2 { // the second start finds nothing to do
			if err := listindex.RetireDefaults(ctx, st); err != nil {
				t.Fatal(err)
			}
		}
		if indexed() {
			t.Error("the update time index is still there")
		}
		if dialect == store.Postgres {
			if ff, err := st.Fillfactor(ctx, table); err != nil || ff != "90" {
				t.Errorf("fillfactor %q (%v), want 90", ff, err)
			}
		}
	})
}
