package main

import "testing"

// Each level's passes pool into operations over wall time, so a long slow pass weighs
// more than a short fast one, and each level keeps its own ratio.
func TestPoolPGLevelsWeighsPassesByWallTime(t *testing.T) {
	pass := func(conc, adds int, addSec float64, raw int, rawSec float64) pgLevel {
		return pgLevel{Concurrency: conc,
			Add:       summary{N: adds, WallSec: addSec},
			RawInsert: summary{N: raw, WallSec: rawSec},
			Move:      summary{N: adds, Errors: adds / 2, WallSec: addSec},
			RawUpdate: summary{N: raw, WallSec: rawSec}}
	}
	got := poolPGLevels([]pgLevel{
		pass(8, 1000, 1, 4000, 1),
		pass(32, 1000, 2, 4000, 1),
		pass(32, 1000, 2, 4000, 1),
		pass(8, 1000, 3, 4000, 1),
	})
	if len(got) != 2 || got[0].Concurrency != 8 || got[1].Concurrency != 32 {
		t.Fatalf("levels %+v, want c=8 then c=32", got)
	}
	c8 := got[0]
	if c8.Passes != 2 || c8.AddPerSec != 500 || c8.RawInsertPerSec != 4000 || c8.AddRatio != 0.125 {
		t.Errorf("c=8 pooled %+v, want 2 passes, 2,000 adds in 4 s (500/s), ratio 0.125", c8)
	}
	if c8.MovePerSec != 250 {
		t.Errorf("c=8 moves %v/s, want 250: failed moves do not count", c8.MovePerSec)
	}
	if got[1].AddPerSec != 500 || got[1].Passes != 2 {
		t.Errorf("c=32 pooled %+v, want 2 passes at 500 adds/s", got[1])
	}
}
