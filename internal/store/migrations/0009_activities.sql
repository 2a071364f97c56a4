-- Migration 9: activities (to-dos) and their bindings.

-- statement
-- Activities (to-dos): one row each, owned by the item they were added to and bound to
-- every item whose timeline shows them. ping_offsets is a JSON list of minutes before
-- the deadline; timeline_id is the to-do's entry in the timeline.
CREATE TABLE crm_activities (
	id {ID},
	type_id BIGINT NOT NULL,
	provider_id TEXT NOT NULL,
	subject TEXT NOT NULL DEFAULT '',
	description TEXT NOT NULL DEFAULT '',
	deadline {TIME},
	completed TEXT NOT NULL DEFAULT 'N',
	status BIGINT NOT NULL DEFAULT 1,
	responsible_id BIGINT NOT NULL,
	priority BIGINT NOT NULL DEFAULT 2,
	author_id BIGINT NOT NULL,
	editor_id BIGINT NOT NULL,
	created {TIME} NOT NULL,
	last_updated {TIME} NOT NULL,
	color_id TEXT NOT NULL DEFAULT '',
	ping_offsets TEXT NOT NULL DEFAULT '[]',
	parent_activity_id BIGINT,
	owner_type_id BIGINT NOT NULL,
	owner_id BIGINT NOT NULL,
	timeline_id BIGINT
)

-- statement
-- "My open to-dos by deadline" is the list people live in.
CREATE INDEX crm_activities_responsible ON crm_activities(responsible_id, completed, deadline)

-- statement
-- Bindings are read by item (an item's to-dos) through the key, and by activity.
CREATE TABLE crm_activity_bindings (
	activity_id BIGINT NOT NULL,
	entity_type_id BIGINT NOT NULL,
	entity_id BIGINT NOT NULL,
	PRIMARY KEY (entity_type_id, entity_id, activity_id)
){WITHOUT_ROWID}

-- statement
CREATE INDEX crm_activity_bindings_activity ON crm_activity_bindings(activity_id)
