package rest

import (
	"encoding/json"
	"net/http"
	"strconv"

	"smartcrm/internal/crm"
	"smartcrm/internal/field"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/params"
	"smartcrm/internal/rest/wirequery"
	"smartcrm/internal/timeline"
)

// crm.timeline.* — comments, bindings, log messages, notes and pins (spec automation
// §3), and smartcrm.timeline.list, our reader of a whole timeline.

func (s *Server) registerTimeline() {
	s.registerFamily(familyTimeline, map[string]handlerFunc{
		"crm.timeline.comment.add":       (*Server).commentAdd,
		"crm.timeline.comment.update":    (*Server).commentUpdate,
		"crm.timeline.comment.delete":    (*Server).commentDelete,
		"crm.timeline.logmessage.add":    (*Server).logMessageAdd,
		"crm.timeline.logmessage.get":    (*Server).logMessageGet,
		"crm.timeline.logmessage.list":   (*Server).logMessageList,
		"crm.timeline.logmessage.delete": (*Server).logMessageDelete,
		"crm.timeline.note.save":         (*Server).noteSave,
		"crm.timeline.note.get":          (*Server).noteGet,
		"crm.timeline.note.delete":       (*Server).noteDelete,
		"crm.timeline.item.pin":          func(s *Server, c *Call) (*Result, error) { return s.pin(c, true) },
		"crm.timeline.item.unpin":        func(s *Server, c *Call) (*Result, error) { return s.pin(c, false) },
		"smartcrm.timeline.list":         (*Server).timelineList,
	})
	// Reading comments and the bindings family answer with an empty code and a text.
	s.registerFamily(familyTimelineText, map[string]handlerFunc{
		"crm.timeline.comment.get":     (*Server).commentGet,
		"crm.timeline.comment.list":    (*Server).commentList,
		"crm.timeline.comment.fields":  (*Server).commentFields,
		"crm.timeline.bindings.bind":   func(s *Server, c *Call) (*Result, error) { return s.binding(c, true) },
		"crm.timeline.bindings.unbind": func(s *Server, c *Call) (*Result, error) { return s.binding(c, false) },
		"crm.timeline.bindings.list":   (*Server).bindingsList,
		"crm.timeline.bindings.fields": (*Server).bindingsFields,
	})
}

// textErr is an error of the text-answering timeline methods.
func textErr(msg string) *APIError { return apiErr(http.StatusBadRequest, "", msg) }

// upperFields reads `fields` for the comment and binding methods.
func upperFields(c *Call) (*params.Object, error) {
	v, _ := c.Params.Get("fields") // only lowercase `fields` (spec automation §0)
	o, ok := v.(*params.Object)
	if !ok {
		return nil, missingParam("fields")
	}
	return o, nil
}

// ownerOf reads ENTITY_TYPE and ENTITY_ID of a comment or binding.
func ownerOf(f *params.Object) (crm.Owner, error) {
	tv, _ := params.Lookup(f, "ENTITY_TYPE")
	ts, _ := params.String(tv)
	etid, ok := timeline.ParseEntityType(ts)
	if !ok {
		return crm.Owner{}, apiErr(http.StatusBadRequest, "OWNER_NOT_FOUND", "ENTITY_TYPE is not defined or invalid.")
	}
	iv, _ := params.Lookup(f, "ENTITY_ID")
	id, ok := params.Int(iv)
	if !ok || id <= 0 {
		return crm.Owner{}, apiErr(http.StatusBadRequest, "OWNER_NOT_FOUND", "ENTITY_ID is not defined or invalid.")
	}
	return crm.Owner{EntityTypeID: etid, ID: id}, nil
}

// optionalOwner reads ownerTypeId/ownerId when both are given.
func optionalOwner(c *Call) *crm.Owner {
	tv, okT := params.Lookup(c.Params, "ownerTypeId")
	iv, okI := params.Lookup(c.Params, "ownerId")
	t, ok1 := params.Int(tv)
	i, ok2 := params.Int(iv)
	if !okT || !okI || !ok1 || !ok2 {
		return nil
	}
	return &crm.Owner{EntityTypeID: t, ID: i}
}

// camelOwner reads ownerTypeId* and ownerId*.
func camelOwner(c *Call) (crm.Owner, error) {
	t, err := intParam(c.Params, "ownerTypeId")
	if err != nil {
		return crm.Owner{}, err
	}
	i, err := intParam(c.Params, "ownerId")
	return crm.Owner{EntityTypeID: t, ID: i}, err
}

