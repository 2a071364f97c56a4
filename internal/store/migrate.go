package store

import (
	"context"
	"fmt"
	"strings"

	"smartcrm/internal/crm/field"
)

// migration is one schema step. Statements use the placeholders {ID} (identity primary
// key), {TIME}, {DATE}, {JSON}: the only dialect differences the registry schema has.
type migration struct {
	version int
	stmts   []string
}

// TypeFlags are the Y/N settings of a smart process, in wire order, with their columns
// and defaults (spec §3.1). The registry table has one column each, so crm.type.list
// can filter and sort on them.
var TypeFlags = []struct{ Wire, Column, Default string }{
	{"isCategoriesEnabled", "is_categories_enabled", "N"},
	{"isStagesEnabled", "is_stages_enabled", "N"},
	{"isBeginCloseDatesEnabled", "is_begin_close_dates_enabled", "N"},
	{"isClientEnabled", "is_client_enabled", "N"},
	{"isUseInUserfieldEnabled", "is_use_in_userfield_enabled", "N"},
	{"isLinkWithProductsEnabled", "is_link_with_products_enabled", "N"},
	{"isMycompanyEnabled", "is_mycompany_enabled", "N"},
	{"isDocumentsEnabled", "is_documents_enabled", "N"},
	{"isSourceEnabled", "is_source_enabled", "N"},
	{"isObserversEnabled", "is_observers_enabled", "N"},
	{"isRecyclebinEnabled", "is_recyclebin_enabled", "N"},
	{"isAutomationEnabled", "is_automation_enabled", "N"},
	{"isBizProcEnabled", "is_biz_proc_enabled", "N"},
	{"isSetOpenPermissions", "is_set_open_permissions", "Y"},
	{"isPaymentsEnabled", "is_payments_enabled", "N"},
	{"isCountersEnabled", "is_counters_enabled", "N"},
}

func typeFlagColumnsDDL() string {
	var b strings.Builder
	for _, f := range TypeFlags {
		fmt.Fprintf(&b, "\t%s TEXT NOT NULL DEFAULT '%s',\n", f.Column, f.Default)
	}
	return b.String()
}

