package store

import (
	"fmt"
	"strings"

	"smartcrm/internal/field"
	"smartcrm/internal/query"
)

// whereClause appends " WHERE …" for a non-empty filter and returns its arguments.
func (c conn) whereClause(b *strings.Builder, g query.Group) ([]any, error) {
	return c.whereOn(b, "", g)
}

// whereOn is whereClause for a filter on table, whose substring indexes serve
// `%` and `=%` conditions (search.go).
func (c conn) whereOn(b *strings.Builder, table string, g query.Group) ([]any, error) {
	args, _, err := c.whereSearched(b, table, g)
	return args, err
}

// whereSearched is whereOn that also reports whether a condition was written for a
// PostgreSQL trigram index: an ordered page of such a filter finds all its matches
// first (selectSQL).
func (c conn) whereSearched(b *strings.Builder, table string, g query.Group) (args []any, trgm bool, err error) {
	if len(g.Items) == 0 {
		return nil, false, nil
	}
	var w strings.Builder
	wc := whereCompiler{dialect: c.d, fts: c.search.ftsOf(table), trgm: &trgm}
	if args, err = wc.compileGroup(&w, g, nil); err != nil {
		return nil, false, err
	}
	b.WriteString(" WHERE ")
	b.WriteString(w.String())
	return args, trgm, nil
}

// ftsExact is a filter that is exactly one substring condition its index answers
// exactly (SQLite): the matching rows are the FTS table's matches that are not pending,
// plus the pending rows that match, so a count or an id-ordered page need not read the
// items table beyond the few pending rows.
type ftsExact struct {
	fts, pending, match string
	like, pattern       string // the LIKE of the pending rows and its argument
}

// ftsOnly returns the ftsExact of a filter, ok false for any other filter.
func (c conn) ftsOnly(table string, g query.Group) (f ftsExact, ok bool) {
	if c.d.name != SQLite || len(g.Items) != 1 {
		return f, false
	}
	cond, isCond := g.Items[0].(query.Cond)
	if !isCond || cond.Op != field.OpContains || cond.Field == nil {
		return f, false
	}
	s, isText := cond.Value.(string)
	if !isText {
		return f, false
	}
	wc := whereCompiler{dialect: c.d, fts: c.search.ftsOf(table)}
	f.pattern = containsPattern(s)
	fts, match, exact := wc.ftsFilter(cond.Field.Column, f.pattern)
	if fts == "" || !exact {
		return f, false
	}
	f.fts, f.pending, f.match, f.like = fts, ftsPending(fts), match, c.d.matchExpr(cond.Field.Column, f.pattern, true)
	return f, true
}

// whereCompiler turns a filter tree into SQL for one table.
type whereCompiler struct {
	*dialect
	// fts names the full-text table that indexes a column's text (SQLite), or anything
	// but "" where a trigram index does (PostgreSQL); "" none.
	fts func(col string) string
	// trgm, when not nil, is set once a condition is written for a trigram index.
	trgm *bool
}

func (d whereCompiler) compileGroup(b *strings.Builder, g query.Group, args []any) ([]any, error) {
	if len(g.Items) == 0 {
		b.WriteString("1=1")
		return args, nil
	}
	joiner := " AND "
	if g.Or {
		joiner = " OR "
	}
	b.WriteByte('(')
	for i, item := range g.Items {
		if i > 0 {
			b.WriteString(joiner)
		}
		var err error
		switch e := item.(type) {
		case query.Group:
			args, err = d.compileGroup(b, e, args)
		case query.Cond:
			args, err = d.compileCond(b, e, args)
		default:
			err = fmt.Errorf("unknown filter node %T", item)
		}
		if err != nil {
			return nil, err
		}
	}
	b.WriteByte(')')
	return args, nil
}

var comparison = map[field.Op]string{
	field.OpEq: "=", field.OpNotEq: "<>", field.OpGt: ">", field.OpGte: ">=", field.OpLt: "<", field.OpLte: "<=",
}

