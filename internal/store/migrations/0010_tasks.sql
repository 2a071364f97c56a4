-- Migration 10: tasks and the CRM items they are bound to.

-- statement
-- Tasks: to-dos with a responsible person and a deadline, which robots create and
-- which show on the timelines of the CRM items they are bound to.
CREATE TABLE tasks (
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
)

-- statement
-- "My open tasks" and "overdue tasks" are the lists people look at most.
CREATE INDEX tasks_responsible ON tasks(responsible_id, status)

-- statement
CREATE INDEX tasks_deadline ON tasks(deadline)

-- statement
-- UF_CRM_TASK: the CRM items a task is bound to. The second index answers "the tasks
-- of this deal" without reading any task.
CREATE TABLE task_crm_bindings (
	task_id BIGINT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
	entity_type_id BIGINT NOT NULL,
	entity_id BIGINT NOT NULL,
	PRIMARY KEY (task_id, entity_type_id, entity_id)
){WITHOUT_ROWID}

-- statement
CREATE INDEX task_crm_bindings_item ON task_crm_bindings(entity_type_id, entity_id, task_id)
