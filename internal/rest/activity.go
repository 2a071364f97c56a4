package rest

import (
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"smartcrm/internal/activity"
	"smartcrm/internal/crm"
	"smartcrm/internal/field"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/params"
	"smartcrm/internal/rest/wirequery"
)

// crm.activity.* — to-dos on CRM items (spec automation §3.6): the camelCase
// crm.activity.todo.* and crm.activity.binding.* methods, and the UPPER_CASE base
// methods that read, complete and delete them.

func (s *Server) registerActivities() {
	s.registerFamily(familyActivity, map[string]handlerFunc{
		"crm.activity.todo.add":                   (*Server).todoAdd,
		"crm.activity.todo.update":                (*Server).todoUpdate,
		"crm.activity.todo.updateColor":           todoSetter("colorId", func(in *activity.ToDoInput, v any) error { return setString(&in.ColorID, "colorId", v) }),
		"crm.activity.todo.updateDeadline":        todoSetter("value", func(in *activity.ToDoInput, v any) error { return setDeadline(&in.Deadline, "value", v) }),
		"crm.activity.todo.updateDescription":     todoSetter("value", func(in *activity.ToDoInput, v any) error { return setString(&in.Description, "value", v) }),
		"crm.activity.todo.updateResponsibleUser": todoSetter("responsibleId", func(in *activity.ToDoInput, v any) error { return setInt(&in.ResponsibleID, "responsibleId", v) }),
		"crm.activity.get":                        (*Server).activityGet,
		"crm.activity.list":                       (*Server).activityList,
		"crm.activity.update":                     (*Server).activityUpdate,
		"crm.activity.delete":                     (*Server).activityDelete,
		"crm.activity.fields":                     (*Server).activityFields,
		"crm.activity.binding.add":                (*Server).activityBindingAdd,
		"crm.activity.binding.list":               (*Server).activityBindingList,
		"crm.activity.binding.move":               (*Server).activityBindingMove,
		"crm.activity.binding.delete":             (*Server).activityBindingDelete,
	})
}

// ownerParams reads an item given by two named parameters.
func ownerParams(p *params.Object, typeName, idName string) (crm.Owner, error) {
	etid, err := intParam(p, typeName)
	if err != nil {
		return crm.Owner{}, err
	}
	id, err := intParam(p, idName)
	return crm.Owner{EntityTypeID: etid, ID: id}, err
}

// setString reads an optional text value; numbers are text too (form transports).
func setString(dst **string, name string, v any) error {
	str, ok := params.String(v)
	if !ok {
		return wrongParamType(name, "string")
	}
	*dst = &str
	return nil
}

// setDeadline reads a deadline in any accepted spelling; a wrong one is the family's
// WRONG_DATETIME_FORMAT.
func setDeadline(dst **time.Time, name string, v any) error {
	raw, _ := params.String(v)
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return &crm.Error{Kind: crm.ErrMissingParam, Field: "deadline", Msg: "A to-do needs a deadline"}
	}
	t, ok := field.ParseTime(raw)
	if !ok {
		shown := raw
		if utf8.RuneCountInString(shown) > 40 {
			shown = string([]rune(shown)[:40]) + "…"
		}
		return &crm.Error{Kind: crm.ErrWrongDatetime, Field: "deadline",
			Msg: "Wrong " + name + " \"" + shown + "\": expected a date and time such as 2025-03-01T15:00:00+03:00"}
	}
	*dst = &t
	return nil
}

func setInt(dst **int64, name string, v any) error {
	i, ok := params.Int(v)
	if !ok {
		return wrongParamType(name, "int")
	}
	*dst = &i
	return nil
}

func setIntList(dst **[]int64, name string, v any) error {
	list := []int64{}
	if v != nil && v != "" {
		_, elems, isList := params.Entries(v)
		if !isList {
			elems = []any{v}
		}
		for _, e := range elems {
			i, ok := params.Int(e)
			if !ok {
				return wrongParamType(name, "array of int")
			}
			list = append(list, i)
		}
	}
	*dst = &list
	return nil
}

