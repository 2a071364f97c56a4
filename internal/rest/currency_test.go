package rest_test

import (
	"strings"
	"testing"

	"smartcrm/internal/apitest"
	"smartcrm/internal/testdb"
)

// The currencies as the SDKs read them at start-up: the base one, the list, and each
// currency with its formats; the base currency is the one new deals get.
func TestCurrencies(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		r := s.Call("crm.currency.list", map[string]any{})
		rows, _ := r.Result().([]any)
		if r.Status != 200 || len(rows) < 16 || apitest.Int(r.Body, "total") != int64(len(rows)) {
			t.Fatalf("crm.currency.list: %s", r.Raw)
		}
		wantKeys := "CURRENCY AMOUNT_CNT AMOUNT SORT BASE FULL_NAME LID FORMAT_STRING DEC_POINT THOUSANDS_SEP DECIMALS DATE_UPDATE"
		if keys := strings.Join(keysOf(t, r.Raw, "result", "0"), " "); keys != wantKeys {
			t.Errorf("list row keys:\n%s\nwant\n%s", keys, wantKeys)
		}
		byCode := map[string]any{}
		var codes []string
		bases := 0
		for _, row := range rows {
			byCode[apitest.Str(row, "CURRENCY")] = row
			codes = append(codes, apitest.Str(row, "CURRENCY"))
			if apitest.Str(row, "BASE") == "Y" {
				bases++
			}
		}
		for _, code := range strings.Fields("USD EUR GBP RUB UAH KZT BYN CNY JPY CHF INR BRL PLN TRY CAD AUD") {
			if byCode[code] == nil {
				t.Errorf("%s is not in the list", code)
			}
		}
		if bases != 1 || codes[0] != "USD" {
			t.Errorf("one base currency, first by SORT: %d bases, %v", bases, codes)
		}
		updated := apitest.Str(byCode["USD"], "DATE_UPDATE")
		expect(t, "USD", byCode["USD"], map[string]any{
			"CURRENCY": "USD", "AMOUNT_CNT": "1", "AMOUNT": "1.0000", "SORT": "100", "BASE": "Y",
			"FULL_NAME": "United States Dollar", "LID": "en", "FORMAT_STRING": "$#", "DEC_POINT": ".",
			"THOUSANDS_SEP": nil, "DECIMALS": "2",
		})
		// No exchange rates are kept: a currency other than the base has none.
		expect(t, "EUR", byCode["EUR"], map[string]any{"BASE": "N", "AMOUNT": nil, "AMOUNT_CNT": "1", "FULL_NAME": "Euro", "FORMAT_STRING": "€#"})
		if !strings.HasPrefix(updated, "20") || !strings.Contains(updated, "T") {
			t.Errorf("DATE_UPDATE is a date and time: %q", updated)
		}

		// get adds each language's formats.
		g := s.Call("crm.currency.get", map[string]any{"id": "eur"})
		if keys := strings.Join(keysOf(t, g.Raw, "result"), " "); keys != wantKeys+" LANG" {
			t.Errorf("get keys: %s", keys)
		}
		expect(t, "get EUR", g.Result(), map[string]any{
			"CURRENCY": "EUR", "SORT": "200", "BASE": "N", "DATE_UPDATE": updated,
			"LANG.en.FORMAT_STRING": "€#", "LANG.en.FULL_NAME": "Euro", "LANG.en.DEC_POINT": ".", "LANG.en.THOUSANDS_SEP": nil,
			"LANG.en.DECIMALS": "2", "LANG.en.THOUSANDS_VARIANT": "C", "LANG.en.HIDE_ZERO": "Y",
		})
		expect(t, "get JPY", s.MustOK("crm.currency.get", map[string]any{"id": "JPY"}), map[string]any{"DECIMALS": "0", "LANG.en.DECIMALS": "0"})

		// The base currency is the one a new deal is priced in.
		base := s.MustOK("crm.currency.base.get", nil)
		deal := apitest.Int(s.MustOK("crm.deal.add", map[string]any{"fields": map[string]any{"TITLE": "Priced"}}), "")
		if base != "USD" || apitest.Str(s.MustOK("crm.deal.get", map[string]any{"id": deal}), "CURRENCY_ID") != base {
			t.Errorf("base currency %v and a new deal's", base)
		}
		// What b24jssdk asks at start-up, in one batch.
		b := s.MustOK("batch", map[string]any{"cmd": map[string]any{"base": "crm.currency.base.get", "list": "crm.currency.list"}})
		if apitest.Str(b, "result.base") != "USD" || len(apitest.Path(b, "result.list").([]any)) != len(rows) {
			t.Errorf("batch: %v", b)
		}

		// Orders.
		first := func(order map[string]any) string {
			return apitest.Str(s.MustOK("crm.currency.list", map[string]any{"order": order}), "0.CURRENCY")
		}
		for _, c := range []struct {
			order map[string]any
			want  string
		}{
			{map[string]any{"sort": "desc"}, codes[len(codes)-1]},
			{map[string]any{"FULL_NAME": "asc"}, "AUD"},
			{map[string]any{"currency": "asc"}, "AUD"},
			{map[string]any{"base": "desc", "currency": "desc"}, "USD"},
			{map[string]any{"DECIMALS": "asc", "SORT": "asc"}, "JPY"},
		} {
			if got := first(c.order); got != c.want {
				t.Errorf("order %v: %s first, want %s", c.order, got, c.want)
			}
		}
		fields := s.MustOK("crm.currency.fields", nil)
		expect(t, "fields", fields, map[string]any{"CURRENCY.type": "string", "AMOUNT.type": "double", "BASE.isReadOnly": true, "LANG.isMultiple": true})

		// Bad input.
		for _, c := range []struct {
			method string
			params map[string]any
			desc   string
		}{
			{"crm.currency.get", map[string]any{"id": "XYZ"}, "Not found"},
			{"crm.currency.get", map[string]any{}, "The parameter 'id' is not defined or invalid."},
			{"crm.currency.list", map[string]any{"order": map[string]any{"AMOUNT": "asc"}}, "Invalid order: field 'AMOUNT' is not allowed in order"},
			{"crm.currency.list", map[string]any{"order": map[string]any{"SORT": "sideways"}}, "Invalid order: the direction of SORT must be ASC or DESC"},
			{"crm.currency.list", map[string]any{"order": "SORT"}, "Parameter 'order' must be array."},
		} {
			r := s.Call(c.method, c.params)
			if code, desc := r.Error(); r.Status != 400 || code != "" || desc != c.desc {
				t.Errorf("%s %v: %d %v %q, want 400 \"\" %q", c.method, c.params, r.Status, code, desc, c.desc)
			}
		}
	})
}
