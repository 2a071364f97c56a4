package crm_test

import (
	"context"
	"fmt"
	"testing"

	"smartcrm/internal/crm"
	"smartcrm/internal/params"
	"smartcrm/internal/store"
	"smartcrm/internal/testdb"
)

// BenchmarkAddItem measures the one write path without HTTP: parse, validate, write the
// row and its outbox row, with 8 concurrent writers as in the target.
//
//	go test ./internal/crm -run '^$' -bench AddItem -benchtime 20000x
func BenchmarkAddItem(b *testing.B) {
	for _, dialect := range testdb.Dialects {
		b.Run(dialect, func(b *testing.B) {
			ctx := context.Background()
			st := testdb.Open(b, dialect)
			if err := st.InTx(ctx, func(tx *store.Tx) error {
				return tx.InsertUser(ctx, &store.UserRecord{Name: "Admin", Active: true, IsAdmin: true})
			}); err != nil {
				b.Fatal(err)
			}
			svc := crm.New(st)
			admin := crm.Actor{UserID: 1, IsAdmin: true}
			in := params.NewObject()
			in.Set("title", "Bench")
			in.Set("isStagesEnabled", "Y")
			in.Set("isLinkWithProductsEnabled", "Y")
			typ, err := svc.AddType(ctx, admin, in)
			if err != nil {
				b.Fatal(err)
			}
			b.SetParallelism(4) // 4 × GOMAXPROCS(2) = 8 writers
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					f := params.NewObject()
					f.Set("title", fmt.Sprintf("Item %d", i))
					f.Set("opportunity", "123.5")
					f.Set("assignedById", "1")
					if _, _, err := svc.AddItem(ctx, admin, typ.EntityTypeID, f); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
		})
	}
}
