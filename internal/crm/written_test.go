package crm_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"smartcrm/internal/change"
	"smartcrm/internal/crm"
	"smartcrm/internal/customfield"
	"smartcrm/internal/itemcache"
	"smartcrm/internal/store"
	"smartcrm/internal/testdb"
)

// twoServersOneItem opens a database with two services over it, as two servers would
// share it, and has the first add an item to a new type with stages.
func twoServersOneItem(t *testing.T, dialect string, patch crm.Patch) (a, b *crm.Service, st *store.Store, typ *crm.Type, it *crm.Item) {
	t.Helper()
	ctx := context.Background()
	a, st = newService(t, dialect)
	typ, err := a.AddType(ctx, admin, crm.TypeSpec{Title: ptr("Requests"), Flags: crm.Flags{crm.FlagStages: true}})
	if err != nil {
		t.Fatal(err)
	}
	if _, it, err = a.AddItem(ctx, admin, typ.EntityTypeID, patch); err != nil {
		t.Fatal(err)
	}
	return a, crm.New(st), st, typ, it
}

// An update may start from the item as this server last wrote it instead of reading it
// (PostgreSQL). Another server on the same database — here a second service over the
// same store — changes items behind its back: every update must still apply to the
// item as it is, never to the remembered one, and never write twice.
func TestUpdatesSeeChangesMadeElsewhere(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		a, b, st, typ, it := twoServersOneItem(t, dialect, crm.Patch{crm.FieldTitle: "Fix the roof"})
		stages := typ.StagesOf(it.CategoryID())
		s1, s2, s3 := stages[0].StatusID, stages[1].StatusID, stages[2].StatusID
		move := func(svc *crm.Service, to string) *crm.Item {
			t.Helper()
			_, got, err := svc.UpdateItem(ctx, admin, typ.EntityTypeID, it.ID, crm.Patch{crm.FieldStageID: to}, crm.WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		lastMove := func() *change.StageMove {
			t.Helper()
			all := changes(t, st)
			return all[len(all)-1].Stage
		}
		if it.StageID() != s1 {
			t.Fatalf("new item in %s, want %s", it.StageID(), s1)
		}

		// Elsewhere the item moves on; here it is remembered in s1.
		move(b, s2)
		got := move(a, s3)
		if got.StageID() != s3 || got.Version != 3 {
			t.Fatalf("after the move here: %s v%d, want %s v3", got.StageID(), got.Version, s3)
		}
		if m := lastMove(); m == nil || m.From != s2 || m.To != s3 {
			t.Fatalf("the move here was announced as %+v, want from %s (where the other server put it) to %s", m, s2, s3)
		}

		// Elsewhere it moves to s1; a move here to s1 then changes nothing, although
		// the remembered item (in s3) says it would.
		move(b, s1)
		before := len(changes(t, st))
		if got := move(a, s1); got.StageID() != s1 || got.Version != 4 {
			t.Fatalf("a move to where the item already is: %s v%d, want %s v4", got.StageID(), got.Version, s1)
		}
		if n := len(changes(t, st)); n != before {
			t.Fatalf("a move to where the item already is wrote %d changes", n-before)
		}

		// Elsewhere it moves to s2; a move here to s3 — where the remembered item
		// still is — must move it.
		_, _, err := a.UpdateItem(ctx, admin, typ.EntityTypeID, it.ID, crm.Patch{crm.FieldTitle: "Fix the roof today"}, crm.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		move(a, s3)
		move(b, s2)
		if got := move(a, s3); got.StageID() != s3 || got.Version != 8 || got.Get(crm.FieldTitle) != "Fix the roof today" {
			t.Fatalf("a move from where the other server put it: %s v%d %q, want %s v8", got.StageID(), got.Version, got.Get(crm.FieldTitle), s3)
		}
		if m := lastMove(); m == nil || m.From != s2 || m.To != s3 {
			t.Fatalf("announced as %+v, want from %s to %s", m, s2, s3)
		}

		// Elsewhere it is deleted: an update here finds nothing.
		if err := b.DeleteItem(ctx, admin, typ.EntityTypeID, it.ID); err != nil {
			t.Fatal(err)
		}
		_, _, err = a.UpdateItem(ctx, admin, typ.EntityTypeID, it.ID, crm.Patch{crm.FieldStageID: s1}, crm.WriteOptions{})
		if crm.KindOf(err) != crm.ErrItemNotFound {
			t.Fatalf("updating an item deleted elsewhere: %v", err)
		}
	})
}

// What an update starts from when it does not read the item is the item as the server
// wrote it. It must be the item as the database holds it, value for value, or changes
// would be announced with wrong before-values and answered with wrong fields.
// everyKindItem adds a type with a custom field of every kind, single and multiple,
// and an item with a value in each.
func everyKindItem(t *testing.T, dialect string) (a *crm.Service, st *store.Store, typ *crm.Type, it *crm.Item) {
	t.Helper()
	ctx := context.Background()
	a, st = newService(t, dialect)
	typ, err := a.AddType(ctx, admin, crm.TypeSpec{Title: ptr("Every kind"), Flags: crm.Flags{crm.FlagStages: true}})
	if err != nil {
		t.Fatal(err)
	}
	kinds := []string{"string", "integer", "double", "boolean", "date", "datetime", "enumeration", "money", "url", "employee", "address"}
	values := map[string]any{"string": "some text", "integer": "42", "double": "3.14", "boolean": "Y", "date": "2026-03-01",
		"datetime": "2026-03-01T10:00:00+03:00", "money": "300|EUR", "url": "https://example.org", "employee": "1", "address": "Main st. 1"}
	patch := crm.Patch{crm.FieldTitle: "All of them", crm.FieldOpportunity: 1250.5}
	for i, k := range kinds {
		for _, multiple := range []bool{false, true} {
			if multiple && k == "boolean" {
				continue // a yes/no field cannot be multiple
			}
			name := fmt.Sprintf("UF_CRM_%d_F%c", typ.ID, 'A'+i)
			if multiple {
				name += "_MANY"
			}
			spec := customfield.Spec{Name: name, Kind: k, Multiple: multiple}
			if k == "enumeration" {
				spec.Enums = []customfield.EnumChange{{Value: ptr("One")}, {Value: ptr("Two")}}
			}
			rec, err := customfield.New(a).Add(ctx, admin, typ.EntityTypeID, spec)
			if err != nil {
				t.Fatalf("%s field: %v", k, err)
			}
			v := values[k]
			if k == "enumeration" {
				v = fmt.Sprint(rec.Enums[1].ID)
			}
			if multiple {
				v = []any{v, v}
			}
			patch[crm.FieldName(crm.CamelUFName(rec.Name))] = v
		}
	}
	typ, err = a.GetType(ctx, admin, typ.EntityTypeID, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, it, err = a.AddItem(ctx, admin, typ.EntityTypeID, patch); err != nil {
		t.Fatal(err)
	}
	return a, st, typ, it
}

func TestItemsAsLastWrittenAreAsStored(t *testing.T) {
	ctx := context.Background()
	a, st, typ, it := everyKindItem(t, "postgres")
	check := func(when string) {
		t.Helper()
		kept, ok := a.WrittenItem(typ, it.ID)
		if !ok {
			t.Fatalf("%s: the item is not kept as written", when)
		}
		_, stored, err := crm.New(st).GetItem(ctx, admin, typ.EntityTypeID, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		if kept.Version != stored.Version {
			t.Errorf("%s: version kept %d, stored %d", when, kept.Version, stored.Version)
		}
		for _, f := range typ.Fields() {
			if !f.Stored() {
				continue
			}
			if k, s := comparable(kept.Get(f.Name)), comparable(stored.Get(f.Name)); k != s {
				t.Errorf("%s: %s kept as %s, stored as %s", when, f.Name, k, s)
			}
		}
	}
	check("after the add")
	stages := typ.StagesOf(it.CategoryID())
	if _, _, err := a.UpdateItem(ctx, admin, typ.EntityTypeID, it.ID, crm.Patch{crm.FieldStageID: stages[1].StatusID, crm.FieldTitle: "Moved"}, crm.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	check("after a move")
}

// A list page keeps its items' values in their rows rather than in maps: every field
// of every kind reads back from a list as from a get, with all fields selected and
// with a few, and a field left out of the select reads as empty.
func TestListItemsAreAsStored(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		a, _, typ, it := everyKindItem(t, dialect)
		_, stored, err := a.GetItem(ctx, admin, typ.EntityTypeID, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		var some []*crm.Field
		for _, f := range typ.Fields() {
			if f.UserField() != nil && len(some) < 3 || f.Name == crm.FieldTitle {
				some = append(some, f)
			}
		}
		for _, sel := range [][]*crm.Field{nil, some} {
			_, list, err := a.ListItems(ctx, admin, typ.EntityTypeID, crm.ItemQuery{Select: sel})
			if err != nil {
				t.Fatal(err)
			}
			if len(list.Items) != 1 {
				t.Fatalf("%d items listed, want 1", len(list.Items))
			}
			got := list.Items[0]
			if got.ID != stored.ID || got.Version != stored.Version || got.StageID() != stored.StageID() && sel == nil {
				t.Fatalf("listed item %d v%d in %q, stored %d v%d in %q", got.ID, got.Version, got.StageID(), stored.ID, stored.Version, stored.StageID())
			}
			for _, f := range typ.Fields() {
				if !f.Stored() {
					continue
				}
				want := comparable(stored.Get(f.Name))
				if sel != nil && !slices.Contains(sel, f) {
					want = comparable(nil)
				}
				if g := comparable(got.Get(f.Name)); g != want {
					t.Errorf("select %d fields: %s listed as %s, want %s", len(sel), f.Name, g, want)
				}
			}
		}
	})
}

// comparable spells a value with its Go type, times as instants.
func comparable(v any) string {
	switch x := v.(type) {
	case time.Time:
		return "time " + x.UTC().Format(time.RFC3339Nano)
	case []any:
		s := "["
		for _, e := range x {
			s += comparable(e) + " "
		}
		return s + "]"
	}
	return fmt.Sprintf("%T %v", v, v)
}

// An integration reads an item and writes it back changed. On PostgreSQL the update
// starts from the item as read (one round trip: its writes and the version check),
// and the read's item being stale by then — another server moved it in between —
// costs a retry, never a lost change.
func TestReadThenWriteStartsFromTheRead(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		a, b, _, typ, it := twoServersOneItem(t, dialect, crm.Patch{crm.FieldTitle: "Fix the roof"})
		stages := typ.StagesOf(it.CategoryID())
		get := func(svc *crm.Service) *crm.Item {
			t.Helper()
			_, got, err := svc.GetItem(ctx, admin, typ.EntityTypeID, it.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		update := func(svc *crm.Service, p crm.Patch) *crm.Item {
			t.Helper()
			_, got, err := svc.UpdateItem(ctx, admin, typ.EntityTypeID, it.ID, p, crm.WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return got
		}

		// b has never written the item: its read is what the update starts from.
		get(b)
		trips, hits := store.RoundTrips(), itemcache.Hits()
		got := update(b, crm.Patch{crm.FieldStageID: stages[1].StatusID})
		if got.StageID() != stages[1].StatusID || got.Version != 2 {
			t.Fatalf("after the update: %s v%d, want %s v2", got.StageID(), got.Version, stages[1].StatusID)
		}
		if dialect == store.Postgres {
			if n := itemcache.Hits() - hits; n != 1 {
				t.Errorf("the update after a read found the item remembered %d times, want 1", n)
			}
			if n := store.RoundTrips() - trips; n != 1 {
				t.Errorf("the update after a read took %d round trips, want 1", n)
			}
		}

		// b reads, a moves the item on, b renames it: the rename lands on the item
		// where a put it.
		get(b)
		update(a, crm.Patch{crm.FieldStageID: stages[2].StatusID})
		got = update(b, crm.Patch{crm.FieldTitle: "Fix the roof and the gutter"})
		if got.StageID() != stages[2].StatusID || got.Title(typ) != "Fix the roof and the gutter" || got.Version != 4 {
			t.Fatalf("after a stale read: %s %q v%d, want %s, the new title, v4", got.StageID(), got.Title(typ), got.Version, stages[2].StatusID)
		}
		if stored := get(a); stored.StageID() != stages[2].StatusID || stored.Title(typ) != got.Title(typ) || stored.Version != 4 {
			t.Fatalf("stored: %s %q v%d", stored.StageID(), stored.Title(typ), stored.Version)
		}
	})
}

// Writers in two servers move one item at once, each starting from the item as it last
// wrote it where it can. Every write that commits is one move from where the item
// really was: the stage history has one row per version, and the funnel's counters
// hold the item once, in its stage.
func TestConcurrentMovesStayExact(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		a, b, st, typ, it := twoServersOneItem(t, dialect, crm.Patch{})
		stages := typ.StagesOf(it.CategoryID())
		errs := make(chan error, 8)
		for w := range 8 {
			svc := []*crm.Service{a, b}[w%2]
			go func() {
				for i := range 15 {
					to := stages[(w+i)%3].StatusID
					if _, _, err := svc.UpdateItem(ctx, admin, typ.EntityTypeID, it.ID, crm.Patch{crm.FieldStageID: to}, crm.WriteOptions{}); err != nil && crm.KindOf(err) != crm.ErrConflict {
						errs <- err
						return
					}
				}
				errs <- nil
			}()
		}
		for range 8 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		_, final, err := crm.New(st).GetItem(ctx, admin, typ.EntityTypeID, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		moves, err := st.CountStageMoves(ctx, typ.EntityTypeID, emptyGroup())
		if err != nil {
			t.Fatal(err)
		}
		if int64(moves) != final.Version { // the row of its creation, then one per write
			t.Errorf("%d stage history rows for an item at version %d", moves, final.Version)
		}
		counts, err := st.StageCounts(ctx, typ.EntityTypeID, it.CategoryID())
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range counts {
			if want := map[bool]int64{true: 1}[c.StageID == final.StageID()]; c.Items != want {
				t.Errorf("stage %s counts %d items, want %d (the item is in %s)", c.StageID, c.Items, want, final.StageID())
			}
		}
	})
}
