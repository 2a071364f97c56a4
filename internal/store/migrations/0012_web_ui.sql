-- Migration 12: what the web UI needs: people sign in with a login and a password,
-- sessions, their own preferences (list columns, saved filters) and card layouts.

-- statement
-- A person signs in with a login; users made before this migration (webhook-only
-- users) have none and cannot sign in until an administrator gives them one.
ALTER TABLE users ADD COLUMN login TEXT

-- statement
-- bcrypt hash of the password; '' means no password (cannot sign in).
ALTER TABLE users ADD COLUMN password_hash TEXT NOT NULL DEFAULT ''

-- statement
CREATE UNIQUE INDEX users_login ON users(login)

-- statement
-- Browser sessions: the cookie carries a random token, the table its SHA-256 hash, so
-- a copy of the database signs nobody in. csrf is the session's token for forms.
CREATE TABLE sessions (
	token_hash TEXT NOT NULL PRIMARY KEY,
	user_id BIGINT NOT NULL REFERENCES users(id),
	csrf TEXT NOT NULL,
	created_time {TIME} NOT NULL,
	expires_time {TIME} NOT NULL
){WITHOUT_ROWID}

-- statement
CREATE INDEX sessions_user ON sessions(user_id)

-- statement
-- A person's preferences by key: the columns of a list, saved filters. value is JSON.
CREATE TABLE user_preferences (
	user_id BIGINT NOT NULL REFERENCES users(id),
	pref_key TEXT NOT NULL,
	value {JSON} NOT NULL,
	PRIMARY KEY (user_id, pref_key)
){WITHOUT_ROWID}

-- statement
-- Card layouts (crm.item.details.configuration): the sections of a type's item card,
-- common (user_id 0) or one person's own. value is the JSON list of sections.
CREATE TABLE card_layouts (
	entity_type_id BIGINT NOT NULL,
	category_id BIGINT NOT NULL DEFAULT -1,
	user_id BIGINT NOT NULL,
	value {JSON} NOT NULL,
	PRIMARY KEY (entity_type_id, category_id, user_id)
){WITHOUT_ROWID}
