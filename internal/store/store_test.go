package store_test

import (
	"context"
	"errors"
	"testing"

	"smartcrm/internal/crm"
	"smartcrm/internal/crm/field"
	"smartcrm/internal/params"
	"smartcrm/internal/query"
	"smartcrm/internal/store"
	"smartcrm/internal/testdb"
)

var admin = crm.Actor{UserID: 1, IsAdmin: true}

func seedAdmin(t *testing.T, st *store.Store) {
	t.Helper()
	err := st.InTx(context.Background(), func(tx *store.Tx) error {
		return tx.InsertUser(context.Background(), &store.UserRecord{Name: "Admin", Active: true, IsAdmin: true})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func fields(kv ...any) *params.Object {
	o := params.NewObject()
	for i := 0; i < len(kv); i += 2 {
		o.Set(kv[i].(string), kv[i+1])
	}
	return o
}

// A write with a stale version is refused, so two writers cannot silently overwrite
// each other.
func TestUpdateWithStaleVersionConflicts(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		st := testdb.Open(t, dialect)
		seedAdmin(t, st)
		svc := crm.New(st)
		typ, err := svc.AddType(ctx, admin, fields("title", "Requests"))
		if err != nil {
			t.Fatal(err)
		}
		_, it, err := svc.AddItem(ctx, admin, typ.EntityTypeID, fields("title", "v1"))
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
		if got.Get("title") != "v2" || got.Version != it.Version+1 {
			t.Errorf("after conflict: title %v version %d", got.Get("title"), got.Version)
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
		if _, err := svc.AddType(ctx, admin, fields("title", "Doomed", "entityTypeId", 1030)); err == nil {
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
		typ, err := svc.AddType(ctx, admin, fields("title", "Fine", "entityTypeId", 1030))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.AddItem(ctx, admin, typ.EntityTypeID, fields()); err != nil {
			t.Fatal(err)
		}
	})
}

func emptyFilter() (g query.Group) { return g }
