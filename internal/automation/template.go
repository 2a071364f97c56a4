package automation

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"smartcrm/internal/crm"
	"smartcrm/internal/field"
)

// Text parameters of robots take placeholders: {{title}}, {{id}}, {{stageId}}, any field
// {{ufCrm5Amount}}, {{assignedBy.name}}, {{assignedBy.email}}, {{parent2.title}} (any
// field of the parent item of type 2), {{url}} (the item's page). Names are checked when
// the document is saved; an unknown one is refused then.

var placeholderPattern = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_.]+)\s*\}\}`)

// userParts are what {{assignedBy.*}} may name.
var userParts = map[string]bool{"name": true, "lastName": true, "fullName": true, "email": true, "id": true}

// placeholders lists the names a template uses.
func placeholders(tmpl string) []string {
	var out []string
	for _, m := range placeholderPattern.FindAllStringSubmatch(tmpl, -1) {
		out = append(out, m[1])
	}
	return out
}

// checkPlaceholder tells whether a placeholder names something an item of t has;
// parentType finds a parent's type by entityTypeId.
func checkPlaceholder(t *crm.Type, name string, parentType func(int64) *crm.Type) error {
	switch name {
	case "url", "stageName":
		return nil
	}
	if head, rest, ok := strings.Cut(name, "."); ok {
		switch {
		case head == "assignedBy":
			if !userParts[rest] {
				return fmt.Errorf("{{%s}}: assignedBy has name, lastName, fullName, email and id", name)
			}
			return nil
		case strings.HasPrefix(head, "parent"):
			etid, err := strconv.ParseInt(strings.TrimPrefix(head, "parent"), 10, 64)
			if err != nil || !t.Has(crm.ParentField(etid)) && !hasClientParent(t, etid) {
				return fmt.Errorf("{{%s}}: %s is not a parent of %s", name, head, t.Title)
			}
			pt := parentType(etid)
			if pt == nil {
				return fmt.Errorf("{{%s}}: type %d does not exist", name, etid)
			}
			if _, ok := pt.FieldByName(rest); !ok {
				return fmt.Errorf("{{%s}}: %s has no field %q", name, pt.Title, rest)
			}
			return nil
		case head == "robot":
			return nil // results of earlier robots, checked when robots report them
		}
		return fmt.Errorf("{{%s}} names nothing an item has", name)
	}
	if _, ok := t.FieldByName(name); !ok {
		return fmt.Errorf("{{%s}}: %s has no field %q", name, t.Title, name)
	}
	return nil
}

// hasClientParent: contacts and companies are parents of a client-enabled type through
// contactIds and companyId.
func hasClientParent(t *crm.Type, etid int64) bool {
	return (etid == 3 && t.Has(crm.FieldContactIDs)) || (etid == 4 && t.Has(crm.FieldCompanyID))
}

// renderer fills placeholders for one item.
type renderer struct {
	t      *crm.Type
	it     *crm.Item
	lookup func(name string) string // assignedBy.*, parentN.*, url, stageName, robot.*
}

// render fills a template.
func (r *renderer) render(tmpl string) string {
	return placeholderPattern.ReplaceAllStringFunc(tmpl, func(m string) string {
		name := placeholderPattern.FindStringSubmatch(m)[1]
		if strings.Contains(name, ".") || name == "url" || name == "stageName" {
			return r.lookup(name)
		}
		f, ok := r.t.FieldByName(name)
		if !ok {
			return ""
		}
		switch f.Name {
		case crm.FieldID:
			return strconv.FormatInt(r.it.ID, 10)
		case crm.FieldEntityTypeID:
			return strconv.FormatInt(r.t.EntityTypeID, 10)
		}
		return text(f, r.it.Get(f.Name))
	})
}

// text is a field value as it reads in a message: dates in the server's zone, lists
// joined by commas, empty as "".
func text(f *crm.Field, v any) string {
	if v == nil {
		return ""
	}
	switch x := v.(type) {
	case time.Time:
		if _, day := f.Type.(field.Date); day {
			return x.In(time.Local).Format("2006-01-02")
		}
		return x.In(time.Local).Format("2006-01-02 15:04")
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []int64:
		parts := make([]string, len(x))
		for i, id := range x {
			parts[i] = strconv.FormatInt(id, 10)
		}
		return strings.Join(parts, ", ")
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = text(&crm.Field{Type: elemType(f.Type)}, e)
		}
		return strings.Join(parts, ", ")
	case []field.MultiValue:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = e.Value
		}
		return strings.Join(parts, ", ")
	}
	if y, yes := f.Type.(field.Boolean); yes {
		return fmt.Sprint(y.Format(v))
	}
	return fmt.Sprint(v)
}

func elemType(t field.Type) field.Type {
	if m, ok := t.(field.Multiple); ok {
		return m.Elem
	}
	return t
}
