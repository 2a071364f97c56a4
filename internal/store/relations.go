package store

import "context"

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
