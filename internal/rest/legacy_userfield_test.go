package rest_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"smartcrm/internal/apitest"
	"smartcrm/internal/testdb"
)

// expect compares an answer's values with what a client reads, key by key.
func expect(t *testing.T, what string, got any, want map[string]any) {
	t.Helper()
	for k, w := range want {
		v := apitest.Path(got, k)
		if fmt.Sprint(v) != fmt.Sprint(w) || (w == nil) != (v == nil) {
			t.Errorf("%s: %s = %v (%T), want %v", what, k, v, v, w)
		}
	}
}

// The custom fields of deals and contacts through the classic methods: names prefixed,
// every property read back as Bitrix24 spells it, list items added, changed and
// deleted, and a field of one entity out of reach of another's methods.
func TestLegacyUserFieldsRoundTrip(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		region := apitest.Int(s.MustOK("crm.deal.userfield.add", map[string]any{"fields": map[string]any{
			"FIELD_NAME": "REGION", "USER_TYPE_ID": "string", "XML_ID": "region", "SORT": 200, "SHOW_FILTER": "Y",
			"EDIT_FORM_LABEL": map[string]any{"en": "Region", "de": "Gebiet"}, "LIST_COLUMN_LABEL": "Region column",
			"SETTINGS": map[string]any{"DEFAULT_VALUE": "north", "ROWS": 3},
		}}), "")
		if region <= 0 {
			t.Fatalf("add answers the new id: %d", region)
		}
		r := s.Call("crm.deal.userfield.get", map[string]any{"id": region})
		got := r.Result()
		expect(t, "get", got, map[string]any{
			"ID": fmt.Sprint(region), "ENTITY_ID": "CRM_DEAL", "FIELD_NAME": "UF_CRM_REGION", "USER_TYPE_ID": "string",
			"XML_ID": "region", "SORT": "200", "MULTIPLE": "N", "MANDATORY": "N", "SHOW_FILTER": "E", "SHOW_IN_LIST": "Y",
			"EDIT_IN_LIST": "Y", "IS_SEARCHABLE": "N", "SETTINGS.DEFAULT_VALUE": "north", "SETTINGS.ROWS": 3,
			"EDIT_FORM_LABEL": "Region", "LIST_COLUMN_LABEL": "Region column", "LIST_FILTER_LABEL": nil,
			"ERROR_MESSAGE": nil, "HELP_MESSAGE": nil,
		})
		wantKeys := "ID ENTITY_ID FIELD_NAME USER_TYPE_ID XML_ID SORT MULTIPLE MANDATORY SHOW_FILTER SHOW_IN_LIST EDIT_IN_LIST " +
			"IS_SEARCHABLE SETTINGS EDIT_FORM_LABEL LIST_COLUMN_LABEL LIST_FILTER_LABEL ERROR_MESSAGE HELP_MESSAGE"
		if keys := strings.Join(keysOf(t, r.Raw, "result"), " "); keys != wantKeys {
			t.Errorf("get keys:\n%s\nwant\n%s", keys, wantKeys)
		}
		// Labels in another language; a label given as one text stands for every language.
		de := s.MustOK("crm.deal.userfield.get", map[string]any{"id": region, "LANG": "de"})
		expect(t, "get LANG=de", de, map[string]any{"EDIT_FORM_LABEL": "Gebiet", "LIST_COLUMN_LABEL": "Region column"})

		// The field is a deal field at once, with its default.
		deal := apitest.Int(s.MustOK("crm.deal.add", map[string]any{"fields": map[string]any{"TITLE": "Boiler"}}), "")
		if v := apitest.Str(s.MustOK("crm.deal.get", map[string]any{"id": deal}), "UF_CRM_REGION"); v != "north" {
			t.Errorf("the new field's default on a deal: %q", v)
		}

		// A multiple list on contacts, named with its prefix already; an item without a
		// VALUE is ignored, as Bitrix24 does.
		kind := apitest.Int(s.MustOK("crm.contact.userfield.add", map[string]any{"fields": map[string]any{
			"FIELD_NAME": "UF_CRM_KIND", "USER_TYPE_ID": "enumeration", "MULTIPLE": "Y", "LABEL": "Kind",
			"LIST": []any{
				map[string]any{"VALUE": "Partner", "SORT": 10, "DEF": "Y", "XML_ID": "partner"},
				map[string]any{"VALUE": "Supplier", "SORT": 20},
				map[string]any{"VALUE": ""},
			},
		}}), "")
		c := s.MustOK("crm.contact.userfield.get", map[string]any{"id": kind})
		expect(t, "enumeration", c, map[string]any{
			"ENTITY_ID": "CRM_CONTACT", "FIELD_NAME": "UF_CRM_KIND", "MULTIPLE": "Y", "EDIT_FORM_LABEL": "Kind",
			"LIST_FILTER_LABEL": "Kind", "HELP_MESSAGE": "Kind", "SETTINGS.DISPLAY": "LIST", "SETTINGS.LIST_HEIGHT": 1,
			"LIST.0.SORT": "10", "LIST.0.VALUE": "Partner", "LIST.0.DEF": "Y", "LIST.0.XML_ID": "partner",
			"LIST.1.SORT": "20", "LIST.1.VALUE": "Supplier", "LIST.1.DEF": "N",
		})
		list, _ := apitest.Path(c, "LIST").([]any)
		if len(list) != 2 || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(apitest.Str(list[1], "XML_ID")) {
			t.Fatalf("list items: %v", list)
		}
		partner, supplier := apitest.Str(list[0], "ID"), apitest.Str(list[1], "ID")
		if keys := strings.Join(keysOf(t, s.Call("crm.contact.userfield.get", map[string]any{"id": kind}).Raw, "result", "LIST", "0"), " "); keys != "ID SORT VALUE DEF XML_ID" {
			t.Errorf("list item keys: %s", keys)
		}

		// Update: an item changed by ID, one deleted with DEL=Y, one added; settings
		// change only where given; MULTIPLE is fixed once the field exists.
		if res := s.MustOK("crm.contact.userfield.update", map[string]any{"id": kind, "fields": map[string]any{
			"MANDATORY": "Y", "MULTIPLE": "N", "SETTINGS": map[string]any{"DISPLAY": "CHECKBOX"}, "EDIT_FORM_LABEL": "Relation",
			"LIST": []any{
				map[string]any{"ID": partner, "VALUE": "Key partner"},
				map[string]any{"ID": supplier, "DEL": "Y"},
				map[string]any{"VALUE": "Reseller", "SORT": 30, "XML_ID": "reseller"},
			},
		}}); res != true {
			t.Errorf("update answers true: %v", res)
		}
		c = s.MustOK("crm.contact.userfield.get", map[string]any{"id": kind})
		expect(t, "after update", c, map[string]any{
			"MANDATORY": "Y", "MULTIPLE": "Y", "SETTINGS.DISPLAY": "CHECKBOX", "SETTINGS.LIST_HEIGHT": 1, "SETTINGS.SHOW_NO_VALUE": "Y",
			"EDIT_FORM_LABEL": "Relation", "LIST_COLUMN_LABEL": "Kind",
			"LIST.0.ID": partner, "LIST.0.VALUE": "Key partner", "LIST.0.XML_ID": "partner",
			"LIST.1.VALUE": "Reseller", "LIST.1.XML_ID": "reseller", "LIST.1.SORT": "30",
		})
		if list, _ := apitest.Path(c, "LIST").([]any); len(list) != 2 {
			t.Errorf("items after update: %v", list)
		}
		// The same field through userfieldconfig: one registry.
		cfg := s.MustOK("userfieldconfig.get", map[string]any{"moduleId": "crm", "id": kind})
		expect(t, "userfieldconfig.get", cfg, map[string]any{"field.entityId": "CRM_CONTACT", "field.fieldName": "UF_CRM_KIND", "field.mandatory": "Y"})

		// A field of one entity is not found through another's methods, and stays.
		for _, m := range []string{"crm.deal.userfield.get", "crm.deal.userfield.delete", "crm.company.userfield.get"} {
			r := s.MustFail(m, map[string]any{"id": kind}, 400, "")
			if _, d := r.Error(); d != fmt.Sprintf("The entity with ID '%d' is not found.", kind) {
				t.Errorf("%s of a contact field: %s", m, d)
			}
		}
		s.MustFail("crm.deal.userfield.update", map[string]any{"id": kind, "fields": map[string]any{"MANDATORY": "N"}}, 400, "")
		expect(t, "contact field after foreign calls", s.MustOK("crm.contact.userfield.get", map[string]any{"id": kind}),
			map[string]any{"MANDATORY": "Y"})

		// Lists: a bare array with total, this entity's fields only, labels only with LANG.
		second := apitest.Int(s.MustOK("crm.deal.userfield.add", map[string]any{"fields": map[string]any{
			"FIELD_NAME": "SIGNED", "USER_TYPE_ID": "boolean", "MANDATORY": "Y", "SORT": 50, "EDIT_FORM_LABEL": "Signed"}}), "")
		lr := s.Call("crm.deal.userfield.list", map[string]any{})
		rows, _ := lr.Result().([]any)
		if lr.Status != 200 || len(rows) != 2 || apitest.Int(lr.Body, "total") != 2 ||
			apitest.Str(rows[0], "ID") != fmt.Sprint(second) || apitest.Str(rows[1], "ID") != fmt.Sprint(region) {
			t.Fatalf("deal fields by SORT: %s", lr.Raw)
		}
		if _, has := rows[0].(map[string]any)["EDIT_FORM_LABEL"]; has {
			t.Errorf("labels without LANG: %v", rows[0])
		}
		ids := func(p map[string]any) string {
			var out []string
			for _, row := range s.MustOK("crm.deal.userfield.list", p).([]any) {
				out = append(out, apitest.Str(row, "FIELD_NAME"))
			}
			return strings.Join(out, ",")
		}
		for name, c := range map[string]struct {
			params map[string]any
			want   string
		}{
			"by name":         {map[string]any{"filter": map[string]any{"FIELD_NAME": "UF_CRM_REGION"}}, "UF_CRM_REGION"},
			"by type":         {map[string]any{"filter": map[string]any{"USER_TYPE_ID": "boolean"}}, "UF_CRM_SIGNED"},
			"mandatory":       {map[string]any{"filter": map[string]any{"MANDATORY": "N"}}, "UF_CRM_REGION"},
			"by id":           {map[string]any{"filter": map[string]any{"ID": region}}, "UF_CRM_REGION"},
			"after an id":     {map[string]any{"filter": map[string]any{">ID": region}, "order": map[string]any{"ID": "ASC"}}, "UF_CRM_SIGNED"},
			"up to an id":     {map[string]any{"filter": map[string]any{"<=ID": region}}, "UF_CRM_REGION"},
			"other entity":    {map[string]any{"filter": map[string]any{"ENTITY_ID": "CRM_CONTACT"}}, ""},
			"own entity":      {map[string]any{"filter": map[string]any{"ENTITY_ID": "CRM_DEAL", "MULTIPLE": "N"}}, "UF_CRM_SIGNED,UF_CRM_REGION"},
			"name descending": {map[string]any{"order": map[string]any{"FIELD_NAME": "DESC"}}, "UF_CRM_SIGNED,UF_CRM_REGION"},
			"id ascending":    {map[string]any{"order": map[string]any{"ID": "asc"}}, "UF_CRM_REGION,UF_CRM_SIGNED"},
			"xml id":          {map[string]any{"filter": map[string]any{"XML_ID": "region"}}, "UF_CRM_REGION"},
		} {
			if got := ids(c.params); got != c.want {
				t.Errorf("list %s: %s, want %s", name, got, c.want)
			}
		}
		withLang := s.MustOK("crm.deal.userfield.list", map[string]any{"filter": map[string]any{"LANG": "de", "FIELD_NAME": "UF_CRM_REGION"}}).([]any)
		if len(withLang) != 1 || apitest.Str(withLang[0], "EDIT_FORM_LABEL") != "Gebiet" || apitest.Str(withLang[0], "LIST_COLUMN_LABEL") != "Region column" {
			t.Errorf("list with LANG: %v", withLang)
		}

		// Delete: the field, its column and its values go; the other entity's stays.
		if res := s.MustOK("crm.deal.userfield.delete", map[string]any{"id": region}); res != true {
			t.Errorf("delete answers true: %v", res)
		}
		s.MustFail("crm.deal.userfield.get", map[string]any{"id": region}, 400, "")
		if f := apitest.Path(s.MustOK("crm.deal.fields", nil), "UF_CRM_REGION"); f != nil {
			t.Errorf("deleted field still described: %v", f)
		}
		if _, has := s.MustOK("crm.deal.get", map[string]any{"id": deal}).(map[string]any)["UF_CRM_REGION"]; has {
			t.Errorf("deleted field still on the deal")
		}
		s.MustOK("crm.contact.userfield.get", map[string]any{"id": kind})
	})
}

