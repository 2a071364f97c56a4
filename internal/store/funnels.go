package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"smartcrm/internal/crm/field"
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

// InsertCategory adds a funnel and sets c.ID.
func (tx *Tx) InsertCategory(ctx context.Context, c *CategoryRecord) error {
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
