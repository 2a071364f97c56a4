-- Migration 18: the outbox keeps a change's payload as the text the server encoded.
-- Nothing queries inside it: readers take it whole and decode it themselves. As JSONB,
-- PostgreSQL parsed every payload on its way in and printed it again on its way out,
-- and handed readers a reordered copy of what the domain had written.

-- statement on postgres
ALTER TABLE outbox ALTER COLUMN payload TYPE TEXT
