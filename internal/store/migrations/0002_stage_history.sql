-- Migration 2: stage history and per-stage counters.

-- statement
-- Stage history: append-only, written in the transaction of the move (Bitrix24 keeps
-- none for smart processes; analytics there parse timeline blobs).
CREATE TABLE crm_stage_history (
	id {ID},
	entity_type_id BIGINT NOT NULL,
	item_id BIGINT NOT NULL,
	type_id BIGINT NOT NULL,
	category_id BIGINT NOT NULL,
	from_stage_id TEXT,
	stage_id TEXT NOT NULL,
	stage_semantic_id TEXT NOT NULL,
	created_by BIGINT NOT NULL,
	created_time {TIME} NOT NULL
)

-- statement
CREATE INDEX crm_stage_history_item ON crm_stage_history(entity_type_id, item_id, id)

-- statement
CREATE INDEX crm_stage_history_time ON crm_stage_history(entity_type_id, created_time)

-- statement
-- Per-stage counters for Kanban and analytics, kept in the transaction of each change,
-- so a funnel's figures are a few primary-key rows, never a table scan.
CREATE TABLE crm_stage_counts (
	entity_type_id BIGINT NOT NULL,
	category_id BIGINT NOT NULL,
	stage_id TEXT NOT NULL,
	items BIGINT NOT NULL DEFAULT 0,
	amount DOUBLE PRECISION NOT NULL DEFAULT 0,
	PRIMARY KEY (entity_type_id, category_id, stage_id)
)
