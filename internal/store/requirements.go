package store

import "context"

// StageRequirement makes a field required from a stage of a funnel onward.
type StageRequirement struct {
	CategoryID  int64
	FieldName   string
	FromStageID string
}

// SetStageRequirement sets (or moves) the stage from which a field is required.
func (tx *Tx) SetStageRequirement(ctx context.Context, entityTypeID int64, r StageRequirement) error {
	_, err := tx.exec(ctx, `INSERT INTO crm_stage_requirements (entity_type_id, category_id, field_name, from_stage_id) VALUES (?, ?, ?, ?)
ON CONFLICT (entity_type_id, category_id, field_name) DO UPDATE SET from_stage_id = excluded.from_stage_id`,
		entityTypeID, r.CategoryID, r.FieldName, r.FromStageID)
	return err
}

// DeleteStageRequirement makes a field optional again in a funnel; it reports whether
// there was a rule.
func (tx *Tx) DeleteStageRequirement(ctx context.Context, entityTypeID, categoryID int64, fieldName string) (bool, error) {
	res, err := tx.exec(ctx, `DELETE FROM crm_stage_requirements WHERE entity_type_id = ? AND category_id = ? AND field_name = ?`,
		entityTypeID, categoryID, fieldName)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// deleteRequirementsOf removes the rules of a funnel (stageID "") or of one stage.
func (tx *Tx) deleteRequirementsOf(ctx context.Context, entityTypeID, categoryID int64, stageID string) error {
	if stageID == "" {
		_, err := tx.exec(ctx, `DELETE FROM crm_stage_requirements WHERE entity_type_id = ? AND category_id = ?`, entityTypeID, categoryID)
		return err
	}
	_, err := tx.exec(ctx, `DELETE FROM crm_stage_requirements WHERE entity_type_id = ? AND category_id = ? AND from_stage_id = ?`,
		entityTypeID, categoryID, stageID)
	return err
}

// StageRequirements lists a type's rules.
func (c conn) StageRequirements(ctx context.Context, entityTypeID int64) ([]StageRequirement, error) {
	rows, err := c.query(ctx, `SELECT category_id, field_name, from_stage_id FROM crm_stage_requirements WHERE entity_type_id = ? ORDER BY category_id, field_name`, entityTypeID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StageRequirement
	for rows.Next() {
		var r StageRequirement
		if err := rows.Scan(&r.CategoryID, &r.FieldName, &r.FromStageID); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
