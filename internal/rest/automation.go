package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"smartcrm/internal/automation"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/params"
	"smartcrm/internal/timeline"
)

// smartcrm.automation.* — the robots and triggers of a funnel as one versioned
// document, and the runs of robots. Bitrix24 has no API for these (only its UI); the
// methods are ours, in the protocol's envelope, with camelCase names.
//
// crm.automation.trigger and crm.automation.trigger.add/list/execute/delete — webhook
// and application triggers, as Bitrix24 spells them (spec automation §4.2, §4.3):
// errors have the empty code and Bitrix24's texts.

func (s *Server) registerAutomation() {
	if s.automation == nil {
		return
	}
	s.registerFamily(familyAutomation, map[string]handlerFunc{
		"smartcrm.automation.get":        (*Server).automationGet,
		"smartcrm.automation.set":        (*Server).automationSet,
		"smartcrm.automation.runs":       (*Server).automationRuns,
		"smartcrm.automation.run.retry":  (*Server).automationRetry,
		"smartcrm.automation.run.cancel": (*Server).automationCancel,
	})
	s.registerFamily(familyTrigger, map[string]handlerFunc{
		"crm.automation.trigger":         (*Server).triggerWebhook,
		"crm.automation.trigger.add":     (*Server).triggerAdd,
		"crm.automation.trigger.list":    (*Server).triggerList,
		"crm.automation.trigger.execute": (*Server).triggerExecute,
		"crm.automation.trigger.delete":  (*Server).triggerDelete,
	})
}

func (s *Server) automationGet(c *Call) (*Result, error) {
	etid, err := intParam(c.Params, "entityTypeId")
	if err != nil {
		return nil, err
	}
	cat, err := optionalInt(c, "categoryId")
	if err != nil {
		return nil, err
	}
	if cat == 0 {
		if cat, err = s.defaultCategory(c, etid); err != nil {
			return nil, err
		}
	}
	doc, err := s.automation.Get(c.Ctx, c.Actor, etid, cat)
	if err != nil {
		return nil, err
	}
	return &Result{Result: jsonx.Map{{K: "automation", V: doc}}}, nil
}

// defaultCategory is the funnel a call without categoryId means.
func (s *Server) defaultCategory(c *Call, etid int64) (int64, error) {
	cats, err := s.crm.Categories(c.Ctx, c.Actor, etid)
	if err != nil {
		return 0, err
	}
	for _, cat := range cats {
		if cat.IsDefault {
			return cat.ID, nil
		}
	}
	return 0, nil
}

func optionalInt(c *Call, name string) (int64, error) {
	v, ok := lookup(c, name)
	if !ok || v == nil || v == "" {
		return 0, nil
	}
	i, ok := params.Int(v)
	if !ok {
		return 0, wrongParamType(name, "int")
	}
	return i, nil
}

// automationSet takes {automation: {entityTypeId, categoryId, version, stages}} (the
// shape get answers), or the same keys at the top level.
func (s *Server) automationSet(c *Call) (*Result, error) {
	src := any(c.Params)
	if v, ok := c.Params.Get("automation"); ok {
		src = v
	}
	body, err := json.Marshal(plain(src))
	if err != nil {
		return nil, err
	}
	doc := &automation.Document{}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(doc); err != nil {
		return nil, invalidAutomation([]automation.Problem{{Message: "the document does not read: " + jsonProblem(err)}})
	}
	if doc.EntityTypeID == 0 {
		return nil, missingParam("entityTypeId")
	}
	if doc.CategoryID == 0 {
		if doc.CategoryID, err = s.defaultCategory(c, doc.EntityTypeID); err != nil {
			return nil, err
		}
	}
	saved, err := s.automation.Set(c.Ctx, c.Actor, doc)
	var invalid *automation.InvalidError
	if errors.As(err, &invalid) {
		return nil, invalidAutomation(invalid.Problems)
	}
	if err != nil {
		return nil, err
	}
	return &Result{Result: jsonx.Map{{K: "automation", V: saved}}}, nil
}

// jsonProblem words a decoding error without Go type names.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%s holds the wrong kind of value (%s)", te.Field, te.Value)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func invalidAutomation(problems []automation.Problem) *APIError {
	e := &automation.InvalidError{Problems: problems}
	return &APIError{Status: http.StatusBadRequest, Code: "AUTOMATION_INVALID", Desc: e.Error(), Problems: problems}
}

func (s *Server) automationRuns(c *Call) (*Result, error) {
	var q automation.RunQuery
	var err error
	if q.EntityTypeID, err = optionalInt(c, "entityTypeId"); err != nil {
		return nil, err
	}
	if q.ItemID, err = optionalInt(c, "id"); err != nil {
		return nil, err
	}
	if q.Before, err = optionalInt(c, "cursor"); err != nil {
		return nil, err
	}
	limit, err := optionalInt(c, "limit")
	if err != nil {
		return nil, err
	}
	q.Limit = int(min(max(limit, 0), automation.MaxRunsPage))
	if v, ok := lookup(c, "status"); ok && v != nil {
		q.Status, _ = params.String(v)
	}
	runs, next, err := s.automation.Runs(c.Ctx, c.Actor, q)
	if err != nil {
		return nil, err
	}
	list := make([]jsonx.Map, len(runs))
	for i, r := range runs {
		list[i] = runWire(r)
	}
	var cursor any
	if next != 0 {
		cursor = strconv.FormatInt(next, 10)
	}
	return &Result{Result: jsonx.Map{{K: "runs", V: list}, {K: "cursor", V: cursor}}}, nil
}

