package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"smartcrm/internal/field"
	"smartcrm/internal/query"
)

// Column is a column of a table the domain describes: a name from the registry and how
// its values are stored.
type Column struct {
	Name    string
	Storage field.Storage
}

// Page selects a window of a list.
type Page struct {
	Limit  int
	Offset int
}

// pageClause is the LIMIT and OFFSET of a page ("" for no limit), its offset appended
// to args. On SQLite the limit is written, not bound: SQLite plans with the value of a
// bound LIMIT, which makes the statement re-prepare itself at every run (a tenth of an
// indexed page's time). The page sizes in use are the server's own and few, and so are
// the statements this makes; offsets vary and stay bound.
func (d *dialect) pageClause(page Page, args []any) (string, []any) {
	if page.Limit <= 0 {
		return "", args
	}
	var clause string
	if d.name == SQLite {
		clause = " LIMIT " + strconv.Itoa(page.Limit)
	} else {
		clause, args = " LIMIT ?", append(args, page.Limit)
	}
	if page.Offset > 0 {
		clause, args = clause+" OFFSET ?", append(args, page.Offset)
	}
	return clause, args
}

// insertRow inserts one row and returns its id.
func (c conn) insertRow(ctx context.Context, table string, cols []Column, vals []any) (int64, error) {
	return c.insertWith(ctx, table, cols, vals, nil)
}

// insertTitled inserts an item whose title is a prefix and its own new id, in one
// statement (SQLite): the id is AUTOINCREMENT's next value, which its one writer cannot
// race, used twice. PostgreSQL draws ids ahead instead (pgids.go).
func (c conn) insertTitled(ctx context.Context, table string, cols []Column, vals []any, title *DefaultTitle) (int64, error) {
	next := "(SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = '" + table + "'), 0) + 1)"
	return c.insertWith(ctx, table, cols, vals, &titleExpr{id: next, col: title.Column, prefix: title.Prefix})
}

// titleExpr is how insertWith draws the id and fills the default title.
type titleExpr struct {
	id          string
	col, prefix string
}

func (c conn) insertWith(ctx context.Context, table string, cols []Column, vals []any, title *titleExpr) (int64, error) {
	q, args, err := c.insertSQL(table, cols, vals, title)
	if err != nil {
		return 0, err
	}
	if c.d.name == SQLite {
		// SQLite knows the new rowid without a RETURNING clause, which would make the
		// insert a query with a result row to materialise.
		res, err := c.exec(ctx, q, args...)
		if err != nil {
			return 0, err
		}
		return res.LastInsertId()
	}
	// The pipelined connection answers RETURNING id as LastInsertId (pgpipeline.go), so
	// the insert can travel with BEGIN and the statements queued before it.
	res, err := c.exec(ctx, q+returningID, args...)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// inList is the placeholder list of an `IN (…)` of values (ids, names), and the values
// as arguments after those given.
func inList[T int64 | string](vals []T, args ...any) (string, []any) {
	for _, v := range vals {
		args = append(args, v)
	}
	return "?" + strings.Repeat(", ?", len(vals)-1), args
}

// insertSQL is the INSERT statement of insertWith, without RETURNING.
func (c conn) insertSQL(table string, cols []Column, vals []any, title *titleExpr) (string, []any, error) {
	var b strings.Builder
	args := make([]any, 0, len(cols))
	b.WriteString("INSERT INTO ")
	b.WriteString(table)
	b.WriteString(" (")
	if title != nil {
		b.WriteString("id, ")
	}
	for i, col := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(col.Name)
	}
	b.WriteString(") VALUES (")
	if title != nil {
		b.WriteString(title.id + ", ")
	}
	for i, col := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		if title != nil && col.Name == title.col {
			b.WriteString("CAST(? AS TEXT) || " + title.id)
			args = append(args, title.prefix)
			continue
		}
		b.WriteString(c.d.placeholder(col.Storage))
		a, err := c.d.encode(col.Storage, vals[i])
		if err != nil {
			return "", nil, fmt.Errorf("column %s: %w", col.Name, err)
		}
		args = append(args, a)
	}
	b.WriteString(")")
	return b.String(), args, nil
}

