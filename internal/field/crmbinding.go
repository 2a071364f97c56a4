package field

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
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
	s, ok := AsString(v)
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

// Refs implements Referrer: a binding names an item that must exist.
func (t CRMBinding) Refs(v any) []Ref {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	etid, id := t.Target(s)
	return []Ref{{Kind: RefItem, EntityTypeID: etid, ID: id}}
}

// ValidSmartProcessID reports whether id is in the range of smart-process entity type
// ids: 128–192, or an even number from 1030.
func ValidSmartProcessID(id int64) bool {
	return (id >= 128 && id <= 192) || (id >= 1030 && id%2 == 0 && id < 1<<31)
}

// CRMSettings are the settings of a link to CRM items: the types it may link to, keyed
// as Bitrix24 keys them (LEAD, DEAL, CONTACT, COMPANY, DYNAMIC_{entityTypeId}).
type CRMSettings struct {
	Types map[string]bool
}

// DefaultValue implements Settings.
func (CRMSettings) DefaultValue(time.Time) any { return nil }

var standardBindingKeys = map[string]string{"LEAD": "L", "DEAL": "D", "CONTACT": "C", "COMPANY": "CO"}

func (s CRMSettings) readSettings(raw map[string]any) (Settings, error) {
	out := CRMSettings{Types: map[string]bool{}}
	for k, v := range s.Types {
		out.Types[k] = v
	}
	for key, v := range raw {
		key = strings.ToUpper(strings.TrimSpace(key))
		if _, std := standardBindingKeys[key]; !std {
			n, dynamic := strings.CutPrefix(key, "DYNAMIC_")
			if !dynamic {
				continue // not a type: ignored, as Bitrix24 does
			}
			if etid, err := strconv.ParseInt(n, 10, 64); err != nil || !ValidSmartProcessID(etid) {
				return nil, fmt.Errorf("%s names no smart process", key)
			}
		}
		on, ok := AsBool(v)
		if !ok {
			return nil, fmt.Errorf("setting %s must be Y or N", key)
		}
		out.Types[key] = on
	}
	return out, nil
}

func (s CRMSettings) plainSettings() map[string]any {
	out := map[string]any{}
	for k, on := range s.Types {
		out[k] = string(YesNo(on))
	}
	return out
}

func (CRMSettings) settingTypes() [][2]string {
	return [][2]string{{"LEAD", "char"}, {"CONTACT", "char"}, {"COMPANY", "char"}, {"DEAL", "char"}}
}

type crmKind struct{}

func (crmKind) ID() string            { return "crm" }
func (crmKind) Description() string   { return "Link to CRM items" }
func (crmKind) NewSettings() Settings { return CRMSettings{Types: map[string]bool{}} }

// Build implements Kind: at least one type must be allowed.
func (crmKind) Build(s Settings, _ []EnumItem) (Type, error) {
	allowed := map[string]int64{}
	for key, on := range s.(CRMSettings).Types {
		if !on {
			continue
		}
		if short, std := standardBindingKeys[key]; std {
			allowed[short] = ShortPrefixes[short]
			continue
		}
		etid, _ := strconv.ParseInt(strings.TrimPrefix(key, "DYNAMIC_"), 10, 64)
		allowed[BindingPrefix(etid)] = etid
	}
	if len(allowed) == 0 {
		return nil, fmt.Errorf("a CRM link field must allow at least one type (LEAD, DEAL, CONTACT, COMPANY, DYNAMIC_{entityTypeId}: Y)")
	}
	return CRMBinding{Allowed: allowed}, nil
}

func init() { register(crmKind{}) }

// Binding is an item a value points at, for ItemBindings filters.
type Binding struct{ EntityTypeID, ID int64 }

// ItemBindings is the filter type of a list of bindings to items of any type kept
// beside an entity (a task's UF_CRM_TASK): a condition asks whether the entity is bound
// to one of the given items ("D_12", "T408_7"), or to any item at all (an empty value
// asks for entities bound to nothing).
type ItemBindings struct{}

// Name implements Type.
func (ItemBindings) Name() string { return "crm" }

// Storage implements Type; the values live in a table of their own.
func (ItemBindings) Storage() Storage { return StorageInt }

// Parse implements Type: a binding string becomes a Binding.
func (ItemBindings) Parse(v any) (any, error) {
	if isEmpty(v) {
		return nil, nil
	}
	s, ok := v.(string)
	if !ok {
		return nil, invalid("a binding like D_12 or T408_7 is expected")
	}
	etid, id, ok := ParseAnyBinding(s)
	if !ok {
		return nil, invalid("%q is not a binding like D_12 or T408_7", s)
	}
	return Binding{EntityTypeID: etid, ID: id}, nil
}

// ParseElement implements ElementParser: a filter value is one of the bindings.
func (t ItemBindings) ParseElement(v any) (any, error) { return t.Parse(v) }

// Format implements Type.
func (ItemBindings) Format(v any) any { return v }

// Ops implements Type.
func (ItemBindings) Ops() []Op { return []Op{OpEq, OpNotEq, OpIn, OpNotIn} }
