package crm

import (
	"slices"
	"time"

	"smartcrm/internal/crm/field"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/store"
)

// Item is one item of a type: canonical values by field name, and the version that
// optimistic locking checks.
type Item struct {
	ID      int64
	Version int64
	values  map[string]any
}

func newItem() *Item { return &Item{values: map[string]any{}} }

// Get returns a field's canonical value (nil when empty).
func (it *Item) Get(name string) any { return it.values[name] }

func (it *Item) clone() *Item {
	c := &Item{ID: it.ID, Version: it.Version, values: make(map[string]any, len(it.values))}
	for k, v := range it.values {
		c.values[k] = v
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

// stored columns of a type's items: every catalog field with a column except id.
// The slice is computed once per catalog (buildFields); callers must not modify it.
func (t *Type) storedFields() []*Field { return t.stored }

// readColumns lists columns to read for the given fields, id and version first.
func readColumns(fs []*Field) []store.Column {
	cols := []store.Column{{Name: "id", Storage: tInt.Storage()}, {Name: "version", Storage: tInt.Storage()}}
	for _, f := range fs {
		if f.Column != "" && f.Column != "id" {
			cols = append(cols, f.storageColumn())
		}
	}
	return cols
}

// itemFromRow builds an item from a row read with readColumns(fs).
func itemFromRow(fs []*Field, row []any) *Item {
	it := newItem()
	it.ID, _ = row[0].(int64)
	it.Version, _ = row[1].(int64)
	i := 2
	for _, f := range fs {
		if f.Column != "" && f.Column != "id" {
			v := row[i]
			if conv, ok := f.Type.(field.FromStorage); ok {
				// A value that no longer parses (a setting changed since) is kept as
				// stored rather than lost.
				if c, err := conv.FromStorage(v); err == nil {
					v = c
				}
			}
			it.values[f.Name] = v
			i++
		}
	}
	return it
}

// ItemWire is the item as crm.item.get answers it, with only the selected fields when sel is
// not nil. Switched-off fields are null (spec §11.10). originalUF names custom fields
// UF_CRM_… instead of ufCrm… (useOriginalUfNames=Y).
func (t *Type) ItemWire(it *Item, sel map[*Field]bool, originalUF bool) jsonx.Obj {
	o := make(jsonx.Obj, 0, len(t.fields))
	for _, f := range t.fields {
		if (sel != nil && !sel[f]) || f.Hidden {
			continue
		}
		var v any
		switch {
		case f.Name == "id":
			v = it.ID
		case f.Name == "entityTypeId":
			v = t.EntityTypeID
		case !t.Enabled(f) || f.Column == "":
			v = nil
		default:
			v = it.values[f.Name]
			if v != nil || f.Multiple {
				v = f.Type.Format(v)
			}
		}
		name := f.Name
		if originalUF && f.user != nil {
			name = f.Upper
		}
		o = append(o, jsonx.KV{K: name, V: v})
	}
	return o
}
