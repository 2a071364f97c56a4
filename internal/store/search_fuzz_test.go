package store_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"smartcrm/internal/store"
	"smartcrm/internal/testdb"
)

// searchRunes are what the fuzzed titles and substrings are made of: letters of two
// alphabets in both cases (Ё and ß fold oddly), the LIKE wildcards and escape, the FTS5
// query syntax (quotes, star, caret, colon, minus, parentheses) and a space.
var searchRunes = []rune("aAbBzZаАбБёЁß%_\\\"'*^:-() 1")

// runesOf maps fuzz bytes to a string of searchRunes.
func runesOf(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		s.WriteRune(searchRunes[int(c)%len(searchRunes)])
	}
	return s.String()
}

// FuzzSubstringSearch: a substring filter on the title finds exactly the items whose
// title contains the substring, ignoring case, whatever the substring holds — through
// the trigram index for the rows already in it and through the pending rows for the
// others — and never fails. On SQLite and PostgreSQL.
func FuzzSubstringSearch(f *testing.F) {
	for _, s := range []string{"a", "ab", "abz", "ABZ", "аб", "АБЁ", `"`, `a"b`, "%", "_", `\`, "*", "a*", "^a", "a:b", "-a", "(a)", "a b", "ßa", "  ", "ёё1"} {
		f.Add([]byte(s)) // as bytes they map to other runes: starting points, not cases
	}
	type fixture struct {
		p      *perfType
		titles []string // by id - 1
	}
	fixtures := map[string]*fixture{}
	for _, dialect := range testdb.Dialects {
		p := newPerfType(f, dialect)
		r := rand.New(rand.NewPCG(3, 9))
		title := func() string {
			b := make([]byte, 1+r.IntN(12))
			for i := range b {
				b[i] = byte(r.IntN(256))
			}
			return runesOf(b)
		}
		// The first rows go into the trigram index (the committer moves 64 written rows
		// or more at once); the last stay pending, as rows written since the last move
		// do, and the search reads them from the table.
		var titles []string
		for _, n := range []int{300, 40} {
			rows := make([][]any, n)
			for i := range rows {
				t := title()
				titles = append(titles, t)
				rows[i] = []any{t, "s", 1.0, nil, nil}
			}
			if err := p.st.InTx(context.Background(), func(tx *store.Tx) error {
				return tx.SeedItemsRaw(context.Background(), p.etid, p.cols, rows)
			}); err != nil {
				f.Fatal(err)
			}
			if len(titles) == 300 {
				p.st.Optimize(context.Background()) // and merged
			}
		}
		if dialect == store.SQLite {
			if n, err := p.st.PendingSearchRows(context.Background(), p.etid, "title"); err != nil || n != 40 {
				f.Fatalf("%d rows pending (%v), want the last 40", n, err)
			}
		}
		fixtures[dialect] = &fixture{p: p, titles: titles}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 || len(b) > 8 {
			return
		}
		needle := runesOf(b)
		var want []int64
		for i, title := range fixtures[testdb.Dialects[0]].titles {
			if strings.Contains(strings.ToLower(title), strings.ToLower(needle)) {
				want = append(want, int64(i+1))
			}
		}
		for _, dialect := range testdb.Dialects {
			fx := fixtures[dialect]
			if got := fx.p.titleContains(t, needle); !slices.Equal(got, want) {
				t.Fatalf("%s: title contains %q: found %v, the titles hold it in %v", dialect, needle, got, want)
			}
		}
	})
}
