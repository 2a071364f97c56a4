package main

import (
	"fmt"
	"sort"
)

// report is every figure of a run; it is printed as text phase by phase and as one JSON
// line at the end, for scripts to compare runs.
type report struct {
	Started       string `json:"started"`
	DB            string `json:"db"`
	GoOS          string `json:"goos"`
	GoArch        string `json:"goarch"`
	NumCPU        int    `json:"num_cpu"`
	GoVersion     string `json:"go_version"`
	Items         int    `json:"items"`
	Adds          int    `json:"adds"`
	Concurrency   int    `json:"concurrency"`
	ListRequests  int    `json:"list_requests"`
	Quick         bool   `json:"quick"`
	StageItems    int    `json:"stage_items"`
	StageRequests int    `json:"stage_requests"`
	MoveCount     int    `json:"moves"`

	AddHTTP summary   `json:"add_http"`
	Raw     rawReport `json:"raw_sqlite"`
	// ServerToRawRatio is HTTP adds/s divided by raw per-row-transaction rows/s.
	ServerToRawRatio float64 `json:"server_to_raw_ratio"`

	Seed seedReport `json:"seed"`
	List listReport `json:"list"`

	Stages stagesReport `json:"stage_counts"`
	Moves  movesReport  `json:"stage_moves"`

	Custom   cfListReport   `json:"custom_lists"`
	Soak     soakReport     `json:"soak"`
	PGWrites pgWritesReport `json:"pg_writes"`

	Memory          memoryReport       `json:"memory"`
	RSSAfterAddsMB  float64            `json:"rss_after_adds_mb"`
	RSSAfterListMB  float64            `json:"rss_after_list_mb"`
	RSSAfterMovesMB float64            `json:"rss_after_moves_mb"`
	DBSizeMB        float64            `json:"db_size_mb"`
	ServerMetrics   map[string]float64 `json:"server_metrics,omitempty"`
	ServerExit      int                `json:"server_exit"`
	ShutdownSec     float64            `json:"shutdown_s"` // SIGTERM to exit
}

// memoryReport is the server child's memory and CPU over the whole run.
type memoryReport struct {
	PeakRSSMB        float64 `json:"peak_rss_mb"`         // VmHWM
	PeakSampledRSSMB float64 `json:"peak_sampled_rss_mb"` // max VmRSS seen by the sampler
	Samples          int     `json:"rss_samples"`
	CPUSeconds       float64 `json:"server_cpu_s"` // user+system over the process's life
}

func printSummary(name, unit string, s summary) {
	fmt.Printf("  %-28s %9.0f %s  p50 %7.2f ms  p95 %7.2f ms  p99 %7.2f ms  max %7.2f ms  (n=%d, %.1fs, errors=%d)\n",
		name, s.PerSec, unit, s.P50ms, s.P95ms, s.P99ms, s.MaxMs, s.N, s.WallSec, s.Errors)
	printCPU(s.CPU, s.N, "request")
	if s.FirstError != "" {
		fmt.Printf("  %-28s first error: %s\n", "", s.FirstError)
	}
}

// printCPU shows where a phase's CPU went, and the server's share per unit of its n
// units of work: on shared cores that moves far less from run to run than a p99.
// "Other processes" is the rest of the machine: when it is high the phase competed for
// cores and its figures are low.
func printCPU(c phaseCPU, n int, unit string) {
	if c == (phaseCPU{}) {
		return
	}
	perUnit := ""
	if n > 0 && c.ServerCPUSec > 0 {
		perUnit = fmt.Sprintf("; server %.0f µs per %s", c.ServerCPUSec/float64(n)*1e6, unit)
	}
	fmt.Printf("  %-28s CPU: server %.1fs (%.2f cores), bench %.1fs (%.2f cores), other processes %.1fs (%.2f cores)%s\n",
		"", c.ServerCPUSec, c.ServerCores, c.BenchCPUSec, c.BenchCores, c.OtherCPUSec, c.OtherCores, perUnit)
}

func (r *report) printAdds() {
	fmt.Printf("\n== 1. crm.item.add over HTTP vs raw SQLite (%d rows, concurrency %d) ==\n", r.Adds, r.Concurrency)
	printSummary("HTTP crm.item.add ("+r.DB+")", "items/s", r.AddHTTP)
	printSummary("raw sqlite, tx per row", "rows/s ", r.Raw.PerRowTx)
	printSummary("raw sqlite, autocommit", "rows/s ", r.Raw.Autocommit)
	printSummary("raw sqlite, 50 rows per tx", "rows/s ", r.Raw.Batched)
	fmt.Printf("  server/raw (tx per row) ratio: %.2f  (the server reaches %.0f%% of what SQLite alone does per transaction)\n",
		r.ServerToRawRatio, 100*r.ServerToRawRatio)
	fmt.Printf("  server RSS after adds: %.1f MB\n", r.RSSAfterAddsMB)
}