// filesOf reads FILES: a list of [name, base64] attachments; nil when not given, empty
// when given empty (which removes a comment's attachments).
func filesOf(f *params.Object) ([]*timeline.Attachment, error) {
	v, given := params.Lookup(f, "FILES")
	if !given {
		return nil, nil
	}
	out := []*timeline.Attachment{}
	if v == nil || v == "" || params.IsEmptyContainer(v) {
		return out, nil
	}
	_, vals, ok := params.Entries(v)
	if !ok {
		return nil, apiErr(http.StatusBadRequest, "INVALID_ARG_VALUE", `FILES must be a list of ["name", "<base64>"] pairs`)
	}
	for _, raw := range vals {
		v, err := field.File{}.Parse(plain(raw))
		in, ok := v.(*field.FileInput)
		if err != nil || !ok || in.Data == nil {
			msg := `an attachment is sent as ["name.ext", "<base64>"]`
			if err != nil {
				msg = err.Error()
			}
			return nil, crm.NewError(crm.ErrInvalidArg, "Invalid attachment: %s", msg)
		}
		out = append(out, in)
	}
	return out, nil
}

func (s *Server) commentAdd(c *Call) (*Result, error) {
	f, err := upperFields(c)
	if err != nil {
		return nil, err
	}
	o, err := ownerOf(f)
	if err != nil {
		return nil, err
	}
	tv, _ := params.Lookup(f, "COMMENT")
	text, _ := params.String(tv)
	files, err := filesOf(f)
	if err != nil {
		return nil, err
	}
	id, err := s.timeline.AddComment(c.Ctx, c.Actor, o, text, files)
	if err != nil {
		return nil, err
	}
	return &Result{Result: id}, nil
}

func (s *Server) commentUpdate(c *Call) (*Result, error) {
	id, err := intParam(c.Params, "id")
	if err != nil {
		return nil, err
	}
	f, err := upperFields(c)
	if err != nil {
		return nil, err
	}
	var text *string
	if tv, ok := params.Lookup(f, "COMMENT"); ok {
		str, _ := params.String(tv)
		text = &str
	}
	files, err := filesOf(f)
	if err != nil {
		return nil, err
	}
	if err := s.timeline.UpdateComment(c.Ctx, c.Actor, id, text, files); err != nil {
		return nil, err
	}
	return &Result{Result: id}, nil
}

func (s *Server) commentDelete(c *Call) (*Result, error) {
	id, err := intParam(c.Params, "id")
	if err != nil {
		return nil, err
	}
	if err := s.timeline.DeleteComment(c.Ctx, c.Actor, id, optionalOwner(c)); err != nil {
		return nil, err
	}
	return &Result{Result: nil}, nil
}

// commentWire is a comment as crm.timeline.comment.get answers it.
func (s *Server) commentWire(c *Call, e *timeline.Entry, sel map[string]bool) (jsonx.Map, error) {
	text := ""
	if e.Text != nil {
		text = *e.Text
	}
	files := jsonx.Map{}
	if sel == nil || sel["FILES"] {
		recs, err := s.timeline.CommentFiles(c.Ctx, e)
		if err != nil {
			return nil, err
		}
		for _, f := range recs {
			id := strconv.FormatInt(f.ID, 10)
			link := f.Link
			files = append(files, jsonx.KV{K: id, V: jsonx.Map{
				{K: "id", V: f.ID}, {K: "date", V: e.CreatedTime.Format(wireTime)}, {K: "type", V: "file"}, {K: "name", V: f.Name},
				{K: "size", V: f.Size}, {K: "authorId", V: e.AuthorID}, {K: "urlShow", V: link}, {K: "urlDownload", V: link},
			}})
		}
	}
	all := jsonx.Map{
		{K: "ID", V: strconv.FormatInt(e.ID, 10)}, {K: "ENTITY_ID", V: strconv.FormatInt(e.ItemID, 10)},
		{K: "ENTITY_TYPE", V: timeline.EntityTypeName(e.EntityTypeID)}, {K: "CREATED", V: e.CreatedTime.Format(wireTime)},
		{K: "COMMENT", V: text}, {K: "AUTHOR_ID", V: strconv.FormatInt(e.AuthorID, 10)}, {K: "FILES", V: files},
	}
	if sel == nil {
		return all, nil
	}
	out := jsonx.Map{}
	for _, kv := range all {
		if sel[kv.K] {
			out = append(out, kv)
		}
	}
	return out, nil
}

