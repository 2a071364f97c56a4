package crm_test

import (
	"context"
	"fmt"
	"testing"

	"smartcrm/internal/access"
	"smartcrm/internal/crm"
	"smartcrm/internal/customfield"
	"smartcrm/internal/field"
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
			svc, _, typ := benchService(b, dialect)
			admin := access.Actor{UserID: 1, IsAdmin: true}
			b.SetParallelism(4) // 4 × GOMAXPROCS(2) = 8 writers
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					f := crm.Patch{crm.FieldTitle: fmt.Sprintf("Item %d", i), crm.FieldOpportunity: "123.5", crm.FieldAssignedByID: "1"}
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

// benchService opens a database with the administrator and one smart process.
func benchService(b *testing.B, dialect string) (*crm.Service, *store.Store, *crm.Type) {
	ctx := context.Background()
	st := testdb.Open(b, dialect)
	if err := st.InTx(ctx, func(tx *store.Tx) error {
		return tx.InsertUser(ctx, &store.UserRecord{Name: "Admin", Active: true, IsAdmin: true})
	}); err != nil {
		b.Fatal(err)
	}
	svc := crm.New(st)
	title := "Bench"
	typ, err := svc.AddType(ctx, access.Actor{UserID: 1, IsAdmin: true}, crm.TypeSpec{Title: &title, Flags: crm.Flags{crm.FlagStages: true}})
	if err != nil {
		b.Fatal(err)
	}
	return svc, st, typ
}

// BenchmarkAddUserFieldOn200kItems measures adding a custom field (registry row and
// column, one transaction) to a type that already holds 200,000 items.
//
//	go test ./internal/crm -run '^$' -bench AddUserFieldOn200k -benchtime 5x
func BenchmarkAddUserFieldOn200kItems(b *testing.B) {
	for _, dialect := range testdb.Dialects {
		b.Run(dialect, func(b *testing.B) {
			ctx := context.Background()
			svc, st, typ := benchService(b, dialect)
			cols := []store.Column{{Name: "title", Storage: field.StorageText}, {Name: "category_id", Storage: field.StorageInt},
				{Name: "stage_id", Storage: field.StorageText}, {Name: "assigned_by_id", Storage: field.StorageInt}}
			stage := fmt.Sprintf("DT%d_1:NEW", typ.EntityTypeID)
			rows := make([][]any, 0, 10000)
			for batch := 0; batch < 20; batch++ {
				rows = rows[:0]
				for i := 0; i < 10000; i++ {
					rows = append(rows, []any{fmt.Sprintf("Item %d", batch*10000+i), int64(1), stage, int64(1)})
				}
				if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.SeedItemsRaw(ctx, typ.EntityTypeID, cols, rows) }); err != nil {
					b.Fatal(err)
				}
			}
			admin := access.Actor{UserID: 1, IsAdmin: true}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				spec := customfield.Spec{Name: fmt.Sprintf("UF_CRM_%d_FIELD%d", typ.ID, i), Kind: []string{"string", "double", "date", "enumeration"}[i%4]}
				if _, err := customfield.New(svc).Add(ctx, admin, typ.EntityTypeID, spec); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/field")
		})
	}
}

// BenchmarkAddItemWith15UserFields is BenchmarkAddItem with 15 custom fields of mixed
// types filled on every add; compare its items/s with BenchmarkAddItem's.
//
//	go test ./internal/crm -run '^$' -bench 'AddItem' -benchtime 20000x
func BenchmarkAddItemWith15UserFields(b *testing.B) {
	for _, dialect := range testdb.Dialects {
		b.Run(dialect, func(b *testing.B) {
			ctx := context.Background()
			svc, _, typ := benchService(b, dialect)
			admin := access.Actor{UserID: 1, IsAdmin: true}
			kinds := []string{"string", "string", "string", "integer", "integer", "double", "double", "boolean", "date", "datetime", "enumeration", "money", "url", "employee", "address"}
			values := map[string]any{"string": "some text", "integer": "42", "double": "3.14", "boolean": "Y", "date": "2026-03-01",
				"datetime": "2026-03-01T10:00:00+00:00", "money": "300|EUR", "url": "https://example.org", "employee": "1", "address": "Main st. 1"}
			names := make([]string, len(kinds))
			for i, k := range kinds {
				spec := customfield.Spec{Name: fmt.Sprintf("UF_CRM_%d_F%c", typ.ID, 'A'+i), Kind: k}
				if k == "enumeration" {
					one := "One"
					spec.Enums = []customfield.EnumChange{{Value: &one}}
				}
				rec, err := customfield.New(svc).Add(ctx, admin, typ.EntityTypeID, spec)
				if err != nil {
					b.Fatal(err)
				}
				names[i] = rec.Name
				if k == "enumeration" {
					values["enumeration"] = fmt.Sprint(rec.Enums[0].ID)
				}
			}
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					f := crm.Patch{crm.FieldTitle: "Item"}
					for i, n := range names {
						f[crm.FieldName(crm.CamelUFName(n))] = values[kinds[i]]
					}
					if _, _, err := svc.AddItem(ctx, admin, typ.EntityTypeID, f); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
		})
	}
}

// BenchmarkMoveStage measures a stage change through the one write path without HTTP:
// the row, its stage history, the per-stage counters and the Change, 8 writers, each
// item moved once.
//
//	go test ./internal/crm -run '^$' -bench MoveStage -benchtime 20000x
func BenchmarkMoveStage(b *testing.B) {
	for _, dialect := range testdb.Dialects {
		b.Run(dialect, func(b *testing.B) {
			ctx := context.Background()
			svc, _, typ := benchService(b, dialect)
			admin := access.Actor{UserID: 1, IsAdmin: true}
			ids := make(chan int64, b.N)
			for i := 0; i < b.N; i++ {
				_, it, err := svc.AddItem(ctx, admin, typ.EntityTypeID, crm.Patch{crm.FieldTitle: fmt.Sprintf("Item %d", i)})
				if err != nil {
					b.Fatal(err)
				}
				ids <- it.ID
			}
			close(ids)
			to := typ.StagesOf(typ.DefaultCategory().ID)[1].StatusID
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, _, err := svc.UpdateItem(ctx, admin, typ.EntityTypeID, <-ids, crm.Patch{crm.FieldStageID: to}, crm.WriteOptions{}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "moves/s")
		})
	}
}