var migrations = []migration{
	{1, []string{
		`CREATE TABLE users (
	id {ID},
	name TEXT NOT NULL DEFAULT '',
	last_name TEXT NOT NULL DEFAULT '',
	email TEXT NOT NULL DEFAULT '',
	active TEXT NOT NULL DEFAULT 'Y',
	is_admin TEXT NOT NULL DEFAULT 'N',
	created_time {TIME} NOT NULL
)`,
		`CREATE TABLE webhooks (
	id {ID},
	user_id BIGINT NOT NULL REFERENCES users(id),
	secret_hash TEXT NOT NULL UNIQUE,
	title TEXT NOT NULL DEFAULT '',
	created_time {TIME} NOT NULL
)`,
		`CREATE INDEX webhooks_user ON webhooks(user_id)`,
		`CREATE TABLE crm_types (
	id {ID},
	entity_type_id BIGINT NOT NULL UNIQUE,
	title TEXT NOT NULL,
	code TEXT NOT NULL DEFAULT '',
	custom_section_id BIGINT,
` + typeFlagColumnsDDL() + `	relations {JSON} NOT NULL,
	linked_user_fields {JSON} NOT NULL,
	created_by BIGINT NOT NULL,
	created_time {TIME} NOT NULL,
	updated_by BIGINT NOT NULL,
	updated_time {TIME} NOT NULL
)`,
		`CREATE TABLE crm_categories (
	id {ID},
	entity_type_id BIGINT NOT NULL,
	name TEXT NOT NULL,
	sort BIGINT NOT NULL DEFAULT 500,
	is_default TEXT NOT NULL DEFAULT 'N',
	is_system TEXT NOT NULL DEFAULT 'N',
	code TEXT NOT NULL DEFAULT '',
	created_time {TIME} NOT NULL
)`,
		`CREATE INDEX crm_categories_type ON crm_categories(entity_type_id, sort)`,
		`CREATE TABLE crm_statuses (
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
)`,
		`CREATE INDEX crm_statuses_category ON crm_statuses(category_id, sort)`,
		// The outbox: what happened, written in the transaction of the change, for
		// automation and outbound events to pick up after commit.
		`CREATE TABLE outbox (
	id {ID},
	topic TEXT NOT NULL,
	entity_type_id BIGINT NOT NULL,
	item_id BIGINT NOT NULL,
	payload {JSON} NOT NULL,
	created_time {TIME} NOT NULL
)`,
	}},
	{2, []string{
		// Stage history: append-only, written in the transaction of the move (Bitrix24
		// keeps none for smart processes; analytics there parse timeline blobs).
		`CREATE TABLE crm_stage_history (
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
)`,
		`CREATE INDEX crm_stage_history_item ON crm_stage_history(entity_type_id, item_id, id)`,
		`CREATE INDEX crm_stage_history_time ON crm_stage_history(entity_type_id, created_time)`,
		// Per-stage counters for Kanban and analytics, kept in the transaction of each
		// change, so a funnel's figures are a few primary-key rows, never a table scan.
		`CREATE TABLE crm_stage_counts (
	entity_type_id BIGINT NOT NULL,
	category_id BIGINT NOT NULL,
	stage_id TEXT NOT NULL,
	items BIGINT NOT NULL DEFAULT 0,
	amount DOUBLE PRECISION NOT NULL DEFAULT 0,
	PRIMARY KEY (entity_type_id, category_id, stage_id)
)`,
	}},
	{3, []string{
		// "Required from stage X onward": per funnel, the stage from which a field must
		// hold a value (in that stage and every later one, failure stages excepted).
		`CREATE TABLE crm_stage_requirements (
	entity_type_id BIGINT NOT NULL,
	category_id BIGINT NOT NULL,
	field_name TEXT NOT NULL,
	from_stage_id TEXT NOT NULL,
	PRIMARY KEY (entity_type_id, category_id, field_name)
)`,
	}},
	{4, []string{
		// Custom fields: one row each, and a real column in the type's items table
		// (added and dropped in the same transaction as the row).
		`CREATE TABLE crm_user_fields (
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
)`,
		`CREATE TABLE crm_user_field_enums (
	id {ID},
	field_id BIGINT NOT NULL REFERENCES crm_user_fields(id) ON DELETE CASCADE,
	value TEXT NOT NULL,
	def TEXT NOT NULL DEFAULT 'N',
	sort BIGINT NOT NULL DEFAULT 500,
	xml_id TEXT NOT NULL
)`,
		`CREATE INDEX crm_user_field_enums_field ON crm_user_field_enums(field_id, sort)`,
	}},
	{5, []string{
		// Settings of this installation, such as the key that signs download links.
		`CREATE TABLE app_settings (
	name TEXT PRIMARY KEY,
	value TEXT NOT NULL
)`,
		// Uploaded files of file fields; the bytes live on disk by their hash.
		`CREATE TABLE crm_files (
	id {ID},
	entity_type_id BIGINT NOT NULL,
	item_id BIGINT NOT NULL,
	field_name TEXT NOT NULL,
	name TEXT NOT NULL,
	size BIGINT NOT NULL,
	sha256 TEXT NOT NULL,
	created_time {TIME} NOT NULL
)`,
		`CREATE INDEX crm_files_item ON crm_files(entity_type_id, item_id)`,
	}},
	{6, []string{
		// Relations between types, one row per edge: the same edge whichever side set it,
		// and gone from both sides when either side drops it.
		`CREATE TABLE crm_type_relations (
	parent_entity_type_id BIGINT NOT NULL,
	child_entity_type_id BIGINT NOT NULL,
	children_list TEXT NOT NULL DEFAULT 'N',
	PRIMARY KEY (parent_entity_type_id, child_entity_type_id)
)`,
		`CREATE INDEX crm_type_relations_child ON crm_type_relations(child_entity_type_id)`,
	}},
	{7, []string{
		// Relations live in crm_type_relations; the per-type copy is gone.
		`ALTER TABLE crm_types DROP COLUMN relations`,
	}},
	{8, []string{
		// The timeline: what happened to an item (written by the write path in the
		// transaction of the change), comments and log messages. Each entry is bound to
		// the item it is about and to that item's parents, so a parent's timeline shows
		// its children's events; reading one is a keyset scan of the bindings' key.
		`CREATE TABLE crm_timeline (
	id {ID},
	entity_type_id BIGINT NOT NULL,
	item_id BIGINT NOT NULL,
	kind TEXT NOT NULL,
	author_id BIGINT NOT NULL,
	created_time {TIME} NOT NULL,
	data TEXT NOT NULL DEFAULT '{}',
	text TEXT,
	files TEXT NOT NULL DEFAULT '[]'
)`,
		`CREATE TABLE crm_timeline_bindings (
	entity_type_id BIGINT NOT NULL,
	entity_id BIGINT NOT NULL,
	timeline_id BIGINT NOT NULL,
	pinned TEXT NOT NULL DEFAULT 'N',
	PRIMARY KEY (entity_type_id, entity_id, timeline_id)
){WITHOUT_ROWID}`,
		`CREATE INDEX crm_timeline_bindings_entry ON crm_timeline_bindings(timeline_id)`,
		// Notes on a timeline entry or an activity, one per item they are seen from.
		`CREATE TABLE crm_timeline_notes (
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
)`,
	}},
	{9, []string{
		// Activities (to-dos): one row each, owned by the item they were added to and
		// bound to every item whose timeline shows them. ping_offsets is a JSON list of
		// minutes before the deadline; timeline_id is the to-do's entry in the timeline.
		`CREATE TABLE crm_activities (
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
)`,
		// "My open to-dos by deadline" is the list people live in.
		`CREATE INDEX crm_activities_responsible ON crm_activities(responsible_id, completed, deadline)`,
		// Bindings are read by item (an item's to-dos) through the key, and by activity.
		`CREATE TABLE crm_activity_bindings (
	activity_id BIGINT NOT NULL,
	entity_type_id BIGINT NOT NULL,
	entity_id BIGINT NOT NULL,
	PRIMARY KEY (entity_type_id, entity_id, activity_id)
){WITHOUT_ROWID}`,
		`CREATE INDEX crm_activity_bindings_activity ON crm_activity_bindings(activity_id)`,
	}},
	{10, []string{
		// Tasks: to-dos with a responsible person and a deadline, which robots create
		// and which show on the timelines of the CRM items they are bound to.
		`CREATE TABLE tasks (
	id {ID},
	title TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	responsible_id BIGINT NOT NULL,
	created_by BIGINT NOT NULL,
	changed_by BIGINT NOT NULL,
	deadline {TIME},
	status BIGINT NOT NULL DEFAULT 2,
	priority BIGINT NOT NULL DEFAULT 1,
	created_date {TIME} NOT NULL,
	changed_date {TIME} NOT NULL,
	closed_date {TIME},
	closed_by BIGINT
)`,
		// "My open tasks" and "overdue tasks" are the lists people look at most.
		`CREATE INDEX tasks_responsible ON tasks(responsible_id, status)`,
		`CREATE INDEX tasks_deadline ON tasks(deadline)`,
		// UF_CRM_TASK: the CRM items a task is bound to. The second index answers
		// "the tasks of this deal" without reading any task.
		`CREATE TABLE task_crm_bindings (
	task_id BIGINT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
	entity_type_id BIGINT NOT NULL,
	entity_id BIGINT NOT NULL,
	PRIMARY KEY (task_id, entity_type_id, entity_id)
){WITHOUT_ROWID}`,
		`CREATE INDEX task_crm_bindings_item ON task_crm_bindings(entity_type_id, entity_id, task_id)`,
	}},
}

