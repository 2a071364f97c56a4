-- Migration 7: relations live in crm_type_relations; the per-type copy is gone.

-- statement
ALTER TABLE crm_types DROP COLUMN relations
