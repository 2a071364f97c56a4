package rest

import (
	"net/http"
	"strings"
	"time"
	"unicode"

	"smartcrm/internal/crm"
	"smartcrm/internal/field"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/params"
	"smartcrm/internal/query"
	"smartcrm/internal/rest/wirequery"
	"smartcrm/internal/tasks"
)

// tasks.task.* — tasks (spec automation §6): UPPER_CASE fields in, camelCase out, with
// ids and numbers as strings.

func (s *Server) registerTasks() {
	s.registerFamily(familyTask, map[string]handlerFunc{
		"tasks.task.add":      (*Server).taskAdd,
		"tasks.task.get":      (*Server).taskGet,
		"tasks.task.list":     (*Server).taskList,
		"tasks.task.update":   (*Server).taskUpdate,
		"tasks.task.delete":   (*Server).taskDelete,
		"tasks.task.complete": (*Server).taskComplete,
	})
}

func taskResult(v any) *Result { return &Result{Result: jsonx.Map{{K: "task", V: v}}} }

// taskIDParam reads taskId. Bitrix24 casts it to an integer, so anything that is not a
// positive one is "wrong task id" (code 0).
func taskIDParam(c *Call) (int64, error) {
	v, ok := lookup(c, "taskId")
	if !ok || v == nil || v == "" {
		return 0, missingParam("taskId")
	}
	id, ok := params.Int(v)
	if !ok || id <= 0 {
		return 0, apiErr(http.StatusBadRequest, 0, "wrong task id")
	}
	return id, nil
}

