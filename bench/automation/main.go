// Command automation measures robots end to end on the real server: stage moves at a
// fixed rate into a stage whose webhook robot calls a local receiver, the time from
// the move to the receiver's delivery, River's own bare job throughput on the same
// machine for comparison, and a SIGKILL in the middle of the load followed by a
// restart that must deliver the rest with none lost.
//
//	go run ./bench/automation [--rate 500] [--duration 60s] [--db postgres://…]
//
// The server is built from this checkout and run as a child process on a fresh SQLite
// database (or the given PostgreSQL one); it prints its figures as text and one JSON
// line. See bench/README.md.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"smartcrm/bench/benchapi"
)

type config struct {
	rate     int
	duration time.Duration
	clients  int
	db       string
	bare     time.Duration
	max      time.Duration
}

func main() {
	var c config
	flag.IntVar(&c.rate, "rate", 500, "stage moves per second offered")
	flag.DurationVar(&c.duration, "duration", 60*time.Second, "how long the paced load lasts")
	flag.IntVar(&c.clients, "clients", 64, "concurrent HTTP clients carrying the paced load")
	flag.StringVar(&c.db, "db", "", "a postgres:// URL; empty = a fresh SQLite file")
	flag.DurationVar(&c.bare, "bare", 10*time.Second, "how long River's bare throughput is measured")
	flag.DurationVar(&c.max, "max", 15*time.Second, "how long the unpaced load lasts")
	flag.Parse()
	if err := run(c); err != nil {
		log.Fatal(err)
	}
}

// receiver records when each item's webhook arrived, and how often each key came.
type receiver struct {
	mu      sync.Mutex
	arrived map[int64]time.Time
	keys    map[string]int
	calls   atomic.Int64
	wake    chan struct{}
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	id, _ := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
	now := time.Now()
	r.mu.Lock()
	if _, seen := r.arrived[id]; !seen {
		r.arrived[id] = now
	}
	r.keys[req.Header.Get("Idempotency-Key")]++
	r.mu.Unlock()
	r.calls.Add(1)
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *receiver) delivered(id int64) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.arrived[id]
	return t, ok
}

func (r *receiver) duplicates() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.keys {
		if c > 1 {
			n++
		}
	}
	return n
}

// move is one timed stage move.
type move struct {
	id         int64
	sent, ackd time.Time
	err        error
}