// Migrate brings the schema up to date. It is safe to run at every start, and safe when
// several processes start at once on PostgreSQL (an advisory lock serialises them).
func (s *Store) Migrate(ctx context.Context) error {
	return s.InTx(ctx, func(tx *Tx) error {
		if s.d.name == Postgres {
			if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(727431)`); err != nil {
				return err
			}
		}
		if _, err := tx.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)`); err != nil {
			return err
		}
		var current int
		if err := tx.queryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return err
		}
		for _, m := range migrations {
			if m.version <= current {
				continue
			}
			for _, stmt := range m.stmts {
				if _, err := tx.exec(ctx, s.d.expandDDL(stmt)); err != nil {
					return fmt.Errorf("migration %d: %w", m.version, err)
				}
			}
			if _, err := tx.exec(ctx, `INSERT INTO schema_migrations (version) VALUES (?)`, m.version); err != nil {
				return err
			}
		}
		return nil
	})
}

func (d *dialect) expandDDL(stmt string) string {
	return strings.NewReplacer(
		"{ID}", d.identity,
		"{TIME}", d.columns[field.StorageTime],
		"{DATE}", d.columns[field.StorageDate],
		"{JSON}", d.columns[field.StorageJSON],
		// SQLite keeps a table with a rowid and, beside it, its primary key index; a
		// table read only by its key is cheaper to write clustered on that key.
		"{WITHOUT_ROWID}", map[string]string{SQLite: " WITHOUT ROWID"}[d.name],
	).Replace(stmt)
}
