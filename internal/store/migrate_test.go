package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
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

// seeds are rows an older release may have left, by the version that created the table
// (and, for a shape a later migration changed, the version that changed it). The
// upgrade test puts the ones of its starting version in before migrating on.
var seeds = []struct {
	since, until int
	table, stmt  string
}{
	{1, 0, "users", `INSERT INTO users (id, name, created_time) VALUES (1, 'Admin', '2024-01-02T03:04:05Z')`},
	{1, 0, "webhooks", `INSERT INTO webhooks (user_id, secret_hash, created_time) VALUES (1, 'h', '2024-01-02T03:04:05Z')`},
	{1, 7, "crm_types", `INSERT INTO crm_types (entity_type_id, title, is_client_enabled, relations, linked_user_fields,
		created_by, created_time, updated_by, updated_time)
		VALUES (1030, 'Requests', 'Y', '{}', '{}', 1, '2024-01-02T03:04:05Z', 1, '2024-01-02T03:04:05Z')`},
	{7, 0, "crm_types", `INSERT INTO crm_types (entity_type_id, title, is_client_enabled, linked_user_fields,
		created_by, created_time, updated_by, updated_time)
		VALUES (1030, 'Requests', 'Y', '{}', 1, '2024-01-02T03:04:05Z', 1, '2024-01-02T03:04:05Z')`},
	{1, 0, "crm_categories", `INSERT INTO crm_categories (id, entity_type_id, name, created_time) VALUES (1, 1030, 'General', '2024-01-02T03:04:05Z')`},
	{1, 0, "crm_statuses", `INSERT INTO crm_statuses (entity_id, status_id, name, category_id, semantics) VALUES ('DYNAMIC_1030_STAGE_1', 'DT1030_1:NEW', 'New', 1, 'P')`},
	{1, 0, "outbox", `INSERT INTO outbox (topic, entity_type_id, item_id, payload, created_time) VALUES ('item.add', 1030, 1, '{}', '2024-01-02T03:04:05Z')`},
	{2, 0, "crm_stage_history", `INSERT INTO crm_stage_history (entity_type_id, item_id, type_id, category_id, stage_id, stage_semantic_id, created_by, created_time)
		VALUES (1030, 1, 1, 1, 'DT1030_1:NEW', 'P', 1, '2024-01-02T03:04:05Z')`},
	{2, 0, "crm_stage_counts", `INSERT INTO crm_stage_counts (entity_type_id, category_id, stage_id, items, amount) VALUES (1030, 1, 'DT1030_1:NEW', 1, 10.5)`},
	{3, 0, "crm_stage_requirements", `INSERT INTO crm_stage_requirements (entity_type_id, category_id, field_name, from_stage_id) VALUES (1030, 1, 'title', 'DT1030_1:NEW')`},
	{4, 0, "crm_user_fields", `INSERT INTO crm_user_fields (id, entity_type_id, field_name, column_name, user_type_id, settings, labels)
		VALUES (1, 1030, 'UF_CRM_1_KIND', 'uf_crm_1_kind', 'enumeration', '{}', '{}')`},
	{4, 0, "crm_user_field_enums", `INSERT INTO crm_user_field_enums (field_id, value, xml_id) VALUES (1, 'One', 'one')`},
	{5, 0, "app_settings", `INSERT INTO app_settings (name, value) VALUES ('file_link_key', 'k')`},
	{6, 0, "crm_type_relations", `INSERT INTO crm_type_relations (parent_entity_type_id, child_entity_type_id) VALUES (1030, 1032)`},
	{8, 0, "crm_timeline", `INSERT INTO crm_timeline (entity_type_id, item_id, kind, author_id, created_time) VALUES (1030, 1, 'comment', 1, '2024-01-02T03:04:05Z')`},
	{8, 0, "crm_timeline_bindings", `INSERT INTO crm_timeline_bindings (entity_type_id, entity_id, timeline_id) VALUES (1030, 1, 1)`},
	{9, 0, "crm_activities", `INSERT INTO crm_activities (type_id, provider_id, responsible_id, author_id, editor_id, created, last_updated, owner_type_id, owner_id)
		VALUES (6, 'CRM_TODO', 1, 1, 1, '2024-01-02T03:04:05Z', '2024-01-02T03:04:05Z', 1030, 1)`},
	{9, 0, "crm_activity_bindings", `INSERT INTO crm_activity_bindings (activity_id, entity_type_id, entity_id) VALUES (1, 1030, 1)`},
}

