package crm

import (
	"context"
	"slices"
	"time"

	"smartcrm/internal/change"
	"smartcrm/internal/field"
	"smartcrm/internal/store"
)

// Item is one item of a type: canonical values by field name (int64, float64, string,
// time.Time, []int64, []any, []field.MultiValue), and the version that optimistic
// locking checks.
//
// An item of a list page keeps its values in its row, in the order of the page's
// fields (shared by every item of the page), rather than in a map of its own: a map
// per item was the largest allocation of a list request. Such items are read-only
// views; everything in this package that changes an item works on one read by
// readItem, which has the map.
type Item struct {
	ID      int64
	Version int64
	values  map[FieldName]any
	page    *pageFields // list items: values in row
	row     []any
}

// pageFields is where each field of a list page sits in its items' rows.
type pageFields struct{ at map[FieldName]int }

// get is a field's value, in either form.
func (it *Item) get(name FieldName) any {
	if it.page == nil {
		return it.values[name]
	}
	if i, ok := it.page.at[name]; ok {
		return it.row[i]
	}
	return nil
}

// Owner names an item: its type and id. Comments, activities and tasks are about one.
type Owner = change.Ref

// Get returns a field's canonical value (nil when empty).
func (it *Item) Get(name FieldName) any { return it.get(name) }

// StageID is the item's stage ("" for a type without stages).
func (it *Item) StageID() string { s, _ := it.get(FieldStageID).(string); return s }

// CategoryID is the item's funnel.
func (it *Item) CategoryID() int64 { c, _ := it.get(FieldCategoryID).(int64); return c }

// AssignedByID is the item's responsible user.
func (it *Item) AssignedByID() int64 { a, _ := it.get(FieldAssignedByID).(int64); return a }

// Title is the item's name in lists and links (its title, or a contact's full name).
func (it *Item) Title(t *Type) string {
	if f := t.TitleField(); f != nil {
		s, _ := it.get(f.Name).(string)
		return s
	}
	return ""
}

func (it *Item) clone() *Item {
	c := &Item{ID: it.ID, Version: it.Version, values: make(map[FieldName]any, max(len(it.values), len(it.row)))}
	for k, v := range it.values {
		c.values[k] = v
	}
	if it.page != nil {
		for k, i := range it.page.at {
			c.values[k] = it.row[i]
		}
	}
	return c
}

// sameValue compares canonical values of one field.
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y)
	case []int64:
		y, ok := b.([]int64)
		return ok && slices.Equal(x, y) || !ok && len(x) == 0 && isEmptyList(b)
	case []field.MultiValue:
		y, ok := b.([]field.MultiValue)
		return ok && slices.Equal(x, y) || !ok && len(x) == 0 && b == nil
	case []any:
		y, ok := b.([]any)
		if !ok {
			return len(x) == 0 && isEmptyList(b)
		}
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameValue(x[i], y[i]) {
				return false
			}
		}
		return true
	case nil:
		return isEmptyList(b)
	}
	return a == b
}

// isEmptyList: nil or a list without elements, the same "nothing" for multiple fields.
func isEmptyList(v any) bool {
	switch l := v.(type) {
	case nil:
		return true
	case []int64:
		return len(l) == 0
	case []any:
		return len(l) == 0
	}
	return false
}

// elements lists a value's parts: the value itself, or the elements of a list.
func elements(v any) []any {
	switch l := v.(type) {
	case nil:
		return nil
	case []any:
		return l
	case []int64:
		out := make([]any, len(l))
		for i, e := range l {
			out[i] = e
		}
		return out
	}
	return []any{v}
}

// storedFields are the fields with a column, id excepted, computed once per catalog;
// callers must not modify the slice.
func (t *Type) storedFields() []*Field { return t.stored }

// readColumns lists columns to read for the given fields, id and version first.
func readColumns(fs []*Field) []store.Column {
	cols := []store.Column{{Name: "id", Storage: field.StorageInt}, {Name: "version", Storage: field.StorageInt}}
	for _, f := range fs {
		if f.inRow() {
			cols = append(cols, f.storageColumn())
		}
	}
	return cols
}

// itemFromRow builds an item from a row read with readColumns(fs).
func itemFromRow(fs []*Field, row []any) *Item {
	// Sized for the row up front: growing the map field by field costs a good share
	// of a read's allocations.
	it := &Item{values: make(map[FieldName]any, len(row))}
	it.ID, _ = row[0].(int64)
	it.Version, _ = row[1].(int64)
	i := 2
	for _, f := range fs {
		if f.inRow() {
			it.values[f.Name] = fromStorage(f, row[i])
			i++
		}
	}
	return it
}

// newPageFields is where the fields fs sit in rows read with readColumns(fs).
func newPageFields(fs []*Field) *pageFields {
	p := &pageFields{at: make(map[FieldName]int, len(fs))}
	i := 2
	for _, f := range fs {
		if f.inRow() {
			p.at[f.Name] = i
			i++
		}
	}
	return p
}

// pageItem builds a list item from a row read with readColumns(fs), its values kept
// in the row (converted in place: the row is the item's from now on).
func pageItem(p *pageFields, fs []*Field, row []any) *Item {
	it := &Item{page: p, row: row}
	it.ID, _ = row[0].(int64)
	it.Version, _ = row[1].(int64)
	for _, f := range fs {
		if i, ok := p.at[f.Name]; ok {
			row[i] = fromStorage(f, row[i])
		}
	}
	return it
}

// fromStorage is a stored value as the field's canonical value. A value that no
// longer parses (a setting changed since) is kept as stored rather than lost.
func fromStorage(f *Field, v any) any {
	if conv, ok := f.Type.(field.FromStorage); ok {
		if c, err := conv.FromStorage(v); err == nil {
			return c
		}
	}
	return v
}

// LoadItem reads an item inside the unit, as it is in the unit's transaction.
func (u *Unit) LoadItem(t *Type, id int64) (*Item, error) {
	return readItem(u.ctx, u.tx.GetItem, t, id)
}

// readItem reads every stored field of an item with get: the pool's read, the
// transaction's, or the one that locks the row.
func readItem(ctx context.Context, get func(context.Context, int64, []store.Column, int64) ([]any, error), t *Type, id int64) (*Item, error) {
	fs := t.storedFields()
	row, err := get(ctx, t.EntityTypeID, readColumns(fs), id)
	if isNotFound(err) {
		return nil, newErr(ErrItemNotFound, "Item not found")
	}
	if err != nil {
		return nil, err
	}
	return itemFromRow(fs, row), nil
}
