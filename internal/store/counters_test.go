package store_test

import (
	"context"
	"sync"
	"testing"

	"smartcrm/internal/crm"
	"smartcrm/internal/field"
	"smartcrm/internal/query"
	"smartcrm/internal/testdb"
)

// Stage counters equal a recount of the items after concurrent adds and stage moves,
// whether read before the background fold (PostgreSQL adds the unfolded deltas) or
// after it.
func TestStageCountersEqualRecountUnderConcurrentWrites(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		st, svc, typ := withTypeSpec(t, dialect, crm.TypeSpec{Title: ptr("Moves"), Flags: crm.Flags{crm.FlagStages: true}})
		cat := typ.DefaultCategory().ID
		var stages []string
		for _, s := range typ.StagesOf(cat) {
			stages = append(stages, s.StatusID)
		}
		const workers, perWorker = 8, 12
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perWorker {
					_, it, err := svc.AddItem(ctx, admin, typ.EntityTypeID, crm.Patch{
						crm.FieldStageID: stages[(w+i)%len(stages)], crm.FieldOpportunity: float64(10 * (i + 1))})
					if err != nil {
						errs <- err
						return
					}
					if i%2 == 0 {
						_, _, err = svc.UpdateItem(ctx, admin, typ.EntityTypeID, it.ID, crm.Patch{crm.FieldStageID: stages[(w+i+1)%len(stages)]}, crm.WriteOptions{})
						if err != nil {
							errs <- err
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		recount := func() map[string]int64 {
			stageField := typ.QueryField(mustField(t, typ, crm.FieldStageID))
			out := map[string]int64{}
			for _, s := range stages {
				n, err := st.CountItems(ctx, typ.EntityTypeID, query.Group{Items: []query.Expr{query.Cond{Field: stageField, Op: field.OpEq, Value: s}}})
				if err != nil {
					t.Fatal(err)
				}
				out[s] = int64(n)
			}
			return out
		}
		check := func(when string) {
			counts, err := st.StageCounts(ctx, typ.EntityTypeID, cat)
			if err != nil {
				t.Fatal(err)
			}
			want, total := recount(), int64(0)
			for _, c := range counts {
				if c.Items != want[c.StageID] {
					t.Errorf("%s: stage %s counts %d items, a recount finds %d", when, c.StageID, c.Items, want[c.StageID])
				}
				total += c.Items
			}
			if total != workers*perWorker {
				t.Errorf("%s: counters add up to %d, want %d", when, total, workers*perWorker)
			}
		}
		check("before the fold")
		st.FoldStageCounts(ctx)
		check("after the fold")
	})
}

func mustField(t *testing.T, typ *crm.Type, name crm.FieldName) *crm.Field {
	t.Helper()
	f, ok := typ.FieldByName(string(name))
	if !ok {
		t.Fatalf("no field %s", name)
	}
	return f
}
