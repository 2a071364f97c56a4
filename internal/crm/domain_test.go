package crm_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"smartcrm/internal/access"
	"smartcrm/internal/change"
	"smartcrm/internal/crm"
	"smartcrm/internal/customfield"
	"smartcrm/internal/query"
	"smartcrm/internal/store"
	"smartcrm/internal/testdb"
)

var admin = access.Actor{UserID: 1, IsAdmin: true, Origin: access.OriginPerson}

func ptr[T any](v T) *T { return &v }

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

func emptyGroup() (g query.Group) { return g }

// newService opens a fresh database with the administrator and returns the domain over it.
func newService(t *testing.T, dialect string) (*crm.Service, *store.Store) {
	t.Helper()
	ctx := context.Background()
	st := testdb.Open(t, dialect)
	if err := st.InTx(ctx, func(tx *store.Tx) error {
		return tx.InsertUser(ctx, &store.UserRecord{Name: "Admin", Active: true, IsAdmin: true})
	}); err != nil {
		t.Fatal(err)
	}
	svc := crm.New(st)
	if err := svc.EnsureStandardTypes(ctx); err != nil {
		t.Fatal(err)
	}
	return svc, st
}

// changes reads back every change the outbox holds.
func changes(t *testing.T, st *store.Store) []*change.Change {
	t.Helper()
	rows, err := st.OutboxAfter(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*change.Change, len(rows))
	for i, r := range rows {
		if out[i], err = change.Decode([]byte(r.Payload)); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// The domain speaks Go: a type, its field and its items are made with typed values, as
// a form, a robot or a process file makes them, and each change is announced by one
// Change with what it changed.
func TestTypedWritesEmitChanges(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		svc, st := newService(t, dialect)
		typ, err := svc.AddType(ctx, admin, crm.TypeSpec{Title: ptr("Leave requests"), Flags: crm.Flags{crm.FlagStages: true}})
		if err != nil {
			t.Fatal(err)
		}
		uf, err := customfield.New(svc).Add(ctx, admin, typ.EntityTypeID, customfield.Spec{Name: "UF_CRM_" + itoa(typ.ID) + "_DAYS", Kind: "integer"})
		if err != nil {
			t.Fatal(err)
		}
		days := crm.FieldName(crm.CamelUFName(uf.Name))
		_, it, err := svc.AddItem(ctx, admin, typ.EntityTypeID, crm.Patch{crm.FieldTitle: "Summer", days: 10})
		if err != nil {
			t.Fatal(err)
		}
		if it.Get(days) != int64(10) || it.Title(typ) != "Summer" || it.StageID() == "" {
			t.Fatalf("added item: %v %v %q", it.Get(days), it.Title(typ), it.StageID())
		}
		next := typ.StagesOf(it.CategoryID())[1].StatusID
		robot := access.Actor{UserID: 1, Origin: access.OriginRobot, Depth: 1}
		_, moved, err := svc.UpdateItem(ctx, robot, typ.EntityTypeID, it.ID, crm.Patch{crm.FieldStageID: next, days: "12"}, crm.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.DeleteItem(ctx, admin, typ.EntityTypeID, it.ID); err != nil {
			t.Fatal(err)
		}

		var got []*change.Change
		for _, c := range changes(t, st) {
			if c.EntityTypeID == typ.EntityTypeID {
				got = append(got, c)
			}
		}
		kinds := ""
		for _, c := range got {
			kinds += c.Topic() + " "
		}
		if kinds != "type.add field.add item.add item.update item.delete " {
			t.Fatalf("changes: %s", kinds)
		}
		add, upd, del := got[2], got[3], got[4]
		if add.ID != it.ID || add.After["title"] != "Summer" || add.Stage == nil || add.Stage.To != it.StageID() || add.Origin != "person" {
			t.Errorf("add: %+v", add)
		}
		if upd.Before[string(days)] != float64(10) || upd.After[string(days)] != float64(12) || upd.Stage == nil ||
			upd.Stage.From != it.StageID() || upd.Stage.To != next || upd.Origin != "robot" || upd.Depth != 1 {
			t.Errorf("update: %+v", upd)
		}
		if moved.Version != it.Version+1 {
			t.Errorf("version after update: %d, was %d", moved.Version, it.Version)
		}
		if del.Kind != change.Deleted || del.ID != it.ID {
			t.Errorf("delete: %+v", del)
		}
	})
}

// Several changes compose in one unit: they commit together or not at all, what waits
// for the commit runs only after it, and a unit cannot be opened inside another.
func TestUnitsComposeAtomically(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		svc, st := newService(t, dialect)
		committed := 0
		errLate := errors.New("a later step failed")
		err := svc.Run(ctx, admin, func(u *crm.Unit) error {
			typ, err := u.AddType(crm.TypeSpec{Title: ptr("Visits")})
			if err != nil {
				return err
			}
			if _, err := customfield.AddIn(u, typ.EntityTypeID, customfield.Spec{Name: "UF_CRM_" + itoa(typ.ID) + "_ADDRESS", Kind: "address"}); err != nil {
				return err
			}
			// The unit sees its own registry changes: the new field takes a value at once.
			if _, err := u.AddItem(typ.EntityTypeID, crm.Patch{crm.FieldTitle: "Kitchen", "UF_CRM_" + crm.FieldName(itoa(typ.ID)) + "_ADDRESS": "Main st. 1"}); err != nil {
				return err
			}
			u.AfterCommit(func() { committed++ })
			return errLate
		})
		if !errors.Is(err, errLate) {
			t.Fatalf("run: %v", err)
		}
		if n, _ := st.CountTypes(ctx, emptyGroup()); n != 0 || committed != 0 {
			t.Fatalf("after a failed unit: %d types, %d after-commit hooks ran", n, committed)
		}
		if len(changes(t, st)) != 0 {
			t.Fatalf("a failed unit left changes in the outbox")
		}

		var typ *crm.Type
		err = svc.Run(ctx, admin, func(u *crm.Unit) (err error) {
			if typ, err = u.AddType(crm.TypeSpec{Title: ptr("Visits")}); err != nil {
				return err
			}
			if _, err := u.AddItem(typ.EntityTypeID, crm.Patch{crm.FieldTitle: "Kitchen"}); err != nil {
				return err
			}
			u.AfterCommit(func() { committed++ })
			return svc.Run(u.Ctx(), admin, func(*crm.Unit) error { return nil })
		})
		if !errors.Is(err, crm.ErrNestedUnit) {
			t.Fatalf("a unit inside a unit: %v", err)
		}
		err = svc.Run(ctx, admin, func(u *crm.Unit) (err error) {
			if typ, err = u.AddType(crm.TypeSpec{Title: ptr("Visits")}); err != nil {
				return err
			}
			_, err = u.AddItem(typ.EntityTypeID, crm.Patch{crm.FieldTitle: "Kitchen"})
			u.AfterCommit(func() { committed++ })
			return err
		})
		if err != nil || committed != 1 {
			t.Fatalf("unit: %v, %d hooks", err, committed)
		}
		// After the commit, the cache knows the new type.
		if _, list, err := svc.ListItems(ctx, admin, typ.EntityTypeID, crm.ItemQuery{}); err != nil || len(list.Items) != 1 {
			t.Fatalf("items of the new type: %v %v", list, err)
		}
	})
}