// todoInput reads the optional to-do parameters of crm.activity.todo.add/update.
func todoInput(p *params.Object) (activity.ToDoInput, error) {
	var in activity.ToDoInput
	readers := []struct {
		name string
		set  func(v any) error
	}{
		{"title", func(v any) error { return setString(&in.Title, "title", v) }},
		{"description", func(v any) error { return setString(&in.Description, "description", v) }},
		{"colorId", func(v any) error { return setString(&in.ColorID, "colorId", v) }},
		{"responsibleId", func(v any) error { return setInt(&in.ResponsibleID, "responsibleId", v) }},
		{"parentActivityId", func(v any) error { return setInt(&in.ParentActivityID, "parentActivityId", v) }},
		{"pingOffsets", func(v any) error { return setIntList(&in.PingOffsets, "pingOffsets", v) }},
	}
	for _, r := range readers {
		v, given := params.Lookup(p, r.name)
		if !given || (v == nil && r.name != "pingOffsets") {
			continue
		}
		if err := r.set(v); err != nil {
			return in, err
		}
	}
	deadline, err := stringParam(p, "deadline")
	if err != nil {
		return in, err
	}
	return in, setDeadline(&in.Deadline, "deadline", deadline)
}

func (s *Server) todoAdd(c *Call) (*Result, error) {
	o, err := ownerParams(c.Params, "ownerTypeId", "ownerId")
	if err != nil {
		return nil, err
	}
	in, err := todoInput(c.Params)
	if err != nil {
		return nil, err
	}
	id, err := s.activity.AddToDo(c.Ctx, c.Actor, o, in)
	if err != nil {
		return nil, err
	}
	return &Result{Result: jsonx.Map{{K: "id", V: id}}}, nil
}

func (s *Server) todoUpdate(c *Call) (*Result, error) {
	id, err := intParam(c.Params, "id")
	if err != nil {
		return nil, err
	}
	o, err := ownerParams(c.Params, "ownerTypeId", "ownerId")
	if err != nil {
		return nil, err
	}
	in, err := todoInput(c.Params)
	if err != nil {
		return nil, err
	}
	if err := s.activity.UpdateToDo(c.Ctx, c.Actor, id, o, in); err != nil {
		return nil, err
	}
	return &Result{Result: jsonx.Map{{K: "id", V: id}}}, nil
}

// todoSetter builds a single-value updater: id, ownerTypeId, ownerId and the value.
func todoSetter(name string, set func(in *activity.ToDoInput, v any) error) handlerFunc {
	return func(s *Server, c *Call) (*Result, error) {
		id, err := intParam(c.Params, "id")
		if err != nil {
			return nil, err
		}
		o, err := ownerParams(c.Params, "ownerTypeId", "ownerId")
		if err != nil {
			return nil, err
		}
		v, given := params.Lookup(c.Params, name)
		if !given || v == nil {
			return nil, missingParam(name)
		}
		var in activity.ToDoInput
		if err := set(&in, v); err != nil {
			return nil, err
		}
		if err := s.activity.UpdateToDo(c.Ctx, c.Actor, id, o, in); err != nil {
			return nil, err
		}
		return &Result{Result: jsonx.Map{{K: "id", V: id}}}, nil
	}
}

func (s *Server) activityGet(c *Call) (*Result, error) {
	id, err := intParam(c.Params, "id")
	if err != nil {
		return nil, err
	}
	a, err := s.activity.Get(c.Ctx, c.Actor, id)
	if err != nil {
		return nil, err
	}
	return &Result{Result: activityWire(a, nil)}, nil
}

