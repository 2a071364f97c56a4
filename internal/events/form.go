package events

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"smartcrm/internal/jsonx"
)

// Bitrix24 posts events as an HTML form in PHP's bracket syntax
// (data[FIELDS][ID]=24&auth[domain]=…), so every value arrives as a string. AppendForm
// writes a value that way, keys in the order given, which handlers that compare bodies
// (or signatures over them) see the same every time.

// AppendForm appends name=value pairs for v under name to b, separated by '&'.
// Objects (jsonx.Map) nest with brackets, lists with their index; nil is the empty
// string.
func AppendForm(b *strings.Builder, name string, v any) {
	switch t := v.(type) {
	case jsonx.Map:
		for _, kv := range t {
			AppendForm(b, name+"["+kv.K+"]", kv.V)
		}
	case []any:
		for i, e := range t {
			AppendForm(b, name+"["+strconv.Itoa(i)+"]", e)
		}
	case []string:
		for i, e := range t {
			AppendForm(b, name+"["+strconv.Itoa(i)+"]", e)
		}
	default:
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(escapeName(name))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(formValue(v)))
	}
}

// bracketsKept turns escaped brackets back into brackets.
var bracketsKept = strings.NewReplacer("%5B", "[", "%5D", "]")

// escapeName escapes a form name but keeps its brackets readable, as PHP writes them.
func escapeName(name string) string {
	e := url.QueryEscape(name)
	if !strings.Contains(e, "%5") {
		return e
	}
	return bracketsKept.Replace(e)
}

func formValue(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case bool:
		if t {
			return "1"
		}
		return ""
	case int64:
		return strconv.FormatInt(t, 10)
	case int:
		return strconv.Itoa(t)
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// Form is the form of a whole object.
func Form(m jsonx.Map) string {
	var b strings.Builder
	for _, kv := range m {
		AppendForm(&b, kv.K, kv.V)
	}
	return b.String()
}