func (r *report) printList() {
	s := r.Seed
	fmt.Printf("\n== 2. crm.item.list on %d items ==\n", r.Items)
	fmt.Printf("  seeding via batch (50 adds per call, concurrency %d): %d items in %.1fs = %.0f items/s; batch call p50 %.1f ms, p99 %.1f ms\n",
		r.Concurrency, s.Items, s.WallSec, s.ItemsPerS, s.CallP50ms, s.CallP99ms)
	printCPU(s.CPU, s.Items, "item")
	l := r.List
	fmt.Printf("  filter %s, order {\"id\":\"DESC\"}, select id,title,stageId,opportunity; %d items match\n", l.Filter, l.Matching)
	printSummary("start=-1 (no count)", "req/s  ", l.NoCount)
	printSummary(fmt.Sprintf("start=N (N<%d, counted)", l.Pages*crmPage), "req/s  ", l.Offset)
	fmt.Printf("  server RSS after seeding: %.1f MB, after lists: %.1f MB\n", s.RSSAfterMB, r.RSSAfterListMB)
}

func (r *report) printStages() {
	st := r.Stages
	fmt.Printf("\n== 3. smartcrm.stage.counts on a funnel of %d stages, %d items ==\n", st.Stages, r.StageItems)
	if st.EntityTypeID == 0 {
		return
	}
	fmt.Printf("  type %d, funnel %d: the 5 default stages plus %d added with crm.status.add\n",
		st.EntityTypeID, st.CategoryID, len(extraStages))
	s := st.Seed
	if s.Items == 0 {
		return
	}
	fmt.Printf("  seeding via batch (50 adds per call, concurrency %d): %d items in %.1fs = %.0f items/s; batch call p50 %.1f ms, p99 %.1f ms\n",
		r.Concurrency, s.Items, s.WallSec, s.ItemsPerS, s.CallP50ms, s.CallP99ms)
	printCPU(s.CPU, s.Items, "item")
	if st.Counts.N == 0 {
		return
	}
	fmt.Printf("  counts checked before timing: every stage as seeded, sum %d; amounts off by > %.2f: %d stages\n",
		r.StageItems, amountTolerance, st.AmountMismatches)
	printSummary("smartcrm.stage.counts", "req/s  ", st.Counts)
	fmt.Printf("  target < %.0f ms: p50 %s, p95 %s, p99 %s\n", st.TargetMs,
		metOrNot(st.Counts.P50ms < st.TargetMs), metOrNot(st.Counts.P95ms < st.TargetMs), metOrNot(st.Counts.P99ms < st.TargetMs))
	fmt.Printf("  server RSS after seeding: %.1f MB, after counts: %.1f MB\n", s.RSSAfterMB, st.RSSAfterMB)
}

func (r *report) printMoves() {
	m := r.Moves
	fmt.Printf("\n== 4. stage changes through crm.item.update (%d moves of distinct items, concurrency %d) ==\n", r.MoveCount, r.Concurrency)
	if m.Moves.N == 0 {
		return
	}
	printSummary("crm.item.update (stageId)", "items/s", m.Moves)
	fmt.Printf("  target >= %.0f items/s on SQLite: %s (%.0f%% of it)\n", m.TargetPerS, metOrNot(m.Moves.PerSec >= m.TargetPerS), 100*m.Moves.PerSec/m.TargetPerS)
	ok := m.Moves.N - m.Moves.Errors
	fmt.Printf("  stage history: %d rows before, %d after (+%d), %d above the last ID before; successful updates %d: %s\n",
		m.HistoryBefore, m.HistoryAfter, m.HistoryAfter-m.HistoryBefore, m.HistoryNew, ok, okOrFailed(m.HistoryOK))
	fmt.Printf("  smartcrm.stage.counts after the moves, stage by stage: %s\n", okOrFailed(m.CountsOK))
	fmt.Printf("  server RSS after moves: %.1f MB\n", r.RSSAfterMovesMB)
}

func metOrNot(b bool) string {
	if b {
		return "met"
	}
	return "NOT met"
}

func okOrFailed(b bool) string {
	if b {
		return "as expected"
	}
	return "MISMATCH"
}

func (r *report) printMemory() {
	m := r.Memory
	fmt.Printf("\n== 5. server process ==\n")
	fmt.Printf("  peak RSS (VmHWM): %.1f MB; highest sampled VmRSS: %.1f MB over %d samples\n",
		m.PeakRSSMB, m.PeakSampledRSSMB, m.Samples)
	fmt.Printf("  server CPU over the run: %.1f s; SIGTERM to exit %.2fs, exit code %d\n", m.CPUSeconds, r.ShutdownSec, r.ServerExit)
	if r.DB == "sqlite" {
		fmt.Printf("  database file incl. WAL: %.1f MB\n", r.DBSizeMB)
	}
	if len(r.ServerMetrics) > 0 {
		names := make([]string, 0, len(r.ServerMetrics))
		for k := range r.ServerMetrics {
			names = append(names, k)
		}
		sort.Strings(names)
		fmt.Printf("  /metrics:")
		for _, k := range names {
			fmt.Printf(" %s=%g", k, r.ServerMetrics[k])
		}
		fmt.Println()
	}
	fmt.Println()
}