// activityWire is an activity as crm.activity.get/list answer it: UPPER_CASE names,
// values as strings. sel (UPPER_CASE names) keeps only those asked, and ID; nil is the
// default set, which leaves out COMMUNICATIONS and FILES as Bitrix24's list does.
func activityWire(a *activity.Activity, sel map[string]bool) jsonx.Map {
	t := func(tm time.Time) string {
		if tm.IsZero() {
			return ""
		}
		return tm.In(time.Local).Format(wireTime)
	}
	yn := "N"
	if a.Completed {
		yn = "Y"
	}
	bindings := make([]jsonx.Map, len(a.Bindings))
	for i, b := range a.Bindings {
		bindings[i] = jsonx.Map{{K: "OWNER_TYPE_ID", V: itoa(b.EntityTypeID)}, {K: "OWNER_ID", V: itoa(b.ID)}}
	}
	pings := make([]string, len(a.PingOffsets))
	for i, p := range a.PingOffsets {
		pings[i] = itoa(p)
	}
	deadline := t(a.Deadline)
	all := jsonx.Map{
		{K: "ID", V: itoa(a.ID)}, {K: "OWNER_ID", V: itoa(a.Owner.ID)}, {K: "OWNER_TYPE_ID", V: itoa(a.Owner.EntityTypeID)},
		{K: "TYPE_ID", V: itoa(a.TypeID)}, {K: "PROVIDER_ID", V: a.ProviderID}, {K: "PROVIDER_TYPE_ID", V: "TODO"},
		{K: "PROVIDER_GROUP_ID", V: nil}, {K: "ASSOCIATED_ENTITY_ID", V: "0"}, {K: "SUBJECT", V: a.Subject},
		{K: "CREATED", V: t(a.Created)}, {K: "LAST_UPDATED", V: t(a.LastUpdated)},
		{K: "START_TIME", V: deadline}, {K: "END_TIME", V: deadline}, {K: "DEADLINE", V: deadline},
		{K: "COMPLETED", V: yn}, {K: "STATUS", V: itoa(a.Status)}, {K: "RESPONSIBLE_ID", V: itoa(a.ResponsibleID)},
		{K: "PRIORITY", V: itoa(a.Priority)}, {K: "NOTIFY_TYPE", V: "0"}, {K: "NOTIFY_VALUE", V: "0"},
		{K: "DESCRIPTION", V: a.Description}, {K: "DESCRIPTION_TYPE", V: "1"}, {K: "DIRECTION", V: "0"},
		{K: "LOCATION", V: ""}, {K: "SETTINGS", V: []any{}}, {K: "ORIGINATOR_ID", V: nil}, {K: "ORIGIN_ID", V: nil},
		{K: "AUTHOR_ID", V: itoa(a.AuthorID)}, {K: "EDITOR_ID", V: itoa(a.EditorID)},
		{K: "PROVIDER_PARAMS", V: []any{}}, {K: "PROVIDER_DATA", V: nil}, {K: "AUTOCOMPLETE_RULE", V: "0"},
		{K: "BINDINGS", V: bindings}, {K: "IS_INCOMING_CHANNEL", V: "N"},
		// Ours, beside Bitrix24's: what crm.activity.todo.* sets and get would otherwise hide.
		{K: "PARENT_ID", V: itoa(a.ParentActivityID)}, {K: "COLOR_ID", V: a.ColorID}, {K: "PING_OFFSETS", V: pings},
	}
	if sel == nil {
		return all
	}
	out := jsonx.Map{}
	for _, kv := range all {
		if kv.K == "ID" || sel[kv.K] {
			out = append(out, kv)
		}
	}
	for _, extra := range []string{"COMMUNICATIONS", "FILES"} {
		if sel[extra] {
			out = append(out, jsonx.KV{K: extra, V: []any{}})
		}
	}
	return out
}

func (s *Server) activityList(c *Call) (*Result, error) {
	q, err := activityQuery(c)
	if err != nil {
		return nil, err
	}
	start := startParam(c.Params)
	list, total, err := s.activity.List(c.Ctx, c.Actor, q)
	if err != nil {
		return nil, err
	}
	sel := selectNames(c.Params, true)
	if sel["*"] {
		delete(sel, "*")
		for _, kv := range activityWire(&activity.Activity{}, nil) {
			sel[kv.K] = true
		}
	}
	out := make([]jsonx.Map, len(list))
	for i, a := range list {
		out[i] = activityWire(a, sel)
	}
	t, next := pageInfo(start, len(out), total)
	return &Result{Result: out, Total: t, Next: next}, nil
}

