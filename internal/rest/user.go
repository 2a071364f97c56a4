package rest

import (
	"cmp"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"smartcrm/internal/access"
	"smartcrm/internal/crm"
	"smartcrm/internal/field"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/params"
)

// The methods clients call first, to learn who they are and what the server offers:
// profile, user.current, user.get, user.fields, methods, scope, app.info. Users are
// UPPER_CASE with string ids, as Bitrix24's user methods answer.

func (s *Server) registerUsers() {
	s.registerFamily(familyItem, map[string]handlerFunc{
		"profile":      (*Server).profile,
		"user.current": (*Server).userCurrent,
		"user.get":     (*Server).userGet,
		// user.search is user.get whose FIND looks for words in the name, last name and
		// e-mail, as Bitrix24's does; the other filters and the answer are user.get's.
		"user.search": (*Server).userGet,
		"user.fields": (*Server).userFields,
		"methods":     (*Server).methodList,
		"scope":       (*Server).scopeList,
		"app.info":    (*Server).appInfo,
	})
}

// basicMethods need no scope (Bitrix24's "basic" scope, which `scope` does not list).
var basicMethods = map[string]bool{
	"batch": true, "methods": true, "scope": true, "profile": true, "app.info": true,
}

// methodScope is the scope a method belongs to: its first name segment, except where
// Bitrix24 names the scope differently (tasks.* are in `task`) and for our own
// smartcrm.* methods, which read CRM data.
func methodScope(name string) string {
	if basicMethods[name] || name == "events" || strings.HasPrefix(name, "event.") {
		return "basic" // event subscriptions are in Bitrix24's basic scope (spec core §9.3)
	}
	prefix, _, _ := strings.Cut(name, ".")
	switch prefix {
	case "tasks":
		return "task"
	case "smartcrm":
		return "crm"
	}
	return prefix
}

// scopes lists the scopes of the registered methods, "basic" left out as Bitrix24 does.
// A webhook here has every scope, so the webhook's scopes and all scopes are one list.
func (s *Server) scopes() []string {
	set := map[string]bool{}
	for name := range s.methods {
		if sc := methodScope(name); sc != "basic" {
			set[sc] = true
		}
	}
	out := make([]string, 0, len(set))
	for sc := range set {
		out = append(out, sc)
	}
	sort.Strings(out)
	return out
}

