package store

import (
	"context"

	"smartcrm/internal/field"
)

// KanbanCardFields reads the fields a type's Kanban cards show for a user (0: the
// common choice), a JSON list; ErrNotFound when none was chosen.
func (c conn) KanbanCardFields(ctx context.Context, entityTypeID, userID int64) (string, error) {
	var v string
	err := c.queryRow(ctx, `SELECT value FROM kanban_card_fields WHERE entity_type_id = ? AND user_id = ?`,
		entityTypeID, userID).Scan(&v)
	return v, errNoRows(err)
}

// SetKanbanCardFields stores the fields a type's Kanban cards show (a JSON list).
func (tx *Tx) SetKanbanCardFields(ctx context.Context, entityTypeID, userID int64, value string) error {
	_, err := tx.exec(ctx, `INSERT INTO kanban_card_fields (entity_type_id, user_id, value) VALUES (?, ?, `+tx.d.placeholder(field.StorageJSON)+`)
ON CONFLICT (entity_type_id, user_id) DO UPDATE SET value = excluded.value`, entityTypeID, userID, value)
	return err
}

// DeleteKanbanCardFields drops a user's choice (userID > 0) or the common one (0).
func (tx *Tx) DeleteKanbanCardFields(ctx context.Context, entityTypeID, userID int64) error {
	_, err := tx.exec(ctx, `DELETE FROM kanban_card_fields WHERE entity_type_id = ? AND user_id = ?`, entityTypeID, userID)
	return err
}
