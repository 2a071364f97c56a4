package processdef

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"smartcrm/internal/crm"
	"smartcrm/internal/field"
)

// Names on a server hold its ids: a custom field is ufCrm{typeId}Amount, a parent link
// parentId{entityTypeId}, a stage DT{entityTypeId}_{funnelId}:CODE. A process file
// writes them without ids — ufCrmAmount, parentId_service_request, CODE — and these
// functions turn one into the other for one type on one server.

// standardCodes are the codes of the built-in types a file may name.
var standardCodes = map[string]int64{"lead": 1, "deal": 2, "contact": 3, "company": 4, "quote": 7, "invoice": 31}

// registry knows the codes of a server's types (and those a plan is about to create).
type registry struct {
	etidOf map[string]int64 // code -> entityTypeId
	codeOf map[int64]string // entityTypeId -> code
	regOf  map[int64]int64  // entityTypeId -> the type's registry id (its UF number)
	// typeOf reads a type by entityTypeId (nil when unknown): the server's for export,
	// the unit's for apply. It finds the choices of enumeration fields.
	typeOf func(etid int64) *crm.Type
	// ownNames are the patterns of a type's custom field names, by registry id.
	ownNames map[int64][2]*regexp.Regexp
}

func newRegistry() *registry {
	r := &registry{etidOf: map[string]int64{}, codeOf: map[int64]string{}, regOf: map[int64]int64{}}
	for code, etid := range standardCodes {
		r.etidOf[code], r.codeOf[etid] = etid, code
	}
	return r
}

func (r *registry) add(code string, etid, regID int64) {
	r.etidOf[code], r.codeOf[etid], r.regOf[etid] = etid, code, regID
}

// typeCode is the code a type goes by: its own, else one made from its title.
func typeCode(t *crm.Type) string {
	if t.Code != "" {
		return t.Code
	}
	return slug(t.Title, "process_"+strconv.FormatInt(t.EntityTypeID, 10))
}

// slug makes a code from a name: lower-case latin letters, digits and _.
func slug(name, fallback string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "_"):
			b.WriteByte('_')
		}
	}
	s := strings.Trim(b.String(), "_")
	if s == "" || s[0] < 'a' || s[0] > 'z' || len(s) > 50 {
		return fallback
	}
	return s
}

var (
	serverParentID = regexp.MustCompile(`\bparentId([0-9]+)\b`)
	serverParent   = regexp.MustCompile(`\bparent([0-9]+)\.`)
	fileParentID   = regexp.MustCompile(`\bparentId_([a-z][a-z0-9_]*)`)
	fileParent     = regexp.MustCompile(`\bparent_([a-z][a-z0-9_]*)\.`)
	fileUFCamel    = regexp.MustCompile(`\bufCrm([A-Z])`)
	fileUFNumeric  = regexp.MustCompile(`\bufCrm_([0-9])`)
	fileUFSimple   = regexp.MustCompile(`\bufCrm__`)
)

// toFile writes a server's name (or a condition, a template) of type etid's items
// without ids.
func (r *registry) toFile(etid int64, s string) string {
	if !strings.Contains(s, "ufCrm") && !strings.Contains(s, "parent") {
		return s
	}
	if n, ok := r.regOf[etid]; ok {
		re, compiled := r.ownNames[n]
		if !compiled {
			num := strconv.FormatInt(n, 10)
			re = [2]*regexp.Regexp{regexp.MustCompile(`\bufCrm` + num + `([A-Z_])`), regexp.MustCompile(`\bufCrm_` + num + `_`)}
			if r.ownNames == nil {
				r.ownNames = map[int64][2]*regexp.Regexp{}
			}
			r.ownNames[n] = re
		}
		s = re[0].ReplaceAllString(s, "ufCrm$1")
		s = re[1].ReplaceAllString(s, "ufCrm__")
	}
	s = serverParentID.ReplaceAllStringFunc(s, func(m string) string {
		if code, ok := r.smartCode(m[len("parentId"):]); ok {
			return "parentId_" + code
		}
		return m
	})
	return serverParent.ReplaceAllStringFunc(s, func(m string) string {
		if code, ok := r.smartCode(m[len("parent") : len(m)-1]); ok {
			return "parent_" + code + "."
		}
		return m
	})
}

// smartCode is the code of a smart process by its entityTypeId in digits.
func (r *registry) smartCode(digits string) (string, bool) {
	etid, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || standardCodeOf(etid) != "" {
		return "", false
	}
	code, ok := r.codeOf[etid]
	return code, ok
}

func standardCodeOf(etid int64) string {
	for code, id := range standardCodes {
		if id == etid {
			return code
		}
	}
	return ""
}

// toServer is toFile's inverse; codes it does not know are reported.
func (r *registry) toServer(etid int64, s string) (string, error) {
	if !strings.Contains(s, "ufCrm") && !strings.Contains(s, "parent") {
		return s, nil
	}
	num := strconv.FormatInt(r.regOf[etid], 10)
	// The numeric form first: the simple one's result would look numeric.
	s = fileUFNumeric.ReplaceAllString(s, "ufCrm"+num+"_$1")
	s = fileUFSimple.ReplaceAllString(s, "ufCrm_"+num+"_")
	s = fileUFCamel.ReplaceAllString(s, "ufCrm"+num+"$1")
	var unknown []string
	s = fileParentID.ReplaceAllStringFunc(s, func(m string) string {
		code := m[len("parentId_"):]
		if id, ok := r.etidOf[code]; ok {
			return "parentId" + strconv.FormatInt(id, 10)
		}
		unknown = append(unknown, code)
		return m
	})
	s = fileParent.ReplaceAllStringFunc(s, func(m string) string {
		code := m[len("parent_") : len(m)-1]
		if id, ok := r.etidOf[code]; ok {
			return "parent" + strconv.FormatInt(id, 10) + "."
		}
		unknown = append(unknown, code)
		return m
	})
	if len(unknown) > 0 {
		return s, fmt.Errorf("no process has the code %q", unknown[0])
	}
	return s, nil
}

// fieldName is how the file names the custom field with a key: ufCrmAmount for AMOUNT.
func fieldName(key string) string {
	r := &registry{regOf: map[int64]int64{0: 1}}
	return r.toFile(0, crm.CamelUFName("UF_CRM_1_"+key))
}

// stageCode is a stage's code without its funnel's prefix.
func stageCode(statusID string) string {
	if _, code, ok := strings.Cut(statusID, ":"); ok {
		return code
	}
	return statusID
}

// enumChoices turns the values that a robot's fields param gives enumeration fields of
// type etid between the server's item ids and the file's item keys; other values stay.
func (r *registry) enumChoices(etid int64, v any, toFile bool) any {
	m, ok := v.(map[string]any)
	if !ok || r.typeOf == nil {
		return v
	}
	t := r.typeOf(etid)
	if t == nil {
		return v
	}
	out := make(map[string]any, len(m))
	for name, val := range m {
		out[name] = val
		if f, ok := t.FieldByName(name); ok && f.UserField() != nil && f.UserField().Kind == "enumeration" {
			out[name] = choices(val, f.UserField().Enums, toFile)
		}
	}
	return out
}

func choices(v any, items []field.EnumItem, toFile bool) any {
	if list, ok := v.([]any); ok {
		out := make([]any, len(list))
		for i, e := range list {
			out[i] = choices(e, items, toFile)
		}
		return out
	}
	for _, e := range items {
		if id, ok := intOf(v); toFile && ok && id == e.ID {
			return e.XMLID
		}
		if key, ok := v.(string); !toFile && ok && key == e.XMLID {
			return e.ID
		}
	}
	return v
}
