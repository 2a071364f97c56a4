// Package events tells integrations about changes: it reads the Changes the domain
// writes to the outbox and gives each the event name and data Bitrix24 integrations
// know (ONCRMDYNAMICITEMUPDATE {FIELDS: {ID, ENTITY_TYPE_ID}}…). The names are given
// here, at delivery; the outbox stores the domain's own Change.
package events

import (
	"strconv"

	"smartcrm/internal/crm"
	"smartcrm/internal/jsonx"
)

// standardWords are the event words of the built-in types.
var standardWords = map[int64]string{1: "Lead", 2: "Deal", 3: "Contact", 4: "Company"}

var kindWords = map[crm.ChangeKind]string{crm.Added: "Add", crm.Updated: "Update", crm.Deleted: "Delete", crm.EnumChanged: "SetEnumValues"}

// Name is the event a change is delivered as, in the spelling of Bitrix24's
// documentation (onCrmDealUpdate); event names match without regard to letter case.
// "" for changes no event announces.
func Name(c *crm.Change) string {
	kind := kindWords[c.Kind]
	switch c.Entity {
	case crm.EntityItem:
		if w, ok := standardWords[c.EntityTypeID]; ok {
			return "onCrm" + w + kind
		}
		return "onCrmDynamicItem" + kind
	case crm.EntityType:
		return "onCrmType" + kind
	case crm.EntityField:
		return "onCrmTypeUserField" + kind
	case crm.EntityComment:
		return "onCrmTimelineComment" + kind
	case crm.EntityActivity:
		return "onCrmActivity" + kind
	case crm.EntityTask:
		return "OnTask" + kind
	}
	return ""
}

// Data is the `data` member of a change's event, as Bitrix24 sends it.
func Data(c *crm.Change) jsonx.Map {
	switch c.Entity {
	case crm.EntityItem:
		if _, std := standardWords[c.EntityTypeID]; std {
			return jsonx.Map{{K: "FIELDS", V: jsonx.Map{{K: "ID", V: c.ID}}}}
		}
		return jsonx.Map{{K: "FIELDS", V: jsonx.Map{{K: "ID", V: c.ID}, {K: "ENTITY_TYPE_ID", V: c.EntityTypeID}}}}
	case crm.EntityType:
		return jsonx.Map{{K: "FIELDS", V: jsonx.Map{{K: "ID", V: c.ID}, {K: "ENTITY_TYPE_ID", V: c.EntityTypeID}}}}
	case crm.EntityField:
		return jsonx.Map{{K: "FIELDS", V: jsonx.Map{{K: "ID", V: c.ID}, {K: "ENTITY_TYPE_ID", V: c.EntityTypeID}}}}
	case crm.EntityComment:
		return jsonx.Map{{K: "ID", V: c.ID}}
	case crm.EntityActivity:
		return jsonx.Map{{K: "FIELDS", V: jsonx.Map{{K: "ID", V: strconv.FormatInt(c.ID, 10)}}}}
	case crm.EntityTask:
		key := "FIELDS_AFTER"
		if c.Kind == crm.Deleted {
			key = "FIELDS_BEFORE"
		}
		return jsonx.Map{{K: key, V: jsonx.Map{{K: "ID", V: c.ID}}}}
	}
	return nil
}
