-- Migration 13: what the administrators' pages need: the fields a type's Kanban cards
-- show, chosen in the card layout editor, common (user_id 0) or one person's own.

-- statement
-- value is the JSON list of field names, in the order the card shows them.
CREATE TABLE kanban_card_fields (
	entity_type_id BIGINT NOT NULL,
	user_id BIGINT NOT NULL,
	value {JSON} NOT NULL,
	PRIMARY KEY (entity_type_id, user_id)
){WITHOUT_ROWID}
