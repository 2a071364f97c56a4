package store_test

import (
	"context"
	"errors"
	"testing"

	"smartcrm/internal/access"
	"smartcrm/internal/crm"
	"smartcrm/internal/field"
	"smartcrm/internal/query"
	"smartcrm/internal/store"
	"smartcrm/internal/testdb"
)

var admin = access.Actor{UserID: 1, IsAdmin: true}

func seedAdmin(t testing.TB, st *store.Store) {
	t.Helper()
	err := st.InTx(context.Background(), func(tx *store.Tx) error {
		return tx.InsertUser(context.Background(), &store.UserRecord{Name: "Admin", Active: true, IsAdmin: true})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// withType opens a fresh database with the administrator and one smart process.
func withType(t testing.TB, dialect string) (*store.Store, *crm.Service, *crm.Type) {
	t.Helper()
	return withTypeSpec(t, dialect, crm.TypeSpec{Title: ptr("Requests")})
}

// withTypeSpec is withType for a smart process of the given spec.
func withTypeSpec(t testing.TB, dialect string, spec crm.TypeSpec) (*store.Store, *crm.Service, *crm.Type) {
	t.Helper()
	st := testdb.Open(t, dialect)
	seedAdmin(t, st)
	svc := crm.New(st)
	typ, err := svc.AddType(context.Background(), admin, spec)
	if err != nil {
		t.Fatal(err)
	}
	return st, svc, typ
}

func ptr[T any](v T) *T { return &v }

// A write with a stale version is refused, so two writers cannot silently overwrite
// each other.
func TestUpdateWithStaleVersionConflicts(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		st, svc, typ := withType(t, dialect)
		_, it, err := svc.AddItem(ctx, admin, typ.EntityTypeID, crm.Patch{crm.FieldTitle: "v1"})
		if err != nil {
			t.Fatal(err)
		}
		col := []store.Column{{Name: "title", Storage: field.StorageText}}
		write := func(version int64, title string) error {
			return st.InTx(ctx, func(tx *store.Tx) error {
				return tx.UpdateItem(ctx, typ.EntityTypeID, it.ID, version, col, []any{title})
			})
		}
		if err := write(it.Version, "v2"); err != nil {
			t.Fatalf("first write: %v", err)
		}
		if err := write(it.Version, "v3"); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("stale write: %v, want ErrConflict", err)
		}
		_, got, _ := svc.GetItem(ctx, admin, typ.EntityTypeID, it.ID)
		if got.Get(crm.FieldTitle) != "v2" || got.Version != it.Version+1 {
			t.Errorf("after conflict: title %v version %d", got.Get(crm.FieldTitle), got.Version)
		}
	})
}

// Creating a type is one transaction with its DDL: when a late step fails, neither the
// registry row nor the funnel nor the table remains.
func TestFailedTypeCreationLeavesNothing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		st := testdb.Open(t, dialect)
		seedAdmin(t, st)
		svc := crm.New(st)
		// Occupy the table name so that CREATE TABLE fails after the registry insert.
		err := st.InTx(ctx, func(tx *store.Tx) error {
			return tx.CreateItemTable(ctx, 1030, []store.Column{{Name: "x", Storage: field.StorageInt}}, nil)
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.AddType(ctx, admin, crm.TypeSpec{Title: ptr("Doomed"), EntityTypeID: 1030}); err == nil {
			t.Fatal("type creation over an existing table succeeded")
		}
		n, err := st.CountTypes(ctx, emptyFilter())
		if err != nil || n != 0 {
			t.Fatalf("registry rows after failure: %d (%v)", n, err)
		}
		cats, err := st.Categories(ctx, 1030)
		if err != nil || len(cats) != 0 {
			t.Fatalf("funnels after failure: %d (%v)", len(cats), err)
		}
		// Deleting the leftover table frees the id; creation then works end to end.
		if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.DropItemTable(ctx, 1030) }); err != nil {
			t.Fatal(err)
		}
		typ, err := svc.AddType(ctx, admin, crm.TypeSpec{Title: ptr("Fine"), EntityTypeID: 1030})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.AddItem(ctx, admin, typ.EntityTypeID, crm.Patch{}); err != nil {
			t.Fatal(err)
		}
	})
}

