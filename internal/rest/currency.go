package rest

import (
	"cmp"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"smartcrm/internal/currency"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/params"
)

// crm.currency.list / get / fields / base.get — the currencies amounts are kept in
// (crm.Currencies), in Bitrix24's shapes. The SDKs read them at start-up to format
// amounts (b24jssdk calls base.get and list, then get for each currency's LANG). Errors
// have the legacy family's empty code.

func (s *Server) registerCurrencies() {
	s.registerFamily(familyLegacy, map[string]handlerFunc{
		"crm.currency.list":     (*Server).currencyList,
		"crm.currency.get":      (*Server).currencyGet,
		"crm.currency.fields":   (*Server).currencyFields,
		"crm.currency.base.get": (*Server).currencyBase,
	})
}

// currencyLang is the one language the currencies are described in.
const currencyLang = "en"

func (s *Server) currencyList(c *Call) (*Result, error) {
	less, err := currencyOrder(c)
	if err != nil {
		return nil, err
	}
	list, err := s.currency.List(c.Actor)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(list, func(i, j int) bool { return less(list[i], list[j]) })
	rows := make([]jsonx.Map, len(list))
	for i, cur := range list {
		rows[i] = currencyWire(cur, false)
	}
	// Bitrix24 documents its total as always 0; the count is what a client can use.
	total := len(rows)
	return &Result{Result: rows, Total: &total}, nil
}

func (s *Server) currencyGet(c *Call) (*Result, error) {
	v, _ := lookup(c, "id")
	code, _ := params.String(v)
	if strings.TrimSpace(code) == "" {
		return nil, apiErr(http.StatusBadRequest, "", "The parameter 'id' is not defined or invalid.")
	}
	cur, err := s.currency.ByCode(c.Actor, code)
	if err != nil {
		return nil, err
	}
	return &Result{Result: currencyWire(cur, true)}, nil
}

// currencyBase answers the base currency's code, a bare string.
func (s *Server) currencyBase(c *Call) (*Result, error) {
	list, err := s.currency.List(c.Actor)
	if err != nil {
		return nil, err
	}
	for _, cur := range list {
		if cur.Base {
			return &Result{Result: cur.Code}, nil
		}
	}
	return &Result{Result: ""}, nil
}

func (s *Server) currencyFields(*Call) (*Result, error) {
	d := func(typ, title string, readOnly, multiple bool) jsonx.Map {
		return jsonx.Map{{K: "type", V: typ}, {K: "isRequired", V: false}, {K: "isReadOnly", V: readOnly},
			{K: "isImmutable", V: false}, {K: "isMultiple", V: multiple}, {K: "isDynamic", V: false}, {K: "title", V: title}}
	}
	return &Result{Result: jsonx.Map{
		{K: "CURRENCY", V: d("string", "Currency", false, false)},
		{K: "AMOUNT_CNT", V: d("int", "Face value", false, false)},
		{K: "AMOUNT", V: d("double", "Exchange rate", false, false)},
		{K: "BASE", V: d("char", "Base currency", true, false)},
		{K: "SORT", V: d("int", "Sorting", false, false)},
		{K: "DATE_UPDATE", V: d("datetime", "Date modified", true, false)},
		{K: "LID", V: d("string", "Language", true, false)},
		{K: "FORMAT_STRING", V: d("string", "Currency output format string", true, false)},
		{K: "FULL_NAME", V: d("string", "Name", true, false)},
		{K: "DEC_POINT", V: d("string", "Decimal point for output", true, false)},
		{K: "THOUSANDS_SEP", V: d("string", "Custom thousands separator for output", true, false)},
		{K: "DECIMALS", V: d("int", "Number of decimal places", true, false)},
		{K: "LANG", V: d("currency_localization", "Language binding", false, true)},
	}}, nil
}

// thousandsVariants are Bitrix24's codes for the usual digit group separators; a
// separator with a code is sent as the code, THOUSANDS_SEP then being null.
var thousandsVariants = map[string]string{"": "N", ".": "D", ",": "C", " ": "S", "\u00a0": "B"}

// currencyWire is a currency as crm.currency.list (withLang false) and get answer it:
// every scalar a string. No exchange rates are kept, so AMOUNT is 1 for the base
// currency and null for the others rather than a rate nobody maintains.
func currencyWire(cur currency.Currency, withLang bool) jsonx.Map {
	var amount, sep any
	if cur.Base {
		amount = "1.0000"
	}
	variant, known := thousandsVariants[cur.ThousandsSep]
	if !known {
		variant, sep = "OWN", cur.ThousandsSep
	}
	decimals := strconv.Itoa(cur.Decimals)
	out := jsonx.Map{
		{K: "CURRENCY", V: cur.Code}, {K: "AMOUNT_CNT", V: "1"}, {K: "AMOUNT", V: amount},
		{K: "SORT", V: strconv.Itoa(cur.Sort)}, {K: "BASE", V: yn(cur.Base)}, {K: "FULL_NAME", V: cur.Name},
		{K: "LID", V: currencyLang}, {K: "FORMAT_STRING", V: cur.Format}, {K: "DEC_POINT", V: cur.DecPoint},
		{K: "THOUSANDS_SEP", V: sep}, {K: "DECIMALS", V: decimals},
		{K: "DATE_UPDATE", V: cur.Updated.Format(wireTime)},
	}
	if withLang {
		out = append(out, jsonx.KV{K: "LANG", V: jsonx.Map{{K: currencyLang, V: jsonx.Map{
			{K: "FORMAT_STRING", V: cur.Format}, {K: "FULL_NAME", V: cur.Name}, {K: "DEC_POINT", V: cur.DecPoint},
			{K: "THOUSANDS_SEP", V: sep}, {K: "DECIMALS", V: decimals}, {K: "THOUSANDS_VARIANT", V: variant},
			{K: "HIDE_ZERO", V: "Y"},
		}}}})
	}
	return out
}

// currencyOrder reads `order` of crm.currency.list: CURRENCY, SORT, BASE, FULL_NAME or
// DECIMALS, each asc or desc; by SORT when absent, the code breaking ties.
func currencyOrder(c *Call) (func(a, b currency.Currency) bool, error) {
	keys, err := readOrderKeys(c, []string{"CURRENCY", "SORT", "BASE", "FULL_NAME", "DECIMALS"}, []orderKey{{"SORT", false}})
	if err != nil {
		return nil, err
	}
	return orderBy(append(keys, orderKey{"CURRENCY", false}), func(k string, a, b currency.Currency) int {
		switch k {
		case "SORT":
			return cmp.Compare(a.Sort, b.Sort)
		case "DECIMALS":
			return cmp.Compare(a.Decimals, b.Decimals)
		case "BASE":
			return strings.Compare(yn(a.Base), yn(b.Base))
		case "FULL_NAME":
			return strings.Compare(a.Name, b.Name)
		}
		return strings.Compare(a.Code, b.Code)
	}), nil
}