// Bad input to the legacy custom-field methods is refused with the legacy envelope
// (code "", the text says what) and changes nothing.
func TestLegacyUserFieldsBadInput(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		kind := apitest.Int(s.MustOK("crm.lead.userfield.add", map[string]any{"fields": map[string]any{
			"FIELD_NAME": "KIND", "USER_TYPE_ID": "enumeration", "LIST": []any{map[string]any{"VALUE": "Hot", "XML_ID": "hot"}}}}), "")
		other := apitest.Int(s.MustOK("crm.lead.userfield.add", map[string]any{"fields": map[string]any{
			"FIELD_NAME": "OTHER", "USER_TYPE_ID": "enumeration", "LIST": []any{map[string]any{"VALUE": "X"}}}}), "")
		foreignItem := apitest.Str(s.MustOK("crm.lead.userfield.get", map[string]any{"id": other}), "LIST.0.ID")
		before := string(s.Call("crm.lead.userfield.list", map[string]any{"filter": map[string]any{"LANG": "en"}}).Raw)
		snapshot := func() string {
			raw := string(s.Call("crm.lead.userfield.list", map[string]any{"filter": map[string]any{"LANG": "en"}}).Raw)
			return raw[:strings.Index(raw, `"time"`)]
		}
		base := before[:strings.Index(before, `"time"`)]

		long := strings.Repeat("A", 60)
		for _, c := range []struct {
			name, method string
			params       map[string]any
			desc         string // the start of error_description
		}{
			{"no type", "crm.lead.userfield.add", map[string]any{"fields": map[string]any{"FIELD_NAME": "X"}}, "The 'USER_TYPE_ID' field is not found"},
			{"no name", "crm.lead.userfield.add", map[string]any{"fields": map[string]any{"USER_TYPE_ID": "string"}}, "The 'FIELD_NAME' field is not found"},
			{"unknown type", "crm.lead.userfield.add", map[string]any{"fields": map[string]any{"FIELD_NAME": "X", "USER_TYPE_ID": "iblock_section"}}, "Invalid user type specified."},
			{"bad characters", "crm.lead.userfield.add", map[string]any{"fields": map[string]any{"FIELD_NAME": "bad-name", "USER_TYPE_ID": "string"}}, "Field name contains invalid characters"},
			{"too long", "crm.lead.userfield.add", map[string]any{"fields": map[string]any{"FIELD_NAME": long, "USER_TYPE_ID": "string"}}, "Field name is too long"},
			{"taken", "crm.lead.userfield.add", map[string]any{"fields": map[string]any{"FIELD_NAME": "KIND", "USER_TYPE_ID": "string"}}, "The field UF_CRM_KIND for object CRM_LEAD already exists."},
			{"multiple yes/no", "crm.lead.userfield.add", map[string]any{"fields": map[string]any{"FIELD_NAME": "B", "USER_TYPE_ID": "boolean", "MULTIPLE": "Y"}}, "A yes/no field cannot be multiple"},
			{"sort", "crm.lead.userfield.add", map[string]any{"fields": map[string]any{"FIELD_NAME": "S", "USER_TYPE_ID": "string", "SORT": "first"}}, "SORT must be an integer"},
			{"flag", "crm.lead.userfield.add", map[string]any{"fields": map[string]any{"FIELD_NAME": "S", "USER_TYPE_ID": "string", "MANDATORY": "maybe"}}, "MANDATORY must be Y or N"},
			{"show filter", "crm.lead.userfield.add", map[string]any{"fields": map[string]any{"FIELD_NAME": "S", "USER_TYPE_ID": "string", "SHOW_FILTER": "Q"}}, "showFilter must be N, I, E or S"},
			{"settings", "crm.lead.userfield.add", map[string]any{"fields": map[string]any{"FIELD_NAME": "S", "USER_TYPE_ID": "string", "SETTINGS": "big"}}, "SETTINGS must be an object"},
			{"regexp", "crm.lead.userfield.add", map[string]any{"fields": map[string]any{"FIELD_NAME": "S", "USER_TYPE_ID": "string", "SETTINGS": map[string]any{"REGEXP": "/([/"}}}, "Invalid settings"},
			{"fields text", "crm.lead.userfield.add", map[string]any{"fields": "FIELD_NAME=X"}, "Parameter 'fields' must be array."},
			{"twice the xml id", "crm.lead.userfield.add", map[string]any{"fields": map[string]any{"FIELD_NAME": "E", "USER_TYPE_ID": "enumeration",
				"LIST": []any{map[string]any{"VALUE": "a", "XML_ID": "same"}, map[string]any{"VALUE": "b", "XML_ID": "same"}}}}, "List element with value XML_ID='same' already exists"},
			{"no id", "crm.lead.userfield.get", map[string]any{}, "ID is not defined or invalid."},
			{"text id", "crm.lead.userfield.get", map[string]any{"id": "abc"}, "ID is not defined or invalid."},
			{"missing", "crm.lead.userfield.get", map[string]any{"id": 999999}, "The entity with ID '999999' is not found."},
			{"update without fields", "crm.lead.userfield.update", map[string]any{"id": kind}, "Parameter 'fields' must be array."},
			{"another field's item", "crm.lead.userfield.update", map[string]any{"id": kind, "fields": map[string]any{"MANDATORY": "Y",
				"LIST": []any{map[string]any{"ID": foreignItem, "VALUE": "stolen"}}}}, fmt.Sprintf("Enum item %s does not belong to this field", foreignItem)},
			{"xml id taken on update", "crm.lead.userfield.update", map[string]any{"id": kind, "fields": map[string]any{
				"LIST": []any{map[string]any{"VALUE": "Warm", "XML_ID": "hot"}}}}, "List element with value XML_ID='hot' already exists"},
			{"delete missing", "crm.lead.userfield.delete", map[string]any{"id": 999999}, "The entity with ID '999999' is not found."},
			{"filter key", "crm.lead.userfield.list", map[string]any{"filter": map[string]any{"TITLE": "x"}}, "Invalid filter: field 'TITLE' is not allowed in filter"},
			{"filter operator", "crm.lead.userfield.list", map[string]any{"filter": map[string]any{">SORT": 1}}, "Invalid filter: operator \">\" is not supported for SORT"},
			{"filter text", "crm.lead.userfield.list", map[string]any{"filter": "x"}, "Parameter 'filter' must be array."},
			{"order field", "crm.lead.userfield.list", map[string]any{"order": map[string]any{"TITLE": "ASC"}}, "Invalid order: field 'TITLE' is not allowed in order"},
			{"order direction", "crm.lead.userfield.list", map[string]any{"order": map[string]any{"SORT": "UP"}}, "Invalid order: the direction of SORT must be ASC or DESC"},
		} {
			r := s.Call(c.method, c.params)
			code, desc := r.Error()
			if r.Status != 400 || code != "" || !strings.HasPrefix(desc, c.desc) {
				t.Errorf("%s: %d %v %q, want 400 \"\" %q", c.name, r.Status, code, desc, c.desc)
			}
		}
		if after := snapshot(); after != base {
			t.Errorf("bad input changed the fields:\n%s\nwas\n%s", after, base)
		}
	})
}
