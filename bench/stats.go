package main

import (
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// runResult is what a concurrent run of n operations observed.
type runResult struct {
	lat      []time.Duration // per operation, successes and failures alike
	wall     time.Duration
	errors   int
	firstErr error
}

// runConcurrent runs op(0..n-1) from conc goroutines that take the next index as they
// free up (a closed-loop load: each worker waits for its answer before the next call,
// like an integration script would). Latency is measured around op alone.
func runConcurrent(ctx context.Context, n, conc int, op func(ctx context.Context, i int) error) runResult {
	res := runResult{lat: make([]time.Duration, n)}
	var next atomic.Int64
	var errs atomic.Int64
	var once sync.Once
	var wg sync.WaitGroup
	started := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				err := op(ctx, i)
				res.lat[i] = time.Since(t0)
				if err != nil {
					errs.Add(1)
					once.Do(func() { res.firstErr = err })
				}
			}
		}()
	}
	wg.Wait()
	res.wall = time.Since(started)
	res.errors = int(errs.Load())
	if res.firstErr == nil && ctx.Err() != nil {
		res.firstErr = ctx.Err()
	}
	return res
}

// summary is the figures of one timed run.
type summary struct {
	N       int     `json:"n"`
	Errors  int     `json:"errors"`
	WallSec float64 `json:"wall_s"`
	PerSec  float64 `json:"per_s"`
	P50ms   float64 `json:"p50_ms"`
	P95ms   float64 `json:"p95_ms"`
	P99ms   float64 `json:"p99_ms"`
	MaxMs   float64 `json:"max_ms"`
	// FirstError is the first failure's text, so a broken run says why.
	FirstError string   `json:"first_error,omitempty"`
	CPU        phaseCPU `json:"cpu"`
}

func summarize(r runResult, units int) summary {
	s := summary{N: len(r.lat), Errors: r.errors, WallSec: r.wall.Seconds()}
	if r.firstErr != nil {
		s.FirstError = r.firstErr.Error()
	}
	if s.WallSec > 0 {
		s.PerSec = float64(units) / s.WallSec
	}
	sorted := slices.Clone(r.lat)
	slices.Sort(sorted)
	s.P50ms, s.P95ms, s.P99ms = ms(percentile(sorted, 0.50)), ms(percentile(sorted, 0.95)), ms(percentile(sorted, 0.99))
	if len(sorted) > 0 {
		s.MaxMs = ms(sorted[len(sorted)-1])
	}
	return s
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// timedRun runs n operations at conc and summarizes them with the server's CPU.
func timedRun(ctx context.Context, srv *serverProc, n, conc int, op func(context.Context, int) error) summary {
	cpu := startCPU(srv.pid)
	r := runConcurrent(ctx, n, conc, op)
	s := summarize(r, n-r.errors)
	s.CPU = cpu.done()
	return s
}
