package store

import (
	"fmt"
	"testing"
)

// PostgreSQL statements number their parameters; the rewritten text is the same
// whether it is remembered or not, also past the bound of texts kept.
func TestRebindNumbersParameters(t *testing.T) {
	saved := rebound
	defer func() { rebound = saved }()
	rebound = newStatementTexts(2)
	for i := range 5 {
		q := fmt.Sprintf("UPDATE t%d SET a = ?, b = ? WHERE id = ?", i)
		want := fmt.Sprintf("UPDATE t%d SET a = $1, b = $2 WHERE id = $3", i)
		for range 2 { // the first rewrites, the second may come from what is kept
			if got := dialectPostgres.rebind(q); got != want {
				t.Fatalf("%q: got %q, want %q", q, got, want)
			}
		}
	}
	if n := len(rebound.m); n != 2 {
		t.Fatalf("%d texts kept, want the bound of 2", n)
	}
	if got := dialectSQLite.rebind("SELECT ?"); got != "SELECT ?" {
		t.Fatalf("SQLite keeps its ?: got %q", got)
	}
}
