package field

import (
	"regexp"
	"strconv"
	"strings"

	"smartcrm/internal/params"
)

// CRMBinding links to an item of another CRM type, written as "{PREFIX}_{ID}": D_12 (a
// deal), C_5 (a contact), CO_3 (a company), L_1 (a lead), T40a_7 (item 7 of the smart
// process with entityTypeId 0x40a). When the field allows one type only, a bare id is
// taken too. Whether the item exists is checked by the domain, which can look.
type CRMBinding struct {
	// Allowed maps an allowed prefix ("D", "T40a") to its entityTypeId.
	Allowed map[string]int64
}

var bindingPattern = regexp.MustCompile(`^(L|D|C|CO|Q|O|SI|T[0-9a-f]+)_([1-9][0-9]{0,18})$`)

// ShortPrefixes are the binding prefixes of the standard types.
var ShortPrefixes = map[string]int64{"L": 1, "D": 2, "C": 3, "CO": 4, "Q": 7, "O": 14, "SI": 31}

// BindingPrefix is the prefix of an entity type in binding values.
func BindingPrefix(etid int64) string {
	for p, id := range ShortPrefixes {
		if id == etid {
			return p
		}
	}
	return "T" + strconv.FormatInt(etid, 16)
}

// Name implements Type.
func (CRMBinding) Name() string { return "crm" }

// Storage implements Type.
func (CRMBinding) Storage() Storage { return StorageText }

// Parse implements Type.
func (t CRMBinding) Parse(v any) (any, error) {
	if isEmpty(v) {
		return nil, nil
	}
	s, ok := params.String(v)
	if !ok {
		return nil, invalid("a binding like D_12 or T40a_7 is expected")
	}
	s = strings.TrimSpace(s)
	if id, err := strconv.ParseInt(s, 10, 64); err == nil && id > 0 && len(t.Allowed) == 1 {
		for p := range t.Allowed {
			s = p + "_" + s
		}
	}
	m := bindingPattern.FindStringSubmatch(s)
	if m == nil {
		return nil, invalid("%q is not a binding like D_12 or T40a_7", s)
	}
	if _, ok := t.Allowed[m[1]]; !ok {
		return nil, invalid("this field does not link to items of type %s", m[1])
	}
	return s, nil
}

// Target splits a parsed binding into entity type and item id.
func (t CRMBinding) Target(v string) (etid, id int64) {
	m := bindingPattern.FindStringSubmatch(v)
	if m == nil {
		return 0, 0
	}
	id, _ = strconv.ParseInt(m[2], 10, 64)
	return t.Allowed[m[1]], id
}

// Format implements Type.
func (CRMBinding) Format(v any) any { return v }

// Ops implements Type.
func (CRMBinding) Ops() []Op { return []Op{OpEq, OpNotEq, OpIn, OpNotIn, OpLike, OpContains} }

// ParseAnyBinding reads a binding to an item of any type ("D_12", "T408_7"), for
// fields that link to every type, such as the task field UF_CRM_TASK. A smart
// process's hex may come in either letter case. Whether the type and the item exist is
// the domain's to check.
func ParseAnyBinding(s string) (etid, id int64, ok bool) {
	s = strings.TrimSpace(s)
	if len(s) > 1 && s[0] == 'T' {
		s = "T" + strings.ToLower(s[1:])
	}
	m := bindingPattern.FindStringSubmatch(s)
	if m == nil {
		return 0, 0, false
	}
	id, err := strconv.ParseInt(m[2], 10, 64)
	if err != nil {
		return 0, 0, false
	}
	if etid, ok = ShortPrefixes[m[1]]; ok {
		return etid, id, true
	}
	etid, err = strconv.ParseInt(m[1][1:], 16, 64)
	if err != nil || etid <= 0 {
		return 0, 0, false
	}
	return etid, id, true
}

// FormatBinding writes a binding the way ParseAnyBinding reads it.
func FormatBinding(etid, id int64) string {
	return BindingPrefix(etid) + "_" + strconv.FormatInt(id, 10)
}