func (s *Server) commentGet(c *Call) (*Result, error) {
	v, _ := params.Lookup(c.Params, "id")
	id, ok := params.Int(v)
	if !ok || id <= 0 {
		return nil, textErr("ID is not defined or invalid.")
	}
	e, err := s.timeline.Comment(c.Ctx, c.Actor, id)
	if err != nil {
		return nil, err
	}
	w, err := s.commentWire(c, e, nil)
	if err != nil {
		return nil, err
	}
	return &Result{Result: w}, nil
}

func (s *Server) commentList(c *Call) (*Result, error) {
	fv, _ := params.Lookup(c.Params, "filter")
	f, _ := fv.(*params.Object)
	if f == nil {
		return nil, textErr("ENTITY_TYPE is not defined or invalid.")
	}
	o, err := ownerOf(f)
	if err != nil {
		return nil, textErr(err.Error())
	}
	sel := selectNames(c.Params, true)
	if sel != nil {
		sel["ID"] = true
	}
	q, err := timelineListQuery(c)
	if err != nil {
		return nil, err
	}
	start := startParam(c.Params)
	entries, total, err := s.timeline.ListComments(c.Ctx, c.Actor, o, q)
	if err != nil {
		return nil, err
	}
	rows := make([]jsonx.Map, 0, len(entries))
	for _, e := range entries {
		w, err := s.commentWire(c, e, sel)
		if err != nil {
			return nil, err
		}
		rows = append(rows, w)
	}
	t, n := pageInfo(start, len(rows), total)
	return &Result{Result: rows, Total: t, Next: n}, nil
}

func (s *Server) commentFields(c *Call) (*Result, error) {
	d := func(typ, title string, ro, imm, multiple bool) jsonx.Map {
		return jsonx.Map{{K: "type", V: typ}, {K: "isRequired", V: false}, {K: "isReadOnly", V: ro}, {K: "isImmutable", V: imm},
			{K: "isMultiple", V: multiple}, {K: "isDynamic", V: false}, {K: "title", V: title}}
	}
	return &Result{Result: jsonx.Map{
		{K: "ID", V: d("integer", "ID", true, false, false)},
		{K: "CREATED", V: d("datetime", "Created", true, false, false)},
		{K: "ENTITY_ID", V: d("integer", "Entity ID", false, true, false)},
		{K: "ENTITY_TYPE", V: d("string", "Entity type", false, true, false)},
		{K: "AUTHOR_ID", V: d("user", "Author", false, true, false)},
		{K: "COMMENT", V: d("string", "Comment", false, false, false)},
		{K: "FILES", V: d("attached_diskfile", "Files", false, false, true)},
	}}, nil
}

func (s *Server) binding(c *Call, bind bool) (*Result, error) {
	v, _ := c.Params.Get("fields")
	f, ok := v.(*params.Object)
	if !ok {
		return nil, textErr("OWNER_ID is not defined or invalid.")
	}
	ov, _ := params.Lookup(f, "OWNER_ID")
	id, ok := params.Int(ov)
	if !ok || id <= 0 {
		return nil, textErr("OWNER_ID is not defined or invalid.")
	}
	o, err := ownerOf(f)
	if err != nil {
		return nil, textErr(err.Error())
	}
	var done bool
	if bind {
		done, err = s.timeline.Bind(c.Ctx, c.Actor, id, o)
	} else {
		done, err = s.timeline.Unbind(c.Ctx, c.Actor, id, o)
	}
	if err != nil {
		return nil, err
	}
	return &Result{Result: done}, nil
}

func (s *Server) bindingsList(c *Call) (*Result, error) {
	fv, _ := params.Lookup(c.Params, "filter")
	f, _ := fv.(*params.Object)
	var id int64
	if f != nil {
		ov, _ := params.Lookup(f, "OWNER_ID")
		id, _ = params.Int(ov)
	}
	if id <= 0 {
		return nil, textErr("OWNER_ID is not defined or invalid.")
	}
	bindings, err := s.timeline.Bindings(c.Ctx, c.Actor, id)
	if err != nil {
		return nil, err
	}
	rows := make([]jsonx.Map, len(bindings))
	for i, b := range bindings {
		rows[i] = jsonx.Map{{K: "OWNER_ID", V: strconv.FormatInt(id, 10)}, {K: "ENTITY_ID", V: strconv.FormatInt(b.ID, 10)},
			{K: "ENTITY_TYPE", V: timeline.EntityTypeName(b.EntityTypeID)}}
	}
	total := len(rows)
	return &Result{Result: rows, Total: &total}, nil
}

