package rest

import (
	"net/http"

	"smartcrm/internal/jsonx"
	"smartcrm/internal/params"
	"smartcrm/internal/tasks"
)

// tasks.task.* — tasks (spec automation §6): UPPER_CASE fields in, camelCase out, with
// ids and numbers as strings (see tasks.Wire).

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
	v, ok := params.Lookup(c.Params, "taskId")
	if !ok || v == nil || v == "" {
		return 0, missingParam("taskId")
	}
	id, ok := params.Int(v)
	if !ok || id <= 0 {
		return 0, apiErr(http.StatusBadRequest, 0, "wrong task id")
	}
	return id, nil
}

// taskFields reads `fields`, which must hold at least one field.
func taskFields(c *Call) (*params.Object, error) {
	fields, err := objectParam(c.Params, "fields")
	if err != nil {
		return nil, err
	}
	if fields.Len() == 0 {
		return nil, missingParam("fields")
	}
	return fields, nil
}

// taskSelect reads `select`: a list of field names, or none.
func taskSelect(c *Call) (map[string]bool, error) {
	v, ok := params.Lookup(c.Params, "select")
	if !ok || v == nil || v == "" || params.IsEmptyContainer(v) {
		return nil, nil
	}
	_, vals, isList := params.Entries(v)
	if !isList {
		return nil, wrongParamType("select", "array")
	}
	names := make([]string, 0, len(vals))
	for _, e := range vals {
		n, ok := params.String(e)
		if !ok {
			return nil, wrongParamType("select", "array")
		}
		names = append(names, n)
	}
	return tasks.ParseSelect(names), nil
}

func (s *Server) taskAdd(c *Call) (*Result, error) {
	fields, err := taskFields(c)
	if err != nil {
		return nil, err
	}
	t, err := s.tasks.Add(c.Ctx, c.Actor, fields)
	if err != nil {
		return nil, err
	}
	return taskResult(tasks.Wire(t, nil)), nil
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
	return taskResult(tasks.Wire(t, sel)), nil
}

func (s *Server) taskUpdate(c *Call) (*Result, error) {
	id, err := taskIDParam(c)
	if err != nil {
		return nil, err
	}
	fields, err := taskFields(c)
	if err != nil {
		return nil, err
	}
	t, err := s.tasks.Update(c.Ctx, c.Actor, id, fields)
	if err != nil {
		return nil, err
	}
	return taskResult(tasks.Wire(t, nil)), nil
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
	return taskResult(tasks.Wire(t, nil)), nil
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

func (s *Server) taskList(c *Call) (*Result, error) {
	sel, err := taskSelect(c)
	if err != nil {
		return nil, err
	}
	req := tasks.ListRequest{Start: startParam(c.Params)}
	req.Filter, _ = params.Lookup(c.Params, "filter")
	req.Order, _ = params.Lookup(c.Params, "order")
	list, err := s.tasks.List(c.Ctx, c.Actor, req)
	if err != nil {
		return nil, err
	}
	rows := make([]jsonx.Obj, len(list.Tasks))
	for i, t := range list.Tasks {
		rows[i] = tasks.Wire(t, sel)
	}
	total, next := pageInfo(req.Start, len(rows), list.Total)
	return &Result{Result: jsonx.Map{{K: "tasks", V: rows}}, Total: total, Next: next}, nil
}
