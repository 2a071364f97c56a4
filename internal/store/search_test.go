package store_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"smartcrm/internal/field"
	"smartcrm/internal/query"
	"smartcrm/internal/store"
	"smartcrm/internal/testdb"
)

// The substring indexes follow every kind of write, including writes that share a
// group commit with a change that fails and is rolled back: after concurrent adds,
// renames, deletes and refused changes, every substring filter finds exactly what a
// scan of the table finds — its pages in both orders and its count — whether the
// written rows moved into the index at every commit, now and then, or never.
func TestSubstringIndexFollowsWrites(t *testing.T) {
	for _, every := range []int{1, 7, 1 << 30} {
		t.Run(fmt.Sprintf("sync every %d rows", every), func(t *testing.T) {
			testSubstringIndexFollowsWrites(t, every)
		})
	}
}

func testSubstringIndexFollowsWrites(t *testing.T, syncEvery int) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		p := newPerfType(t, dialect)
		p.st.SetSearchSyncEvery(syncEvery)
		seedRand := rand.New(rand.NewPCG(11, 3))
		p.seed(t, 200, seedRand)
		text := func(r *rand.Rand) string {
			return words[r.IntN(len(words))] + " " + words[r.IntN(len(words))] + fmt.Sprintf(" %d", r.IntN(50))
		}
		refused := errors.New("refused")
		cols := []store.Column{p.cols[0], p.cols[4]} // title, note
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(w), 5))
				for range 40 {
					id := int64(1 + r.IntN(200))
					err := p.st.InTx(ctx, func(tx *store.Tx) error {
						switch r.IntN(4) {
						case 0:
							_, err := tx.InsertItem(ctx, p.etid, cols, []any{text(r), text(r)}, nil)
							return err
						case 1:
							row, err := tx.GetItemForUpdate(ctx, p.etid, []store.Column{{Name: "version", Storage: field.StorageInt}}, id)
							if err != nil || row == nil {
								return err
							}
							var note any = text(r)
							if r.IntN(3) == 0 {
								note = nil
							}
							return tx.UpdateItem(ctx, p.etid, id, row[0].(int64), cols, []any{text(r), note})
						case 2:
							return tx.DeleteItem(ctx, p.etid, id)
						default: // written, then refused: rolled back with its index rows
							if _, err := tx.InsertItem(ctx, p.etid, cols, []any{"Refused " + text(r), "refused"}, nil); err != nil {
								return err
							}
							return refused
						}
					})
					if err != nil && !errors.Is(err, refused) && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrConflict) {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		all, err := p.st.ListItems(ctx, p.etid, append([]store.Column{{Name: "id", Storage: field.StorageInt}}, cols...), query.Group{}, []query.Order{{Field: p.f["id"]}}, store.Page{Limit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"alp", "ETA", "гамм", "Ёлк", "ße", "0%", "4", " 1", "12", "a_b", `e"d`, "refused", "zebra", "lpha 1", "x 4"} {
			for i, name := range []string{"title", "note"} {
				var want []int64
				for _, row := range all {
					if v, ok := row[1+i].(string); ok && strings.Contains(strings.ToLower(v), strings.ToLower(s)) {
						want = append(want, row[0].(int64))
					}
				}
				where := query.Group{Items: []query.Expr{p.cond(name, field.OpContains, s)}}
				page, err := p.st.ListItems(ctx, p.etid, []store.Column{{Name: "id", Storage: field.StorageInt}}, where, []query.Order{{Field: p.f["id"]}}, store.Page{Limit: 10000})
				if err != nil {
					t.Fatal(err)
				}
				got := make([]int64, 0, len(page))
				for _, row := range page {
					got = append(got, row[0].(int64))
				}
				if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
					t.Errorf("%s contains %q: %v, a scan finds %v", name, s, got, want)
					for _, row := range all {
						if slices.Contains(got, row[0].(int64)) != slices.Contains(want, row[0].(int64)) {
							t.Logf("differs: %v", row)
						}
					}
				}
				n, err := p.st.CountItems(ctx, p.etid, where)
				if err != nil {
					t.Fatal(err)
				}
				if n != len(want) {
					t.Errorf("%s contains %q: count %d, a scan finds %d", name, s, n, len(want))
				}
				// The newest few, as a list ordered by id descending shows them.
				last, err := p.st.ListItems(ctx, p.etid, []store.Column{{Name: "id", Storage: field.StorageInt}}, where, []query.Order{{Field: p.f["id"], Desc: true}}, store.Page{Limit: 3})
				if err != nil {
					t.Fatal(err)
				}
				for i, row := range last {
					if w := want[len(want)-1-i]; row[0].(int64) != w {
						t.Errorf("%s contains %q, newest first: #%d is %v, a scan finds %d", name, s, i, row[0], w)
					}
				}
				if len(last) != min(3, len(want)) {
					t.Errorf("%s contains %q, newest first: %d rows, a scan finds %d", name, s, len(last), len(want))
				}
				// Pages further on, in both orders: the page is cut from the merged
				// index and pending matches, not from the rows before it.
				for _, desc := range []bool{false, true} {
					ordered := slices.Clone(want)
					if desc {
						slices.Reverse(ordered)
					}
					for offset := 2; offset < len(ordered)+2; offset += 5 {
						page, err := p.st.ListItems(ctx, p.etid, []store.Column{{Name: "id", Storage: field.StorageInt}}, where,
							[]query.Order{{Field: p.f["id"], Desc: desc}}, store.Page{Limit: 3, Offset: offset})
						if err != nil {
							t.Fatal(err)
						}
						got := make([]int64, 0, len(page))
						for _, row := range page {
							got = append(got, row[0].(int64))
						}
						if w := ordered[min(offset, len(ordered)):min(offset+3, len(ordered))]; !slices.Equal(got, w) && !(len(got) == 0 && len(w) == 0) {
							t.Errorf("%s contains %q, descending %v, 3 from %d: %v, a scan finds %v", name, s, desc, offset, got, w)
						}
					}
				}
			}
		}
	})
}

