package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"smartcrm/internal/field"
	"smartcrm/internal/query"
	"smartcrm/internal/store"
	"smartcrm/internal/testdb"
)

// Trimming the outbox deletes the old rows among its first ones and reads no further:
// it runs every minute in a write transaction, and looking through the whole outbox
// for old rows held the writer longer the more the outbox had grown.
func TestOutboxTrimReadsOnlyTheHead(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		st := testdb.Open(t, dialect)
		// Ten rows; those marked old were written two hours ago.
		old := []bool{false, true, false, true, true, false, false, true, true, true}
		err := st.InTx(ctx, func(tx *store.Tx) error {
			for range old {
				if err := tx.InsertOutbox(ctx, "item.add", 1030, 1, `{}`); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		rows, err := st.OutboxAfter(ctx, 0, 100)
		if err != nil || len(rows) != len(old) {
			t.Fatalf("outbox: %d rows, %v", len(rows), err)
		}
		ids := make([]int64, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
		}
		err = st.InTx(ctx, func(tx *store.Tx) error {
			for i, o := range old {
				if o {
					if err := tx.Later(ctx, "UPDATE outbox SET created_time = ? WHERE id = ?", tx.TimeArg(time.Now().Add(-2*time.Hour)), ids[i]); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		trim := func(upTo int64, limit int) int64 {
			t.Helper()
			var n int64
			err := st.InTx(ctx, func(tx *store.Tx) (err error) {
				n, err = tx.TrimOutbox(ctx, upTo, time.Now().Add(-time.Hour), limit)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		left := func() []int64 {
			t.Helper()
			rows, err := st.OutboxAfter(ctx, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			var out []int64
			for _, r := range rows {
				out = append(out, r.ID)
			}
			return out
		}
		// The first row is young: a trim of one row deletes nothing, though old rows follow.
		if n := trim(ids[9], 1); n != 0 {
			t.Fatalf("a trim of the first row deleted %d", n)
		}
		// Of the first four rows, the two old ones go.
		if n := trim(ids[9], 4); n != 2 {
			t.Fatalf("a trim of the first four rows deleted %d, want 2", n)
		}
		// Rows past upTo stay, however old; the young ones stay.
		if n := trim(ids[7], 100); n != 2 {
			t.Fatalf("a trim up to the eighth row deleted %d, want 2 (left %v)", n, left())
		}
		want := []int64{ids[0], ids[2], ids[5], ids[6], ids[8], ids[9]}
		if got := left(); !slices.Equal(got, want) {
			t.Fatalf("left %v, want %v", got, want)
		}
	})
}

// A reader gets a change's payload exactly as the domain encoded it, on both databases.
func TestOutboxKeepsThePayloadAsWritten(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		st := testdb.Open(t, dialect)
		const payload = `{"topic":"item.update", "fields":{"TITLE":"b","ID":7}, "before":null}`
		if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.InsertOutbox(ctx, "item.update", 1030, 7, payload) }); err != nil {
			t.Fatal(err)
		}
		rows, err := st.OutboxAfter(ctx, 0, 10)
		if err != nil || len(rows) != 1 {
			t.Fatalf("outbox: %d rows, %v", len(rows), err)
		}
		if rows[0].Payload != payload {
			t.Fatalf("payload %s, written %s", rows[0].Payload, payload)
		}
		byID, err := st.OutboxPayloads(ctx, []int64{rows[0].ID})
		if err != nil || byID[rows[0].ID] != payload {
			t.Fatalf("payload by id %q (%v), written %s", byID[rows[0].ID], err, payload)
		}
	})
}

// Trimming finished deliveries likewise deletes the old ones among the first delivered
// and the first failed ones, reads no further, and never touches a pending one.
func TestDeliveryTrimReadsOnlyTheHead(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		st := testdb.Open(t, dialect)
		now := time.Now().UnixMilli()
		young, old := now, now-2*time.Hour.Milliseconds()
		list := []*store.EventDelivery{
			{Status: store.DeliveryDelivered, FinishedMS: young},
			{Status: store.DeliveryDelivered, FinishedMS: old},
			{Status: store.DeliveryPending},
			{Status: store.DeliveryFailed, FinishedMS: young},
			{Status: store.DeliveryDelivered, FinishedMS: old},
			{Status: store.DeliveryFailed, FinishedMS: old},
			{Status: store.DeliveryFailed, FinishedMS: old},
		}
		for i, d := range list {
			d.HandlerID, d.OutboxID, d.ItemKey, d.Event, d.CreatedMS = 1, int64(i+1), "1030_1", "ONCRMDYNAMICITEMADD", old
		}
		if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.InsertDeliveries(ctx, list) }); err != nil {
			t.Fatal(err)
		}
		trim := func(limit int) int64 {
			t.Helper()
			var n int64
			err := st.InTx(ctx, func(tx *store.Tx) (err error) {
				n, err = tx.TrimDeliveries(ctx, now-time.Hour.Milliseconds(), limit)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		// The first delivered and the first failed one are young: nothing goes,
		// though old ones follow.
		if n := trim(1); n != 0 {
			t.Fatalf("a trim of the first row of each deleted %d", n)
		}
		if n := trim(2); n != 2 {
			t.Fatalf("a trim of the first two rows of each deleted %d, want 2", n)
		}
		if n := trim(100); n != 2 {
			t.Fatalf("a trim of all rows deleted %d, want 2", n)
		}
		left, err := st.Deliveries(ctx, 0, "", 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, d := range left {
			got = append(got, d.ID)
		}
		if want := []int64{list[3].ID, list[2].ID, list[0].ID}; !slices.Equal(got, want) {
			t.Fatalf("left %v, want %v", got, want)
		}
	})
}

// Expiring offline-event reservations, once a minute, finds the reserved records
// through their index, not by reading the queue of unread ones, which an application
// that is away lets grow; and it deletes only reservations past their time.
func TestOfflineExpiryReadsOnlyReservations(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		st := testdb.Open(t, dialect)
		now := time.Now().UnixMilli()
		err := st.InTx(ctx, func(tx *store.Tx) error {
			if err := putOfflineEvents(ctx, tx, 2000, 1); err != nil {
				return err
			}
			// The first two are reserved, one an hour ago and one now.
			if err := tx.ReserveOfflineEvents(ctx, []int64{1}, "old", now-time.Hour.Milliseconds()); err != nil {
				return err
			}
			if err := tx.ReserveOfflineEvents(ctx, []int64{2}, "new", now); err != nil {
				return err
			}
			return tx.Later(ctx, "ANALYZE event_offline")
		})
		if err != nil {
			t.Fatal(err)
		}
		plan, err := st.ExplainExpireOffline(ctx, now-time.Minute.Milliseconds())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan, "event_offline_process") {
			t.Fatalf("the expiry reads the whole queue:\n%s", plan)
		}
		if err := st.InTx(ctx, func(tx *store.Tx) error {
			return tx.ExpireOfflineReservations(ctx, now-time.Minute.Milliseconds())
		}); err != nil {
			t.Fatal(err)
		}
		n, err := st.CountOfflineEvents(ctx, query.Group{})
		if err != nil || n != 1999 {
			t.Fatalf("%d records left (%v), want 1999: only the reservation of an hour ago goes", n, err)
		}
	})
}

// event.offline.get takes the oldest unread records of a queue by walking an index in
// the queue's order, reading the records it returns, however long the queue is: not by
// sorting the whole queue in the transaction that reserves them.
func TestOfflineGetWalksTheQueueInOrder(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		st := testdb.Open(t, dialect)
		err := st.InTx(ctx, func(tx *store.Tx) error {
			if err := putOfflineEvents(ctx, tx, 4000, 2); err != nil {
				return err
			}
			return tx.Later(ctx, "ANALYZE event_offline")
		})
		if err != nil {
			t.Fatal(err)
		}
		fields := map[string]*query.Field{}
		for _, f := range store.OfflineQueryFields() {
			fields[f.Name] = &f
		}
		eq := func(name string, v any) query.Expr { return query.Cond{Field: fields[name], Op: field.OpEq, Value: v} }
		// The call's own filter, as event.offline.get builds it, and its default order.
		where := query.Group{Items: []query.Expr{eq("APP_ID", int64(1)), eq("CONNECTOR", ""),
			query.Group{Items: []query.Expr{eq("PROCESS_ID", ""), eq("ERROR", int64(0))}}}}
		order := []query.Order{{Field: fields["TIMESTAMP_X"]}, {Field: fields["ID"]}}
		plan, err := st.ExplainOfflineEvents(ctx, where, order, store.Page{Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(plan, "TEMP B-TREE") || strings.Contains(plan, "Sort") || !strings.Contains(plan, "event_offline_queue") {
			t.Fatalf("the queue is sorted, not walked:\n%s", plan)
		}
	})
}

// putOfflineEvents puts n records into the offline queues of apps applications (ids
// 1…apps, in turn), each a second older than the one before.
func putOfflineEvents(ctx context.Context, tx *store.Tx, n, apps int) error {
	for i := range n {
		err := tx.PutOfflineEvent(ctx, &store.OfflineEvent{AppID: 1 + int64(i%apps), MessageID: fmt.Sprint(i),
			Event: "ONCRMDYNAMICITEMUPDATE", Data: "{}", Additional: "{}", Timestamp: time.Now().Add(time.Duration(-i) * time.Second)})
		if err != nil {
			return err
		}
	}
	return nil
}
