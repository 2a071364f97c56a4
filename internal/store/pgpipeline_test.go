package store_test

import (
	"context"
	"testing"

	"smartcrm/internal/crm"
	"smartcrm/internal/store"
	"smartcrm/internal/testdb"
)

// On PostgreSQL an add and a stage move each cost two round trips: BEGIN travels with
// the first statement (the INSERT, or the update's locking read) and the appended rows
// (history, counters, timeline, outbox) with COMMIT. More would mean the pipeline broke
// and writes wait on the network again.
func TestWritesTakeFewRoundTripsOnPostgres(t *testing.T) {
	ctx := context.Background()
	_, svc, typ := withTypeSpec(t, store.Postgres, crm.TypeSpec{Title: ptr("Pipelined"), Flags: crm.Flags{crm.FlagStages: true}})
	stages := typ.StagesOf(typ.DefaultCategory().ID)
	// The first add reads what the domain caches (users, numbering); the rest are
	// the steady state.
	if _, _, err := svc.AddItem(ctx, admin, typ.EntityTypeID, crm.Patch{crm.FieldTitle: "warm-up"}); err != nil {
		t.Fatal(err)
	}
	const n = 20
	ids := make([]int64, n)
	before := store.RoundTrips()
	for i := range ids {
		_, it, err := svc.AddItem(ctx, admin, typ.EntityTypeID, crm.Patch{crm.FieldTitle: "pipelined"})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = it.ID
	}
	// A little slack for the store's own background work (counter folding).
	if got := store.RoundTrips() - before; got > 2*n+2 {
		t.Errorf("%d adds took %d round trips, want about %d", n, got, 2*n)
	}
	before = store.RoundTrips()
	for _, id := range ids {
		if _, _, err := svc.UpdateItem(ctx, admin, typ.EntityTypeID, id, crm.Patch{crm.FieldStageID: stages[1].StatusID}, crm.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := store.RoundTrips() - before; got > 2*n+2 {
		t.Errorf("%d stage moves took %d round trips, want about %d", n, got, 2*n)
	}
	for _, id := range ids {
		_, it, err := svc.GetItem(ctx, admin, typ.EntityTypeID, id)
		if err != nil || it.StageID() != stages[1].StatusID {
			t.Fatalf("item %d after the move: %v %v", id, it, err)
		}
	}
}

// A queued statement that fails fails its transaction at commit: what the transaction
// wrote before it is rolled back, and the caller is told.
func TestFailedQueuedStatementRollsBackTheTransaction(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		st, svc, typ := withType(t, dialect)
		err := st.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.InsertOutbox(ctx, "test.event", typ.EntityTypeID, 1, `{}`); err != nil {
				return err
			}
			// The outbox id is the primary key: a second row with the same id fails.
			return tx.Later(ctx, `INSERT INTO outbox (id, topic, entity_type_id, item_id, payload, created_time) SELECT id, topic, entity_type_id, item_id, payload, created_time FROM outbox WHERE topic = ?`, "test.event")
		})
		// SQLite runs the statement at once and sees the row; PostgreSQL's pipeline
		// runs it after the first, in order, and fails at COMMIT all the same.
		if err == nil {
			t.Fatal("the transaction committed despite a failing statement")
		}
		n, err := st.OutboxAfter(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range n {
			if r.Topic == "test.event" {
				t.Fatalf("the first outbox row survived the failed transaction: %+v", r)
			}
		}
		// The connection went back to the pool clean: the next write works.
		if _, _, err := svc.AddItem(ctx, admin, typ.EntityTypeID, crm.Patch{crm.FieldTitle: "after"}); err != nil {
			t.Fatalf("a write after the failed one: %v", err)
		}
	})
}