// updateRow sets columns of one row. With versioned, the row must still carry version
// (optimistic locking) and its version is bumped; a mismatch is ErrConflict.
func (c conn) updateRow(ctx context.Context, table string, id int64, version int64, versioned bool, cols []Column, vals []any) error {
	q, args, err := c.updateSQL(table, id, version, versioned, cols, vals)
	if err != nil {
		return err
	}
	res, err := c.exec(ctx, q, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		if versioned {
			return ErrConflict
		}
		return ErrNotFound
	}
	return nil
}

// updateSQL is the statement that updates one row by id (and version, if versioned).
func (c conn) updateSQL(table string, id int64, version int64, versioned bool, cols []Column, vals []any) (string, []any, error) {
	var b strings.Builder
	b.WriteString("UPDATE ")
	b.WriteString(table)
	b.WriteString(" SET ")
	args := make([]any, 0, len(cols)+2)
	for i, col := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(col.Name)
		b.WriteString(" = ")
		b.WriteString(c.d.placeholder(col.Storage))
		a, err := c.d.encode(col.Storage, vals[i])
		if err != nil {
			return "", nil, fmt.Errorf("column %s: %w", col.Name, err)
		}
		args = append(args, a)
	}
	if versioned {
		if len(cols) > 0 {
			b.WriteString(", ")
		}
		b.WriteString("version = version + 1")
	}
	b.WriteString(" WHERE id = ?")
	args = append(args, id)
	if versioned {
		b.WriteString(" AND version = ?")
		args = append(args, version)
	}
	return b.String(), args, nil
}

