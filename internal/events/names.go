// Package events tells integrations about changes: it reads the Changes the domain
// writes to the outbox and gives each the event name and data Bitrix24 integrations
// know (ONCRMDYNAMICITEMUPDATE {FIELDS: {ID, ENTITY_TYPE_ID}}…). The names are given
// here, at delivery; the outbox stores the domain's own Change.
package events

import (
	"fmt"
	"strconv"
	"strings"

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
	if kind == "" {
		return ""
	}
	switch c.Entity {
	case change.Item:
		if c.Kind == change.EnumChanged {
			return ""
		}
		if w, ok := standardWords[c.EntityTypeID]; ok {
			return "onCrm" + w + kind
		}
		return "onCrmDynamicItem" + kind
	case change.Type:
		if c.Kind == change.EnumChanged {
			return ""
		}
		return "onCrmType" + kind
	case change.Field:
		// Only the fields of smart processes have these events (spec core §9.2).
		if _, std := standardWords[c.EntityTypeID]; std {
			return ""
		}
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

// Names are the upper-case names a change is delivered under: its event and, for
// smart process items, the same event of that type alone (ONCRMDYNAMICITEMUPDATE_1030).
func Names(c *change.Change) []string {
	n := strings.ToUpper(Name(c))
	if n == "" {
		return nil
	}
	if c.Entity == change.Item && strings.HasPrefix(n, "ONCRMDYNAMICITEM") {
		return []string{n, n + "_" + strconv.FormatInt(c.EntityTypeID, 10)}
	}
	return []string{n}
}

// baseNames are every event name that needs no type, upper case.
var baseNames = func() []string {
	var out []string
	for _, k := range []string{"ADD", "UPDATE", "DELETE"} {
		out = append(out, "ONCRMDYNAMICITEM"+k, "ONCRMTYPE"+k, "ONCRMTYPEUSERFIELD"+k,
			"ONCRMDEAL"+k, "ONCRMCONTACT"+k, "ONCRMCOMPANY"+k, "ONCRMLEAD"+k,
			"ONCRMTIMELINECOMMENT"+k, "ONCRMACTIVITY"+k, "ONTASK"+k)
	}
	return append(out, "ONCRMTYPEUSERFIELDSETENUMVALUES", OfflineNotice)
}()

// OfflineNotice is the online event that tells an application its offline queue got
// entries (its data is empty: the application reads the queue with event.offline.get).
const OfflineNotice = "ONOFFLINEEVENT"

// All lists every event name, upper case: those of any change, and the per-type item
// events of the smart processes given.
func All(processTypes []int64) []string {
	out := append([]string(nil), baseNames...)
	for _, etid := range processTypes {
		for _, k := range []string{"ADD", "UPDATE", "DELETE"} {
			out = append(out, fmt.Sprintf("ONCRMDYNAMICITEM%s_%d", k, etid))
		}
	}
	return out
}

// Canonical reads an event name as a subscription gives it, in any letter case, and
// returns its upper-case form; typeID is the smart process of a per-type item event
// (ONCRMDYNAMICITEMADD_1030), 0 for the others. ok is false for names no event has.
func Canonical(name string) (canonical string, typeID int64, ok bool) {
	n := strings.ToUpper(strings.TrimSpace(name))
	for _, b := range baseNames {
		if n == b {
			return n, 0, true
		}
	}
	for _, k := range []string{"ADD_", "UPDATE_", "DELETE_"} {
		rest, found := strings.CutPrefix(n, "ONCRMDYNAMICITEM"+k)
		if !found {
			continue
		}
		id, err := strconv.ParseInt(rest, 10, 64)
		if err != nil || id <= 0 || strconv.FormatInt(id, 10) != rest {
			return "", 0, false
		}
		return n, id, true
	}
	return "", 0, false
}

// Data is the `data` member of a change's event, as Bitrix24 sends it.
func Data(c *change.Change) jsonx.Map {
	// Numbers where the spec shows numbers, text where it shows text: what a handler
	// gets is a form, where everything is text, but offline events keep this JSON.
	id := c.ID
	switch c.Entity {
	case change.Item:
		if _, std := standardWords[c.EntityTypeID]; std {
			return jsonx.Map{{K: "FIELDS", V: jsonx.Map{{K: "ID", V: id}}}}
		}
		return jsonx.Map{{K: "FIELDS", V: jsonx.Map{{K: "ID", V: id}, {K: "ENTITY_TYPE_ID", V: c.EntityTypeID}}}}
	case change.Type:
		// ID is the type's id, not its entityTypeId (spec core §9.2).
		return jsonx.Map{{K: "FIELDS", V: jsonx.Map{{K: "ID", V: id}}}}
	case change.Field:
		name, _ := c.After["name"].(string)
		return jsonx.Map{{K: "FIELDS", V: jsonx.Map{{K: "ID", V: id}, {K: "ENTITY_ID", V: fieldEntity(c)}, {K: "FIELD_NAME", V: name}}}}
	case change.Comment:
		return jsonx.Map{{K: "ID", V: id}}
	case change.Activity:
		return jsonx.Map{{K: "FIELDS", V: jsonx.Map{{K: "ID", V: strconv.FormatInt(id, 10)}}}}
	case change.Task:
		fields := jsonx.Map{{K: "ID", V: id}}
		switch c.Kind {
		case change.Added:
			return jsonx.Map{{K: "FIELDS_AFTER", V: fields}}
		case change.Deleted:
			return jsonx.Map{{K: "FIELDS_BEFORE", V: fields}}
		}
		return jsonx.Map{{K: "FIELDS_BEFORE", V: fields}, {K: "FIELDS_AFTER", V: fields}}
	}
	return nil
}

// fieldEntity is the ENTITY_ID of a smart process's custom field: CRM_{type id}.
func fieldEntity(c *change.Change) string {
	switch v := c.After["typeId"].(type) {
	case float64:
		return "CRM_" + strconv.FormatInt(int64(v), 10)
	case int64:
		return "CRM_" + strconv.FormatInt(v, 10)
	}
	return ""
}

// ObjectKey names what a change is about, so that an object's events keep their order
// and an offline queue keeps one record per object: "item:1030:5", "comment:0:7".
func ObjectKey(c *change.Change) string {
	return string(c.Entity) + ":" + strconv.FormatInt(c.EntityTypeID, 10) + ":" + strconv.FormatInt(c.ID, 10)
}