// A database left by any older release, with rows in it, and brought up to date ends
// with the schema of a database migrated in one go: tables, columns with their types,
// nullability and defaults, indexes with their columns, constraints (and on SQLite the
// CREATE text itself). The rows it had are still there.
func TestUpgradeEqualsFreshInstall(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		freshDSN := testdb.DSN(t, dialect)
		if err := openAt(t, freshDSN).Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		fresh := schemaOf(t, dialect, freshDSN)
		latest := store.LatestMigration()
		for from := 1; from < latest; from++ {
			t.Run(fmt.Sprintf("from_%d", from), func(t *testing.T) {
				dsn := testdb.DSN(t, dialect)
				old, err := store.Open(ctx, dsn)
				if err != nil {
					t.Fatal(err)
				}
				if err := old.MigrateTo(ctx, from); err != nil {
					old.Close()
					t.Fatal(err)
				}
				old.Close()
				raw := openRaw(t, dialect, dsn)
				want := map[string]int{}
				for _, s := range seeds {
					if s.since <= from && (s.until == 0 || from < s.until) {
						if _, err := raw.ExecContext(ctx, s.stmt); err != nil {
							t.Fatalf("seeding %s at version %d: %v", s.table, from, err)
						}
						want[s.table]++
					}
				}
				if got := versions(t, raw); got != from {
					t.Fatalf("the old release's database is at version %d, want %d", got, from)
				}

				// The new release starts on it.
				if err := openAt(t, dsn).Migrate(ctx); err != nil {
					t.Fatalf("upgrading from version %d: %v", from, err)
				}
				if got := versions(t, raw); got != latest {
					t.Errorf("after the upgrade: version %d, want %d", got, latest)
				}
				diffSchemas(t, fmt.Sprintf("upgraded from version %d (compared with a fresh install)", from), schemaOf(t, dialect, dsn), fresh)
				for table, n := range want {
					var got int
					if err := raw.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&got); err != nil {
						t.Fatal(err)
					}
					if got != n {
						t.Errorf("%s: %d rows after the upgrade, had %d", table, got, n)
					}
				}
			})
		}
	})
}

// Migrate runs at every start, possibly in several processes at once: each run
// succeeds, every migration is applied once, and running it again changes nothing.
func TestMigrateConcurrentlyAndAgain(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		dsn := testdb.DSN(t, dialect)
		const processes = 3
		var wg sync.WaitGroup
		errs := make(chan error, processes)
		for range processes {
			st := openAt(t, dsn)
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- st.Migrate(ctx)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("concurrent Migrate: %v", err)
			}
		}
		raw := openRaw(t, dialect, dsn)
		var n, distinct, highest int
		if err := raw.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT version), MAX(version) FROM schema_migrations`).Scan(&n, &distinct, &highest); err != nil {
			t.Fatal(err)
		}
		if latest := store.LatestMigration(); n != latest || distinct != latest || highest != latest {
			t.Errorf("schema_migrations: %d rows, %d versions, highest %d; want %d of each", n, distinct, highest, latest)
		}
		before := schemaOf(t, dialect, dsn)
		if err := openAt(t, dsn).Migrate(ctx); err != nil {
			t.Fatalf("Migrate again: %v", err)
		}
		diffSchemas(t, "after a second Migrate (compared with before it)", schemaOf(t, dialect, dsn), before)
	})
}

// versions returns the highest applied migration, after checking that versions 1 up
// to it are all recorded.
func versions(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n, highest int
	if err := db.QueryRow(`SELECT COUNT(*), COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&n, &highest); err != nil {
		t.Fatal(err)
	}
	if n != highest {
		t.Errorf("schema_migrations holds %d versions up to %d", n, highest)
	}
	return highest
}

