package main

import "fmt"

// stageSuffixes are the stages of a new smart process's default funnel, in funnel order.
var stageSuffixes = []string{"NEW", "PREPARATION", "CLIENT", "SUCCESS", "FAIL"}

// stageIndexClient is the stage the list benchmark filters on.
const stageIndexClient = 2

// stageID is the STATUS_ID of a stage of the default funnel: DT{etid}_{cat}:{suffix}.
func stageID(etid, category int64, idx int) string {
	return stageCode(etid, category, stageSuffixes[idx])
}

// stageCode is the STATUS_ID of any stage of a smart process funnel.
func stageCode(etid, category int64, suffix string) string {
	return fmt.Sprintf("DT%d_%d:%s", etid, category, suffix)
}

// benchRow is one generated item. Rows are a pure function of their index, so the HTTP
// adds and the raw SQLite baseline write exactly the same data.
type benchRow struct {
	Title       string
	Stage       int     // index into stageSuffixes
	Opportunity float64 // 0.00 … 9999.99
}

// genRow derives row i from a hash of i: stages and amounts are uniformly spread and not
// correlated with the id, as real data would not be either.
func genRow(i int) benchRow { return genRowN(i, len(stageSuffixes)) }

// genRowN is genRow over a funnel of n stages (Stage indexes that funnel's list).
func genRowN(i, n int) benchRow {
	h := splitmix64(uint64(i) + 0x5eed)
	return benchRow{
		Title:       fmt.Sprintf("Bench item %d", i),
		Stage:       int(h % uint64(n)),
		Opportunity: float64((h>>8)%1000000) / 100,
	}
}

// splitmix64 is a small, good 64-bit mixer; deterministic across runs and platforms.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