// methodList answers `methods`: the names of the methods this server implements, read
// from its registry, sorted. `scope` narrows them to one scope ("" for the basic
// methods; an unknown scope gives an empty list); `full` changes nothing, since a
// webhook here may call every method.
func (s *Server) methodList(c *Call) (*Result, error) {
	want, narrowed := "", false
	if v, ok := params.Lookup(c.Params, "scope"); ok {
		str, isText := params.String(v)
		if !isText {
			return nil, wrongParamType("scope", "string")
		}
		want, narrowed = strings.ToLower(strings.TrimSpace(str)), true
		if want == "" {
			want = "basic"
		}
	}
	out := []string{}
	for name := range s.methods {
		if !narrowed || methodScope(name) == want {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return &Result{Result: out}, nil
}

func (s *Server) scopeList(*Call) (*Result, error) {
	return &Result{Result: s.scopes()}, nil
}

// appInfo answers `app.info` for a webhook: Bitrix24 gives webhooks only SCOPE and
// LICENSE (the application fields ID, CODE, VERSION… belong to installed apps). The
// license names a self-hosted installation, which the JS SDK recognises by the word
// "selfhosted" (ids then grow by 1, not 2).
func (s *Server) appInfo(*Call) (*Result, error) {
	return &Result{Result: jsonx.Map{{K: "SCOPE", V: s.scopes()}, {K: "LICENSE", V: "en_selfhosted"}}}, nil
}

// caller finds the calling user.
func (s *Server) caller(c *Call) (access.User, error) {
	users, err := s.auth.Users(c.Ctx)
	if err != nil {
		return access.User{}, err
	}
	for _, u := range users {
		if u.ID == c.Actor.UserID {
			return u, nil
		}
	}
	return access.User{}, errNoAuth // removed since it authenticated: as good as unknown
}

// profile is the caller's brief, without any scope. Users keep no gender, photo or time
// zone of their own here; TIME_ZONE_OFFSET is the user's offset from the server's zone,
// so 0.
func (s *Server) profile(c *Call) (*Result, error) {
	u, err := s.caller(c)
	if err != nil {
		return nil, err
	}
	return &Result{Result: jsonx.Map{
		{K: "ID", V: idString(u.ID)},
		{K: "ADMIN", V: u.IsAdmin},
		{K: "NAME", V: u.Name},
		{K: "LAST_NAME", V: u.LastName},
		{K: "PERSONAL_GENDER", V: ""},
		{K: "PERSONAL_PHOTO", V: ""},
		{K: "TIME_ZONE", V: ""},
		{K: "TIME_ZONE_OFFSET", V: 0},
	}}, nil
}

func (s *Server) userCurrent(c *Call) (*Result, error) {
	u, err := s.caller(c)
	if err != nil {
		return nil, err
	}
	return &Result{Result: userWire(u)}, nil
}

func idString(id int64) string { return strconv.FormatInt(id, 10) }

// userFieldTitles are the fields of a user as user.get answers them, with the titles
// user.fields gives. Fields this server does not keep (second name, gender, birthday,
// position) are answered empty, as Bitrix24 answers a user who left them blank.
var userFieldTitles = []struct{ name, title string }{
	{"ID", "ID"},
	{"ACTIVE", "Active"},
	{"NAME", "First name"},
	{"LAST_NAME", "Last name"},
	{"SECOND_NAME", "Second name"},
	{"EMAIL", "E-mail"},
	{"DATE_REGISTER", "Registration date"},
	{"TIME_ZONE", "Time zone"},
	{"IS_ONLINE", "Online"},
	{"PERSONAL_GENDER", "Gender"},
	{"PERSONAL_BIRTHDAY", "Date of birth"},
	{"WORK_POSITION", "Position"},
	{"USER_TYPE", "User type"},
}

// userFields answers user.fields: each field's name and title, in one object.
func (s *Server) userFields(*Call) (*Result, error) {
	out := make(jsonx.Map, len(userFieldTitles))
	for i, f := range userFieldTitles {
		out[i] = jsonx.KV{K: f.name, V: f.title}
	}
	return &Result{Result: out}, nil
}

// userValue is a user's value of a field for filtering and sorting: int64, bool,
// string or time.Time; ok is false for a field users do not have.
func userValue(u access.User, name string) (any, bool) {
	switch name {
	case "ID":
		return u.ID, true
	case "ACTIVE":
		return u.Active, true
	case "NAME":
		return u.Name, true
	case "LAST_NAME":
		return u.LastName, true
	case "EMAIL":
		return u.Email, true
	case "DATE_REGISTER":
		return u.Registered, true
	case "USER_TYPE":
		return "employee", true
	case "IS_ONLINE":
		return "N", true
	case "SECOND_NAME", "TIME_ZONE", "PERSONAL_GENDER", "PERSONAL_BIRTHDAY", "WORK_POSITION":
		return "", true
	}
	return nil, false
}

func userWire(u access.User) jsonx.Map {
	out := make(jsonx.Map, 0, len(userFieldTitles))
	for _, f := range userFieldTitles {
		v, _ := userValue(u, f.name)
		switch t := v.(type) {
		case int64:
			v = idString(t) // Bitrix24 answers user ids as strings
		case time.Time:
			v = t.Format(wireTime)
		}
		out = append(out, jsonx.KV{K: f.name, V: v})
	}
	return out
}

// userGetReserved are user.get's top-level parameters that are not filters.
var userGetReserved = map[string]bool{
	"SORT": true, "ORDER": true, "FILTER": true, "START": true, "ADMIN_MODE": true,
	"SELECT": true, "IMAGE_RESIZE": true, "AUTH": true,
}

// userGet answers user.get: users matching the filter, 50 a page with total and next.
// The filter is FILTER (or filter) and, as in Bitrix24's older form, any other
// top-level key (`ID=1`, `{"ACTIVE": true}`); keys are upper-cased, so `id=1` works
// too. Keys name a field with an optional operator prefix (`>=ID`, `%LAST_NAME`,
// `@ID: [1, 2]`). Keys that name no field of a user are ignored, as Bitrix24 ignores
// them: clients send telemetry (`bx24_request_id`) and department filters, and this
// server has no departments (every user is an employee of the one company). Order with
// `sort` (a field) and `order` (ASC/DESC); by ID otherwise.
func (s *Server) userGet(c *Call) (*Result, error) {
	var conds []userCond
	addConds := func(o *params.Object, top bool) error {
		for _, key := range o.Keys() {
			v, _ := o.Get(key)
			upper := strings.ToUpper(strings.TrimSpace(key))
			if top && userGetReserved[upper] {
				continue
			}
			cond, ok, err := parseUserCond(upper, v)
			if err != nil {
				return err
			}
			if ok {
				conds = append(conds, cond)
			}
		}
		return nil
	}
	if err := addConds(c.Params, true); err != nil {
		return nil, err
	}
	if v, ok := params.Lookup(c.Params, "FILTER"); ok && v != nil && v != "" && !params.IsEmptyContainer(v) {
		f, isObj := v.(*params.Object)
		if !isObj {
			return nil, wrongParamType("FILTER", "array")
		}
		if err := addConds(f, false); err != nil {
			return nil, err
		}
	}
	users, err := s.auth.Users(c.Ctx)
	if err != nil {
		return nil, err
	}
	matched := users[:0]
	for _, u := range users {
		if matchesAll(u, conds) {
			matched = append(matched, u)
		}
	}
	sortUsers(matched, c.Params)

	start := startParam(c.Params)
	from := max(start, 0)
	page := []jsonx.Map{}
	for i := from; i < int64(len(matched)) && i < from+crm.PageSize; i++ {
		page = append(page, userWire(matched[i]))
	}
	total := len(matched)
	if start < 0 {
		total = -1 // start=-1: no counting, as everywhere
	}
	res := &Result{Result: page}
	res.Total, res.Next = pageInfo(start, len(page), total)
	return res, nil
}

// sortUsers orders users by `sort`/`order` (the names upper-cased), by ID when the
// field is unknown; ties keep ID order.
func sortUsers(users []access.User, p *params.Object) {
	by, desc := "ID", false
	if v, ok := params.Lookup(p, "sort"); ok {
		if str, ok := params.String(v); ok && str != "" {
			by = strings.ToUpper(strings.TrimSpace(str))
		}
	}
	if v, ok := params.Lookup(p, "order"); ok {
		if str, ok := params.String(v); ok {
			desc = strings.EqualFold(strings.TrimSpace(str), "desc")
		}
	}
	if _, known := userValue(access.User{}, by); !known {
		by = "ID"
	}
	sort.SliceStable(users, func(i, j int) bool {
		a, _ := userValue(users[i], by)
		b, _ := userValue(users[j], by)
		order := compareValues(a, b)
		if order == 0 {
			return users[i].ID < users[j].ID
		}
		return (order < 0) != desc
	})
}

// userCond is one filter condition of user.get.
type userCond struct {
	field  string
	op     string // "=", "!=", ">", ">=", "<", "<=", "%" (contains), "=%" (pattern), negated "!%", "!=%"
	values []any  // several: any of them (for "!=" and "!%…": none of them)
	search bool   // NAME_SEARCH: every word in the name, last name or e-mail
}

// userOps are the filter key prefixes, longest first so that `!=%` is not read as `!`.
var userOps = []struct{ prefix, op string }{
	{"!=%", "!=%"}, {"!%=", "!=%"}, {">=", ">="}, {"<=", "<="}, {"!@", "!="}, {"=%", "=%"},
	{"%=", "=%"}, {"!%", "!%"}, {"!=", "!="}, {">", ">"}, {"<", "<"}, {"@", "="},
	{"%", "%"}, {"=", "="}, {"!", "!="},
}

// parseUserCond reads one filter entry; ok is false for a key naming no user field.
func parseUserCond(key string, v any) (userCond, bool, error) {
	op, name := "=", key
	for _, o := range userOps {
		if rest, found := strings.CutPrefix(key, o.prefix); found {
			op, name = o.op, rest
			break
		}
	}
	cond := userCond{field: name, op: op}
	if name == "NAME_SEARCH" || name == "FIND" {
		cond.search = true
	} else if _, known := userValue(access.User{}, name); !known {
		return cond, false, nil
	}
	if _, vals, isList := params.Entries(v); isList {
		cond.values = vals
	} else {
		cond.values = []any{v}
	}
	for _, val := range cond.values {
		if _, isText := params.String(val); !isText {
			return cond, false, apiErr(http.StatusBadRequest, 100, "Invalid filter value for "+key)
		}
	}
	return cond, true, nil
}

func matchesAll(u access.User, conds []userCond) bool {
	for _, c := range conds {
		if !c.matches(u) {
			return false
		}
	}
	return true
}

func (c userCond) matches(u access.User) bool {
	if c.search {
		hay := strings.ToLower(u.Name + " " + u.LastName + " " + u.Email)
		for _, val := range c.values {
			text, _ := params.String(val)
			for _, word := range strings.Fields(strings.ToLower(text)) {
				if !strings.Contains(hay, word) {
					return false
				}
			}
		}
		return true
	}
	have, _ := userValue(u, c.field)
	negated := c.op == "!=" || c.op == "!%" || c.op == "!=%"
	hit := false
	for _, val := range c.values {
		if c.matchOne(have, val) {
			hit = true
			break
		}
	}
	return hit != negated
}

// matchOne compares a user's value with one filter value under the condition's
// operator (negated operators compare as their positive form). A value that cannot be
// read as the field's kind matches nothing.
func (c userCond) matchOne(have, val any) bool {
	text, _ := params.String(val)
	if s, isText := have.(string); isText {
		switch c.op {
		case "%", "!%":
			return strings.Contains(strings.ToLower(s), strings.ToLower(text))
		case "=%", "!=%":
			return likeMatch(s, text)
		case "=", "!=":
			if strings.Contains(text, "%") {
				return likeMatch(s, text) // Bitrix24's `"NAME": "Iva%"`
			}
		}
	}
	want, ok := filterValue(have, val)
	if !ok {
		return false
	}
	order := compareValues(have, want)
	switch c.op {
	case ">":
		return order > 0
	case ">=":
		return order >= 0
	case "<":
		return order < 0
	case "<=":
		return order <= 0
	}
	return order == 0
}

// filterValue reads a filter value as the kind of have.
func filterValue(have, val any) (any, bool) {
	switch have.(type) {
	case int64:
		return params.Int(val)
	case bool:
		return params.Bool(val)
	case time.Time:
		text, _ := params.String(val)
		return field.ParseTime(text)
	case string:
		return params.String(val)
	}
	return nil, false
}

// compareValues orders two values of one kind; text compares without letter case.
func compareValues(a, b any) int {
	switch x := a.(type) {
	case int64:
		y, _ := b.(int64)
		return cmp.Compare(x, y)
	case bool:
		y, _ := b.(bool)
		if x == y {
			return 0
		}
		if !x {
			return -1
		}
		return 1
	case time.Time:
		y, _ := b.(time.Time)
		return x.Compare(y)
	case string:
		y, _ := b.(string)
		return strings.Compare(strings.ToLower(x), strings.ToLower(y))
	}
	return 0
}

// likeMatch matches s against a LIKE pattern whose `%` stands for any text, ignoring
// letter case.
func likeMatch(s, pattern string) bool {
	s, pattern = strings.ToLower(s), strings.ToLower(pattern)
	parts := strings.Split(pattern, "%")
	if len(parts) == 1 {
		return s == pattern
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return strings.HasSuffix(s, last)
}
