package store_test

import (
	"context"
	"smartcrm/internal/query"
	"strconv"
	"testing"
	"time"

	"smartcrm/internal/crm"
	"smartcrm/internal/store"
	"smartcrm/internal/testdb"
)

// On PostgreSQL an add and a stage move each cost two round trips at most: BEGIN
// travels with the first statement (the INSERT or its id's draw, or the update's locking
// read) and the appended rows (history, counters, timeline, outbox) with COMMIT. More would mean the pipeline broke
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

// Under load an add is one round trip: its id was drawn ahead with an earlier one, so
// the INSERT travels with the rows that name it and COMMIT. Ids keep the order of the
// adds and never repeat, a default title is its item's id, and ids drawn ahead are not
// used once a second has passed (the order of ids across server processes strays by a
// second at most). Adds less than once a second draw one id each.
func TestAddsUnderLoadTakeOneRoundTrip(t *testing.T) {
	ctx := context.Background()
	st, svc, typ := withTypeSpec(t, store.Postgres, crm.TypeSpec{Title: ptr("Ahead"), Flags: crm.Flags{crm.FlagStages: true}})
	clock := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	st.SetIDClock(func() time.Time { return clock })
	var last int64
	add := func() (id int64, trips int64) {
		t.Helper()
		before := store.RoundTrips()
		_, it, err := svc.AddItem(ctx, admin, typ.EntityTypeID, crm.Patch{})
		if err != nil {
			t.Fatal(err)
		}
		trips = store.RoundTrips() - before
		if it.ID <= last {
			t.Fatalf("id %d after %d: ids must follow the order of the adds", it.ID, last)
		}
		if _, got, err := svc.GetItem(ctx, admin, typ.EntityTypeID, it.ID); err != nil || got.Title(typ) != "Ahead #"+strconv.FormatInt(it.ID, 10) {
			t.Fatalf("item %d reads back as %q, %v", it.ID, got.Title(typ), err)
		}
		last = it.ID
		return it.ID, trips
	}
	add() // the first add reads what the domain caches (users, numbering)
	// Adds a second apart: one id at a time, two round trips each.
	for range 3 {
		clock = clock.Add(time.Second)
		if _, trips := add(); trips != 2 {
			t.Fatalf("an add a second after the last took %d round trips, want 2", trips)
		}
	}
	// Adds in quick succession draw 1, 2, 4, … 32 ids at a time: after a few dozen,
	// one round trip per add.
	for range 64 {
		add()
	}
	total := int64(0)
	for range 32 {
		_, trips := add()
		total += trips
	}
	if total > 32+2 {
		t.Errorf("32 adds in quick succession took %d round trips, want about 33", total)
	}
	// Ids drawn ahead are dropped after a second: the next add draws afresh, past
	// what any other writer drew meanwhile.
	theirs, err := st.DrawItemID(ctx, typ.EntityTypeID)
	if err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(time.Second)
	if id, _ := add(); id <= theirs {
		t.Errorf("after a second, an add got %d, below %d that another writer drew meanwhile", id, theirs)
	}
	// After a quiet while, one id at a time again: nothing drawn ahead is skipped.
	clock = clock.Add(3 * time.Second)
	first, _ := add()
	clock = clock.Add(3 * time.Second)
	if second, _ := add(); second != first+1 {
		t.Errorf("two adds seconds apart got ids %d and %d, want consecutive ids", first, second)
	}
}

// A stage move of an item this server wrote last starts from the item as written: its
// UPDATE checks the version instead of a read locking the row first, so the move is one
// round trip. When another server moved the item meanwhile, the check fails the
// transaction, nothing of it stays, and the move is redone from the row as it is.
func TestMovesOfItemsLastWrittenTakeOneRoundTrip(t *testing.T) {
	ctx := context.Background()
	st, svc, typ := withTypeSpec(t, store.Postgres, crm.TypeSpec{Title: ptr("Moves"), Flags: crm.Flags{crm.FlagStages: true}})
	_, it, err := svc.AddItem(ctx, admin, typ.EntityTypeID, crm.Patch{})
	if err != nil {
		t.Fatal(err)
	}
	stages := typ.StagesOf(it.CategoryID())
	move := func(svc *crm.Service, to int) (trips int64) {
		t.Helper()
		before := store.RoundTrips()
		_, got, err := svc.UpdateItem(ctx, admin, typ.EntityTypeID, it.ID, crm.Patch{crm.FieldStageID: stages[to].StatusID}, crm.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.StageID() != stages[to].StatusID {
			t.Fatalf("moved to %s, want %s", got.StageID(), stages[to].StatusID)
		}
		return store.RoundTrips() - before
	}
	for to := 1; to <= 3; to++ {
		if trips := move(svc, to); trips != 1 {
			t.Fatalf("a move of the item this server wrote last took %d round trips, want 1", trips)
		}
	}
	// Another server moves it back; the move here is tried as written (1 trip and the
	// ROLLBACK that ends the failed transaction), then read and redone (2).
	move(crm.New(st), 0)
	stale := store.StaleAssumptions()
	if trips := move(svc, 4); trips != 4 {
		t.Errorf("a move after another server's took %d round trips, want 4", trips)
	}
	if n := store.StaleAssumptions() - stale; n != 1 {
		t.Errorf("%d stale assumptions counted for /metrics, want 1", n)
	}
	counts, err := st.StageCounts(ctx, typ.EntityTypeID, it.CategoryID())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range counts {
		if want := map[bool]int64{true: 1}[c.StageID == stages[4].StatusID]; c.Items != want {
			t.Errorf("stage %s counts %d items, want %d", c.StageID, c.Items, want)
		}
	}
	history, err := st.CountStageMoves(ctx, typ.EntityTypeID, query.Group{})
	if err != nil {
		t.Fatal(err)
	}
	if history != 6 { // created, 3 moves here, 1 there, 1 here
		t.Errorf("%d stage history rows, want 6: a rolled-back try must leave none", history)
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
