package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"smartcrm/internal/field"
	"smartcrm/internal/query"
)

// CategoryRecord is a funnel of a type.
type CategoryRecord struct {
	ID           int64
	EntityTypeID int64
	Name         string
	Sort         int64
	IsDefault    bool
	IsSystem     bool
	Code         string
	FixedID      bool // InsertCategory keeps ID instead of choosing one
}

// StageRecord is a stage of a funnel (a row of the crm_statuses directory).
type StageRecord struct {
	ID         int64
	EntityID   string // DYNAMIC_{etid}_STAGE_{cat}
	StatusID   string // DT{etid}_{cat}:CODE
	Name       string
	NameInit   string
	Sort       int64
	System     bool
	CategoryID int64
	Color      string
	Semantics  string // "", "S" or "F"
}

func yn(b bool) string {
	if b {
		return "Y"
	}
	return "N"
}

// InsertCategory adds a funnel and sets c.ID, or keeps the given one when c.FixedID is
// set (deals' default funnel is 0 in Bitrix24).
func (tx *Tx) InsertCategory(ctx context.Context, c *CategoryRecord) error {
	if c.FixedID {
		_, err := tx.exec(ctx, `INSERT INTO crm_categories (id, entity_type_id, name, sort, is_default, is_system, code, created_time)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, c.ID, c.EntityTypeID, c.Name, c.Sort, yn(c.IsDefault), yn(c.IsSystem), c.Code, tx.now())
		return err
	}
	return tx.queryRow(ctx, `INSERT INTO crm_categories (entity_type_id, name, sort, is_default, is_system, code, created_time)
VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		c.EntityTypeID, c.Name, c.Sort, yn(c.IsDefault), yn(c.IsSystem), c.Code, tx.now()).Scan(&c.ID)
}

// InsertStage adds a stage and sets s.ID.
func (tx *Tx) InsertStage(ctx context.Context, s *StageRecord) error {
	var sem any
	if s.Semantics != "" {
		sem = s.Semantics
	}
	return tx.queryRow(ctx, `INSERT INTO crm_statuses (entity_id, status_id, name, name_init, sort, system, category_id, color, semantics)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		s.EntityID, s.StatusID, s.Name, s.NameInit, s.Sort, yn(s.System), s.CategoryID, s.Color, sem).Scan(&s.ID)
}

// Categories lists the funnels of a type by sort, then id.
func (c conn) Categories(ctx context.Context, entityTypeID int64) ([]*CategoryRecord, error) {
	rows, err := c.query(ctx, `SELECT id, entity_type_id, name, sort, is_default, is_system, code
FROM crm_categories WHERE entity_type_id = ? ORDER BY sort, id`, entityTypeID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*CategoryRecord
	for rows.Next() {
		var r CategoryRecord
		var def, sys string
		if err := rows.Scan(&r.ID, &r.EntityTypeID, &r.Name, &r.Sort, &def, &sys, &r.Code); err != nil {
			return nil, err
		}
		r.IsDefault, r.IsSystem = def == "Y", sys == "Y"
		out = append(out, &r)
	}
	return out, rows.Err()
}

// StagesOfType lists the stages of every funnel of a type, by funnel then sort.
func (c conn) StagesOfType(ctx context.Context, entityTypeID int64) ([]*StageRecord, error) {
	rows, err := c.query(ctx, `SELECT s.id, s.entity_id, s.status_id, s.name, s.name_init, s.sort, s.system, s.category_id, s.color, s.semantics
FROM crm_statuses s JOIN crm_categories c ON c.id = s.category_id
WHERE c.entity_type_id = ? ORDER BY s.category_id, s.sort, s.id`, entityTypeID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*StageRecord
	for rows.Next() {
		var r StageRecord
		var sys string
		var sem sql.NullString
		if err := rows.Scan(&r.ID, &r.EntityID, &r.StatusID, &r.Name, &r.NameInit, &r.Sort, &sys, &r.CategoryID, &r.Color, &sem); err != nil {
			return nil, err
		}
		r.System, r.Semantics = sys == "Y", sem.String
		out = append(out, &r)
	}
	return out, rows.Err()
}

// now is the transaction's notion of the current time, to the second.
func (c conn) now() any {
	v, _ := c.d.encode(field.StorageTime, time.Now().Truncate(time.Second))
	return v
}

// errNoRows maps sql.ErrNoRows to ErrNotFound.
func errNoRows(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// UpdateCategory rewrites a funnel's name, sort and default flag.
func (tx *Tx) UpdateCategory(ctx context.Context, c *CategoryRecord) error {
	_, err := tx.exec(ctx, `UPDATE crm_categories SET name = ?, sort = ?, is_default = ?, code = ? WHERE id = ?`,
		c.Name, c.Sort, yn(c.IsDefault), c.Code, c.ID)
	return err
}

// ClearDefaultCategory takes the default flag from every funnel of a type.
func (tx *Tx) ClearDefaultCategory(ctx context.Context, entityTypeID int64) error {
	_, err := tx.exec(ctx, `UPDATE crm_categories SET is_default = 'N' WHERE entity_type_id = ?`, entityTypeID)
	return err
}

// DeleteCategory removes a funnel with its stages, counters and required-field rules.
func (tx *Tx) DeleteCategory(ctx context.Context, c *CategoryRecord) error {
	if err := tx.deleteRequirementsOf(ctx, c.EntityTypeID, c.ID, ""); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `DELETE FROM crm_stage_counts WHERE entity_type_id = ? AND category_id = ?`, c.EntityTypeID, c.ID); err != nil {
		return err
	}
	if err := tx.deleteCountDeltas(ctx, c.EntityTypeID, c.ID, ""); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `DELETE FROM crm_statuses WHERE category_id = ?`, c.ID); err != nil {
		return err
	}
	return tx.deleteRow(ctx, "crm_categories", c.ID)
}

// UpdateStage rewrites a stage's name, sort and colour (the rest is immutable).
func (tx *Tx) UpdateStage(ctx context.Context, s *StageRecord) error {
	_, err := tx.exec(ctx, `UPDATE crm_statuses SET name = ?, sort = ?, color = ? WHERE id = ?`, s.Name, s.Sort, s.Color, s.ID)
	return err
}

// DeleteStage removes a stage, its counter row and the rules that start at it.
func (tx *Tx) DeleteStage(ctx context.Context, entityTypeID int64, s *StageRecord) error {
	if err := tx.deleteRequirementsOf(ctx, entityTypeID, s.CategoryID, s.StatusID); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `DELETE FROM crm_stage_counts WHERE entity_type_id = ? AND category_id = ? AND stage_id = ?`,
		entityTypeID, s.CategoryID, s.StatusID); err != nil {
		return err
	}
	if err := tx.deleteCountDeltas(ctx, entityTypeID, s.CategoryID, s.StatusID); err != nil {
		return err
	}
	return tx.deleteRow(ctx, "crm_statuses", s.ID)
}

// StageByID returns a stage row and the entity type it belongs to.
func (c conn) StageByID(ctx context.Context, id int64) (*StageRecord, int64, error) {
	var r StageRecord
	var sys string
	var sem sql.NullString
	var etid int64
	err := c.queryRow(ctx, `SELECT s.id, s.entity_id, s.status_id, s.name, s.name_init, s.sort, s.system, s.category_id, s.color, s.semantics, c.entity_type_id
FROM crm_statuses s JOIN crm_categories c ON c.id = s.category_id WHERE s.id = ?`, id).
		Scan(&r.ID, &r.EntityID, &r.StatusID, &r.Name, &r.NameInit, &r.Sort, &sys, &r.CategoryID, &r.Color, &sem, &etid)
	if err != nil {
		return nil, 0, errNoRows(err)
	}
	r.System, r.Semantics = sys == "Y", sem.String
	return &r, etid, nil
}

// StageColumns are the stage directory's columns as query fields, by their wire names.
func StageColumns() []query.Field {
	return []query.Field{
		{Name: "ID", Column: "id", Type: field.Integer{}},
		{Name: "ENTITY_ID", Column: "entity_id", Type: field.Text{}},
		{Name: "STATUS_ID", Column: "status_id", Type: field.Text{}},
		{Name: "NAME", Column: "name", Type: field.Text{}},
		{Name: "NAME_INIT", Column: "name_init", Type: field.Text{}},
		{Name: "SORT", Column: "sort", Type: field.Integer{}},
		{Name: "SYSTEM", Column: "system", Type: field.Flag{}},
		{Name: "CATEGORY_ID", Column: "category_id", Type: field.Integer{}},
		{Name: "COLOR", Column: "color", Type: field.Text{}},
		{Name: "SEMANTICS", Column: "semantics", Type: field.Text{}},
	}
}

var stageReadColumns = []Column{
	{"id", field.StorageInt}, {"entity_id", field.StorageText}, {"status_id", field.StorageText}, {"name", field.StorageText},
	{"name_init", field.StorageText}, {"sort", field.StorageInt}, {"system", field.StorageText},
	{"category_id", field.StorageInt}, {"color", field.StorageText}, {"semantics", field.StorageText},
}

// ListStages reads stage rows with a filter, order and page.
func (c conn) ListStages(ctx context.Context, where query.Group, order []query.Order, page Page) ([]*StageRecord, error) {
	rows, err := c.selectRows(ctx, "crm_statuses", stageReadColumns, where, order, page)
	if err != nil {
		return nil, err
	}
	out := make([]*StageRecord, len(rows))
	for i, r := range rows {
		s := &StageRecord{ID: r[0].(int64), EntityID: r[1].(string), StatusID: r[2].(string), Name: r[3].(string)}
		s.NameInit, _ = r[4].(string)
		s.Sort, _ = r[5].(int64)
		sys, _ := r[6].(string)
		s.System = sys == "Y"
		s.CategoryID, _ = r[7].(int64)
		s.Color, _ = r[8].(string)
		s.Semantics, _ = r[9].(string)
		out[i] = s
	}
	return out, nil
}

// CountStages counts stage rows matching where.
func (c conn) CountStages(ctx context.Context, where query.Group) (int, error) {
	return c.countRows(ctx, "crm_statuses", where)
}
