package web_test

import (
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"smartcrm/internal/access"
)

type accessActor = access.Actor

// formOf reads the controls of the page's form with the given class as a browser
// would send them: inputs with their values (checkboxes only when checked), the
// selected option of each select, textareas.
func formOf(t testing.TB, page, class string) url.Values {
	t.Helper()
	start := strings.Index(page, `class="`+class+`"`)
	if start < 0 {
		t.Fatalf("no form %q on the page", class)
	}
	end := strings.Index(page[start:], "</form>")
	form := page[start : start+end]
	out := url.Values{}
	attr := func(tag, name string) (string, bool) {
		m := regexp.MustCompile(`\s` + name + `="([^"]*)"`).FindStringSubmatch(tag)
		if m == nil {
			return "", false
		}
		return html.UnescapeString(m[1]), true
	}
	for _, tag := range regexp.MustCompile(`<input[^>]*>`).FindAllString(form, -1) {
		name, ok := attr(tag, "name")
		if !ok {
			continue
		}
		typ, _ := attr(tag, "type")
		if (typ == "checkbox" || typ == "radio") && !strings.Contains(tag, " checked") {
			continue
		}
		value, _ := attr(tag, "value")
		out.Add(name, value)
	}
	for _, m := range regexp.MustCompile(`(?s)<select([^>]*)>(.*?)</select>`).FindAllStringSubmatch(form, -1) {
		name, ok := attr(m[1], "name")
		if !ok {
			continue
		}
		opts := regexp.MustCompile(`<option([^>]*)>`).FindAllStringSubmatch(m[2], -1)
		chosen := ""
		for i, o := range opts {
			v, _ := attr(o[1], "value")
			if i == 0 || strings.Contains(o[1], " selected") {
				chosen = v
			}
		}
		out.Add(name, chosen)
	}
	for _, m := range regexp.MustCompile(`(?s)<textarea([^>]*)>(.*?)</textarea>`).FindAllStringSubmatch(form, -1) {
		if name, ok := attr(m[1], "name"); ok {
			out.Add(name, html.UnescapeString(m[2]))
		}
	}
	return out
}

// pathOfForm is the path of the field page shown (its form posts to itself).
func pathOfForm(t testing.TB, b *browser, page string) string {
	t.Helper()
	m := regexp.MustCompile(`href="([^"]*/fields/\d+)/delete"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no field page: %.300s", page)
	}
	return m[1]
}
