// Package events tells integrations about changes: it reads the Changes the domain
// writes to the outbox and gives each the event name and data Bitrix24 integrations
// know (ONCRMDYNAMICITEMUPDATE {FIELDS: {ID, ENTITY_TYPE_ID}}…). The names are given
// here, at delivery; the outbox stores the domain's own Change.
package events

import (
	"strconv"

	"smartcrm/internal/change"
	"smartcrm/internal/jsonx"
)

// standardWords are the event words of the built-in types.
var standardWords = map[int64]string{1: "Lead", 2: "Deal", 3: "Contact", 4: "Company"}

var kindWords = map[change.Kind]string{change.Added: "Add", change.Updated: "Update", change.Deleted: "Delete", change.EnumChanged: "SetEnumValues"}

// Name is the event a change is delivered as, in the spelling of Bitrix24's
// documentation (onCrmDealUpdate); event names match without regard to letter case.
// "" for changes no event announces.
func Name(c *change.Change) string {
	kind := kindWords[c.Kind]
	switch c.Entity {
	case change.Item:
		if w, ok := standardWords[c.EntityTypeID]; ok {
			return "onCrm" + w + kind
		}
		return "onCrmDynamicItem" + kind
	case change.Type:
		return "onCrmType" + kind
	case change.Field:
		return "onCrmTypeUserField" + kind
	case change.Comment:
		return "onCrmTimelineComment" + kind
	case change.Activity:
		return "onCrmActivity" + kind
	case change.Task:
		return "OnTask" + kind
	}
	return ""
}

// Data is the `data` member of a change's event, as Bitrix24 sends it.
func Data(c *change.Change) jsonx.Map {
	switch c.Entity {
	case change.Item:
		if _, std := standardWords[c.EntityTypeID]; std {
			return jsonx.Map{{K: "FIELDS", V: jsonx.Map{{K: "ID", V: c.ID}}}}
		}
		return jsonx.Map{{K: "FIELDS", V: jsonx.Map{{K: "ID", V: c.ID}, {K: "ENTITY_TYPE_ID", V: c.EntityTypeID}}}}
	case change.Type:
		return jsonx.Map{{K: "FIELDS", V: jsonx.Map{{K: "ID", V: c.ID}, {K: "ENTITY_TYPE_ID", V: c.EntityTypeID}}}}
	case change.Field:
		return jsonx.Map{{K: "FIELDS", V: jsonx.Map{{K: "ID", V: c.ID}, {K: "ENTITY_TYPE_ID", V: c.EntityTypeID}}}}
	case change.Comment:
		return jsonx.Map{{K: "ID", V: c.ID}}
	case change.Activity:
		return jsonx.Map{{K: "FIELDS", V: jsonx.Map{{K: "ID", V: strconv.FormatInt(c.ID, 10)}}}}
	case change.Task:
		key := "FIELDS_AFTER"
		if c.Kind == change.Deleted {
			key = "FIELDS_BEFORE"
		}
		return jsonx.Map{{K: key, V: jsonx.Map{{K: "ID", V: c.ID}}}}
	}
	return nil
}