// upperName turns a camelCase name into the UPPER_CASE of the task methods
// (responsibleId → RESPONSIBLE_ID); UPPER_CASE names come back unchanged.
func upperName(name string) string {
	var b strings.Builder
	for i, r := range name {
		if unicode.IsUpper(r) && i > 0 && !unicode.IsUpper(rune(name[i-1])) && name[i-1] != '_' {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// taskInvalid is a value a task field cannot take, named as the task methods name it.
func taskInvalid(name, format string, a ...any) error {
	e := crm.NewError(crm.ErrInvalidValue, format, a...)
	e.Field = name
	return e
}

// taskPatch reads the UPPER_CASE (or camelCase) fields of tasks.task.add and update,
// which must hold at least one field. Unknown and read-only fields are ignored, as
// Bitrix24 does.
func taskPatch(c *Call) (tasks.Patch, error) {
	var p tasks.Patch
	fields, err := objectParam(c.Params, "fields")
	if err != nil {
		return p, err
	}
	if fields.Len() == 0 {
		return p, missingParam("fields")
	}
	for _, key := range fields.Keys() {
		v, _ := fields.Get(key)
		name := upperName(strings.TrimSpace(key))
		switch name {
		case "TITLE", "DESCRIPTION":
			s, ok := params.String(v)
			if !ok {
				return p, taskInvalid(strings.ToLower(name), "the %s must be text", strings.ToLower(name))
			}
			if name == "TITLE" {
				p.Title = &s
			} else {
				p.Description = &s
			}
		case "RESPONSIBLE_ID", "CREATED_BY":
			id, ok := params.Int(v)
			if !ok || id <= 0 {
				field := map[string]string{"RESPONSIBLE_ID": "responsibleId", "CREATED_BY": "createdBy"}[name]
				if v == nil || v == "" || (ok && id == 0) {
					return p, taskInvalid(field, "a user must be specified")
				}
				return p, taskInvalid(field, "%v is not a user id", v)
			}
			if name == "RESPONSIBLE_ID" {
				p.ResponsibleID = &id
			} else {
				p.CreatedBy = &id
			}
		case "DEADLINE":
			t, err := field.DateTime{}.Parse(v)
			if err != nil {
				s, _ := params.String(v)
				return p, taskInvalid("deadline", "%q is not a date or a date and time (use 2025-12-31T18:00:00+03:00, 2025-12-31T18:00:00 or 2025-12-31)", s)
			}
			var dl time.Time // no value: no deadline
			if tm, ok := t.(time.Time); ok {
				dl = tm
			}
			p.Deadline = &dl
		case "STATUS", "PRIORITY":
			n, ok := params.Int(v)
			if !ok {
				return p, taskInvalid(strings.ToLower(name), "%v is not allowed; use a number", v)
			}
			if name == "STATUS" {
				p.Status = &n
			} else {
				p.Priority = &n
			}
		case "UF_CRM_TASK":
			b, err := taskBindings(v)
			if err != nil {
				return p, err
			}
			p.Bindings = &b
		}
	}
	return p, nil
}

// taskBindings reads UF_CRM_TASK: a list of bindings ("D_12", "T408_7"), or one.
func taskBindings(v any) ([]crm.Owner, error) {
	var vals []any
	if _, list, ok := params.Entries(v); ok {
		vals = list
	} else if v != nil && v != "" && v != false {
		vals = []any{v}
	}
	out := []crm.Owner{}
	for _, e := range vals {
		str, ok := params.String(e)
		if !ok {
			return nil, taskInvalid("ufCrmTask", "a binding like D_12 or T408_7 is expected, got a list or an object")
		}
		if strings.TrimSpace(str) == "" {
			continue
		}
		etid, id, ok := field.ParseAnyBinding(str)
		if !ok {
			return nil, taskInvalid("ufCrmTask", "%q is not a binding to a CRM item (like L_1, D_12, C_3, CO_4 or T408_7)", str)
		}
		out = append(out, crm.Owner{EntityTypeID: etid, ID: id})
	}
	return out, nil
}

// taskOutFields are the output fields in wire order.
var taskOutFields = []string{
	"id", "title", "description", "responsibleId", "createdBy", "changedBy", "deadline", "status", "priority",
	"createdDate", "changedDate", "closedDate", "closedBy", "ufCrmTask",
}

// taskWire is a task as the tasks.task.* methods answer it. Like Bitrix24's REST v1
// task methods, ids and numbers go out as strings ("id": "12", "status": "2"); moments
// are ISO 8601 with the server's offset, null when unset (deadline, closedDate, and
// closedBy while the task is open); ufCrmTask is a list of binding strings ([] when
// none), answered only when selected (UF_CRM_TASK or UF_*), as Bitrix24 answers user
// fields. sel holds UPPER_CASE names; nil means every field but the user fields.
func taskWire(t *tasks.Task, sel map[string]bool) jsonx.Obj {
	moment := func(tm time.Time) any {
		if tm.IsZero() {
			return nil
		}
		return field.DateTime{}.Format(tm)
	}
	bindings := make([]string, len(t.Bindings))
	for i, b := range t.Bindings {
		bindings[i] = field.FormatBinding(b.EntityTypeID, b.ID)
	}
	var closedBy any
	if t.ClosedBy > 0 {
		closedBy = itoa(t.ClosedBy)
	}
	values := map[string]any{
		"id": itoa(t.ID), "title": t.Title, "description": t.Description, "responsibleId": itoa(t.ResponsibleID),
		"createdBy": itoa(t.CreatedBy), "changedBy": itoa(t.ChangedBy), "deadline": moment(t.Deadline),
		"status": itoa(t.Status), "priority": itoa(t.Priority), "createdDate": moment(t.CreatedDate),
		"changedDate": moment(t.ChangedDate), "closedDate": moment(t.ClosedDate), "closedBy": closedBy,
		"ufCrmTask": bindings,
	}
	out := make(jsonx.Obj, 0, len(taskOutFields))
	for _, name := range taskOutFields {
		up := upperName(name)
		userField := strings.HasPrefix(up, "UF_")
		if name == "id" || (userField && (sel["UF_*"] || sel[up])) || (!userField && (sel == nil || sel["*"] || sel[up])) {
			out.Add(name, values[name])
		}
	}
	return out
}

// taskSelect reads `select`: a list of UPPER_CASE (or camelCase) field names; "*" or an
// empty list selects every field but the user fields, which "UF_*" or their names
// select. Unknown names are ignored, as Bitrix24 does.
func taskSelect(c *Call) (map[string]bool, error) {
	v, ok := lookup(c, "select")
	if !ok || v == nil || v == "" || params.IsEmptyContainer(v) {
		return nil, nil
	}
	_, vals, isList := params.Entries(v)
	if !isList {
		return nil, wrongParamType("select", "array")
	}
	sel := map[string]bool{}
	for _, e := range vals {
		n, ok := params.String(e)
		if !ok {
			return nil, wrongParamType("select", "array")
		}
		sel[upperName(strings.TrimSpace(n))] = true
	}
	return sel, nil
}

func (s *Server) taskAdd(c *Call) (*Result, error) {
	p, err := taskPatch(c)
	if err != nil {
		return nil, err
	}
	t, err := s.tasks.Add(c.Ctx, c.Actor, p)
	if err != nil {
		return nil, err
	}
	return taskResult(taskWire(t, nil)), nil
}

func (s *Server) taskGet(c *Call) (*Result, error) {
	id, err := taskIDParam(c)
	if err != nil {
		return nil, err
	}
	sel, err := taskSelect(c)
	if err != nil {
		return nil, err
	}
	t, err := s.tasks.Get(c.Ctx, c.Actor, id)
	if err != nil {
		return nil, err
	}
	return taskResult(taskWire(t, sel)), nil
}

func (s *Server) taskUpdate(c *Call) (*Result, error) {
	id, err := taskIDParam(c)
	if err != nil {
		return nil, err
	}
	p, err := taskPatch(c)
	if err != nil {
		return nil, err
	}
	t, err := s.tasks.Update(c.Ctx, c.Actor, id, p)
	if err != nil {
		return nil, err
	}
	return taskResult(taskWire(t, nil)), nil
}

func (s *Server) taskComplete(c *Call) (*Result, error) {
	id, err := taskIDParam(c)
	if err != nil {
		return nil, err
	}
	t, err := s.tasks.Complete(c.Ctx, c.Actor, id)
	if err != nil {
		return nil, err
	}
	return taskResult(taskWire(t, nil)), nil
}

func (s *Server) taskDelete(c *Call) (*Result, error) {
	id, err := taskIDParam(c)
	if err != nil {
		return nil, err
	}
	if err := s.tasks.Delete(c.Ctx, c.Actor, id); err != nil {
		return nil, err
	}
	return taskResult(true), nil
}

// taskResolver finds the task fields by UPPER_CASE or camelCase name; REAL_STATUS is
// STATUS, since no meta statuses exist here.
func taskResolver() query.Resolver {
	resolve := upperResolver(tasks.QueryFields())
	return func(name string) (*query.Field, bool) {
		if upperName(strings.TrimSpace(name)) == "REAL_STATUS" {
			name = "STATUS"
		}
		return resolve(strings.TrimSpace(name))
	}
}

func (s *Server) taskList(c *Call) (*Result, error) {
	sel, err := taskSelect(c)
	if err != nil {
		return nil, err
	}
	filter, _ := lookup(c, "filter")
	order, _ := lookup(c, "order")
	where, err := wirequery.ParseFilter(filter, taskResolver())
	if err != nil {
		return nil, crm.NewError(crm.ErrInvalidArg, "%s", err.Error())
	}
	ord, err := wirequery.ParseOrder(order, taskResolver())
	if err != nil {
		return nil, crm.NewError(crm.ErrInvalidArg, "%s", err.Error())
	}
	start := startParam(c.Params)
	list, total, err := s.tasks.List(c.Ctx, c.Actor, tasks.Query{Where: where, Order: ord, Offset: int(max(start, 0)), NoCount: start == -1})
	if err != nil {
		return nil, err
	}
	rows := make([]jsonx.Obj, len(list))
	for i, t := range list {
		rows[i] = taskWire(t, sel)
	}
	t, next := pageInfo(start, len(rows), total)
	return &Result{Result: jsonx.Map{{K: "tasks", V: rows}}, Total: t, Next: next}, nil
}
