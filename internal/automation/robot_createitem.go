package automation

import (
	"fmt"

	"smartcrm/internal/crm"
)

// createItemRobot creates an item of any type — smart processes included, which
// Bitrix24's robots cannot — and links it to this item:
// {entityTypeId, fields, link?: "child" | "parent"}. As a child, the new item's parent
// is this item; as a parent, this item's parent becomes the new item.
type createItemRobot struct{}

func (createItemRobot) check(c *checker, p map[string]any) {
	etid, ok := intParam(p["entityTypeId"])
	target := c.typeOf(etid)
	if !ok || target == nil {
		c.add("entityTypeId", "entityTypeId names no type with items")
		return
	}
	if fields, given := p["fields"]; given {
		m, ok := fields.(map[string]any)
		if !ok {
			c.add("fields", "fields is an object of field names and values")
		} else {
			checkFieldValues(c, target, "fields", m)
		}
	}
	switch link, _ := p["link"].(string); link {
	case "":
	case "child":
		if !target.Has(crm.ParentField(c.t.EntityTypeID)) {
			c.add("link", "%s items cannot have a %s as their parent: add the relation first", target.Title, c.t.Title)
		}
	case "parent":
		if !c.t.Has(crm.ParentField(target.EntityTypeID)) {
			c.add("link", "%s items cannot have a %s as their parent: add the relation first", c.t.Title, target.Title)
		}
	default:
		c.add("link", "link is \"child\" or \"parent\"")
	}
}

func (createItemRobot) apply(rc *runCtx, u *crm.Unit) (map[string]any, error) {
	p := rc.robot.Params
	etid, _ := intParam(p["entityTypeId"])
	fields, _ := p["fields"].(map[string]any)
	patch := renderPatch(rc.r, fields)
	link, _ := p["link"].(string)
	if link == "child" {
		patch[crm.ParentField(rc.t.EntityTypeID)] = rc.it.ID
	}
	created, err := u.AddItem(etid, patch)
	if err != nil {
		if crm.KindOf(err) != 0 {
			return nil, permanent(fmt.Errorf("creating the item: %w", err))
		}
		return nil, err
	}
	if link == "parent" {
		if _, err := u.UpdateItem(rc.t.EntityTypeID, rc.it.ID, crm.Patch{crm.ParentField(etid): created.ID}, crm.WriteOptions{}); err != nil {
			return nil, err
		}
	}
	return map[string]any{"entityTypeId": etid, "id": created.ID}, nil
}
