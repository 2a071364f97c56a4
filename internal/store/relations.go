package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"smartcrm/internal/field"
)

// TypeEdge is a relation between two types: items of Child may have a parent item of
// Parent.
type TypeEdge struct {
	Parent, Child int64
	ChildrenList  bool // the parent's card lists the children
}

// TypeEdges lists every relation edge.
func (c conn) TypeEdges(ctx context.Context) ([]TypeEdge, error) {
	rows, err := c.query(ctx, `SELECT parent_entity_type_id, child_entity_type_id, children_list FROM crm_type_relations ORDER BY parent_entity_type_id, child_entity_type_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TypeEdge
	for rows.Next() {
		var e TypeEdge
		var list string
		if err := rows.Scan(&e.Parent, &e.Child, &list); err != nil {
			return nil, err
		}
		e.ChildrenList = list == "Y"
		out = append(out, e)
	}
	return out, rows.Err()
}

// ReplaceTypeEdges makes edges the whole set of relations of a type, on both sides:
// every edge where it is the parent or the child is replaced.
func (tx *Tx) ReplaceTypeEdges(ctx context.Context, entityTypeID int64, edges []TypeEdge) error {
	if err := tx.DeleteTypeEdges(ctx, entityTypeID); err != nil {
		return err
	}
	for _, e := range edges {
		if _, err := tx.exec(ctx, `INSERT INTO crm_type_relations (parent_entity_type_id, child_entity_type_id, children_list) VALUES (?, ?, ?)
ON CONFLICT (parent_entity_type_id, child_entity_type_id) DO UPDATE SET children_list = excluded.children_list`,
			e.Parent, e.Child, yn(e.ChildrenList)); err != nil {
			return err
		}
	}
	return nil
}

// DeleteTypeEdges removes every edge a type is part of.
func (tx *Tx) DeleteTypeEdges(ctx context.Context, entityTypeID int64) error {
	_, err := tx.exec(ctx, `DELETE FROM crm_type_relations WHERE parent_entity_type_id = ? OR child_entity_type_id = ?`, entityTypeID, entityTypeID)
	return err
}

// LinkColumn is the column of a child type's table that holds its parent item of a
// parent type. Built from integers: never from request text.
func LinkColumn(parentEntityTypeID int64) string {
	return "parent_id_" + strconv.FormatInt(parentEntityTypeID, 10)
}

// AddLinkColumn gives a child type's table the column (and index) for parents of a type.
// On PostgreSQL the column is a real foreign key to the parent's table, so no link can
// point at nothing even if something bypassed the write path. SQLite gets none: it cannot
// drop a column a foreign key uses, and removing a relation drops its column.
func (tx *Tx) AddLinkColumn(ctx context.Context, childEntityTypeID, parentEntityTypeID int64) error {
	table, col := ItemTable(childEntityTypeID), LinkColumn(parentEntityTypeID)
	def := tx.d.columnType(field.StorageInt)
	if tx.d.name == Postgres {
		exists, err := tx.ItemTableExists(ctx, parentEntityTypeID)
		if err != nil {
			return err
		}
		if exists {
			def += " REFERENCES " + ItemTable(parentEntityTypeID) + " (id)"
		}
	}
	if _, err := tx.exec(ctx, "ALTER TABLE "+table+" ADD COLUMN "+col+" "+def); err != nil {
		return err
	}
	_, err := tx.exec(ctx, "CREATE INDEX "+table+"_"+col+" ON "+table+" ("+col+", id)")
	return err
}

// DropLinkColumn removes that column with its links.
func (tx *Tx) DropLinkColumn(ctx context.Context, childEntityTypeID, parentEntityTypeID int64) error {
	table, col := ItemTable(childEntityTypeID), LinkColumn(parentEntityTypeID)
	if _, err := tx.exec(ctx, "DROP INDEX IF EXISTS "+table+"_"+col); err != nil {
		return err
	}
	_, err := tx.exec(ctx, "ALTER TABLE "+table+" DROP COLUMN "+col)
	return err
}

// ChildIDs lists the items of a child type linked to a parent item.
func (c conn) ChildIDs(ctx context.Context, childEntityTypeID, parentEntityTypeID, parentID int64) ([]int64, error) {
	return queryColumn[int64](ctx, c, "SELECT id FROM "+ItemTable(childEntityTypeID)+" WHERE "+LinkColumn(parentEntityTypeID)+" = ? ORDER BY id", parentID)
}

// ChildRef is a child item in a children list.
type ChildRef struct {
	EntityTypeID int64
	ID           int64
	Title        string
	CreatedTime  time.Time
}

// Children lists the newest children of a parent item across child types in one query:
// each branch reads its child table's (parent_id_P, id) index for at most limit rows,
// and the union is ordered by creation.
func (c conn) Children(ctx context.Context, childTypes []int64, parentEntityTypeID, parentID int64, limit int) ([]ChildRef, error) {
	if len(childTypes) == 0 {
		return nil, nil
	}
	var b strings.Builder
	var args []any
	col := LinkColumn(parentEntityTypeID)
	for i, ct := range childTypes {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		fmt.Fprintf(&b, "SELECT * FROM (SELECT %d AS etid, id, title, created_time FROM %s WHERE %s = ? ORDER BY id DESC LIMIT ?) b%d",
			ct, ItemTable(ct), col, i)
		args = append(args, parentID, limit)
	}
	q := "SELECT etid, id, title, created_time FROM (" + b.String() + ") children ORDER BY created_time DESC, id DESC LIMIT ?"
	args = append(args, limit)
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ChildRef
	for rows.Next() {
		var r ChildRef
		var title sql.NullString
		created := c.d.scanTarget(field.StorageTime)
		if err := rows.Scan(&r.EntityTypeID, &r.ID, &title, created); err != nil {
			return nil, err
		}
		v, err := c.d.decode(field.StorageTime, created)
		if err != nil {
			return nil, err
		}
		r.Title = title.String
		r.CreatedTime, _ = v.(time.Time)
		out = append(out, r)
	}
	return out, rows.Err()
}
