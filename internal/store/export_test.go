package store

import "context"

// Hooks for the tests of package store_test. Those that need a database use testdb,
// which imports this package, so they cannot live inside it.

// MigrateTo applies the migrations up to and including version, leaving the database
// as the release that shipped that version left it.
func (s *Store) MigrateTo(ctx context.Context, version int) error {
	return s.migrateTo(ctx, version)
}

// LatestMigration is the newest migration version.
func LatestMigration() int { return migrations[len(migrations)-1].version }
