package store

import (
	"math/rand/v2"
	"testing"
	"time"
)

// parseSQLiteTime answers exactly what time.Parse(sqliteTime, s) does: the same
// instant for a well-formed string, an error for anything else.
func FuzzParseSQLiteTime(f *testing.F) {
	for _, s := range []string{"2026-12-01T03:04:05Z", "2024-02-29T23:59:59Z", "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2000-02-29T00:00:00Z",
		"2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z", "2026-04-31T00:00:00Z", "0000-01-01T00:00:00Z",
		"2026-12-01T24:00:00Z", "2026-12-01T23:60:00Z", "2026-12-01T23:59:60Z", "2026-12-01 03:04:05Z",
		"2026-12-01T03:04:05+01:00", "+026-12-01T03:04:05Z", "2026-1a-01T03:04:05Z", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkParseSQLiteTime(t, s) })
}

func checkParseSQLiteTime(t *testing.T, s string) {
	t.Helper()
	got, gotErr := parseSQLiteTime(s)
	want, wantErr := time.Parse(sqliteTime, s)
	if (gotErr != nil) != (wantErr != nil) || !got.Equal(want) || got.Location() != want.Location() {
		t.Fatalf("%q: got %v (%v), want %v (%v)", s, got, gotErr, want, wantErr)
	}
}

// Every second of a wide range of dates, as the store writes them, reads back the same.
func TestParseSQLiteTimeRoundTrips(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 50000 {
		tm := time.Unix(r.Int64N(253402300800)-62135596800, 0).UTC()
		checkParseSQLiteTime(t, tm.Format(sqliteTime))
	}
}
