-- Migration 8: the timeline, its bindings and notes.

-- statement
-- The timeline: what happened to an item (written by the write path in the transaction
-- of the change), comments and log messages. Each entry is bound to the item it is
-- about and to that item's parents, so a parent's timeline shows its children's events;
-- reading one is a keyset scan of the bindings' key.
CREATE TABLE crm_timeline (
	id {ID},
	entity_type_id BIGINT NOT NULL,
	item_id BIGINT NOT NULL,
	kind TEXT NOT NULL,
	author_id BIGINT NOT NULL,
	created_time {TIME} NOT NULL,
	data TEXT NOT NULL DEFAULT '{}',
	text TEXT,
	files TEXT NOT NULL DEFAULT '[]'
)

-- statement
CREATE TABLE crm_timeline_bindings (
	entity_type_id BIGINT NOT NULL,
	entity_id BIGINT NOT NULL,
	timeline_id BIGINT NOT NULL,
	pinned TEXT NOT NULL DEFAULT 'N',
	PRIMARY KEY (entity_type_id, entity_id, timeline_id)
){WITHOUT_ROWID}

-- statement
CREATE INDEX crm_timeline_bindings_entry ON crm_timeline_bindings(timeline_id)

-- statement
-- Notes on a timeline entry or an activity, one per item they are seen from.
CREATE TABLE crm_timeline_notes (
	owner_type_id BIGINT NOT NULL,
	owner_id BIGINT NOT NULL,
	item_type BIGINT NOT NULL,
	item_id BIGINT NOT NULL,
	text TEXT NOT NULL,
	created_by BIGINT NOT NULL,
	created_time {TIME} NOT NULL,
	updated_by BIGINT NOT NULL,
	updated_time {TIME} NOT NULL,
	PRIMARY KEY (owner_type_id, owner_id, item_type, item_id)
)