func run(c config) error {
	ctx := context.Background()
	srv, err := benchapi.Start(ctx, "automation", c.db, "--robot-timeout", "5s")
	if err != nil {
		return err
	}
	defer srv.Close()
	a := srv.API

	rcv := &receiver{arrived: map[int64]time.Time{}, keys: map[string]int{}, wake: make(chan struct{}, 1)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = http.Serve(ln, rcv) }()

	// A smart process whose PREPARATION stage calls the receiver.
	etid := benchapi.Num(benchapi.Must(a.Call("crm.type.add", map[string]any{"fields": map[string]any{
		"title": "Bench visits", "isStagesEnabled": "Y", "isAutomationEnabled": "Y"}})), "type", "entityTypeId")
	prep := fmt.Sprintf("DT%d_1:PREPARATION", etid)
	benchapi.Must(a.Call("smartcrm.automation.set", map[string]any{"automation": map[string]any{"entityTypeId": etid, "categoryId": 1, "version": 0,
		"stages": map[string]any{prep: map[string]any{"robots": []any{
			map[string]any{"id": "notify", "type": "webhook", "params": map[string]any{"url": "http://" + ln.Addr().String() + "/hook", "body": "{{id}}"}},
		}}}}}))

	total := c.rate*int(c.duration/time.Second) + c.rate*6
	fmt.Printf("seeding %d items…\n", total)
	ids, err := a.Seed(etid, total, "visit")
	if err != nil {
		return err
	}

	fmt.Printf("paced load: %d moves/s for %s…\n", c.rate, c.duration)
	moves := paced(a, etid, prep, ids[:c.rate*int(c.duration/time.Second)], c.rate, c.clients)
	waitDelivered(rcv, moves, 60*time.Second)
	report := summarize(rcv, moves, c.duration)
	fmt.Printf("  offered %d/s, acknowledged %.0f/s, errors %d\n", c.rate, report.AckRate, report.Errors)
	fmt.Printf("  move round trip p50 %.1f ms, p99 %.1f ms\n", report.AckP50, report.AckP99)
	fmt.Printf("  move sent → webhook delivered: p50 %.1f ms, p99 %.1f ms, max %.1f ms (an upper bound of commit → delivery)\n",
		report.DeliveryP50, report.DeliveryP99, report.DeliveryMax)
	fmt.Printf("  acknowledged → delivered p99 %.1f ms; undelivered %d\n", report.AfterAckP99, report.Undelivered)

	// Unpaced: as many entries as the server takes, each running the robot.
	fmt.Printf("unpaced: %d clients move items out of the stage and back in for %s…\n", c.clients, c.max)
	maxRate, maxAck := unpaced(a, rcv, etid, prep, fmt.Sprintf("DT%d_1:CLIENT", etid), ids[:c.rate*int(c.duration/time.Second)], c.clients, c.max)
	fmt.Printf("  %.0f robot runs delivered per second (entries acknowledged %.0f/s)\n", maxRate, maxAck)

	// SIGKILL in the middle of the load, then a restart that must deliver the rest.
	fmt.Println("kill: 5 s of load, SIGKILL after 3 s, restart…")
	rest := ids[c.rate*int(c.duration/time.Second):]
	killAt := time.Now().Add(3 * time.Second)
	killed := make(chan struct{})
	go func() {
		time.Sleep(time.Until(killAt))
		srv.Proc.Kill()
		close(killed)
	}()
	killMoves := paced(a, etid, prep, rest[:c.rate*5], c.rate, c.clients)
	<-killed
	restartStarted := time.Now()
	if err := srv.Restart(ctx); err != nil {
		return err
	}
	restartTook := time.Since(restartStarted)
	var acked []move
	for _, m := range killMoves {
		if m.err == nil {
			acked = append(acked, m)
		}
	}
	drainStarted := time.Now()
	waitDelivered(rcv, acked, 120*time.Second)
	lost := 0
	for _, m := range acked {
		if _, ok := rcv.delivered(m.id); !ok {
			lost++
		}
	}
	fmt.Printf("  %d moves acknowledged before the kill, %d lost after the restart (restart %.1f s, delivered within %.1f s), %d keys called more than once\n",
		len(acked), lost, restartTook.Seconds(), time.Since(drainStarted).Seconds(), rcv.duplicates())

	_ = srv.Proc.Stop(30 * time.Second) // the baseline gets the machine to itself
	fmt.Printf("River bare: one job per transaction, a no-op worker, %s…\n", c.bare)
	bareRate, err := riverBare(ctx, srv.Dir, c.db, false, c.bare)
	if err != nil {
		return err
	}
	keptRate := bareRate
	if c.db == "" {
		if keptRate, err = riverBare(ctx, srv.Dir, c.db, true, c.bare); err != nil {
			return err
		}
	}
	fmt.Printf("  River alone: %.0f jobs/s as documented (sql.Open), %.0f jobs/s on the server's writer connection\n", bareRate, keptRate)
	fmt.Printf("  smartcrm robots: %.0f/s paced, %.0f/s at most = %.2f × River's bare throughput on the same connection\n",
		report.AckRate, maxRate, maxRate/keptRate)
	out, _ := json.Marshal(map[string]any{"rate": c.rate, "durationSeconds": c.duration.Seconds(), "ackRate": report.AckRate,
		"errors": report.Errors, "deliveryP50Ms": report.DeliveryP50, "deliveryP99Ms": report.DeliveryP99, "deliveryMaxMs": report.DeliveryMax,
		"afterAckP99Ms": report.AfterAckP99, "undelivered": report.Undelivered, "killAcked": len(acked), "killLost": lost,
		"duplicateKeys": rcv.duplicates(), "riverBarePerSecond": bareRate, "riverBareKeptPerSecond": keptRate, "maxRobotRunsPerSecond": maxRate})
	fmt.Println(string(out))
	return nil
}