// The access step is a real call: a policy that refuses stops reads and writes, and
// changes nothing.
func TestAccessPolicyStopsReadsAndWrites(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		svc, st := newService(t, dialect)
		_, deal, err := svc.AddItem(ctx, admin, 2, crm.Patch{crm.FieldTitle: "Boiler"})
		if err != nil {
			t.Fatal(err)
		}
		before := len(changes(t, st))
		guest := access.Actor{UserID: 2, Origin: access.OriginWebhook}
		var asked []access.Action
		svc.SetPolicy(access.PolicyFunc(func(a access.Actor, act access.Action, r access.Resource) error {
			if a.UserID == guest.UserID && r.EntityTypeID == 2 {
				asked = append(asked, act)
				return access.ErrDenied
			}
			return nil
		}))
		denied := func(what string, err error) {
			t.Helper()
			if crm.KindOf(err) != crm.ErrAccessDenied {
				t.Errorf("%s: %v, want access denied", what, err)
			}
		}
		_, _, err = svc.GetItem(ctx, guest, 2, deal.ID)
		denied("read", err)
		_, _, err = svc.ListItems(ctx, guest, 2, crm.ItemQuery{})
		denied("list", err)
		_, _, err = svc.UpdateItem(ctx, guest, 2, deal.ID, crm.Patch{crm.FieldTitle: "Stolen"}, crm.WriteOptions{})
		denied("update", err)
		_, _, err = svc.AddItem(ctx, guest, 2, crm.Patch{crm.FieldTitle: "Forged"})
		denied("add", err)
		denied("delete", svc.DeleteItem(ctx, guest, 2, deal.ID))
		if len(asked) == 0 {
			t.Fatal("the policy was never asked")
		}
		if _, it, err := svc.GetItem(ctx, admin, 2, deal.ID); err != nil || it.Get(crm.FieldTitle) != "Boiler" {
			t.Errorf("the deal after refused writes: %v", err)
		}
		if n := len(changes(t, st)); n != before {
			t.Errorf("refused writes left %d changes", n-before)
		}
	})
}

// An update that names the version it read is refused when the item changed since.
func TestUpdateIfVersion(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		svc, _ := newService(t, dialect)
		_, it, err := svc.AddItem(ctx, admin, 2, crm.Patch{crm.FieldTitle: "v1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.UpdateItem(ctx, admin, 2, it.ID, crm.Patch{crm.FieldTitle: "v2"}, crm.WriteOptions{IfVersion: it.Version}); err != nil {
			t.Fatal(err)
		}
		_, _, err = svc.UpdateItem(ctx, admin, 2, it.ID, crm.Patch{crm.FieldTitle: "v3"}, crm.WriteOptions{IfVersion: it.Version})
		if crm.KindOf(err) != crm.ErrStaleVersion {
			t.Fatalf("stale version: %v", err)
		}
		if _, got, _ := svc.GetItem(ctx, admin, 2, it.ID); got.Get(crm.FieldTitle) != "v2" {
			t.Errorf("title after the refused update: %v", got.Get(crm.FieldTitle))
		}
	})
}
