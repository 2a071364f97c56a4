package field

import (
	"math/rand/v2"
	"testing"
	"time"
)

// The hand-written formatter answers what the layout-driven one does, in zones east and
// west of UTC, with offsets of odd minutes and seconds, and at the ends of the years
// it handles itself.
func TestFormatWireTimeMatchesLayout(t *testing.T) {
	zones := []*time.Location{
		time.UTC,
		time.FixedZone("MSK", 3*3600),
		time.FixedZone("NPT", 5*3600+45*60),
		time.FixedZone("NST", -(3*3600 + 30*60)),
		time.FixedZone("LMT", -(30)), // seconds only: the layout drops them, sign and all
		time.FixedZone("ODD", -(7*3600 + 59*60 + 59)),
	}
	r := rand.New(rand.NewPCG(1, 2))
	edges := []time.Time{
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(-1, 6, 1, 0, 0, 0, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 1, 3, 4, 5, 999999999, time.UTC),
	}
	for i := range 20000 {
		var tm time.Time
		if i < len(edges) {
			tm = edges[i]
		} else {
			tm = time.Unix(r.Int64N(253402300800)-62135596800, r.Int64N(1e9))
		}
		for _, z := range zones {
			want := tm.In(z).Format(WireTime)
			if got := formatInOwnZone(tm.In(z)); got != want {
				t.Fatalf("%v in %s: got %s, want %s", tm, z, got, want)
			}
		}
		if got, want := FormatWireTime(tm), tm.In(time.Local).Format(WireTime); got != want {
			t.Fatalf("%v: got %s, want %s", tm, got, want)
		}
	}
}
