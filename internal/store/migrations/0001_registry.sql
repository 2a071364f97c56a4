-- Migration 1: users and their webhooks, the smart-process registry with its funnels
-- and stages, and the outbox.
--
-- The crm_types flag columns are written out here as they were when this migration
-- shipped. A new flag is a new migration (ALTER TABLE crm_types ADD COLUMN ...), never
-- an edit of this file: databases already at version 1 would not get it.

-- statement
CREATE TABLE users (
	id {ID},
	name TEXT NOT NULL DEFAULT '',
	last_name TEXT NOT NULL DEFAULT '',
	email TEXT NOT NULL DEFAULT '',
	active TEXT NOT NULL DEFAULT 'Y',
	is_admin TEXT NOT NULL DEFAULT 'N',
	created_time {TIME} NOT NULL
)

-- statement
CREATE TABLE webhooks (
	id {ID},
	user_id BIGINT NOT NULL REFERENCES users(id),
	secret_hash TEXT NOT NULL UNIQUE,
	title TEXT NOT NULL DEFAULT '',
	created_time {TIME} NOT NULL
)

-- statement
CREATE INDEX webhooks_user ON webhooks(user_id)

-- statement
-- The registry: one column per Y/N flag of a smart process, so crm.type.list can filter
-- and sort on them.
CREATE TABLE crm_types (
	id {ID},
	entity_type_id BIGINT NOT NULL UNIQUE,
	title TEXT NOT NULL,
	code TEXT NOT NULL DEFAULT '',
	custom_section_id BIGINT,
	is_categories_enabled TEXT NOT NULL DEFAULT 'N',
	is_stages_enabled TEXT NOT NULL DEFAULT 'N',
	is_begin_close_dates_enabled TEXT NOT NULL DEFAULT 'N',
	is_client_enabled TEXT NOT NULL DEFAULT 'N',
	is_use_in_userfield_enabled TEXT NOT NULL DEFAULT 'N',
	is_link_with_products_enabled TEXT NOT NULL DEFAULT 'N',
	is_mycompany_enabled TEXT NOT NULL DEFAULT 'N',
	is_documents_enabled TEXT NOT NULL DEFAULT 'N',
	is_source_enabled TEXT NOT NULL DEFAULT 'N',
	is_observers_enabled TEXT NOT NULL DEFAULT 'N',
	is_recyclebin_enabled TEXT NOT NULL DEFAULT 'N',
	is_automation_enabled TEXT NOT NULL DEFAULT 'N',
	is_biz_proc_enabled TEXT NOT NULL DEFAULT 'N',
	is_set_open_permissions TEXT NOT NULL DEFAULT 'Y',
	is_payments_enabled TEXT NOT NULL DEFAULT 'N',
	is_counters_enabled TEXT NOT NULL DEFAULT 'N',
	relations {JSON} NOT NULL,
	linked_user_fields {JSON} NOT NULL,
	created_by BIGINT NOT NULL,
	created_time {TIME} NOT NULL,
	updated_by BIGINT NOT NULL,
	updated_time {TIME} NOT NULL
)

-- statement
CREATE TABLE crm_categories (
	id {ID},
	entity_type_id BIGINT NOT NULL,
	name TEXT NOT NULL,
	sort BIGINT NOT NULL DEFAULT 500,
	is_default TEXT NOT NULL DEFAULT 'N',
	is_system TEXT NOT NULL DEFAULT 'N',
	code TEXT NOT NULL DEFAULT '',
	created_time {TIME} NOT NULL
)

-- statement
CREATE INDEX crm_categories_type ON crm_categories(entity_type_id, sort)

-- statement
CREATE TABLE crm_statuses (
	id {ID},
	entity_id TEXT NOT NULL,
	status_id TEXT NOT NULL,
	name TEXT NOT NULL,
	name_init TEXT NOT NULL DEFAULT '',
	sort BIGINT NOT NULL DEFAULT 10,
	system TEXT NOT NULL DEFAULT 'N',
	category_id BIGINT REFERENCES crm_categories(id) ON DELETE CASCADE,
	color TEXT NOT NULL DEFAULT '',
	semantics TEXT,
	UNIQUE (entity_id, status_id)
)

-- statement
CREATE INDEX crm_statuses_category ON crm_statuses(category_id, sort)

-- statement
-- The outbox: what happened, written in the transaction of the change, for automation
-- and outbound events to pick up after commit.
CREATE TABLE outbox (
	id {ID},
	topic TEXT NOT NULL,
	entity_type_id BIGINT NOT NULL,
	item_id BIGINT NOT NULL,
	payload {JSON} NOT NULL,
	created_time {TIME} NOT NULL
)