func (d whereCompiler) compileCond(b *strings.Builder, c query.Cond, args []any) ([]any, error) {
	if k, ok := c.Field.Type.(field.MultifieldKind); ok {
		return d.compileMultifield(b, c, k.Kind, args)
	}
	if _, ok := c.Field.Type.(field.ItemBindings); ok {
		return compileTaskBindings(b, c, args)
	}
	col := c.Field.Column
	st := c.Field.Type.Storage()
	switch c.Op {
	case field.OpEq, field.OpNotEq, field.OpGt, field.OpGte, field.OpLt, field.OpLte:
		if c.Value == nil {
			// Emptiness: `field: ""` is "empty", `!=field: ""` is "not empty".
			empty := col + " IS NULL"
			if st == field.StorageText {
				empty = "(" + col + " IS NULL OR " + col + " = '')"
			}
			if c.Op == field.OpEq {
				b.WriteString(empty)
			} else {
				b.WriteString("NOT " + empty)
			}
			return args, nil
		}
		v, err := d.encode(st, c.Value)
		if err != nil {
			return nil, err
		}
		if c.Op == field.OpNotEq {
			// SQL's <> drops NULLs, but a client asking "not X" wants the empty ones too.
			b.WriteString("(" + col + " <> " + d.placeholder(st) + " OR " + col + " IS NULL)")
		} else {
			b.WriteString(col + " " + comparison[c.Op] + " " + d.placeholder(st))
		}
		return append(args, v), nil
	case field.OpIn, field.OpNotIn:
		list := c.Value.([]any)
		if len(list) == 0 {
			if c.Op == field.OpIn {
				b.WriteString("1=0")
			} else {
				b.WriteString("1=1")
			}
			return args, nil
		}
		if c.Op == field.OpNotIn {
			b.WriteString("(" + col + " IS NULL OR " + col + " NOT IN (")
		} else {
			b.WriteString(col + " IN (")
		}
		for i, e := range list {
			if i > 0 {
				b.WriteString(", ")
			}
			v, err := d.encode(st, e)
			if err != nil {
				return nil, err
			}
			b.WriteString(d.placeholder(st))
			args = append(args, v)
		}
		b.WriteByte(')')
		if c.Op == field.OpNotIn {
			b.WriteByte(')')
		}
		return args, nil
	case field.OpContains, field.OpNotContains, field.OpLike, field.OpNotLike:
		pattern := c.Value.(string)
		if c.Op == field.OpContains || c.Op == field.OpNotContains {
			pattern = containsPattern(pattern)
		}
		negated := c.Op == field.OpNotContains || c.Op == field.OpNotLike
		trgm := d.name == Postgres && d.fts != nil && d.fts(col) != ""
		// The trigram index finds the matches of a pattern with a trigram; without one
		// it would read the whole index, and walking the table is no worse.
		served := trgm && !negated && ftsHasTrigram(pattern)
		expr := d.matchExpr(col, pattern, served)
		if negated {
			b.WriteString("(" + col + " IS NULL OR NOT (" + expr + "))")
		} else if trgm {
			b.WriteString(expr)
			if served && d.trgm != nil {
				*d.trgm = true
			}
		} else if fts, match, exact := d.ftsFilter(col, pattern); fts != "" {
			matches, pending := "id IN (SELECT rowid FROM "+fts+" WHERE "+fts+" MATCH ?)", "id IN (SELECT id FROM "+ftsPending(fts)+")"
			args = append(args, match)
			if exact && c.Op == field.OpContains {
				// One trigram of the folded text in the folded index matches exactly the
				// rows that contain it: only the pending rows, whose entries may be
				// missing or stale, need the check.
				b.WriteString("((" + matches + " AND NOT " + pending + ") OR " + pendingMatch(fts, expr) + ")")
			} else {
				// The index finds the candidates, LIKE keeps the exact answer.
				b.WriteString("((" + matches + " OR " + pending + ") AND " + expr + ")")
			}
		} else {
			b.WriteString(expr)
		}
		return append(args, pattern), nil
	case field.OpContainsAny, field.OpContainsNone:
		list := c.Value.([]any)
		if c.Op == field.OpContainsNone {
			b.WriteString("NOT ")
		}
		if d.name == Postgres {
			b.WriteString("EXISTS (SELECT 1 FROM jsonb_array_elements_text(" + col + ") e WHERE e IN (")
		} else {
			b.WriteString("EXISTS (SELECT 1 FROM json_each(" + col + ") e WHERE e.value IN (")
		}
		for i, e := range list {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('?')
			if d.name == Postgres {
				args = append(args, fmt.Sprint(e))
			} else {
				args = append(args, e)
			}
		}
		b.WriteString("))")
		return args, nil
	}
	return nil, fmt.Errorf("operator %q is not supported", c.Op)
}

// containsPattern is the LIKE pattern of "contains s".
func containsPattern(s string) string { return "%" + escapeLike(s) + "%" }

// likeEscaper is built once: a Replacer builds its lookup tables (6 KB) on first use,
// and one per call was a tenth of what a substring search allocated.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// escapeLike makes a client's text match literally inside a LIKE pattern.
func escapeLike(s string) string { return likeEscaper.Replace(s) }

// compileMultifield asks whether an item has a multifield entry of a kind (PHONE,
// EMAIL…) whose value matches: equal to one of the values, or like a pattern.
func (d whereCompiler) compileMultifield(b *strings.Builder, c query.Cond, kind string, args []any) ([]any, error) {
	from, kindExpr, valueExpr := "json_each("+c.Field.Column+") e", "json_extract(e.value, '$.TYPE_ID')", "json_extract(e.value, '$.VALUE')"
	if d.name == Postgres {
		from, kindExpr, valueExpr = "jsonb_array_elements("+c.Field.Column+") e", "e->>'TYPE_ID'", "e->>'VALUE'"
	}
	// `PHONE: ""` asks for items without an entry of the kind, `!PHONE: ""` with one.
	if c.Op == field.OpContainsNone || c.Op == field.OpEq {
		b.WriteString("NOT ")
	}
	b.WriteString("EXISTS (SELECT 1 FROM " + from + " WHERE " + kindExpr + " = ?")
	args = append(args, kind)
	switch c.Op {
	case field.OpContainsAny, field.OpContainsNone:
		b.WriteString(" AND " + valueExpr + " IN (")
		for i, v := range c.Value.([]any) {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('?')
			args = append(args, v)
		}
		b.WriteByte(')')
	case field.OpContains, field.OpLike:
		pattern := c.Value.(string)
		if c.Op == field.OpContains {
			pattern = containsPattern(pattern)
		}
		b.WriteString(" AND " + d.matchExpr(valueExpr, pattern, false))
		args = append(args, pattern)
	case field.OpEq, field.OpNotEq: // emptiness: the kind alone
	default:
		return nil, fmt.Errorf("operator %q is not supported for %s", c.Op, kind)
	}
	b.WriteByte(')')
	return args, nil
}
