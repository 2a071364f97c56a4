package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"smartcrm/internal/field"
	"smartcrm/internal/query"
)

// List indexes: composite indexes made for the shapes lists actually take (a Kanban's,
// a saved filter's, one seen often and slow in crm.item.list traffic, or one an
// administrator asked for). The schema is their registry: their names say they are
// ours and why they were made (crm_items_{type}_lx{origin}_{hash of the columns}), the
// catalog says their columns and, on PostgreSQL, whether a concurrent build finished.

// ListShape is what an index can serve in a list: columns compared for equality, one
// compared by range, the order (without the trailing id).
type ListShape struct {
	Eq    []string
	Range string
	Order []string
}

// Key identifies a shape.
func (s ListShape) Key() string {
	return strings.Join(s.Eq, ",") + "|" + s.Range + "|" + strings.Join(s.Order, ",")
}

// ShapeOf reads the shape of a filter and order: the top-level AND's equalities and
// first range on plain columns, and the order's columns. Other conditions are checked
// row by row and do not shape an index. ok is false when no index could help.
func ShapeOf(where query.Group, order []query.Order) (ListShape, bool) {
	var s ListShape
	if where.Or {
		return s, false
	}
	var walk func(g query.Group)
	walk = func(g query.Group) {
		for _, e := range g.Items {
			switch c := e.(type) {
			case query.Group:
				if !c.Or {
					walk(c)
				}
			case query.Cond:
				if !Indexable(c.Field) || c.Value == nil {
					continue
				}
				switch c.Op {
				case field.OpEq:
					if !slices.Contains(s.Eq, c.Field.Column) {
						s.Eq = append(s.Eq, c.Field.Column)
					}
				case field.OpGt, field.OpGte, field.OpLt, field.OpLte:
					if s.Range == "" {
						s.Range = c.Field.Column
					}
				}
			}
		}
	}
	walk(where)
	slices.Sort(s.Eq)
	if slices.Contains(s.Eq, s.Range) {
		s.Range = ""
	}
	for _, o := range order {
		if o.Field.Column == "id" || !Indexable(o.Field) {
			break
		}
		s.Order = append(s.Order, o.Field.Column)
	}
	return s, len(s.Eq)+len(s.Order) > 0 || s.Range != ""
}

// Indexable: a plain scalar column (not a JSON list, multifield or binding).
func Indexable(f *query.Field) bool {
	if f == nil || f.Column == "" || !identifier.MatchString(f.Column) {
		return false
	}
	switch f.Type.(type) {
	case field.MultifieldKind, field.ItemBindings:
		return false
	}
	return f.Type.Storage() != field.StorageJSON
}

var identifier = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// IndexesFor are the indexes that serve a shape: one that walks the order within the
// equalities (so a page stops after its rows, no sort), and one that answers the
// range within the equalities from the index alone (the count). The order's columns
// are followed by id, the tie-breaker, and the range column.
func IndexesFor(s ListShape) [][]string {
	var out [][]string
	if len(s.Order) > 0 {
		cols := append(append(slices.Clone(s.Eq), s.Order...), "id")
		if s.Range != "" && !slices.Contains(cols, s.Range) {
			// The range column rides along: rows it rejects are rejected in the
			// index, without reading the table.
			cols = append(cols, s.Range)
		}
		out = append(out, cols)
	}
	if s.Range != "" {
		out = append(out, append(slices.Clone(s.Eq), s.Range))
	}
	if len(out) == 0 && len(s.Eq) > 1 {
		out = append(out, append(slices.Clone(s.Eq), "id"))
	}
	return out
}

// ListIndex is a composite index made for a list shape.
type ListIndex struct {
	EntityTypeID int64
	Name         string
	Columns      []string
	Origin       string // one of the Origin* constants
	// Ready is false while PostgreSQL still builds it concurrently, or after such a
	// build failed (it is then dropped and may be asked for again).
	Ready bool
}

// Why a list index was made.
const (
	OriginKanban   = "kanban"
	OriginFilter   = "filter"
	OriginObserved = "observed"
	OriginAdmin    = "admin"
)

var originLetters = map[string]string{OriginKanban: "k", OriginFilter: "f", OriginObserved: "o", OriginAdmin: "a"}

// ListIndexName is the name of the list index of a type on cols.
func ListIndexName(entityTypeID int64, origin string, cols []string) string {
	sum := sha256.Sum256([]byte(strings.Join(cols, ",")))
	return ItemTable(entityTypeID) + "_lx" + originLetters[origin] + "_" + hex.EncodeToString(sum[:4])
}

func listIndexPrefix(entityTypeID int64) string { return ItemTable(entityTypeID) + "_lx" }

// originOf reads the origin back from an index name.
func originOf(entityTypeID int64, name string) string {
	rest := strings.TrimPrefix(name, listIndexPrefix(entityTypeID))
	for o, l := range originLetters {
		if strings.HasPrefix(rest, l+"_") {
			return o
		}
	}
	return ""
}

// TableIndexes lists every index of a type's table with its columns and readiness.
func (s *Store) TableIndexes(ctx context.Context, entityTypeID int64) ([]ListIndex, error) {
	table := ItemTable(entityTypeID)
	var out []ListIndex
	if s.d.name == Postgres {
		rows, err := s.query(ctx, `SELECT c.relname, i.indisvalid, ARRAY_TO_STRING(ARRAY(
	SELECT a.attname FROM UNNEST(i.indkey) WITH ORDINALITY k(attnum, ord)
	JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.ord), ',')
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE t.relname = ? AND n.nspname = current_schema() ORDER BY c.relname`, table)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var ix ListIndex
			var cols string
			if err := rows.Scan(&ix.Name, &ix.Ready, &cols); err != nil {
				return nil, err
			}
			ix.EntityTypeID, ix.Columns, ix.Origin = entityTypeID, strings.Split(cols, ","), originOf(entityTypeID, ix.Name)
			out = append(out, ix)
		}
		return out, rows.Err()
	}
	names, err := queryColumn[string](ctx, s.conn, `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? ORDER BY name`, table)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		cols, err := queryColumn[string](ctx, s.conn, `SELECT name FROM pragma_index_info(?) ORDER BY seqno`, n)
		if err != nil {
			return nil, err
		}
		out = append(out, ListIndex{EntityTypeID: entityTypeID, Name: n, Columns: cols, Origin: originOf(entityTypeID, n), Ready: true})
	}
	return out, nil
}

