package rest

import (
	"strings"
	"unicode"

	"smartcrm/internal/crm"
	"smartcrm/internal/query"
	"smartcrm/internal/rest/wirequery"
)

// How Bitrix24 names item fields on the wire. crm.item.* uses the domain's camelCase
// names; every field also has an UPPER_SNAKE name (upperName in crm.item.fields, the
// names of useOriginalUfNames and of the legacy methods), and the legacy methods
// crm.deal/contact/company/lead.* spell a few fields their own way. Clients may send
// any of them, in any letter case.

// upperExceptions are UPPER names that do not follow from the camelCase name.
var upperExceptions = map[int64]map[crm.FieldName]string{
	1: {crm.FieldStageID: "STATUS_ID", crm.FieldStageSemanticID: "STATUS_SEMANTIC_ID"},
}

// legacyRenames are the names the legacy methods give some fields; "-" keeps a field
// out of them.
var legacyRenames = map[crm.FieldName]string{
	crm.FieldCreatedBy: "CREATED_BY_ID", crm.FieldCreatedTime: "DATE_CREATE", crm.FieldMovedBy: "MOVED_BY_ID",
	crm.FieldUpdatedBy: "MODIFY_BY_ID", crm.FieldUpdatedTime: "DATE_MODIFY",
	crm.FieldEntityTypeID: "-", crm.FieldPreviousStageID: "-", crm.FieldFullName: "-",
}

// legacyTypeRenames are renames of one type's legacy methods.
var legacyTypeRenames = map[int64]map[crm.FieldName]string{
	1: {crm.FieldClosedate: "DATE_CLOSED"},
	4: {"typeId": "COMPANY_TYPE"},
}

// camelToUpper spells a camelCase name in UPPER_SNAKE: createdBy → CREATED_BY,
// parentId2 → PARENT_ID_2.
func camelToUpper(name string) string {
	var b strings.Builder
	for i, r := range name {
		prev := rune(0)
		if i > 0 {
			prev = rune(name[i-1])
		}
		if i > 0 && (unicode.IsUpper(r) || unicode.IsDigit(r) && !unicode.IsDigit(prev)) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// wireNames is a type's fields as the wire names them; built once per type snapshot.
type wireNames struct {
	byName map[string]*crm.Field // lower-case camel, UPPER and legacy names
	upper  map[*crm.Field]string
	legacy map[*crm.Field]string // "" for a field the legacy methods do not show
}

type wireNamesKey struct{}

// namesOf returns the wire names of a type's fields.
func namesOf(t *crm.Type) *wireNames {
	return t.Memo(wireNamesKey{}, func() any {
		n := &wireNames{byName: map[string]*crm.Field{}, upper: map[*crm.Field]string{}, legacy: map[*crm.Field]string{}}
		for _, f := range t.Fields() {
			up := camelToUpper(string(f.Name))
			if uf := f.UserField(); uf != nil {
				up = uf.Name
			} else if ex, ok := upperExceptions[t.EntityTypeID][f.Name]; ok {
				up = ex
			}
			n.upper[f] = up
			legacy := up
			if r, ok := legacyRenames[f.Name]; ok && f.UserField() == nil {
				legacy = r
			}
			if r, ok := legacyTypeRenames[t.EntityTypeID][f.Name]; ok {
				legacy = r
			}
			if legacy == "-" {
				legacy = ""
			}
			n.legacy[f] = legacy
			n.byName[strings.ToLower(string(f.Name))] = f
			n.byName[strings.ToLower(up)] = f
		}
		// Legacy spellings (CREATED_BY_ID, DATE_CREATE…) go last: they never shadow a name.
		for f, l := range n.legacy {
			if _, taken := n.byName[strings.ToLower(l)]; l != "" && !taken {
				n.byName[strings.ToLower(l)] = f
			}
		}
		return n
	}).(*wireNames)
}

// field finds a field by any of its wire names, in any letter case.
func (n *wireNames) field(name string) (*crm.Field, bool) {
	f, ok := n.byName[strings.ToLower(name)]
	return f, ok
}

// itemResolver finds the filterable fields of a type for wirequery; the multifield
// kinds (PHONE, EMAIL…) ask whether an item has such an entry.
func itemResolver(t *crm.Type) query.Resolver {
	n := namesOf(t)
	return func(name string) (*query.Field, bool) {
		if f, ok := n.field(name); ok {
			return t.QueryField(f), true
		}
		return t.MultifieldKindField(strings.ToUpper(name))
	}
}

// upperResolver finds fields of a domain catalog by their UPPER_SNAKE wire names (or the
// camelCase ones): the two differ only in underscores and letter case.
func upperResolver(cols []query.Field) query.Resolver {
	fold := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }
	return func(name string) (*query.Field, bool) {
		want := fold(name)
		for i := range cols {
			if fold(cols[i].Name) == want {
				return &cols[i], true
			}
		}
		return nil, false
	}
}

// parseQuery reads `filter` and `order` of a call against a resolver, turning parser
// mistakes into the domain's invalid-argument error (each family words it its way).
func parseQuery(c *Call, resolve query.Resolver) (query.Group, []query.Order, error) {
	filter, _ := lookup(c, "filter")
	order, _ := lookup(c, "order")
	where, err := wirequery.ParseFilter(filter, resolve)
	if err != nil {
		return query.Group{}, nil, &crm.Error{Kind: crm.ErrInvalidArg, Msg: err.Error()}
	}
	ord, err := wirequery.ParseOrder(order, resolve)
	if err != nil {
		return query.Group{}, nil, &crm.Error{Kind: crm.ErrInvalidArg, Msg: err.Error()}
	}
	return where, ord, nil
}
