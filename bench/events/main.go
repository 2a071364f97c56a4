// Command events measures outbound events end to end on the real server: item updates
// at a fixed rate, first with no subscription (the baseline), then with --handlers
// handlers bound to ONCRMDYNAMICITEMUPDATE, each a local receiver. It reports the
// update rate and round trip of both phases, and for the second the time from sending
// an update to each handler's delivery of its event (an upper bound of commit to
// delivery), and checks that every event arrived once, in order per item.
//
//	go run ./bench/events [--rate 1000] [--duration 60s] [--handlers 3] [--db postgres://…]
//
// The server is built from this checkout and run as a child process on a fresh SQLite
// database (or the given PostgreSQL one); it prints its figures as text and one JSON
// line.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"smartcrm/bench/benchapi"
)

type config struct {
	rate     int
	duration time.Duration
	handlers int
	clients  int
	items    int
	db       string
}

func main() {
	var c config
	flag.IntVar(&c.rate, "rate", 1000, "item updates per second offered")
	flag.DurationVar(&c.duration, "duration", 60*time.Second, "how long each phase lasts")
	flag.IntVar(&c.handlers, "handlers", 3, "handlers bound to ONCRMDYNAMICITEMUPDATE in the second phase")
	flag.IntVar(&c.clients, "clients", 64, "concurrent HTTP clients carrying the load")
	flag.IntVar(&c.items, "items", 2000, "items updated in turn")
	flag.StringVar(&c.db, "db", "", "a postgres:// URL; empty = a fresh SQLite file")
	flag.Parse()
	if err := run(c); err != nil {
		log.Fatal(err)
	}
}

// receiver is one handler: it records when each item's events arrived, in order, and
// how often each Idempotency-Key came.
type receiver struct {
	mu      sync.Mutex
	arrived map[string][]time.Time // by item id
	keys    map[string]int
	total   int
}

func newReceiver() *receiver {
	return &receiver{arrived: map[string][]time.Time{}, keys: map[string]int{}}
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	now := time.Now()
	f, _ := url.ParseQuery(string(b))
	id := f.Get("data[FIELDS][ID]")
	r.mu.Lock()
	r.arrived[id] = append(r.arrived[id], now)
	r.keys[req.Header.Get("Idempotency-Key")]++
	r.total++
	r.mu.Unlock()
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total
}

// phase is one paced load: every update's item and send and answer times.
type phase struct {
	sent   map[int64][]time.Time // per item, in order
	rtt    []float64
	ok     int
	errors int
	first  error
	wall   time.Duration
}

