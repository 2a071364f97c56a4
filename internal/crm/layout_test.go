package crm_test

import (
	"bytes"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The domain keeps its shape as it grows: internal/crm holds types, items, funnels,
// stages and relations in under 5,000 lines (anything else goes to a package of its
// own), and no domain package knows the wire: none imports the parameter decoder, the
// REST layer or HTTP.
func TestDomainKeepsItsShape(t *testing.T) {
	lines := 0
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, err := os.ReadFile(path)
		lines += bytes.Count(b, []byte("\n"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if lines >= 5000 {
		t.Errorf("internal/crm has %d lines of production code; move a concern to a package of its own", lines)
	}
	for _, pkg := range []string{".", "../customfield", "../timeline", "../activity", "../tasks", "../cardlayout",
		"../history", "../currency", "../field", "../change", "../access", "../query", "../countcache", "../itemcache", "../linklists"} {
		files, _ := filepath.Glob(filepath.Join(pkg, "*.go"))
		if len(files) == 0 {
			t.Errorf("domain package %s has no files", pkg)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range parsed.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				switch path {
				case "smartcrm/internal/params", "smartcrm/internal/rest", "smartcrm/internal/web", "net/http":
					t.Errorf("%s imports %s: the domain does not know the wire", f, path)
				}
			}
		}
	}
}