// activityUpdate takes the UPPER_CASE fields a to-do has: SUBJECT, DESCRIPTION,
// DEADLINE, RESPONSIBLE_ID and COMPLETED (Y completes it, N reopens it). Others are
// read-only here and ignored, as Bitrix24 ignores them.
func (s *Server) activityUpdate(c *Call) (*Result, error) {
	id, err := intParam(c.Params, "id")
	if err != nil {
		return nil, err
	}
	fields, err := objectParam(c.Params, "fields")
	if err != nil {
		return nil, err
	}
	var in activity.ToDoInput
	for _, k := range fields.Keys() {
		v, _ := fields.Get(k)
		switch strings.ToUpper(k) {
		case "SUBJECT":
			err = setString(&in.Title, k, v)
		case "DESCRIPTION":
			err = setString(&in.Description, k, v)
		case "DEADLINE":
			err = setDeadline(&in.Deadline, k, v)
		case "RESPONSIBLE_ID":
			err = setInt(&in.ResponsibleID, k, v)
		case "COMPLETED":
			b, ok := params.Bool(v)
			if !ok {
				err = apiErr(http.StatusBadRequest, "INVALID_ARG_VALUE", "COMPLETED is Y or N")
			}
			in.Completed = &b
		}
		if err != nil {
			return nil, err
		}
	}
	if err := s.activity.Update(c.Ctx, c.Actor, id, in); err != nil {
		return nil, err
	}
	return &Result{Result: true}, nil
}

func (s *Server) activityDelete(c *Call) (*Result, error) {
	id, err := intParam(c.Params, "id")
	if err != nil {
		return nil, err
	}
	if err := s.activity.Delete(c.Ctx, c.Actor, id); err != nil {
		return nil, err
	}
	return &Result{Result: true}, nil
}

func (s *Server) activityFields(*Call) (*Result, error) {
	d := func(typ, title string, required, readOnly, immutable bool) jsonx.Map {
		return jsonx.Map{{K: "type", V: typ}, {K: "isRequired", V: required}, {K: "isReadOnly", V: readOnly},
			{K: "isImmutable", V: immutable}, {K: "isMultiple", V: false}, {K: "isDynamic", V: false}, {K: "title", V: title}}
	}
	bindings := d("crm_activity_binding", "Bindings", false, true, false)
	for i := range bindings {
		if bindings[i].K == "isMultiple" {
			bindings[i].V = true
		}
	}
	return &Result{Result: jsonx.Map{
		{K: "ID", V: d("integer", "ID", false, true, false)},
		{K: "OWNER_ID", V: d("integer", "Owner ID", true, false, true)},
		{K: "OWNER_TYPE_ID", V: d("crm_enum_ownertype", "Owner type", true, false, true)},
		{K: "TYPE_ID", V: d("crm_enum_activitytype", "Type", true, false, true)},
		{K: "PROVIDER_ID", V: d("string", "Provider", false, true, false)},
		{K: "PROVIDER_TYPE_ID", V: d("string", "Provider type", false, true, false)},
		{K: "SUBJECT", V: d("string", "Subject", false, false, false)},
		{K: "CREATED", V: d("datetime", "Created", false, true, false)},
		{K: "LAST_UPDATED", V: d("datetime", "Last updated", false, true, false)},
		{K: "START_TIME", V: d("datetime", "Start time", false, true, false)},
		{K: "END_TIME", V: d("datetime", "End time", false, true, false)},
		{K: "DEADLINE", V: d("datetime", "Deadline", true, false, false)},
		{K: "COMPLETED", V: d("char", "Completed", false, false, false)},
		{K: "STATUS", V: d("crm_enum_activitystatus", "Status", false, true, false)},
		{K: "RESPONSIBLE_ID", V: d("user", "Responsible", false, false, false)},
		{K: "PRIORITY", V: d("crm_enum_activitypriority", "Priority", false, true, false)},
		{K: "DESCRIPTION", V: d("string", "Description", false, false, false)},
		{K: "DESCRIPTION_TYPE", V: d("crm_enum_contenttype", "Description type", false, true, false)},
		{K: "AUTHOR_ID", V: d("user", "Author", false, true, false)},
		{K: "EDITOR_ID", V: d("user", "Editor", false, true, false)},
		{K: "PARENT_ID", V: d("integer", "Parent activity", false, true, false)},
		{K: "COLOR_ID", V: d("string", "Colour", false, true, false)},
		{K: "BINDINGS", V: bindings},
	}}, nil
}

// activityOwner reads activityId with an item given as entityTypeId and entityId.
func activityOwner(c *Call) (int64, crm.Owner, error) {
	id, err := intParam(c.Params, "activityId")
	if err != nil {
		return 0, crm.Owner{}, err
	}
	o, err := ownerParams(c.Params, "entityTypeId", "entityId")
	return id, o, err
}

