-- Migration 15: ONOFFLINEEVENT's throttle. An application told by an online
-- ONOFFLINEEVENT handler that its offline queue got entries asks, with event.bind's
-- options[minTimeout], for at most one notification per that many seconds.

-- statement
ALTER TABLE event_handlers ADD COLUMN min_timeout_s BIGINT NOT NULL DEFAULT 0
