package store

import "testing"

// A pattern with nothing to fold is matched with the plain LIKE; any letter, or any
// character outside ASCII (whose folding this package does not try to reason about),
// keeps the case-insensitive comparison.
func TestMatchExprFoldsOnlyWhatHasCase(t *testing.T) {
	for _, d := range []*dialect{dialectSQLite, dialectPostgres} {
		for _, p := range []string{`%+7 916 555-12-34%`, `%#1042%`, `%2026-12-01%`, `%\%\_%`, `1_3`, ``} {
			if got, want := d.matchExpr("title", p, true), "title LIKE ? ESCAPE '\\'"; got != want {
				t.Errorf("%s, %q: %s, want %s", d.name, p, got, want)
			}
		}
		for _, p := range []string{`%acme%`, `%ACME 1%`, `%Ёлка%`, `%№ 5%`, `%ß%`, `%k%`} {
			if got, want := d.matchExpr("title", p, true), d.likeExpr("title"); got != want {
				t.Errorf("%s, %q: %s, want the folding %s", d.name, p, got, want)
			}
			want := d.likeExpr("title")
			if d == dialectPostgres {
				want = "lower(title) LIKE (SELECT lower(?)) ESCAPE '\\'"
			}
			if got := d.matchExpr("title", p, false); got != want {
				t.Errorf("%s, %q, no index: %s, want %s", d.name, p, got, want)
			}
		}
	}
}