func (s *Server) activityBindingAdd(c *Call) (*Result, error) {
	id, o, err := activityOwner(c)
	if err != nil {
		return nil, err
	}
	if err := s.activity.AddBinding(c.Ctx, c.Actor, id, o); err != nil {
		return nil, err
	}
	return &Result{Result: true}, nil
}

func (s *Server) activityBindingList(c *Call) (*Result, error) {
	id, err := intParam(c.Params, "activityId")
	if err != nil {
		return nil, err
	}
	bindings, err := s.activity.Bindings(c.Ctx, c.Actor, id)
	if err != nil {
		return nil, err
	}
	out := make([]jsonx.Map, len(bindings))
	for i, b := range bindings {
		out[i] = jsonx.Map{{K: "entityTypeId", V: b.EntityTypeID}, {K: "entityId", V: b.ID}}
	}
	return &Result{Result: out}, nil
}

func (s *Server) activityBindingMove(c *Call) (*Result, error) {
	id, err := intParam(c.Params, "activityId")
	if err != nil {
		return nil, err
	}
	from, err := ownerParams(c.Params, "sourceEntityTypeId", "sourceEntityId")
	if err != nil {
		return nil, err
	}
	to, err := ownerParams(c.Params, "targetEntityTypeId", "targetEntityId")
	if err != nil {
		return nil, err
	}
	if err := s.activity.MoveBinding(c.Ctx, c.Actor, id, from, to); err != nil {
		return nil, err
	}
	return &Result{Result: true}, nil
}

func (s *Server) activityBindingDelete(c *Call) (*Result, error) {
	id, o, err := activityOwner(c)
	if err != nil {
		return nil, err
	}
	if err := s.activity.DeleteBinding(c.Ctx, c.Actor, id, o); err != nil {
		return nil, err
	}
	return &Result{Result: true}, nil
}

// activityQuery reads filter (with BINDINGS: [{OWNER_TYPE_ID, OWNER_ID?}]), order and
// paging of crm.activity.list.
func activityQuery(c *Call) (activity.Query, error) {
	var q activity.Query
	filter, _ := lookup(c, "filter")
	if o, ok := filter.(*params.Object); ok {
		rest := params.NewObject()
		for _, k := range o.Keys() {
			v, _ := o.Get(k)
			if !strings.EqualFold(k, "BINDINGS") {
				rest.Set(k, v)
				continue
			}
			bound, err := bindingsFilter(v)
			if err != nil {
				return q, err
			}
			q.Bound = bound
		}
		filter = rest
	}
	resolve := upperResolver(activity.QueryFields())
	where, err := wirequery.ParseFilter(filter, resolve)
	if err != nil {
		return q, &crm.Error{Kind: crm.ErrInvalidArg, Msg: err.Error()}
	}
	order, _ := lookup(c, "order")
	ord, err := wirequery.ParseOrder(order, resolve)
	if err != nil {
		return q, &crm.Error{Kind: crm.ErrInvalidArg, Msg: err.Error()}
	}
	start := startParam(c.Params)
	q.Where, q.Order, q.Offset, q.NoCount = where, ord, int(max(start, 0)), start == -1
	return q, nil
}

// bindingsFilter reads BINDINGS: a list of {OWNER_TYPE_ID, OWNER_ID?}, any of which an
// activity's bindings must match.
func bindingsFilter(v any) ([]crm.Owner, error) {
	bad := crm.NewError(crm.ErrInvalidArg, "Invalid filter: BINDINGS is a list of {OWNER_TYPE_ID, OWNER_ID} objects")
	_, list, isList := params.Entries(v)
	if !isList || len(list) == 0 {
		return nil, bad
	}
	var out []crm.Owner
	for _, e := range list {
		b, isObj := e.(*params.Object)
		if !isObj {
			return nil, bad
		}
		tv, _ := params.Lookup(b, "OWNER_TYPE_ID")
		etid, ok := params.Int(tv)
		if !ok || etid <= 0 {
			return nil, bad
		}
		o := crm.Owner{EntityTypeID: etid}
		if iv, given := params.Lookup(b, "OWNER_ID"); given && iv != nil && iv != "" {
			if o.ID, ok = params.Int(iv); !ok || o.ID <= 0 {
				return nil, bad
			}
		}
		out = append(out, o)
	}
	return out, nil
}
