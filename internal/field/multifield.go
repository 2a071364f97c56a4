package field

import (
	"encoding/json"
	"strings"
)

// Multifield holds the typed contact entries of a lead, contact or company: phones,
// e-mails, web sites, messengers and links (Bitrix24's `fm`). Each entry has a kind
// (PHONE, EMAIL, WEB, IM, LINK), a value type within the kind (WORK, MOBILE, HOME…) and
// a value. All entries of an item live in one JSON column.
//
// A write is a patch, the way Bitrix24's multifield input works: an entry with the ID
// of a stored one changes it (or removes it, with DELETE=Y or an empty VALUE), an entry
// without ID is added, and stored entries the patch does not name stay.
type Multifield struct{}

// MultiValue is one entry. Delete marks a patch entry that removes the stored one.
type MultiValue struct {
	ID        int64
	TypeID    string
	ValueType string
	Value     string
	Delete    bool
}

// MultifieldKinds are the entry kinds, with the value types each allows; the first is
// the default.
var MultifieldKinds = map[string][]string{
	"PHONE": {"WORK", "MOBILE", "FAX", "HOME", "PAGER", "MAILING", "OTHER"},
	"EMAIL": {"WORK", "HOME", "MAILING", "OTHER"},
	"WEB":   {"WORK", "HOME", "FACEBOOK", "VK", "LIVEJOURNAL", "TWITTER", "OTHER"},
	"IM":    {"SKYPE", "ICQ", "MSN", "JABBER", "TELEGRAM", "VK", "FACEBOOK", "INSTAGRAM", "VIBER", "WHATSAPP", "IMOL", "OTHER"},
	"LINK":  {"USER"},
}

// MultifieldKindOrder lists the kinds in the order Bitrix24 describes them.
var MultifieldKindOrder = []string{"PHONE", "EMAIL", "WEB", "IM", "LINK"}

// maxMultiValueLength bounds one entry's value.
const maxMultiValueLength = 250

// Name implements Type.
func (Multifield) Name() string { return "crm_multifield" }

// Storage implements Type.
func (Multifield) Storage() Storage { return StorageJSON }

// Parse implements Type: a list of entries, each an object with camelCase or
// UPPER_CASE keys (typeId/TYPE_ID, valueType/VALUE_TYPE, value/VALUE, id/ID, DELETE).
func (Multifield) Parse(v any) (any, error) {
	if isEmpty(v) {
		return []MultiValue{}, nil
	}
	vals, ok := Elements(v)
	if !ok {
		return nil, ErrNotIterable
	}
	out := make([]MultiValue, 0, len(vals))
	for _, e := range vals {
		mv, err := parseMultiValue(e, "")
		if err != nil {
			return nil, err
		}
		out = append(out, mv)
	}
	return out, nil
}

// ParseKind reads the entries of one kind, as the legacy methods send them
// (PHONE: [{VALUE, VALUE_TYPE}]); TYPE_ID may be left out.
func (Multifield) ParseKind(kind string, v any) ([]MultiValue, error) {
	if isEmpty(v) {
		return nil, nil
	}
	vals, ok := Elements(v)
	if !ok {
		return nil, ErrNotIterable
	}
	out := make([]MultiValue, 0, len(vals))
	for _, e := range vals {
		mv, err := parseMultiValue(e, kind)
		if err != nil {
			return nil, err
		}
		out = append(out, mv)
	}
	return out, nil
}

func parseMultiValue(e any, kind string) (MultiValue, error) {
	obj, ok := e.(map[string]any)
	if !ok {
		return MultiValue{}, invalid("each entry must be an object with VALUE and VALUE_TYPE")
	}
	get := func(names ...string) (any, bool) {
		return Lookup(obj, names...)
	}
	var mv MultiValue
	if raw, ok := get("ID", "id"); ok && !isEmpty(raw) {
		id, ok := AsInt(raw)
		if !ok || id <= 0 {
			return mv, invalid("entry ID %v is not a positive integer", raw)
		}
		mv.ID = id
	}
	if raw, ok := get("DELETE", "delete"); ok {
		mv.Delete, _ = AsBool(raw)
	}
	mv.TypeID = kind
	if raw, ok := get("TYPE_ID", "typeId"); ok && !isEmpty(raw) {
		s, _ := AsString(raw)
		mv.TypeID = strings.ToUpper(strings.TrimSpace(s))
	}
	allowed, known := MultifieldKinds[mv.TypeID]
	if !known {
		return mv, invalid("entry kind %q is not one of PHONE, EMAIL, WEB, IM, LINK", mv.TypeID)
	}
	mv.ValueType = allowed[0]
	if raw, ok := get("VALUE_TYPE", "valueType"); ok && !isEmpty(raw) {
		s, _ := AsString(raw)
		mv.ValueType = strings.ToUpper(strings.TrimSpace(s))
		if !contains(allowed, mv.ValueType) {
			return mv, invalid("%s entries have no value type %q (allowed: %s)", mv.TypeID, mv.ValueType, strings.Join(allowed, ", "))
		}
	}
	raw, _ := get("VALUE", "value")
	s, _ := AsString(raw)
	mv.Value = strings.TrimSpace(s)
	if mv.Value == "" && mv.ID == 0 && !mv.Delete {
		return mv, invalid("a %s entry needs a VALUE", mv.TypeID)
	}
	if len([]rune(mv.Value)) > maxMultiValueLength {
		return mv, invalid("a %s value is at most %d characters", mv.TypeID, maxMultiValueLength)
	}
	if mv.TypeID == "EMAIL" && mv.Value != "" && !looksLikeEmail(mv.Value) {
		return mv, invalid("%q is not an e-mail address", mv.Value)
	}
	return mv, nil
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// looksLikeEmail is a deliberately loose check: one @ with text on both sides and a dot
// in the domain. Stricter rules refuse addresses people really have.
func looksLikeEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-1 && strings.Contains(s[at+1:], ".") && !strings.ContainsAny(s, " \t\n")
}

