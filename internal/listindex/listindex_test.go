package listindex_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"smartcrm/internal/access"
	"smartcrm/internal/apitest"
	"smartcrm/internal/crm"
	"smartcrm/internal/customfield"
	"smartcrm/internal/field"
	"smartcrm/internal/listindex"
	"smartcrm/internal/query"
	"smartcrm/internal/store"
	"smartcrm/internal/testdb"
)

var admin = access.Actor{UserID: 1, IsAdmin: true}

// newType opens a fresh database with the administrator and one smart process.
func newType(t *testing.T, dialect, title string) (*store.Store, *crm.Service, *crm.Type) {
	t.Helper()
	ctx := context.Background()
	st := testdb.Open(t, dialect)
	if err := st.InTx(ctx, func(tx *store.Tx) error {
		return tx.InsertUser(ctx, &store.UserRecord{Name: "Admin", Active: true, IsAdmin: true})
	}); err != nil {
		t.Fatal(err)
	}
	svc := crm.New(st)
	typ, err := svc.AddType(ctx, admin, crm.TypeSpec{Title: &title})
	if err != nil {
		t.Fatal(err)
	}
	return st, svc, typ
}

// A saved filter's shape gets its indexes the first time it runs slow, without being
// seen often; only administrators manage list indexes.
func TestSavedFilterShapeAndAccess(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		st, svc, typ := newType(t, dialect, "Saved")
		uf, err := customfield.New(svc).Add(ctx, admin, typ.EntityTypeID, customfield.Spec{Name: fmt.Sprintf("UF_CRM_%d_CITY", typ.ID), Kind: "string"})
		if err != nil {
			t.Fatal(err)
		}
		if typ, err = svc.ItemType(ctx, admin, typ.EntityTypeID); err != nil {
			t.Fatal(err)
		}
		// Seen once, slower than MinAvg: only a wanted shape gets indexes that soon.
		ix := listindex.New(st, svc, listindex.Config{MinSeen: 1000, MinAvg: time.Nanosecond, Quiet: time.Millisecond})
		ix.Start()
		defer ix.Close()
		city, _ := typ.FieldByName(uf.Name)
		created, _ := typ.FieldByName(string(crm.FieldCreatedTime))
		where := query.Group{Items: []query.Expr{query.Cond{Field: typ.QueryField(city), Op: field.OpEq, Value: "Oslo"}}}
		order := []query.Order{{Field: typ.QueryField(created), Desc: true}}
		list := func() {
			if _, _, err := svc.ListItems(ctx, admin, typ.EntityTypeID, crm.ItemQuery{Where: where, Order: order}); err != nil {
				t.Fatal(err)
			}
		}
		list()
		ix.Want(typ.EntityTypeID, where, order)
		list()
		apitest.Eventually(t, "the saved filter's index", 10*time.Second, func() (bool, string) {
			_, got, err := ix.List(ctx, admin, typ.EntityTypeID)
			return err == nil && len(got) == 1 && got[0].Origin == store.OriginFilter, fmt.Sprint(got, err)
		})
		user := access.Actor{UserID: 2}
		if _, _, err := ix.List(ctx, user, typ.EntityTypeID); crm.KindOf(err) != crm.ErrAccessDenied {
			t.Errorf("a user lists list indexes: %v", err)
		}
		if _, err := ix.Add(ctx, user, typ.EntityTypeID, []*crm.Field{city}); crm.KindOf(err) != crm.ErrAccessDenied {
			t.Errorf("a user adds a list index: %v", err)
		}
	})
}