// diffSchemas reports the lines of two schema descriptions that differ: those of want
// missing from got, and those of got that want lacks.
func diffSchemas(t *testing.T, what string, got, want []string) {
	t.Helper()
	count := map[string]int{}
	for _, l := range want {
		count[l]++
	}
	for _, l := range got {
		count[l]--
	}
	var missing, extra []string
	for _, l := range want {
		if count[l] > 0 {
			missing = append(missing, l)
			count[l]--
		}
	}
	for _, l := range got {
		if count[l] < 0 {
			extra = append(extra, l)
			count[l]++
		}
	}
	var report strings.Builder
	for _, part := range []struct {
		title string
		lines []string
	}{{"missing", missing}, {"extra", extra}} {
		if len(part.lines) > 0 {
			fmt.Fprintf(&report, "\n%s:\n\t%s", part.title, strings.Join(part.lines, "\n\t"))
		}
	}
	if report.Len() > 0 {
		t.Errorf("schema %s differs:%s", what, report.String())
	}
	if len(want) == 0 {
		t.Error("empty schema description")
	}
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

// schemaOf describes the schema of the database at dsn, one line per table, column,
// index (with its columns) and constraint, in a stable order, so that two schemas can be
// compared line by line. On SQLite it includes the CREATE text SQLite keeps, so even a
// change of whitespace in a migration shows.
func schemaOf(t *testing.T, dialect, dsn string) []string {
	t.Helper()
	db := openRaw(t, dialect, dsn)
	ctx := context.Background()
	var out []string
	// rows runs q and appends one line per row: prefix and the row's values.
	rows := func(prefix, q string, args ...any) [][]string {
		t.Helper()
		rs, err := db.QueryContext(ctx, q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer rs.Close()
		cols, _ := rs.Columns()
		var all [][]string
		for rs.Next() {
			vals := make([]sql.NullString, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rs.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			row := make([]string, len(cols))
			for i, v := range vals {
				row[i] = "NULL"
				if v.Valid {
					row[i] = fmt.Sprintf("%q", v.String)
				}
			}
			all = append(all, row)
			out = append(out, prefix+" "+strings.Join(row, " "))
		}
		if err := rs.Err(); err != nil {
			t.Fatal(err)
		}
		return all
	}
	if dialect == store.SQLite {
		objects := rows("object", `SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name`)
		for _, o := range objects {
			if o[0] != `"table"` {
				continue
			}
			table := unquote(o[1])
			rows("column "+table, `SELECT cid, name, type, "notnull", dflt_value, pk FROM pragma_table_info(?) ORDER BY cid`, table)
			rows("foreign-key "+table, `SELECT id, seq, "table", "from", "to", on_update, on_delete FROM pragma_foreign_key_list(?) ORDER BY id, seq`, table)
			for _, ix := range rows("index "+table, `SELECT name, "unique", origin, partial FROM pragma_index_list(?) ORDER BY name`, table) {
				index := unquote(ix[0])
				rows("index-column "+index, `SELECT seqno, name FROM pragma_index_info(?) ORDER BY seqno`, index)
			}
		}
		return out
	}
	var schema string
	if err := db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	rows("table", `SELECT table_name, table_type FROM information_schema.tables
		WHERE table_schema = current_schema() ORDER BY table_name`)
	rows("column", `SELECT table_name, ordinal_position, column_name, data_type, is_nullable,
			column_default, is_identity, identity_generation
		FROM information_schema.columns WHERE table_schema = current_schema()
		ORDER BY table_name, ordinal_position`)
	rows("constraint", `SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid)
		FROM pg_constraint WHERE connamespace = current_schema()::regnamespace
		ORDER BY 1, 2`)
	// Index definitions name the table with its schema, which differs per database.
	n := len(out)
	rows("index", `SELECT tablename, indexname, indexdef FROM pg_indexes
		WHERE schemaname = current_schema() ORDER BY tablename, indexname`)
	for i := n; i < len(out); i++ {
		out[i] = strings.ReplaceAll(out[i], schema+".", "")
	}
	return out
}

func unquote(s string) string {
	var v string
	if _, err := fmt.Sscanf(s, "%q", &v); err != nil {
		return s
	}
	return v
}
