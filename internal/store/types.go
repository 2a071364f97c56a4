package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"smartcrm/internal/field"
	"smartcrm/internal/query"
)

// TypeRecord is a row of the smart-process registry.
type TypeRecord struct {
	ID               int64
	EntityTypeID     int64
	Title            string
	Code             string
	CustomSectionID  *int64
	Flags            map[string]string // wire name → "Y"/"N", for every entry of TypeFlags
	LinkedUserFields string            // JSON object
	CreatedBy        int64
	CreatedTime      time.Time
	UpdatedBy        int64
	UpdatedTime      time.Time
}

const typesTable = "crm_types"

// TypeColumns lists the registry columns as query fields, so crm.type.list can filter
// and sort on them with the same parser as items. Keys are wire names.
func TypeColumns() []query.Field {
	fields := []query.Field{
		{Name: "id", Column: "id", Type: field.Integer{}},
		{Name: "title", Column: "title", Type: field.Text{}},
		{Name: "code", Column: "code", Type: field.Text{}},
		{Name: "createdBy", Column: "created_by", Type: field.Integer{TypeName: "user"}},
		{Name: "entityTypeId", Column: "entity_type_id", Type: field.Integer{}},
		{Name: "customSectionId", Column: "custom_section_id", Type: field.Integer{}},
	}
	for _, f := range TypeFlags {
		fields = append(fields, query.Field{Name: f.Wire, Column: f.Column, Type: field.Flag{}})
	}
	return append(fields,
		query.Field{Name: "createdTime", Column: "created_time", Type: field.DateTime{}},
		query.Field{Name: "updatedTime", Column: "updated_time", Type: field.DateTime{}},
		query.Field{Name: "updatedBy", Column: "updated_by", Type: field.Integer{TypeName: "user"}},
	)
}

func typeColumns() []Column {
	cols := []Column{
		{"id", field.StorageInt}, {"entity_type_id", field.StorageInt}, {"title", field.StorageText},
		{"code", field.StorageText}, {"custom_section_id", field.StorageInt},
	}
	for _, f := range TypeFlags {
		cols = append(cols, Column{f.Column, field.StorageText})
	}
	return append(cols,
		Column{"linked_user_fields", field.StorageText},
		Column{"created_by", field.StorageInt}, Column{"created_time", field.StorageTime},
		Column{"updated_by", field.StorageInt}, Column{"updated_time", field.StorageTime},
	)
}

func typeValues(t *TypeRecord) []any {
	var section any
	if t.CustomSectionID != nil {
		section = *t.CustomSectionID
	}
	vals := []any{t.ID, t.EntityTypeID, t.Title, t.Code, section}
	for _, f := range TypeFlags {
		v := t.Flags[f.Wire]
		if v == "" {
			v = f.Default
		}
		vals = append(vals, v)
	}
	return append(vals, t.LinkedUserFields, t.CreatedBy, t.CreatedTime, t.UpdatedBy, t.UpdatedTime)
}

func typeFromRow(row []any) *TypeRecord {
	t := &TypeRecord{
		ID: row[0].(int64), EntityTypeID: row[1].(int64), Title: row[2].(string),
		Flags: map[string]string{},
	}
	if s, ok := row[3].(string); ok {
		t.Code = s
	}
	if v, ok := row[4].(int64); ok {
		t.CustomSectionID = &v
	}
	i := 5
	for _, f := range TypeFlags {
		t.Flags[f.Wire], _ = row[i].(string)
		i++
	}
	t.LinkedUserFields, _ = row[i].(string)
	t.CreatedBy, _ = row[i+1].(int64)
	t.CreatedTime, _ = row[i+2].(time.Time)
	t.UpdatedBy, _ = row[i+3].(int64)
	t.UpdatedTime, _ = row[i+4].(time.Time)
	return t
}

// InsertType adds a registry row and sets t.ID.
func (tx *Tx) InsertType(ctx context.Context, t *TypeRecord) error {
	cols, vals := typeColumns()[1:], typeValues(t)[1:]
	id, err := tx.insertRow(ctx, typesTable, cols, vals)
	if err != nil {
		return err
	}
	t.ID = id
	return nil
}

// UpdateType rewrites a registry row.
func (tx *Tx) UpdateType(ctx context.Context, t *TypeRecord) error {
	return tx.updateRow(ctx, typesTable, t.ID, 0, false, typeColumns()[1:], typeValues(t)[1:])
}

// DeleteType removes a registry row with its funnels and stages.
func (tx *Tx) DeleteType(ctx context.Context, t *TypeRecord) error {
	if _, err := tx.exec(ctx, `DELETE FROM crm_statuses WHERE category_id IN (SELECT id FROM crm_categories WHERE entity_type_id = ?)`, t.EntityTypeID); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `DELETE FROM crm_categories WHERE entity_type_id = ?`, t.EntityTypeID); err != nil {
		return err
	}
	if err := tx.DeleteTypeHistory(ctx, t.EntityTypeID); err != nil {
		return err
	}
	if err := tx.DeleteTypeEdges(ctx, t.EntityTypeID); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `DELETE FROM crm_user_field_enums WHERE field_id IN (SELECT id FROM crm_user_fields WHERE entity_type_id = ?)`, t.EntityTypeID); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `DELETE FROM crm_user_fields WHERE entity_type_id = ?`, t.EntityTypeID); err != nil {
		return err
	}
	return tx.deleteRow(ctx, typesTable, t.ID)
}

// ListTypes reads registry rows.
func (c conn) ListTypes(ctx context.Context, where query.Group, order []query.Order, page Page) ([]*TypeRecord, error) {
	rows, err := c.selectRows(ctx, typesTable, typeColumns(), where, order, page)
	if err != nil {
		return nil, err
	}
	out := make([]*TypeRecord, len(rows))
	for i, r := range rows {
		out[i] = typeFromRow(r)
	}
	return out, nil
}

// CountTypes counts registry rows matching where.
func (c conn) CountTypes(ctx context.Context, where query.Group) (int, error) {
	return c.countRows(ctx, typesTable, where)
}

// GetType reads one registry row by type id (byEntityType false) or entityTypeId.
func (c conn) GetType(ctx context.Context, id int64, byEntityType bool) (*TypeRecord, error) {
	col := &query.Field{Name: "id", Column: "id", Type: field.Integer{}}
	if byEntityType {
		col = &query.Field{Name: "entityTypeId", Column: "entity_type_id", Type: field.Integer{}}
	}
	rows, err := c.ListTypes(ctx, query.Group{Items: []query.Expr{query.Cond{Field: col, Op: field.OpEq, Value: id}}}, nil, Page{Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, ErrNotFound
	}
	return rows[0], nil
}

// MaxEntityTypeID returns the largest entityTypeId in use (0 when none).
func (c conn) MaxEntityTypeID(ctx context.Context) (int64, error) {
	var n int64
	err := c.queryRow(ctx, `SELECT COALESCE(MAX(entity_type_id), 0) FROM crm_types`).Scan(&n)
	return n, err
}

// IsUniqueViolation reports a unique-constraint failure in either database.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	var coded interface{ SQLState() string }
	if errors.As(err, &coded) {
		return coded.SQLState() == "23505"
	}
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed")
}