func runWire(r *automation.Run) jsonx.Map {
	tm := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return t.In(time.Local).Format(wireTime)
	}
	var result any
	if r.Result != nil {
		result = r.Result
	}
	return jsonx.Map{
		{K: "id", V: r.ID}, {K: "entityTypeId", V: r.EntityTypeID}, {K: "itemId", V: r.ItemID},
		{K: "categoryId", V: r.CategoryID}, {K: "stageId", V: r.StageID},
		{K: "robot", V: jsonx.Map{{K: "id", V: r.RobotID}, {K: "type", V: r.RobotType}, {K: "title", V: r.Title}}},
		{K: "status", V: r.Status}, {K: "attempts", V: r.Attempts}, {K: "error", V: r.Error}, {K: "result", V: result},
		{K: "depth", V: r.Depth}, {K: "createdTime", V: tm(r.CreatedTime)}, {K: "scheduledTime", V: tm(r.ScheduledTime)},
		{K: "startedTime", V: tm(r.StartedTime)}, {K: "finishedTime", V: tm(r.FinishedTime)},
	}
}

func (s *Server) automationRetry(c *Call) (*Result, error) {
	id, err := intParam(c.Params, "id")
	if err != nil {
		return nil, err
	}
	run, err := s.automation.Retry(c.Ctx, c.Actor, id)
	if err != nil {
		return nil, err
	}
	return &Result{Result: jsonx.Map{{K: "run", V: runWire(run)}}}, nil
}

func (s *Server) automationCancel(c *Call) (*Result, error) {
	id, err := intParam(c.Params, "id")
	if err != nil {
		return nil, err
	}
	run, err := s.automation.Cancel(c.Ctx, c.Actor, id)
	if err != nil {
		return nil, err
	}
	return &Result{Result: jsonx.Map{{K: "run", V: runWire(run)}}}, nil
}

// triggerWebhook is crm.automation.trigger {target: DEAL_57 | DYNAMIC_1030_5, code}.
func (s *Server) triggerWebhook(c *Call) (*Result, error) {
	v, _ := lookup(c, "target")
	target, _ := params.String(v)
	if strings.TrimSpace(target) == "" {
		return nil, apiErr(http.StatusBadRequest, "", "Target is not set.")
	}
	etid, id, ok := parseTarget(target)
	if !ok {
		return nil, apiErr(http.StatusBadRequest, "", "Incorrect target format.")
	}
	v, _ = lookup(c, "code")
	code, _ := params.String(v)
	if err := s.automation.FireWebhook(c.Ctx, c.Actor, etid, id, code); err != nil {
		return nil, err
	}
	return &Result{Result: true}, nil
}

// parseTarget reads TYPENAME_ID: LEAD_25, DEAL_57, DYNAMIC_1030_5.
func parseTarget(s string) (etid, id int64, ok bool) {
	i := strings.LastIndexByte(s, '_')
	if i <= 0 {
		return 0, 0, false
	}
	id, err := strconv.ParseInt(s[i+1:], 10, 64)
	if err != nil || id <= 0 {
		return 0, 0, false
	}
	etid, ok = timeline.ParseEntityType(s[:i])
	return etid, id, ok
}

func (s *Server) triggerAdd(c *Call) (*Result, error) {
	code := upperString(c, "CODE")
	name := upperString(c, "NAME")
	if err := s.automation.AddAppTrigger(c.Ctx, c.Actor, code, name); err != nil {
		return nil, err
	}
	return &Result{Result: true}, nil
}

func (s *Server) triggerList(c *Call) (*Result, error) {
	list, err := s.automation.AppTriggers(c.Ctx, c.Actor)
	if err != nil {
		return nil, err
	}
	out := make([]jsonx.Map, len(list))
	for i, t := range list {
		out[i] = jsonx.Map{{K: "NAME", V: t.Name}, {K: "CODE", V: t.Code}}
	}
	return &Result{Result: out}, nil
}

func (s *Server) triggerExecute(c *Call) (*Result, error) {
	code := upperString(c, "CODE")
	v, _ := lookup(c, "OWNER_TYPE_ID")
	etid, _ := params.Int(v)
	v, _ = lookup(c, "OWNER_ID")
	id, _ := params.Int(v)
	if err := s.automation.ExecuteAppTrigger(c.Ctx, c.Actor, code, etid, id); err != nil {
		return nil, err
	}
	return &Result{Result: true}, nil
}

func (s *Server) triggerDelete(c *Call) (*Result, error) {
	if err := s.automation.DeleteAppTrigger(c.Ctx, c.Actor, upperString(c, "CODE")); err != nil {
		return nil, err
	}
	return &Result{Result: true}, nil
}

// upperString reads an optional text parameter of the UPPER_CASE methods.
func upperString(c *Call, name string) string {
	v, _ := lookup(c, name)
	str, _ := params.String(v)
	return strings.TrimSpace(str)
}