// Merge applies a patch to the stored entries: changes and removals by ID, additions
// for entries without one (numbered after the highest stored ID). An ID the item does
// not have is refused, since the client meant an entry that is not there.
func (Multifield) Merge(stored []MultiValue, patch []MultiValue) ([]MultiValue, error) {
	out := append([]MultiValue{}, stored...)
	next := int64(0)
	for _, e := range out {
		next = max(next, e.ID)
	}
	for _, p := range patch {
		if p.ID == 0 {
			if p.Delete || p.Value == "" {
				continue
			}
			next++
			p.ID = next
			out = append(out, p)
			continue
		}
		i := -1
		for j := range out {
			if out[j].ID == p.ID {
				i = j
				break
			}
		}
		if i < 0 {
			return nil, invalid("the item has no multifield entry %d", p.ID)
		}
		if p.Delete || p.Value == "" {
			out = append(out[:i], out[i+1:]...)
			continue
		}
		p.TypeID = out[i].TypeID // an entry keeps its kind
		out[i] = p
	}
	return out, nil
}

// Format implements Type: the crm.item form, [{id, typeId, valueType, value}].
func (Multifield) Format(v any) any {
	list, _ := v.([]MultiValue)
	out := make([]map[string]any, len(list))
	for i, e := range list {
		out[i] = map[string]any{"id": e.ID, "typeId": e.TypeID, "valueType": e.ValueType, "value": e.Value}
	}
	return out
}

// Ops implements Type: filters ask whether an entry of a kind has a value.
func (Multifield) Ops() []Op { return []Op{OpEq, OpContains, OpLike} }

// FromStorage implements FromStorage.
func (Multifield) FromStorage(v any) (any, error) {
	list, _ := v.([]any)
	out := make([]MultiValue, 0, len(list))
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		var mv MultiValue
		mv.ID, _ = AsInt(m["ID"])
		mv.TypeID, _ = m["TYPE_ID"].(string)
		mv.ValueType, _ = m["VALUE_TYPE"].(string)
		mv.Value, _ = m["VALUE"].(string)
		out = append(out, mv)
	}
	return out, nil
}

// MarshalJSON stores an entry with the UPPER_CASE keys of the legacy wire form.
func (mv MultiValue) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"ID": mv.ID, "TYPE_ID": mv.TypeID, "VALUE_TYPE": mv.ValueType, "VALUE": mv.Value})
}

// MultifieldKind is the filter view of one kind of multifield entries (PHONE, EMAIL…):
// legacy list filters ask whether an item has an entry of that kind with a value.
type MultifieldKind struct{ Kind string }

// Name implements Type.
func (MultifieldKind) Name() string { return "crm_multifield" }

// Storage implements Type.
func (MultifieldKind) Storage() Storage { return StorageJSON }

// Parse implements Type.
func (MultifieldKind) Parse(v any) (any, error) {
	if isEmpty(v) {
		return nil, nil
	}
	s, ok := AsString(v)
	if !ok {
		return nil, invalid("a text value is expected")
	}
	return strings.TrimSpace(s), nil
}

// ParseElement implements ElementParser: equality means "has an entry with this value".
func (t MultifieldKind) ParseElement(v any) (any, error) { return t.Parse(v) }

// Format implements Type.
func (MultifieldKind) Format(v any) any { return v }

// Ops implements Type.
func (MultifieldKind) Ops() []Op { return []Op{OpEq, OpNotEq, OpIn, OpNotIn, OpContains, OpLike} }