// deleteRow deletes one row by id.
func (c conn) deleteRow(ctx context.Context, table string, id int64) error {
	res, err := c.exec(ctx, "DELETE FROM "+table+" WHERE id = ?", id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// rowLock is how a read inside a write transaction locks the rows it reads, on
// PostgreSQL. SQLite needs no row locks: its one writer runs changes in turn.
type rowLock int

const (
	noLock rowLock = iota
	// lockRow (FOR UPDATE): nobody else may change or delete the rows, nor add a row
	// that references them (a foreign key's check waits), until the transaction ends.
	// What is read to be deleted is locked so.
	lockRow
	// lockRowKeepKey (FOR NO KEY UPDATE): nobody else may change or delete the rows,
	// but rows that reference them may come and go. It is the lock an UPDATE that
	// keeps the row's id takes anyway: an item added under a parent whose card is
	// being moved does not wait for the move.
	lockRowKeepKey
)

// lockIf is lockRow when lock is set.
func lockIf(lock bool) rowLock {
	if lock {
		return lockRow
	}
	return noLock
}

// selectRows reads rows matching where, in order, within page (Limit 0 = all).
func (c conn) selectRows(ctx context.Context, table string, cols []Column, where query.Group, order []query.Order, page Page) ([][]any, error) {
	rows, _, err := c.selectRowsTotal(ctx, table, cols, where, order, page, noLock, false)
	return rows, err
}

// selectRowsLocking is selectRows, with the rows locked by lock until the transaction
// ends.
func (c conn) selectRowsLocking(ctx context.Context, table string, cols []Column, where query.Group, order []query.Order, page Page, lock rowLock) ([][]any, error) {
	rows, _, err := c.selectRowsTotal(ctx, table, cols, where, order, page, lock, false)
	return rows, err
}

// maxSlabRows bounds the rows a page's slab is sized for up front.
const maxSlabRows = 1000

// selectRowsTotal is selectRowsLocking; with total, it also answers how many rows match
// in all when the page's own statement can count them at next to no cost (a fenced
// substring page, which finds every match anyway), else -1.
func (c conn) selectRowsTotal(ctx context.Context, table string, cols []Column, where query.Group, order []query.Order, page Page, lock rowLock, total bool) ([][]any, int, error) {
	q, args, counted, err := c.selectSQL(table, cols, where, order, page, lock, total)
	if err != nil {
		return nil, -1, err
	}
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, -1, err
	}
	defer rows.Close()
	// A page's rows are cut from one slab, sized for the page when it has a limit.
	var out [][]any
	var slab []any
	if page.Limit > 0 && page.Limit <= maxSlabRows {
		out = make([][]any, 0, page.Limit)
		slab = make([]any, 0, page.Limit*len(cols))
	}
	dst := make([]any, len(cols), len(cols)+1)
	var n int64
	if counted {
		dst = append(dst, &n)
	}
	// One set of scan targets serves every row: decode copies each value out.
	for i, col := range cols {
		dst[i] = c.d.scanTarget(col.Storage)
	}
	for rows.Next() {
		if err := rows.Scan(dst...); err != nil {
			return nil, -1, err
		}
		if cap(slab)-len(slab) < len(cols) {
			slab = make([]any, 0, 64*len(cols))
		}
		row := slab[len(slab) : len(slab)+len(cols) : len(slab)+len(cols)]
		slab = slab[:len(slab)+len(cols)]
		for i, col := range cols {
			v, err := c.d.decode(col.Storage, dst[i])
			if err != nil {
				return nil, -1, fmt.Errorf("column %s: %w", col.Name, err)
			}
			row[i] = v
		}
		out = append(out, row)
	}
	switch {
	case !counted || len(out) == 0 && page.Offset > 0:
		n = -1 // not counted, or a page past the end, which carries no count
	case len(out) == 0:
		n = 0
	}
	return out, int(n), rows.Err()
}

// selectSQL is the statement of selectRowsLocking.
func (c conn) selectSQL(table string, cols []Column, where query.Group, order []query.Order, page Page, lock rowLock, total bool) (q string, args []any, counted bool, err error) {
	var list strings.Builder
	for i, col := range cols {
		if i > 0 {
			list.WriteString(", ")
		}
		list.WriteString(col.Name)
	}
	var b strings.Builder
	b.WriteString("SELECT ")
	b.WriteString(list.String())
	if f, ok := c.ftsOnly(table, where); ok && len(order) == 1 && order[0].Field.Column == "id" && page.Limit > 0 {
		// The page's ids come straight from the FTS table, which walks its rowids in
		// either direction, merged with the pending rows that match; the page is cut
		// from those ids, and the table is read only for the rows shown. Cutting it
		// after reading the rows (as it was) read every row before the page too: the
		// tenth page of 2,062 matches in 200,000 items took 0.88 ms instead of 0.29.
		dir := ""
		if order[0].Desc {
			dir = " DESC"
		}
		b.WriteString(" FROM " + table)
		b.WriteString(" WHERE id IN (SELECT id FROM (SELECT rowid AS id FROM " + f.fts + " WHERE " + f.fts + " MATCH ? AND rowid NOT IN (SELECT id FROM " + f.pending + ") ORDER BY rowid" + dir + " LIMIT ?)")
		b.WriteString(" UNION ALL SELECT id FROM " + table + " WHERE " + pendingMatch(f.fts, f.like))
		b.WriteString(" ORDER BY id" + dir + " LIMIT ? OFFSET ?)")
		args = append(args, f.match, page.Limit+page.Offset, f.pattern, page.Limit, page.Offset)
		writeOrder(&b, order)
		return b.String(), args, false, nil
	}
	var w strings.Builder
	trgm := false
	if args, trgm, err = c.whereSearched(&w, table, where); err != nil {
		return "", nil, false, err
	}
	switch {
	case trgm && lock == noLock && page.Limit > 0:
		// Paged, a filter on a trigram index tempts the planner to walk the order's
		// index through most of the table, or to join the matches back to it, when
		// finding the (few) matches through the trigram index and sorting them is
		// many times cheaper. So the matches are found in a query of their own,
		// planned without the order, which aggregates them into their count and
		// their ids in the page's order; only the page's ids are joined back by
		// primary key, in that order. Carrying the listed columns of 2,000 matches
		// through a sort made a search of 200,000 rows cost 1.2 times as much with
		// six columns, 1.6 times with all of them; sorting the ids inside the
		// aggregate instead of through a count window, a top-N sort and a join took
		// 2.26–2.38 ms a page instead of 2.86–3.28 (pgbench -M prepared, 200,000
		// rows, 2,062 matches, a random page of 41, three interleaved runs). The
		// aggregate holds every match's id (8 bytes each) where the window could
		// spill to disk; the list deadline bounds how many a search reaches.
		counted = total
		if counted {
			b.WriteString(", " + searchTotal)
		}
		b.WriteString(" FROM (SELECT COUNT(*) AS " + searchTotal + ", array_agg(id")
		writeOrder(&b, order)
		b.WriteString(") AS " + searchIDs + " FROM " + table + w.String() + ") AS matches")
		b.WriteString(" CROSS JOIN LATERAL unnest(" + searchIDs + "[1:?]) WITH ORDINALITY AS page(id, " + searchPos + ")")
		b.WriteString(" JOIN " + table + " USING (id) WHERE " + searchPos + " > ? ORDER BY " + searchPos)
		args = append(args, page.Offset+page.Limit, page.Offset)
		return b.String(), args, counted, nil
	case trgm && lock == noLock && len(order) > 0:
		// Ordered without a page, all of every match is wanted: the OFFSET 0 fence
		// makes the filter a query of its own, planned without the order.
		counted = total
		if counted {
			b.WriteString(", COUNT(*) OVER ()")
		}
		b.WriteString(" FROM (SELECT " + list.String())
		for _, o := range order {
			if !slices.ContainsFunc(cols, func(col Column) bool { return col.Name == o.Field.Column }) {
				b.WriteString(", " + o.Field.Column)
			}
		}
		b.WriteString(" FROM " + table + w.String() + " OFFSET 0) AS " + table)
	default:
		b.WriteString(" FROM " + table)
		b.WriteString(w.String())
	}
	writeOrder(&b, order)
	clause, args := c.d.pageClause(page, args)
	b.WriteString(clause)
	if c.d.name == Postgres {
		switch lock {
		case lockRow:
			b.WriteString(" FOR UPDATE")
		case lockRowKeepKey:
			b.WriteString(" FOR NO KEY UPDATE")
		}
	}
	return b.String(), args, counted, nil
}

// searchTotal, searchIDs and searchPos name a substring page's count of matches, their
// ids in order and an id's place among them: names no column of an items table has
// (custom fields' columns start with uf_crm_).
const (
	searchTotal = "matches_total_"
	searchIDs   = "matches_ids_"
	searchPos   = "matches_pos_"
)

// writeOrder writes a statement's ORDER BY, if it has one.
func writeOrder(b *strings.Builder, order []query.Order) {
	for i, o := range order {
		if i == 0 {
			b.WriteString(" ORDER BY ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(o.Field.Column)
		if o.Desc {
			b.WriteString(" DESC")
		}
	}
}

// selectOne reads the row with the given id, locking it with lock.
func (c conn) selectOne(ctx context.Context, table string, cols []Column, id int64, lock rowLock) ([]any, error) {
	idField := &query.Field{Name: "id", Column: "id", Type: field.Integer{}}
	rows, err := c.selectRowsLocking(ctx, table, cols, query.Group{Items: []query.Expr{
		query.Cond{Field: idField, Op: field.OpEq, Value: id},
	}}, nil, Page{Limit: 1}, lock)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, ErrNotFound
	}
	return rows[0], nil
}

// countRows counts rows matching where.
func (c conn) countRows(ctx context.Context, table string, where query.Group) (int, error) {
	q, args, err := c.countSQL(table, where)
	if err != nil {
		return 0, err
	}
	var n int
	err = c.queryRow(ctx, q, args...).Scan(&n)
	return n, err
}

// countSQL is the statement of countRows.
func (c conn) countSQL(table string, where query.Group) (string, []any, error) {
	if f, ok := c.ftsOnly(table, where); ok {
		// The FTS matches that are not pending (stale or gone), plus the pending rows
		// that match. The unary + keeps FTS5 from taking the pending ids as rowid
		// lookups, one MATCH query per pending row: the matches are walked once, each
		// looked up among the pending ids.
		return "SELECT (SELECT COUNT(*) FROM " + f.fts + " WHERE " + f.fts + " MATCH ? AND +rowid NOT IN (SELECT id FROM " + f.pending + "))" +
			" + (SELECT COUNT(*) FROM " + table + " WHERE " + pendingMatch(f.fts, f.like) + ")", []any{f.match, f.pattern}, nil
	}
	var b strings.Builder
	b.WriteString("SELECT COUNT(*) FROM ")
	b.WriteString(table)
	args, err := c.whereOn(&b, table, where)
	return b.String(), args, err
}

// anyRow reports whether the table holds at least one row; EXISTS, not COUNT.
func (c conn) anyRow(ctx context.Context, table string) (bool, error) {
	return c.exists(ctx, "SELECT 1 FROM "+table+" LIMIT 1")
}

// exists reports whether a `SELECT 1 … LIMIT 1` finds a row.
func (c conn) exists(ctx context.Context, q string, args ...any) (bool, error) {
	var one int
	err := c.queryRow(ctx, q, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// queryColumn reads a one-column result into a slice.
func queryColumn[T any](ctx context.Context, c conn, q string, args ...any) ([]T, error) {
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