// paced moves each item to stage at rate per second, open loop: a move is sent at its
// time whatever the ones before it are doing, up to clients at once.
func paced(a *benchapi.API, etid int64, stage string, ids []int64, rate, clients int) []move {
	out := make([]move, len(ids))
	sem := make(chan struct{}, clients)
	var wg sync.WaitGroup
	start := time.Now()
	interval := time.Second / time.Duration(rate)
	for i, id := range ids {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			m := move{id: id, sent: time.Now()}
			_, m.err = a.Call("crm.item.update", map[string]any{"entityTypeId": etid, "id": id, "fields": map[string]any{"stageId": stage}})
			m.ackd = time.Now()
			out[i] = m
		}()
	}
	wg.Wait()
	return out
}

// unpaced moves items out of stage and back in, closed loop, for d, and reports the
// robot runs delivered per second (until the last entry's delivery) and the entries
// acknowledged per second.
func unpaced(a *benchapi.API, rcv *receiver, etid int64, stage, away string, ids []int64, clients int, d time.Duration) (delivered, acked float64) {
	before := rcv.calls.Load()
	var entries atomic.Int64
	var next atomic.Int64
	start := time.Now()
	stop := start.Add(d)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				id := ids[int(next.Add(1))%len(ids)]
				if _, err := a.Call("crm.item.update", map[string]any{"entityTypeId": etid, "id": id, "fields": map[string]any{"stageId": away}}); err != nil {
					continue
				}
				if _, err := a.Call("crm.item.update", map[string]any{"entityTypeId": etid, "id": id, "fields": map[string]any{"stageId": stage}}); err == nil {
					entries.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	ackedIn := time.Since(start)
	deadline := time.Now().Add(60 * time.Second)
	for rcv.calls.Load()-before < entries.Load() && time.Now().Before(deadline) {
		select {
		case <-rcv.wake:
		case <-time.After(50 * time.Millisecond):
		}
	}
	return float64(rcv.calls.Load()-before) / time.Since(start).Seconds(), float64(entries.Load()) / ackedIn.Seconds()
}

// waitDelivered waits until every acknowledged move's webhook arrived, or within.
func waitDelivered(rcv *receiver, moves []move, within time.Duration) {
	deadline := time.After(within)
	for {
		pending := 0
		for _, m := range moves {
			if _, ok := rcv.delivered(m.id); !ok && m.err == nil {
				pending++
			}
		}
		if pending == 0 {
			return
		}
		select {
		case <-rcv.wake:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			return
		}
	}
}

type summary struct {
	AckRate                                            float64
	Errors, Undelivered                                int
	AckP50, AckP99                                     float64
	DeliveryP50, DeliveryP99, DeliveryMax, AfterAckP99 float64
}

func summarize(rcv *receiver, moves []move, d time.Duration) summary {
	var s summary
	var ack, deliv, afterAck []float64
	var first, last time.Time
	for _, m := range moves {
		if m.err != nil {
			s.Errors++
			continue
		}
		if first.IsZero() || m.sent.Before(first) {
			first = m.sent
		}
		if m.ackd.After(last) {
			last = m.ackd
		}
		ack = append(ack, ms(m.ackd.Sub(m.sent)))
		at, ok := rcv.delivered(m.id)
		if !ok {
			s.Undelivered++
			continue
		}
		deliv = append(deliv, ms(at.Sub(m.sent)))
		afterAck = append(afterAck, ms(max(0, at.Sub(m.ackd))))
	}
	s.AckRate = float64(len(ack)) / last.Sub(first).Seconds()
	s.AckP50, s.AckP99 = pct(ack, 50), pct(ack, 99)
	s.DeliveryP50, s.DeliveryP99, s.DeliveryMax = pct(deliv, 50), pct(deliv, 99), pct(deliv, 100)
	s.AfterAckP99 = pct(afterAck, 99)
	return s
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func pct(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}
