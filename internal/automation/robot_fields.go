package automation

import (
	"sort"

	"smartcrm/internal/crm"
)

// fieldsRobot sets fields of the item: {fields: {name: value}}; text values take
// placeholders.
type fieldsRobot struct{}

func (fieldsRobot) check(c *checker, p map[string]any) {
	fields, ok := p["fields"].(map[string]any)
	if !ok || len(fields) == 0 {
		c.add("fields", "fields is an object of field names and values")
		return
	}
	checkFieldValues(c, c.t, "fields", fields)
}

// checkFieldValues checks that each name is a field a robot may write, and the
// placeholders of text values.
func checkFieldValues(c *checker, t *crm.Type, param string, fields map[string]any) {
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f, ok := t.FieldByName(n)
		if !ok {
			c.add(param+"."+n, "%s has no field %q", t.Title, n)
			continue
		}
		if f.ReadOnly || !f.Stored() {
			c.add(param+"."+n, "%q is set by the system", n)
		}
		if s, isText := fields[n].(string); isText {
			c.checkTemplate(param+"."+n, s)
		}
	}
}

// renderPatch fills the placeholders of text values.
func renderPatch(r *renderer, fields map[string]any) crm.Patch {
	patch := crm.Patch{}
	for n, v := range fields {
		if s, isText := v.(string); isText {
			v = r.render(s)
		}
		patch[crm.FieldName(n)] = v
	}
	return patch
}

func (fieldsRobot) apply(rc *runCtx, u *crm.Unit) (map[string]any, error) {
	fields, _ := rc.robot.Params["fields"].(map[string]any)
	it, err := u.UpdateItem(rc.t.EntityTypeID, rc.it.ID, renderPatch(rc.r, fields), crm.WriteOptions{})
	if err != nil {
		if crm.KindOf(err) != 0 {
			return nil, permanent(err) // a value the field refuses will not improve
		}
		return nil, err
	}
	return map[string]any{"version": it.Version}, nil
}
