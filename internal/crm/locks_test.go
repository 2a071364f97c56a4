package crm_test

import (
	"context"
	"testing"
	"time"

	"smartcrm/internal/crm"
	"smartcrm/internal/store"
)

// Editing an item locks its row only as strongly as the edit needs. On PostgreSQL a
// child's link to its parent is a foreign key, checked with a share lock on the
// parent's row: an item added under a contract while someone moves that contract on
// the Kanban goes ahead, rather than waiting for the move to commit. (SQLite has one
// writer: there every write waits for the one before it.)
func TestEditingAnItemDoesNotHoldUpItsChildren(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t, store.Postgres)
	parent, err := svc.AddType(ctx, admin, crm.TypeSpec{Title: ptr("Contracts"), Flags: crm.Flags{crm.FlagStages: true}})
	if err != nil {
		t.Fatal(err)
	}
	child, err := svc.AddType(ctx, admin, crm.TypeSpec{Title: ptr("Visits"),
		Relations: &crm.Relations{Parent: []crm.Relation{{EntityTypeID: parent.EntityTypeID}}}})
	if err != nil {
		t.Fatal(err)
	}
	_, contract, err := svc.AddItem(ctx, admin, parent.EntityTypeID, crm.Patch{crm.FieldTitle: "C-1"})
	if err != nil {
		t.Fatal(err)
	}
	next := parent.StagesOf(contract.CategoryID())[1].StatusID

	editing, finish, edited := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		edited <- svc.Run(ctx, admin, func(u *crm.Unit) error {
			if _, err := u.UpdateItem(parent.EntityTypeID, contract.ID, crm.Patch{crm.FieldStageID: next}, crm.WriteOptions{}); err != nil {
				return err
			}
			close(editing)
			<-finish // the move's transaction stays open
			return nil
		})
	}()
	select {
	case <-editing:
	case err := <-edited:
		t.Fatalf("moving the contract: %v", err)
	}
	actx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, visit, addErr := svc.AddItem(actx, admin, child.EntityTypeID, crm.Patch{crm.FieldTitle: "V-1", crm.ParentField(parent.EntityTypeID): contract.ID})
	close(finish)
	if err := <-edited; err != nil {
		t.Fatalf("the move: %v", err)
	}
	if addErr != nil {
		t.Fatalf("adding a visit under a contract being moved: %v", addErr)
	}
	if got := visit.Get(crm.ParentField(parent.EntityTypeID)); got != contract.ID {
		t.Errorf("the visit's contract: %v, want %d", got, contract.ID)
	}
}