func emptyFilter() (g query.Group) { return g }

// Concurrent changes that share a group commit keep their own outcome: a change that
// fails leaves nothing, even after writing, and its neighbours are kept.
func TestConcurrentChangesKeepTheirOwnOutcome(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		st, _, typ := withType(t, dialect)
		col := []store.Column{{Name: "title", Storage: field.StorageText}}
		errFail := errors.New("refused after writing")
		const n = 200
		results := make(chan error, n)
		for i := 0; i < n; i++ {
			go func(i int) {
				results <- st.InTx(ctx, func(tx *store.Tx) error {
					if _, err := tx.InsertItem(ctx, typ.EntityTypeID, col, []any{"kept"}, nil); err != nil {
						return err
					}
					if i%3 == 0 {
						_, _ = tx.InsertItem(ctx, typ.EntityTypeID, col, []any{"dropped"}, nil)
						return errFail
					}
					if i%7 == 0 {
						panic("a bug in one change")
					}
					return nil
				})
			}(i)
		}
		wantFailed, failed := 0, 0
		for i := 0; i < n; i++ {
			if i%3 == 0 || i%7 == 0 {
				wantFailed++
			}
			if err := <-results; err != nil {
				failed++
			}
		}
		if failed != wantFailed {
			t.Errorf("%d changes failed, want %d", failed, wantFailed)
		}
		titleField := typ.Fields()[2]
		count := func(title string) int {
			g := query.Group{Items: []query.Expr{query.Cond{Field: &query.Field{Name: "title", Column: titleField.Column, Type: titleField.Type}, Op: field.OpEq, Value: title}}}
			c, err := st.CountItems(ctx, typ.EntityTypeID, g)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		if got := count("kept"); got != n-wantFailed {
			t.Errorf("kept rows: %d, want %d", got, n-wantFailed)
		}
		if got := count("dropped"); got != 0 {
			t.Errorf("rows of failed changes survived: %d", got)
		}
	})
}

// Reading an item, a funnel's counters or a Kanban column is a point read: it holds the
// spare search slot back (lanes.go); a substring list is not one.
func TestPointReadsAreNoted(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		st, svc, typ := withType(t, dialect)
		_, it, err := svc.AddItem(ctx, admin, typ.EntityTypeID, crm.Patch{crm.FieldTitle: "Read me"})
		if err != nil {
			t.Fatal(err)
		}
		title, _ := typ.FieldByName(string(crm.FieldTitle))
		search := crm.ItemQuery{Where: query.Group{Items: []query.Expr{query.Cond{Field: typ.QueryField(title), Op: field.OpContains, Value: "ead"}}}}
		reads := []struct {
			name  string
			point bool
			read  func() error
		}{
			{"a substring list", false, func() error { _, _, err := svc.ListItems(ctx, admin, typ.EntityTypeID, search); return err }},
			{"an item", true, func() error { _, _, err := svc.GetItem(ctx, admin, typ.EntityTypeID, it.ID); return err }},
			{"a funnel's counters", true, func() error { _, err := st.StageCounts(ctx, typ.EntityTypeID, it.CategoryID()); return err }},
			{"a Kanban column", true, func() error {
				_, _, err := svc.ListItems(store.PointRead(ctx), admin, typ.EntityTypeID, crm.ItemQuery{})
				return err
			}},
		}
		for _, r := range reads {
			before := st.LastPointRead()
			if err := r.read(); err != nil {
				t.Fatalf("%s: %v", r.name, err)
			}
			if noted := st.LastPointRead().After(before); noted != r.point {
				t.Errorf("%s: noted as a point read %v, want %v", r.name, noted, r.point)
			}
		}
	})
}
