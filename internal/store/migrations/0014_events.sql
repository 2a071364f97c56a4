-- Migration 14: outbound events — each
-- webhook as an application with its own token, event subscriptions, the deliveries
-- fanned out from the outbox, the offline event queues, a lease so that one process
-- at a time delivers, the robots applications register and the tokens their runs wait
-- on. Times the delivery loop compares are unix milliseconds in BIGINT columns: one
-- integer type on both databases, compared and indexed without conversion.

-- statement
-- The token handlers receive in auth[application_token] to know a call is ours.
-- Webhooks made before this migration get theirs when the server starts.
ALTER TABLE webhooks ADD COLUMN application_token TEXT NOT NULL DEFAULT ''

-- statement
-- event.bind: an application (app_id, a webhook) subscribes a handler URL to an event
-- (upper case). Offline subscriptions have no handler and queue changes instead, in
-- the partition of their connector. failures, failing_since and last_error mark a
-- handler that keeps failing.
CREATE TABLE event_handlers (
	id {ID},
	app_id BIGINT NOT NULL,
	user_id BIGINT NOT NULL,
	event TEXT NOT NULL,
	handler TEXT NOT NULL,
	auth_type BIGINT NOT NULL DEFAULT 0,
	offline BIGINT NOT NULL DEFAULT 0,
	connector TEXT NOT NULL DEFAULT '',
	failures BIGINT NOT NULL DEFAULT 0,
	failing_since_ms BIGINT NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT '',
	created_ms BIGINT NOT NULL,
	UNIQUE (app_id, event, handler, auth_type, offline, connector)
)

-- statement
-- One row per event per online handler, written in the transaction that moves the
-- delivery reader's outbox cursor past the change. item_key names the object (an
-- item, a type, a comment…): per handler, an object's events go out in id order.
-- data is the form-encoded `data` of the event.
CREATE TABLE event_deliveries (
	id {ID},
	handler_id BIGINT NOT NULL,
	outbox_id BIGINT NOT NULL,
	item_key TEXT NOT NULL,
	event TEXT NOT NULL,
	data TEXT NOT NULL,
	event_ms BIGINT NOT NULL,
	status TEXT NOT NULL,
	attempts BIGINT NOT NULL DEFAULT 0,
	next_ms BIGINT NOT NULL,
	last_error TEXT NOT NULL DEFAULT '',
	created_ms BIGINT NOT NULL,
	finished_ms BIGINT NOT NULL DEFAULT 0
)

-- statement
-- Pending deliveries in order: what the deliverer loads, and the lists by status.
CREATE INDEX event_deliveries_status ON event_deliveries (status, id)

-- statement
-- A handler's deliveries, newest first (smartcrm.events.deliveries {handler}).
CREATE INDEX event_deliveries_handler ON event_deliveries (handler_id, id)

-- statement
-- Offline events: one record per object and partition (application, connector), the
-- latest change of it, until a reader takes it. A record reserved by event.offline.get
-- (process_id set) stays as it was; a later change of the object makes a new record.
CREATE TABLE event_offline (
	id {ID},
	app_id BIGINT NOT NULL,
	connector TEXT NOT NULL,
	message_id TEXT NOT NULL,
	event TEXT NOT NULL,
	data TEXT NOT NULL,
	additional TEXT NOT NULL,
	timestamp_x {TIME} NOT NULL,
	process_id TEXT NOT NULL DEFAULT '',
	reserved_ms BIGINT NOT NULL DEFAULT 0,
	error BIGINT NOT NULL DEFAULT 0
)

-- statement
-- At most one unreserved record per object in a partition.
CREATE UNIQUE INDEX event_offline_object ON event_offline (app_id, connector, message_id) WHERE process_id = ''

-- statement
CREATE INDEX event_offline_process ON event_offline (process_id)

-- statement
-- Work that one process at a time does (delivering events): the holder renews its
-- lease; another takes over when it lapses.
CREATE TABLE leases (
	name TEXT PRIMARY KEY,
	owner TEXT NOT NULL,
	until_ms BIGINT NOT NULL
)

-- statement
-- bizproc.robot.add: robots applications register, by code. definition holds the
-- rest (NAME, PROPERTIES, RETURN_PROPERTIES…) as JSON.
CREATE TABLE app_robots (
	code TEXT PRIMARY KEY,
	app_id BIGINT NOT NULL,
	handler TEXT NOT NULL,
	auth_user_id BIGINT NOT NULL,
	use_subscription TEXT NOT NULL,
	definition TEXT NOT NULL,
	created_by BIGINT NOT NULL,
	created_ms BIGINT NOT NULL
)

-- statement
-- The event_token an application robot's run waits on (bizproc.event.send), as a
-- SHA-256 hash; used or replaced tokens are deleted.
CREATE TABLE automation_event_tokens (
	token_hash TEXT PRIMARY KEY,
	run_id BIGINT NOT NULL,
	created_ms BIGINT NOT NULL
)

-- statement
CREATE INDEX automation_event_tokens_run ON automation_event_tokens (run_id)
