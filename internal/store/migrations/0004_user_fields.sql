-- Migration 4: custom fields and the values of their lists.

-- statement
-- Custom fields: one row each, and a real column in the type's items table (added and
-- dropped in the same transaction as the row).
CREATE TABLE crm_user_fields (
	id {ID},
	entity_type_id BIGINT NOT NULL,
	field_name TEXT NOT NULL,
	column_name TEXT NOT NULL,
	user_type_id TEXT NOT NULL,
	xml_id TEXT,
	sort BIGINT NOT NULL DEFAULT 100,
	multiple TEXT NOT NULL DEFAULT 'N',
	mandatory TEXT NOT NULL DEFAULT 'N',
	show_filter TEXT NOT NULL DEFAULT 'N',
	show_in_list TEXT NOT NULL DEFAULT 'Y',
	edit_in_list TEXT NOT NULL DEFAULT 'Y',
	is_searchable TEXT NOT NULL DEFAULT 'N',
	settings {JSON} NOT NULL,
	labels {JSON} NOT NULL,
	UNIQUE (entity_type_id, field_name)
)

-- statement
CREATE TABLE crm_user_field_enums (
	id {ID},
	field_id BIGINT NOT NULL REFERENCES crm_user_fields(id) ON DELETE CASCADE,
	value TEXT NOT NULL,
	def TEXT NOT NULL DEFAULT 'N',
	sort BIGINT NOT NULL DEFAULT 500,
	xml_id TEXT NOT NULL
)

-- statement
CREATE INDEX crm_user_field_enums_field ON crm_user_field_enums(field_id, sort)