// A database made before the pending tables had triggers that wrote the FTS table
// directly; a start replaces them, and search goes on finding new and renamed items.
func TestSearchTriggersOfEarlierVersionsUpgraded(t *testing.T) {
	ctx := context.Background()
	p := newPerfType(t, store.SQLite)
	if err := p.st.UseLegacySearchTriggers(ctx, p.etid, "title"); err != nil {
		t.Fatal(err)
	}
	if err := p.st.UpgradeSearchTriggers(ctx); err != nil {
		t.Fatal(err)
	}
	names, err := p.st.TriggerNames(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if strings.HasSuffix(n, "_ai") || strings.HasSuffix(n, "_au") || strings.HasSuffix(n, "_ad") {
			t.Errorf("trigger %s of an earlier version is still there (all: %v)", n, names)
		}
	}
	var id int64
	if err := p.st.InTx(ctx, func(tx *store.Tx) error {
		id, err = tx.InsertItem(ctx, p.etid, p.cols[:1], []any{"Quokka count"}, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	find := func(s string) []int64 { return p.titleContains(t, s) }
	if got := find("okka"); !slices.Equal(got, []int64{id}) {
		t.Fatalf("after the upgrade, a new item is found as %v, want [%d]", got, id)
	}
	if err := p.st.InTx(ctx, func(tx *store.Tx) error {
		return tx.UpdateItem(ctx, p.etid, id, 1, p.cols[:1], []any{"Wombat count"})
	}); err != nil {
		t.Fatal(err)
	}
	if got := find("okka"); len(got) != 0 {
		t.Errorf("the old title is still found: %v", got)
	}
	if got := find("wombat"); !slices.Equal(got, []int64{id}) {
		t.Errorf("the new title is found as %v, want [%d]", got, id)
	}
}

// A substring filter the index answers exactly, on a table with rows waiting to move
// into it, reads neither the page nor the count from a scan of the items table.
func TestExactSubstringPlansSkipTheTable(t *testing.T) {
	ctx := context.Background()
	p := newPerfType(t, store.SQLite)
	p.st.SetSearchSyncEvery(1 << 30)
	p.seed(t, 50, rand.New(rand.NewPCG(1, 2)))
	search := query.Group{Items: []query.Expr{p.cond("title", field.OpContains, "zqx")}}
	table := store.ItemTable(p.etid)
	list, err := p.st.ExplainItems(ctx, p.etid, p.cols, search, []query.Order{{Field: p.f["id"], Desc: true}}, store.Page{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	count, err := p.st.ExplainCount(ctx, p.etid, search)
	if err != nil {
		t.Fatal(err)
	}
	for name, plan := range map[string]string{"page": list, "count": count} {
		if !strings.Contains(plan, table+"_fts_title") {
			t.Errorf("the %s does not use the substring index:\n%s", name, plan)
		}
		for _, line := range strings.Split(plan, "\n") {
			if strings.TrimSpace(line) == "SCAN "+table {
				t.Errorf("the %s scans the items table:\n%s", name, plan)
			}
		}
	}
}