func (s *Server) bindingsFields(c *Call) (*Result, error) {
	d := func(typ, title string) jsonx.Map {
		return jsonx.Map{{K: "type", V: typ}, {K: "isRequired", V: true}, {K: "isReadOnly", V: false}, {K: "isImmutable", V: true},
			{K: "isMultiple", V: false}, {K: "isDynamic", V: false}, {K: "title", V: title}}
	}
	return &Result{Result: jsonx.Map{
		{K: "OWNER_ID", V: d("integer", "Timeline entry ID")},
		{K: "ENTITY_ID", V: d("integer", "Entity ID")},
		{K: "ENTITY_TYPE", V: d("string", "Entity type")},
	}}, nil
}

func logMessageWire(e *timeline.Entry) jsonx.Map {
	var data struct {
		Title    string `json:"title"`
		IconCode string `json:"iconCode"`
	}
	_ = json.Unmarshal(e.Data, &data)
	text := ""
	if e.Text != nil {
		text = *e.Text
	}
	return jsonx.Map{{K: "id", V: e.ID}, {K: "created", V: e.CreatedTime.Format(wireTime)}, {K: "authorId", V: e.AuthorID},
		{K: "title", V: data.Title}, {K: "text", V: text}, {K: "iconCode", V: data.IconCode}}
}

func (s *Server) logMessageAdd(c *Call) (*Result, error) {
	f, err := objectParam(c.Params, "fields")
	if err != nil {
		return nil, err
	}
	str := func(name string) string {
		v, _ := params.Lookup(f, name)
		s, _ := params.String(v)
		return s
	}
	etv, _ := params.Lookup(f, "entityTypeId")
	eiv, _ := params.Lookup(f, "entityId")
	etid, ok1 := params.Int(etv)
	eid, ok2 := params.Int(eiv)
	if !ok1 || !ok2 {
		return nil, apiErr(http.StatusBadRequest, 100, "Required fields: entityTypeId, entityId")
	}
	e, err := s.timeline.AddLogMessage(c.Ctx, c.Actor, crm.Owner{EntityTypeID: etid, ID: eid},
		timeline.LogMessage{Title: str("title"), Text: str("text"), IconCode: str("iconCode")})
	if err != nil {
		return nil, err
	}
	return &Result{Result: jsonx.Map{{K: "logMessage", V: logMessageWire(e)}}}, nil
}

func (s *Server) logMessageGet(c *Call) (*Result, error) {
	id, err := intParam(c.Params, "id")
	if err != nil {
		return nil, err
	}
	e, err := s.timeline.LogMessage(c.Ctx, c.Actor, id)
	if err != nil {
		return nil, err
	}
	return &Result{Result: jsonx.Map{{K: "logMessage", V: logMessageWire(e)}}}, nil
}

func (s *Server) logMessageList(c *Call) (*Result, error) {
	etid, err := intParam(c.Params, "entityTypeId")
	if err != nil {
		return nil, err
	}
	eid, err := intParam(c.Params, "entityId")
	if err != nil {
		return nil, err
	}
	q, err := timelineListQuery(c)
	if err != nil {
		return nil, err
	}
	start := startParam(c.Params)
	entries, total, err := s.timeline.ListLogMessages(c.Ctx, c.Actor, crm.Owner{EntityTypeID: etid, ID: eid}, q)
	if err != nil {
		return nil, err
	}
	rows := make([]jsonx.Map, len(entries))
	for i, e := range entries {
		rows[i] = logMessageWire(e)
	}
	t := total
	var next *int
	if int(max(start, 0))+len(rows) < total {
		n := int(max(start, 0)) + timeline.LogMessagePageSize
		next = &n
	}
	return &Result{Result: rows, Total: &t, Next: next}, nil // a bare list, as the docs show
}

func (s *Server) logMessageDelete(c *Call) (*Result, error) {
	id, err := intParam(c.Params, "id")
	if err != nil {
		return nil, err
	}
	if err := s.timeline.DeleteLogMessage(c.Ctx, c.Actor, id); err != nil {
		return nil, err
	}
	return &Result{Result: true}, nil
}

// noteTarget reads ownerTypeId, ownerId, itemType and itemId.
func noteTarget(c *Call) (crm.Owner, int64, int64, error) {
	o, err := camelOwner(c)
	if err != nil {
		return o, 0, 0, err
	}
	it, err := intParam(c.Params, "itemType")
	if err != nil {
		return o, 0, 0, err
	}
	id, err := intParam(c.Params, "itemId")
	return o, it, id, err
}

