package store

import (
	"io/fs"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// Every embedded file is a migration, numbered in order, and each statement is SQL only:
// the descriptive comments stay in the file.
func TestMigrationsLoad(t *testing.T) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if len(migrations) != len(entries) {
		t.Fatalf("%d migrations loaded from %d files", len(migrations), len(entries))
	}
	for i, m := range migrations {
		if m.version != i+1 || m.name != entries[i].Name() || len(m.stmts) == 0 {
			t.Errorf("migration %d: version %d from %s with %d statements", i+1, m.version, m.name, len(m.stmts))
		}
		for _, st := range m.stmts {
			if s := st.sql; strings.HasPrefix(s, "--") || strings.HasSuffix(s, "\n") {
				t.Errorf("%s: statement with a comment or blank around it: %q", m.name, s)
			}
		}
	}
}

// A file splits at its separator lines only, so a statement may hold semicolons (a
// trigger body, a string); the comments describing a statement are not sent.
func TestSplitMigration(t *testing.T) {
	good := `-- What the file is for.

-- statement
-- What the first statement does.
CREATE TABLE a (
	x TEXT NOT NULL DEFAULT ';' -- kept: it is inside the statement
)

-- statement
CREATE TRIGGER t AFTER INSERT ON a BEGIN
	DELETE FROM a;
END
-- About the next statement.
-- statement
CREATE INDEX a_x ON a(x)
-- statement on postgres
CREATE FUNCTION f() RETURNS void AS $$ BEGIN END $$ LANGUAGE plpgsql
`
	got, err := splitMigration(good)
	if err != nil {
		t.Fatal(err)
	}
	want := []migrationStmt{
		{sql: "CREATE TABLE a (\n\tx TEXT NOT NULL DEFAULT ';' -- kept: it is inside the statement\n)"},
		{sql: "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n\tDELETE FROM a;\nEND"},
		{sql: "CREATE INDEX a_x ON a(x)"},
		{sql: "CREATE FUNCTION f() RETURNS void AS $$ BEGIN END $$ LANGUAGE plpgsql", only: Postgres},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("statements:\n%q\nwant\n%q", got, want)
	}

	// Whatever could be misread is refused rather than guessed at.
	for name, src := range map[string]string{
		"no statement":            "-- nothing here\n",
		"SQL before a separator":  "CREATE TABLE a (x TEXT)\n-- statement\nCREATE TABLE b (x TEXT)\n",
		"empty statement":         "-- statement\n-- only a comment\n-- statement\nCREATE TABLE b (x TEXT)\n",
		"separator without space": "-- statement\nCREATE TABLE a (x TEXT)\n--statement\nCREATE TABLE b (x TEXT)\n",
		"separator in capitals":   "-- statement\nCREATE TABLE a (x TEXT)\n-- Statement\nCREATE TABLE b (x TEXT)\n",
		"indented separator":      "-- statement\nCREATE TABLE a (x TEXT)\n  -- statement\nCREATE TABLE b (x TEXT)\n",
		"postgres in capitals":    "-- statement\nCREATE TABLE a (x TEXT)\n-- statement on Postgres\nCREATE TABLE b (x TEXT)\n",
		"CRLF line ends":          "-- statement\r\nCREATE TABLE a (x TEXT)\r\n",
	} {
		if stmts, err := splitMigration(src); err == nil {
			t.Errorf("%s: accepted as %q", name, stmts)
		}
	}
}

// Versions come from the file names and must run 1, 2, 3... so that a misnamed file
// cannot be skipped or applied out of order.
func TestLoadMigrationsChecksNumbering(t *testing.T) {
	file := &fstest.MapFile{Data: []byte("-- statement\nCREATE TABLE a (x TEXT)\n")}
	for name, files := range map[string][]string{
		"gap":           {"0001_a.sql", "0003_c.sql"},
		"repeat":        {"0001_a.sql", "0002_b.sql", "0002_c.sql"},
		"not from 1":    {"0002_b.sql"},
		"bad name":      {"0001_a.sql", "0002-b.sql"},
		"short number":  {"0001_a.sql", "2_b.sql"},
		"capital names": {"0001_A.sql"},
		"none":          {},
	} {
		fsys := fstest.MapFS{"migrations/README": &fstest.MapFile{Data: []byte("not SQL")}}
		for _, f := range files {
			fsys["migrations/"+f] = file
		}
		if ms, err := loadMigrations(fsys); err == nil {
			t.Errorf("%s: loaded %d migrations", name, len(ms))
		}
	}
	fsys := fstest.MapFS{"migrations/0001_a.sql": file, "migrations/0002_b.sql": file}
	if ms, err := loadMigrations(fsys); err != nil || len(ms) != 2 || ms[1].version != 2 {
		t.Errorf("two good files: %v, %v", ms, err)
	}
}
