-- Migration 6: relations between types as edges.

-- statement
-- Relations between types, one row per edge: the same edge whichever side set it, and
-- gone from both sides when either side drops it.
CREATE TABLE crm_type_relations (
	parent_entity_type_id BIGINT NOT NULL,
	child_entity_type_id BIGINT NOT NULL,
	children_list TEXT NOT NULL DEFAULT 'N',
	PRIMARY KEY (parent_entity_type_id, child_entity_type_id)
)

-- statement
CREATE INDEX crm_type_relations_child ON crm_type_relations(child_entity_type_id)
