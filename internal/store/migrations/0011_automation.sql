-- Migration 11: automation — one document of robots and triggers per funnel, the runs
-- of robots, the position of the trigger reader in the outbox, round-robin pointers
-- and the triggers applications register.

-- statement
-- The robots and triggers of each stage of a funnel, as one versioned JSON document:
-- it is read and written whole (smartcrm.automation.get/set, the editor, process files).
CREATE TABLE automation_documents (
	entity_type_id BIGINT NOT NULL,
	category_id BIGINT NOT NULL,
	version BIGINT NOT NULL,
	document {JSON} NOT NULL,
	updated_by BIGINT NOT NULL,
	updated_time {TIME} NOT NULL,
	PRIMARY KEY (entity_type_id, category_id)
)

-- statement
-- One row per robot per stage entry, written in the transaction of the move. The
-- unique key is the run's idempotency key: an entry never runs a robot twice.
CREATE TABLE automation_runs (
	id {ID},
	entity_type_id BIGINT NOT NULL,
	item_id BIGINT NOT NULL,
	category_id BIGINT NOT NULL,
	stage_id TEXT NOT NULL,
	entry_version BIGINT NOT NULL,
	robot_id TEXT NOT NULL,
	robot_type TEXT NOT NULL,
	position BIGINT NOT NULL,
	after_run_id BIGINT,
	status TEXT NOT NULL,
	attempts BIGINT NOT NULL DEFAULT 0,
	error TEXT NOT NULL DEFAULT '',
	result TEXT NOT NULL DEFAULT '',
	robot TEXT NOT NULL,
	user_id BIGINT NOT NULL,
	depth BIGINT NOT NULL,
	scheduled_time {TIME},
	started_time {TIME},
	finished_time {TIME},
	created_time {TIME} NOT NULL,
	UNIQUE (entity_type_id, item_id, entry_version, robot_id)
)

-- statement
-- An item's runs (its card, cancelling them when it leaves the stage).
CREATE INDEX automation_runs_item ON automation_runs (entity_type_id, item_id, id)

-- statement
-- The queue view: runs by status, newest first.
CREATE INDEX automation_runs_status ON automation_runs (status, id)

-- statement
-- A finished run starts the one that waits for it.
CREATE INDEX automation_runs_after ON automation_runs (after_run_id)

-- statement
-- How far a reader of the outbox got (the trigger reader, later the event delivery).
CREATE TABLE outbox_cursors (
	name TEXT PRIMARY KEY,
	position BIGINT NOT NULL
)

-- statement
-- Round-robin robots: the next user to give an item to, per robot of a funnel.
CREATE TABLE automation_rotation (
	entity_type_id BIGINT NOT NULL,
	category_id BIGINT NOT NULL,
	robot_id TEXT NOT NULL,
	next BIGINT NOT NULL,
	PRIMARY KEY (entity_type_id, category_id, robot_id)
)

-- statement
-- Triggers applications (and webhooks) register: crm.automation.trigger.add.
CREATE TABLE automation_app_triggers (
	code TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	created_by BIGINT NOT NULL,
	created_time {TIME} NOT NULL
)