// ListIndexes lists a type's list indexes (those TableIndexes marks with an origin).
func (s *Store) ListIndexes(ctx context.Context, entityTypeID int64) ([]ListIndex, error) {
	all, err := s.TableIndexes(ctx, entityTypeID)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, ix := range all {
		if ix.Origin != "" {
			out = append(out, ix)
		}
	}
	return out, nil
}

// Covers reports whether an index on have serves what an index on want would: want is
// a prefix of have (a trailing id aside, which every SQLite index holds anyway).
func Covers(have, want []string) bool {
	want = trimID(want)
	return len(have) >= len(want) && slices.Equal(have[:len(want)], want)
}

func trimID(cols []string) []string {
	if n := len(cols); n > 0 && cols[n-1] == "id" {
		return cols[:n-1]
	}
	return cols
}

// BuildListIndex creates a list index and refreshes the planner's statistics of the
// table, so that the planner knows what the new index is worth. SQLite builds it in one
// write transaction (callers pick a quiet moment); PostgreSQL builds it CONCURRENTLY,
// writers never wait, and a failed build is dropped.
func (s *Store) BuildListIndex(ctx context.Context, entityTypeID int64, origin string, cols []string) (ListIndex, error) {
	ix := ListIndex{EntityTypeID: entityTypeID, Name: ListIndexName(entityTypeID, origin, cols), Columns: cols, Origin: origin, Ready: true}
	if originLetters[origin] == "" || len(cols) == 0 {
		return ix, fmt.Errorf("a list index needs an origin and columns")
	}
	table := ItemTable(entityTypeID)
	have, err := s.tableColumns(ctx, table)
	if err != nil {
		return ix, err
	}
	for _, c := range cols {
		if !identifier.MatchString(c) || !have[c] {
			return ix, fmt.Errorf("the items table has no column %q", c)
		}
	}
	ddl := "CREATE INDEX IF NOT EXISTS " + ix.Name + " ON " + table + " (" + strings.Join(cols, ", ") + ")"
	if s.d.name == Postgres {
		if _, err := s.write.ExecContext(ctx, strings.Replace(ddl, "CREATE INDEX", "CREATE INDEX CONCURRENTLY", 1)); err != nil {
			_, _ = s.write.ExecContext(context.WithoutCancel(ctx), "DROP INDEX CONCURRENTLY IF EXISTS "+ix.Name)
			return ix, err
		}
		_, err := s.write.ExecContext(ctx, "ANALYZE "+table)
		return ix, err
	}
	return ix, s.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, ddl); err != nil {
			return err
		}
		// In the index's own transaction: readers reload the schema for the new index
		// and find its statistics with it.
		_, err := tx.exec(ctx, "ANALYZE "+table)
		return err
	})
}

// DropListIndex drops a list index of a type.
func (s *Store) DropListIndex(ctx context.Context, entityTypeID int64, name string) error {
	if originOf(entityTypeID, name) == "" || !identifier.MatchString(name) {
		return ErrNotFound
	}
	all, err := s.ListIndexes(ctx, entityTypeID)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(all, func(ix ListIndex) bool { return ix.Name == name }) {
		return ErrNotFound
	}
	if s.d.name == Postgres {
		_, err := s.write.ExecContext(ctx, "DROP INDEX CONCURRENTLY IF EXISTS "+name)
		return err
	}
	return s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, "DROP INDEX IF EXISTS "+name)
		return err
	})
}

// dropListIndexesWith drops the list indexes that hold a column about to be dropped.
func (tx *Tx) dropListIndexesWith(ctx context.Context, entityTypeID int64, column string) error {
	var names []string
	var err error
	if tx.d.name == Postgres {
		names, err = queryColumn[string](ctx, tx.conn, `SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
WHERE t.relname = ? AND n.nspname = current_schema() AND a.attname = ?`, ItemTable(entityTypeID), column)
	} else {
		names, err = queryColumn[string](ctx, tx.conn, `SELECT m.name FROM sqlite_master m JOIN pragma_index_info(m.name) p
WHERE m.type = 'index' AND m.tbl_name = ? AND p.name = ?`, ItemTable(entityTypeID), column)
	}
	if err != nil {
		return err
	}
	for _, n := range names {
		if originOf(entityTypeID, n) == "" {
			continue
		}
		if _, err := tx.exec(ctx, "DROP INDEX IF EXISTS "+n); err != nil {
			return err
		}
	}
	return nil
}

// tableColumns is the set of a table's column names.
func (s *Store) tableColumns(ctx context.Context, table string) (map[string]bool, error) {
	q := `SELECT name FROM pragma_table_info(?)`
	if s.d.name == Postgres {
		q = `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?`
	}
	cols, err := queryColumn[string](ctx, s.conn, q, table)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(cols))
	for _, c := range cols {
		out[c] = true
	}
	return out, nil
}

// Writes is how many write transactions this store has run: index builds on SQLite
// wait for a quiet moment.
func (s *Store) Writes() int64 { return s.writes.Load() }
