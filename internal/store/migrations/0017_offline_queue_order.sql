-- Migration 17: event.offline.get walks a queue in its order. It takes the oldest
-- unreserved records of an application and connector (TIMESTAMP_X, then ID), at most
-- a thousand, while the queue of an application that was away may hold millions; with
-- only the (app_id, connector, message_id) index both databases read the whole queue
-- and sorted it, for every call, inside the write transaction that reserves them.
-- The equalities of every such call come first, then the order: the call reads the
-- records it returns.

-- statement
CREATE INDEX event_offline_queue ON event_offline (app_id, connector, process_id, error, timestamp_x, id)