func (s *Server) noteSave(c *Call) (*Result, error) {
	o, it, id, err := noteTarget(c)
	if err != nil {
		return nil, err
	}
	tv, ok := params.Lookup(c.Params, "text")
	if !ok {
		return nil, missingParam("text")
	}
	text, _ := params.String(tv)
	if err := s.timeline.SaveNote(c.Ctx, c.Actor, o, it, id, text); err != nil {
		return nil, err
	}
	return &Result{Result: true}, nil
}

func (s *Server) noteGet(c *Call) (*Result, error) {
	o, it, id, err := noteTarget(c)
	if err != nil {
		return nil, err
	}
	n, err := s.timeline.Note(c.Ctx, c.Actor, o, it, id)
	if err != nil {
		return nil, err
	}
	return &Result{Result: jsonx.Map{{K: "text", V: n.Text}, {K: "createdById", V: n.CreatedBy},
		{K: "createdTime", V: n.CreatedTime.Format(wireTime)}, {K: "updatedById", V: n.UpdatedBy},
		{K: "updatedTime", V: n.UpdatedTime.Format(wireTime)}}}, nil
}

func (s *Server) noteDelete(c *Call) (*Result, error) {
	o, it, id, err := noteTarget(c)
	if err != nil {
		return nil, err
	}
	if err := s.timeline.DeleteNote(c.Ctx, c.Actor, o, it, id); err != nil {
		return nil, err
	}
	return &Result{Result: true}, nil
}

func (s *Server) pin(c *Call, pinned bool) (*Result, error) {
	id, err := intParam(c.Params, "id")
	if err != nil {
		return nil, err
	}
	o, err := camelOwner(c)
	if err != nil {
		return nil, err
	}
	if err := s.timeline.Pin(c.Ctx, c.Actor, id, o, pinned); err != nil {
		return nil, err
	}
	return &Result{Result: nil}, nil
}

// timelineList answers smartcrm.timeline.list {entityTypeId, id, cursor?}:
// {pinned: [...], entries: [...], next: cursor|null}, newest first, 50 a page.
func (s *Server) timelineList(c *Call) (*Result, error) {
	etid, id, err := itemIDs(c, true)
	if err != nil {
		return nil, err
	}
	var cursor int64
	if v, ok := params.Lookup(c.Params, "cursor"); ok && v != nil && v != "" {
		if cursor, ok = params.Int(v); !ok || cursor < 0 {
			return nil, wrongParamType("cursor", "int")
		}
	}
	tl, err := s.timeline.Read(c.Ctx, c.Actor, etid, id, cursor)
	if err != nil {
		return nil, err
	}
	wire := func(list []*timeline.Entry) []jsonx.Map {
		out := make([]jsonx.Map, len(list))
		for i, e := range list {
			out[i] = timelineEntryWire(e)
		}
		return out
	}
	var next any
	if tl.Next != 0 {
		next = tl.Next
	}
	return &Result{Result: jsonx.Map{{K: "pinned", V: wire(tl.Pinned)}, {K: "entries", V: wire(tl.Entries)}, {K: "next", V: next}}}, nil
}

// timelineEntryWire is an entry as smartcrm.timeline.list answers it.
func timelineEntryWire(e *timeline.Entry) jsonx.Map {
	out := jsonx.Map{
		{K: "id", V: e.ID}, {K: "kind", V: e.Kind}, {K: "entityTypeId", V: e.EntityTypeID}, {K: "entityId", V: e.ItemID},
		{K: "authorId", V: e.AuthorID}, {K: "createdTime", V: wireMoment(e.CreatedTime)}, {K: "pinned", V: e.Pinned},
		{K: "data", V: e.Data},
	}
	if e.Text != nil {
		out = append(out, jsonx.KV{K: "text", V: *e.Text})
	}
	return out
}

// timelineListQuery reads the order (ID, CREATED, AUTHOR_ID, in any letter case) and
// the page of the comment and log message lists.
func timelineListQuery(c *Call) (timeline.ListQuery, error) {
	order, _ := lookup(c, "order")
	ord, err := wirequery.ParseOrder(order, upperResolver(timeline.OrderFields()))
	if err != nil {
		return timeline.ListQuery{}, &crm.Error{Kind: crm.ErrInvalidArg, Msg: err.Error()}
	}
	return timeline.ListQuery{Order: ord, Offset: int(max(startParam(c.Params), 0))}, nil
}
