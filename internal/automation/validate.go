package automation

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"smartcrm/internal/crm"
)

// Problem is one thing wrong with a document, named precisely enough to fix: the stage,
// the robot or trigger, and the parameter.
type Problem struct {
	Stage   string `json:"stage,omitempty"`
	Robot   string `json:"robot,omitempty"`
	Trigger string `json:"trigger,omitempty"`
	Param   string `json:"param,omitempty"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	var where []string
	if p.Stage != "" {
		where = append(where, "stage "+p.Stage)
	}
	if p.Robot != "" {
		where = append(where, "robot "+p.Robot)
	}
	if p.Trigger != "" {
		where = append(where, "trigger "+p.Trigger)
	}
	if p.Param != "" {
		where = append(where, "param "+p.Param)
	}
	if len(where) == 0 {
		return p.Message
	}
	return strings.Join(where, ", ") + ": " + p.Message
}

// InvalidError lists every problem of a refused document at once.
type InvalidError struct{ Problems []Problem }

func (e *InvalidError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return "The automation is invalid: " + strings.Join(parts, "; ")
}

var idPattern = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

// checker validates a document against the funnel it is for.
type checker struct {
	t        *crm.Type
	category int64
	typeOf   func(etid int64) *crm.Type
	userOK   func(id int64) bool
	appCodes map[string]bool
	// appRobots are the robots applications registered, by code.
	appRobots map[string]*AppRobotDef
	problems  []Problem
	// where names what is being checked now.
	stage, robot, trigger string
}

func (c *checker) add(param, format string, a ...any) {
	c.problems = append(c.problems, Problem{Stage: c.stage, Robot: c.robot, Trigger: c.trigger, Param: param, Message: fmt.Sprintf(format, a...)})
}

// check validates a whole document.
func (c *checker) check(doc *Document) {
	stages := make([]string, 0, len(doc.Stages))
	for id := range doc.Stages {
		stages = append(stages, id)
	}
	sort.Strings(stages)
	robotIDs := map[string]string{}
	triggerIDs := map[string]string{}
	for _, stage := range stages {
		sa := doc.Stages[stage]
		c.stage, c.robot, c.trigger = stage, "", ""
		if c.t.Stage(c.category, stage) == nil {
			c.add("", "%q is not a stage of this pipeline", stage)
			continue
		}
		if sa == nil {
			continue
		}
		for i, r := range sa.Robots {
			c.robot, c.trigger = r.ID, ""
			if r.ID == "" {
				c.robot = fmt.Sprintf("#%d", i+1)
			}
			c.checkID(r.ID, robotIDs)
			c.checkRobot(r)
		}
		for i, tr := range sa.Triggers {
			c.robot, c.trigger = "", tr.ID
			if tr.ID == "" {
				c.trigger = fmt.Sprintf("#%d", i+1)
			}
			c.checkID(tr.ID, triggerIDs)
			c.checkTrigger(tr)
		}
	}
}

func (c *checker) checkID(id string, seen map[string]string) {
	switch {
	case !idPattern.MatchString(id):
		c.add("id", "an id is 1 to 64 of a-z, 0-9, _ and -")
	case seen[id] != "":
		c.add("id", "the id %q is taken in stage %s", id, seen[id])
	default:
		seen[id] = c.stage
	}
}

func (c *checker) checkCondition(param, src string) {
	if src == "" {
		return
	}
	if _, err := compileCondition(c.t, src); err != nil {
		c.add(param, "the condition does not compile: %s", oneLine(err.Error()))
	}
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.Join(strings.Fields(s), " ")
}

func (c *checker) checkRobot(r *Robot) {
	kind, ok := robotKinds[r.Type]
	if !ok {
		c.add("type", "unknown robot type %q (%s)", r.Type, strings.Join(robotTypeNames(), ", "))
		return
	}
	c.checkCondition("condition", r.Condition)
	if d := r.Delay; d != nil {
		set := 0
		if d.After != "" {
			set++
			if _, err := parseDuration(d.After); err != nil {
				c.add("delay.after", "%v", err)
			}
		}
		if d.Field != "" {
			set++
			if f, ok := c.t.FieldByName(d.Field); !ok || !isDateField(f) {
				c.add("delay.field", "%q is not a date field of %s", d.Field, c.t.Title)
			}
			if d.Offset != "" {
				if _, err := parseDuration(d.Offset); err != nil {
					c.add("delay.offset", "%v", err)
				}
			}
		} else if d.Offset != "" {
			c.add("delay.offset", "an offset is counted from a field: set delay.field")
		}
		if d.WorkingHours {
			set++
		}
		if set == 0 {
			c.add("delay", "a delay is {after}, {field, offset} or {workingHours: true}")
		}
		if d.After != "" && d.Field != "" {
			c.add("delay", "a delay is either after a duration or relative to a field")
		}
	}
	if r.Params == nil {
		r.Params = map[string]any{}
	}
	kind.check(c, r.Params)
}

func (c *checker) checkTrigger(tr *Trigger) {
	c.checkCondition("condition", tr.Condition)
	p := tr.Params
	switch tr.Type {
	case TriggerWebhook, TriggerCreated, TriggerCommentAdded, TriggerTaskCompleted:
	case TriggerApp:
		code, _ := p["code"].(string)
		if code == "" {
			code = tr.ID
		}
		if !c.appCodes[code] {
			c.add("code", "no application trigger %q is registered (crm.automation.trigger.add)", code)
		}
	case TriggerFieldChanged:
		names, ok := stringList(p["fields"])
		if !ok || len(names) == 0 {
			c.add("fields", "fieldChanged needs the list of fields it watches")
		}
		for _, n := range names {
			if _, ok := c.t.FieldByName(n); !ok {
				c.add("fields", "%s has no field %q", c.t.Title, n)
			}
		}
	case TriggerChildReached:
		etid, ok := intParam(p["entityTypeId"])
		child := c.typeOf(etid)
		switch {
		case !ok || child == nil:
			c.add("entityTypeId", "childReached needs the entityTypeId of a child type")
		case !child.Has(crm.ParentField(c.t.EntityTypeID)):
			c.add("entityTypeId", "%s is not a child type of %s", child.Title, c.t.Title)
		}
		if sem, _ := p["semantics"].(string); sem != "S" && sem != "F" {
			c.add("semantics", "semantics is S (success) or F (failure)")
		}
	default:
		c.add("type", "unknown trigger type %q", tr.Type)
	}
}

// checkTemplate checks the placeholders of a text parameter.
func (c *checker) checkTemplate(param string, tmpl string) {
	for _, name := range placeholders(tmpl) {
		if err := checkPlaceholder(c.t, name, c.typeOf); err != nil {
			c.add(param, "%v", err)
		}
	}
}

// text reads a text parameter; required ones must be there.
func (c *checker) text(p map[string]any, name string, required bool) string {
	v, given := p[name]
	s, ok := v.(string)
	switch {
	case !given || v == nil:
		if required {
			c.add(name, "%s is required", name)
		}
	case !ok:
		c.add(name, "%s must be text", name)
	case required && strings.TrimSpace(s) == "":
		c.add(name, "%s is required", name)
	default:
		c.checkTemplate(name, s)
	}
	return s
}

// checkUserRef reads "responsible" or "user:N".
func (c *checker) checkUserRef(param, ref string) {
	if ref == "responsible" {
		return
	}
	n, ok := strings.CutPrefix(ref, "user:")
	id, err := strconv.ParseInt(n, 10, 64)
	if !ok || err != nil || id <= 0 {
		c.add(param, "%q is not \"responsible\" or \"user:N\"", ref)
		return
	}
	if !c.userOK(id) {
		c.add(param, "user %d does not exist or is inactive", id)
	}
}

// checkURL refuses what is not an http(s) address (placeholders may fill its path and
// query, not its scheme or host).
func checkURL(raw string) error {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Contains(u.Host, "{{") {
		return fmt.Errorf("%q is not an http(s) address", raw)
	}
	return nil
}

func isDateField(f *crm.Field) bool {
	switch f.Type.Name() {
	case "date", "datetime":
		return true
	}
	return false
}

func stringList(v any) ([]string, bool) {
	list, ok := v.([]any)
	if !ok {
		if ss, isStrings := v.([]string); isStrings {
			return ss, true
		}
		return nil, false
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

func intParam(v any) (int64, bool) {
	switch x := v.(type) {
	case float64:
		return int64(x), x == float64(int64(x))
	case int64:
		return x, true
	case int:
		return int64(x), true
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		return n, err == nil
	}
	return 0, false
}