// paced updates items at rate for d. Each client owns the items i ≡ k (mod clients)
// and updates them one after another, so an item's updates are sent, and committed,
// in order.
func paced(a *benchapi.API, etid int64, ids []int64, rate, clients int, d time.Duration) *phase {
	n := rate * int(d/time.Second)
	p := &phase{sent: map[int64][]time.Time{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	perClient := max(len(ids)/clients, 1)
	start := time.Now()
	for k := 0; k < clients; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			for i := k; i < n; i += clients {
				at := start.Add(time.Duration(i) * time.Second / time.Duration(rate))
				if wait := time.Until(at); wait > 0 {
					time.Sleep(wait)
				}
				id := ids[((i/clients)%perClient*clients+k)%len(ids)]
				sent := time.Now()
				_, err := a.Call("crm.item.update", map[string]any{"entityTypeId": etid, "id": id, "fields": map[string]any{"title": "u" + strconv.Itoa(i)}})
				took := time.Since(sent)
				mu.Lock()
				if err != nil {
					p.errors++
					if p.first == nil {
						p.first = err
					}
				} else {
					p.ok++
					p.sent[id] = append(p.sent[id], sent)
					p.rtt = append(p.rtt, ms(took))
				}
				mu.Unlock()
			}
		}(k)
	}
	wg.Wait()
	p.wall = time.Since(start)
	return p
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func pct(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

type result struct {
	Rate              int     `json:"rate"`
	Seconds           float64 `json:"seconds"`
	Handlers          int     `json:"handlers"`
	BaselinePerSec    float64 `json:"baselineUpdatesPerSec"`
	BaselineP50MS     float64 `json:"baselineUpdateP50Ms"`
	BaselineP99MS     float64 `json:"baselineUpdateP99Ms"`
	LoadedPerSec      float64 `json:"loadedUpdatesPerSec"`
	LoadedP50MS       float64 `json:"loadedUpdateP50Ms"`
	LoadedP99MS       float64 `json:"loadedUpdateP99Ms"`
	ThroughputRatio   float64 `json:"throughputRatio"`
	Expected          int     `json:"eventsExpected"`
	Delivered         int     `json:"eventsDelivered"`
	Duplicates        int     `json:"duplicateKeys"`
	OutOfOrder        int     `json:"outOfOrder"`
	DeliveryP50MS     float64 `json:"deliveryP50Ms"`
	DeliveryP99MS     float64 `json:"deliveryP99Ms"`
	DeliveryMaxMS     float64 `json:"deliveryMaxMs"`
	UpdateErrors      int     `json:"updateErrors"`
	DrainAfterLoadSec float64 `json:"drainAfterLoadSec"`
	// CPU-seconds per wall second of each phase: the server's, and the rest of the
	// machine's (the bench itself and anything else running).
	BaselineServerCores float64 `json:"baselineServerCores"`
	BaselineOtherCores  float64 `json:"baselineOtherCores"`
	LoadedServerCores   float64 `json:"loadedServerCores"`
	LoadedOtherCores    float64 `json:"loadedOtherCores"`
}

// cores measures a phase's CPU: the server's and everything else's.
func cores(pid int, f func() *phase) (*phase, float64, float64) {
	s0, m0 := cpuSeconds(pid), machineBusy()
	p := f()
	server, all := cpuSeconds(pid)-s0, machineBusy()-m0
	return p, server / p.wall.Seconds(), (all - server) / p.wall.Seconds()
}

func run(c config) error {
	ctx := context.Background()
	srv, err := benchapi.Start(ctx, "events", c.db)
	if err != nil {
		return err
	}
	defer srv.Close()
	a, p := srv.API, srv.Proc

	etid := benchapi.Num(benchapi.Must(a.Call("crm.type.add", map[string]any{"fields": map[string]any{"title": "Bench contracts", "isStagesEnabled": "Y"}})), "type", "entityTypeId")
	fmt.Printf("seeding %d items…\n", c.items)
	ids, err := a.Seed(etid, c.items, "seed")
	if err != nil {
		return err
	}

	fmt.Printf("baseline: %d updates/s for %s, no handlers…\n", c.rate, c.duration)
	base, baseServer, baseOther := cores(p.Pid(), func() *phase { return paced(a, etid, ids, c.rate, c.clients, c.duration) })

	rcvs := make([]*receiver, c.handlers)
	for i := range rcvs {
		rcvs[i] = newReceiver()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		go func(r *receiver) { _ = http.Serve(ln, r) }(rcvs[i])
		benchapi.Must(a.Call("event.bind", map[string]any{"event": "ONCRMDYNAMICITEMUPDATE", "handler": "http://" + ln.Addr().String() + "/h"}))
	}
	fmt.Printf("with %d handlers: %d updates/s for %s…\n", c.handlers, c.rate, c.duration)
	loaded, loadedServer, loadedOther := cores(p.Pid(), func() *phase { return paced(a, etid, ids, c.rate, c.clients, c.duration) })
	loadEnd := time.Now()
	expected := loaded.ok * c.handlers
	deadline := time.Now().Add(120 * time.Second)
	for time.Now().Before(deadline) {
		got := 0
		for _, r := range rcvs {
			got += r.count()
		}
		if got >= expected {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	drain := time.Since(loadEnd)

	res := result{Rate: c.rate, Seconds: c.duration.Seconds(), Handlers: c.handlers, Expected: expected, UpdateErrors: base.errors + loaded.errors,
		BaselinePerSec: float64(base.ok) / base.wall.Seconds(), BaselineP50MS: pct(base.rtt, 50), BaselineP99MS: pct(base.rtt, 99),
		LoadedPerSec: float64(loaded.ok) / loaded.wall.Seconds(), LoadedP50MS: pct(loaded.rtt, 50), LoadedP99MS: pct(loaded.rtt, 99),
		DrainAfterLoadSec: drain.Seconds(), BaselineServerCores: baseServer, BaselineOtherCores: baseOther,
		LoadedServerCores: loadedServer, LoadedOtherCores: loadedOther}
	res.ThroughputRatio = res.LoadedPerSec / res.BaselinePerSec
	var lat []float64
	for _, r := range rcvs {
		r.mu.Lock()
		res.Delivered += r.total
		for _, n := range r.keys {
			if n > 1 {
				res.Duplicates++
			}
		}
		for id, sends := range loaded.sent {
			got := r.arrived[strconv.FormatInt(id, 10)]
			for i, at := range got {
				if i > 0 && at.Before(got[i-1]) {
					res.OutOfOrder++
				}
				if i < len(sends) {
					lat = append(lat, ms(at.Sub(sends[i])))
				}
			}
		}
		r.mu.Unlock()
	}
	res.DeliveryP50MS, res.DeliveryP99MS, res.DeliveryMaxMS = pct(lat, 50), pct(lat, 99), pct(lat, 100)

	fmt.Printf("\nbaseline (no handlers):  %.0f updates/s, round trip p50 %.1f ms, p99 %.1f ms\n", res.BaselinePerSec, res.BaselineP50MS, res.BaselineP99MS)
	fmt.Printf("with %d handlers:         %.0f updates/s, round trip p50 %.1f ms, p99 %.1f ms (%.1f%% of the baseline's rate)\n",
		c.handlers, res.LoadedPerSec, res.LoadedP50MS, res.LoadedP99MS, 100*res.ThroughputRatio)
	fmt.Printf("events: %d of %d delivered, %d keys twice, %d out of order per item; drained %.1f s after the load\n",
		res.Delivered, res.Expected, res.Duplicates, res.OutOfOrder, res.DrainAfterLoadSec)
	fmt.Printf("send → delivery: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", res.DeliveryP50MS, res.DeliveryP99MS, res.DeliveryMaxMS)
	fmt.Printf("CPU (cores): baseline server %.2f, other %.2f; with handlers server %.2f, other %.2f (other = the bench and anything else running)\n",
		res.BaselineServerCores, res.BaselineOtherCores, res.LoadedServerCores, res.LoadedOtherCores)
	if base.first != nil || loaded.first != nil {
		fmt.Printf("first update error: %v %v\n", base.first, loaded.first)
	}
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
	return nil
}
