package listindex

import (
	"context"
	"fmt"

	"smartcrm/internal/query"
	"smartcrm/internal/store"
)

// retiredDefaults are indexes that earlier versions made on every smart process's items
// table and this one does not (crm's itemIndexes says why): the update time's, which
// every edit changed, so no edit on PostgreSQL stayed on its page.
var retiredDefaults = [][]string{{"updated_time"}}

// RetireDefaults drops the retired default indexes from the tables of smart processes
// that earlier versions made; a list of recent changes that is used gets its index as
// any list shape does. It runs at every start, after the migrations; a table without
// them costs a look at its index list.
func RetireDefaults(ctx context.Context, st *store.Store) error {
	types, err := st.ListTypes(ctx, query.Group{}, nil, store.Page{})
	if err != nil {
		return err
	}
	for _, t := range types {
		for _, cols := range retiredDefaults {
			if err := st.DropItemIndex(ctx, t.EntityTypeID, cols); err != nil {
				return fmt.Errorf("retiring the %v index of type %d: %w", cols, t.EntityTypeID, err)
			}
		}
	}
	return nil
}
