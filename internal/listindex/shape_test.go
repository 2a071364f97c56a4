package listindex_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"smartcrm/internal/apitest"
	"smartcrm/internal/crm"
	"smartcrm/internal/customfield"
	"smartcrm/internal/field"
	"smartcrm/internal/listindex"
	"smartcrm/internal/query"
	"smartcrm/internal/testdb"
)

// A shape seen often and slow — equality, range and order — gets both its indexes:
// the one that walks the order and the one the count reads.
func TestObservedShapeGetsOrderAndCountIndexes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		st, svc, typ := newType(t, dialect, "Observed")
		cf := customfield.New(svc)
		var names []string
		for _, k := range []string{"STATUS:string", "AMOUNT:double"} {
			uf, err := cf.Add(ctx, admin, typ.EntityTypeID, customfield.Spec{Name: fmt.Sprintf("UF_CRM_%d_%s", typ.ID, k[:6]), Kind: k[7:]})
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, uf.Name)
		}
		typ, err := svc.ItemType(ctx, admin, typ.EntityTypeID)
		if err != nil {
			t.Fatal(err)
		}
		ix := listindex.New(st, svc, listindex.Config{MinSeen: 3, MinAvg: time.Nanosecond, Quiet: time.Millisecond})
		ix.Start()
		defer ix.Close()
		status, _ := typ.FieldByName(names[0])
		amount, _ := typ.FieldByName(names[1])
		created, _ := typ.FieldByName(string(crm.FieldCreatedTime))
		where := query.Group{Items: []query.Expr{query.Cond{Field: typ.QueryField(status), Op: field.OpEq, Value: "a"},
			query.Cond{Field: typ.QueryField(amount), Op: field.OpGt, Value: 5.0}}}
		for range 3 {
			if _, _, err := svc.ListItems(ctx, admin, typ.EntityTypeID, crm.ItemQuery{Where: where, Order: []query.Order{{Field: typ.QueryField(created), Desc: true}}}); err != nil {
				t.Fatal(err)
			}
		}
		apitest.Eventually(t, "both indexes", 10*time.Second, func() (bool, string) {
			_, got, err := ix.List(ctx, admin, typ.EntityTypeID)
			return err == nil && len(got) == 2, fmt.Sprint(got, err)
		})
	})
}

// Items have no index on their update time (every edit would write into it, see
// crm's itemIndexes); an integration polling for changes — `>updatedTime`, ordered by
// it — gets one once its list is seen often and slow.
func TestPollingForChangesGetsAnIndex(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		st, svc, typ := newType(t, dialect, "Polled")
		ix := listindex.New(st, svc, listindex.Config{MinSeen: 3, MinAvg: time.Nanosecond, Quiet: time.Millisecond})
		ix.Start()
		defer ix.Close()
		updated, _ := typ.FieldByName(string(crm.FieldUpdatedTime))
		since := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		where := query.Group{Items: []query.Expr{query.Cond{Field: typ.QueryField(updated), Op: field.OpGt, Value: since}}}
		for range 3 {
			if _, _, err := svc.ListItems(ctx, admin, typ.EntityTypeID, crm.ItemQuery{Where: where, Order: []query.Order{{Field: typ.QueryField(updated)}}}); err != nil {
				t.Fatal(err)
			}
		}
		apitest.Eventually(t, "an index led by updated_time", 10*time.Second, func() (bool, string) {
			_, got, err := ix.List(ctx, admin, typ.EntityTypeID)
			for _, x := range got {
				if len(x.Columns) > 0 && x.Columns[0] == "updated_time" {
					return true, ""
				}
			}
			return false, fmt.Sprint(got, err)
		})
	})
}
