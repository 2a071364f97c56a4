package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"smartcrm/internal/testdb"
	"smartcrm/internal/web"
)

// The real processes as code behind the pages: creating a type from a preset builds
// the whole process (and opens its Kanban), and its export downloads the process file.
func TestPresetAndExportThroughPages(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		e := start(t, dialect)
		b := e.signIn("admin", "admin-password-1")
		status, page := b.postPage(web.TypesPath, url.Values{"preset": {"installation-visit"}})
		if status != http.StatusOK || !strings.Contains(page, "To schedule") {
			t.Fatalf("creating from the preset: %d %.300s", status, page)
		}
		types, err := e.s.App.CRM.AllTypes(context.Background(), admin)
		if err != nil || len(types) != 1 || types[0].Code != "installation_visit" {
			t.Fatalf("types after the preset: %v %v", types, err)
		}
		resp := b.get(web.SettingsPath(types[0].EntityTypeID, "export"))
		if body := readAll(resp); resp.StatusCode != http.StatusOK || !strings.Contains(body, "code: installation_visit") ||
			!strings.Contains(body, "ufCrmVisitDate") {
			t.Errorf("export: %d %.300s", resp.StatusCode, body)
		}
	})
}
