-- Migration 3: fields required from a stage onward.

-- statement
-- "Required from stage X onward": per funnel, the stage from which a field must hold a
-- value (in that stage and every later one, failure stages excepted).
CREATE TABLE crm_stage_requirements (
	entity_type_id BIGINT NOT NULL,
	category_id BIGINT NOT NULL,
	field_name TEXT NOT NULL,
	from_stage_id TEXT NOT NULL,
	PRIMARY KEY (entity_type_id, category_id, field_name)
)
