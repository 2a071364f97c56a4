package store_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"smartcrm/internal/store"
	"smartcrm/internal/testdb"
)

// openAt opens the store on dsn, closed when the test ends, without migrating it.
func openAt(t *testing.T, dsn string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Every flag the code reads and writes has its column in a new database, NOT NULL with
// the flag's default, and each one round-trips. Adding a flag to TypeFlags without the
// migration that adds its column fails here.
func TestTypeFlagsHaveColumns(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		dsn := testdb.DSN(t, dialect)
		st := openAt(t, dsn)
		if err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		q := `SELECT name, lower(type), "notnull" = 1, dflt_value FROM pragma_table_info('crm_types')`
		if dialect == store.Postgres {
			q = `SELECT column_name, data_type, is_nullable = 'NO', column_default FROM information_schema.columns
				WHERE table_schema = current_schema() AND table_name = 'crm_types'`
		}
		rows, err := openRaw(t, dialect, dsn).QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		type column struct {
			typ     string
			notNull bool
			dflt    sql.NullString
		}
		columns := map[string]column{}
		for rows.Next() {
			var name string
			var c column
			if err := rows.Scan(&name, &c.typ, &c.notNull, &c.dflt); err != nil {
				t.Fatal(err)
			}
			columns[name] = c
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		for _, f := range store.TypeFlags {
			c, ok := columns[f.Column]
			if !ok {
				t.Errorf("flag %s: crm_types has no column %s; add a migration that adds it", f.Wire, f.Column)
				continue
			}
			// PostgreSQL shows the default with its type: 'N'::text.
			if c.typ != "text" || !c.notNull || !strings.HasPrefix(c.dflt.String, "'"+f.Default+"'") {
				t.Errorf("flag %s: column %s is %s, not null %v, default %v; want text NOT NULL DEFAULT '%s'",
					f.Wire, f.Column, c.typ, c.notNull, c.dflt, f.Default)
			}
		}

		// Each flag set to the opposite of its default is read back as written.
		flipped := map[string]string{}
		for _, f := range store.TypeFlags {
			flipped[f.Wire] = map[string]string{"Y": "N", "N": "Y"}[f.Default]
		}
		now := time.Now()
		rec := &store.TypeRecord{EntityTypeID: 1030, Title: "Flags", Flags: flipped, LinkedUserFields: "{}",
			CreatedBy: 1, CreatedTime: now, UpdatedBy: 1, UpdatedTime: now}
		if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.InsertType(ctx, rec) }); err != nil {
			t.Fatal(err)
		}
		got, err := st.GetType(ctx, 1030, true)
		if err != nil {
			t.Fatal(err)
		}
		for wire, v := range flipped {
			if got.Flags[wire] != v {
				t.Errorf("flag %s: read back %q, wrote %q", wire, got.Flags[wire], v)
			}
		}
	})
}

// openRaw opens a connection of its own to the database at dsn, to read the catalog
// the way an operator would, without going through the store.
func openRaw(t *testing.T, dialect, dsn string) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	if dialect == store.SQLite {
		db, err = sql.Open("sqlite", "file:"+dsn+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)")
	} else {
		db, err = sql.Open("pgx", dsn)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
