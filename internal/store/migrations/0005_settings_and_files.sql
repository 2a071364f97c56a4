-- Migration 5: installation settings and uploaded files.

-- statement
-- Settings of this installation, such as the key that signs download links.
CREATE TABLE app_settings (
	name TEXT PRIMARY KEY,
	value TEXT NOT NULL
)

-- statement
-- Uploaded files of file fields; the bytes live on disk by their hash.
CREATE TABLE crm_files (
	id {ID},
	entity_type_id BIGINT NOT NULL,
	item_id BIGINT NOT NULL,
	field_name TEXT NOT NULL,
	name TEXT NOT NULL,
	size BIGINT NOT NULL,
	sha256 TEXT NOT NULL,
	created_time {TIME} NOT NULL
)

-- statement
CREATE INDEX crm_files_item ON crm_files(entity_type_id, item_id)
