package events

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"smartcrm/internal/access"
	"smartcrm/internal/crm"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/store"
)

// The dispatcher sends pending deliveries. Per handler, each object's events form a
// queue: only its head is under way, and the next goes once the head is recorded
// delivered (or given up after GiveUpAfter), so a handler sees an object's events in
// order. A failing head waits out its backoff without holding other objects, and each
// handler has its own PerHandler slots, so a slow or dead handler delays nobody else.
//
// The process that holds the delivery lease is the only one that sends, so the queues
// live in its memory; the rows are the durable truth it loads at start. Outcomes are
// written in batches (one transaction for many deliveries), which keeps the writes a
// delivery costs to its insert, one update and, after the retention, its deletion.
type dispatcher struct {
	s *Service

	mu      sync.Mutex
	running bool
	lanes   map[int64]*lane
	// queued counts the deliveries held in memory; past maxQueued new ones stay in
	// the database only (overflow) until the queues drain, then are read from there.
	queued    int
	overflow  bool
	maxLoaded int64 // the newest delivery id taken into memory

	outcomes chan outcome
	wg       sync.WaitGroup // sends and the recorder
	ctx      context.Context
}

// maxQueued bounds the deliveries kept in memory.
const maxQueued = 100000

type lane struct {
	id     int64
	queues map[string][]*store.EventDelivery
	// ready are the objects whose head may go now, in the order they became ready.
	ready []string
	// busy objects have their head under way, waiting for its outcome to be
	// recorded, or waiting out a backoff.
	busy     map[string]bool
	inFlight int
	// health, as recorded in the handler's row.
	failures, failingSince int64
	lastError              string
	healthDirty            bool
}

type outcome struct {
	d      *store.EventDelivery
	laneID int64
	ok     bool
	err    string
}

func newDispatcher(s *Service) *dispatcher {
	return &dispatcher{s: s, lanes: map[int64]*lane{}}
}

// start loads what is pending and starts recording outcomes.
func (d *dispatcher) start(ctx context.Context) error {
	d.mu.Lock()
	d.running, d.ctx = true, ctx
	d.lanes, d.queued, d.overflow, d.maxLoaded = map[int64]*lane{}, 0, false, 0
	d.outcomes = make(chan outcome, 1024)
	d.mu.Unlock()
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.record(ctx)
	}()
	if err := d.load(ctx); err != nil {
		return err
	}
	go d.refill(ctx)
	return nil
}

// stop waits for sends under way and their records.
func (d *dispatcher) stop() {
	d.mu.Lock()
	d.running = false
	d.mu.Unlock()
	d.wg.Wait()
}

// load reads pending deliveries after the newest in memory, while there is room.
func (d *dispatcher) load(ctx context.Context) error {
	for {
		d.mu.Lock()
		after, room := d.maxLoaded, maxQueued-d.queued
		d.mu.Unlock()
		if room <= 0 {
			d.mu.Lock()
			d.overflow = true
			d.mu.Unlock()
			return nil
		}
		page, err := d.s.st.PendingDeliveries(ctx, after, min(room, 1000))
		if err != nil {
			return err
		}
		d.mu.Lock()
		d.overflow = false
		d.mu.Unlock()
		d.add(page)
		if len(page) < min(room, 1000) {
			return nil
		}
	}
}

// refill reads from the database what overflowed memory, once the queues drained.
func (d *dispatcher) refill(ctx context.Context) {
	t := time.NewTicker(d.s.opts.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		d.mu.Lock()
		again := d.overflow && d.queued < maxQueued/2
		d.mu.Unlock()
		if again {
			if err := d.load(ctx); err != nil && ctx.Err() == nil {
				d.s.log.Warn("events: reading pending deliveries", "err", err)
			}
		}
	}
}

// add takes new pending deliveries, in id order, into their queues.
func (d *dispatcher) add(list []*store.EventDelivery) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.running {
		return
	}
	subs := d.s.subs.Load()
	touched := map[*lane]bool{}
	for _, del := range list {
		if del.ID <= d.maxLoaded {
			continue
		}
		if d.overflow || d.queued >= maxQueued {
			d.overflow = true
			break // the rest waits in the database; refill reads it
		}
		d.maxLoaded = del.ID
		l := d.lanes[del.HandlerID]
		if l == nil {
			if subs == nil || subs.byID[del.HandlerID] == nil {
				continue // unbound meanwhile: its rows went with it
			}
			h := subs.byID[del.HandlerID]
			l = &lane{id: del.HandlerID, queues: map[string][]*store.EventDelivery{}, busy: map[string]bool{},
				failures: h.Failures, failingSince: h.FailingSinceMS, lastError: h.LastError}
			d.lanes[del.HandlerID] = l
		}
		q := l.queues[del.ItemKey]
		l.queues[del.ItemKey] = append(q, del)
		d.queued++
		if len(q) == 0 && !l.busy[del.ItemKey] {
			l.ready = append(l.ready, del.ItemKey)
		}
		touched[l] = true
	}
	for l := range touched {
		d.pump(l)
	}
}

// forget drops the queues of unbound handlers.
func (d *dispatcher) forget(ids []int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, id := range ids {
		if l := d.lanes[id]; l != nil {
			for _, q := range l.queues {
				d.queued -= len(q)
			}
			delete(d.lanes, id)
		}
	}
}

// pump starts the ready heads of a lane while it has free slots. d.mu is held.
func (d *dispatcher) pump(l *lane) {
	now := d.s.now().UnixMilli()
	for l.inFlight < d.s.opts.PerHandler && len(l.ready) > 0 && d.running {
		key := l.ready[0]
		l.ready = l.ready[1:]
		q := l.queues[key]
		if len(q) == 0 || l.busy[key] {
			continue
		}
		head := q[0]
		l.busy[key] = true
		if wait := head.NextMS - now; wait > 0 {
			d.later(l, key, time.Duration(wait)*time.Millisecond)
			continue
		}
		l.inFlight++
		d.wg.Add(1)
		go d.send(l, head)
	}
}

// later makes an object ready again after its backoff.
func (d *dispatcher) later(l *lane, key string, wait time.Duration) {
	time.AfterFunc(wait, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.lanes[l.id] != l {
			return
		}
		l.busy[key] = false
		l.ready = append(l.ready, key)
		d.pump(l)
	})
}

// send makes one attempt and hands its outcome to the recorder.
func (d *dispatcher) send(l *lane, del *store.EventDelivery) {
	defer d.wg.Done()
	err := d.post(del)
	o := outcome{d: del, laneID: l.id, ok: err == nil}
	if err != nil {
		o.err = err.Error()
	}
	d.mu.Lock()
	l.inFlight--
	d.pump(l)
	d.mu.Unlock()
	d.outcomes <- o
}

// post sends one event to its handler: a form like Bitrix24's, with the delivery's
// Idempotency-Key, so a handler that sees a retry of what it already took can tell.
func (d *dispatcher) post(del *store.EventDelivery) error {
	subs := d.s.subs.Load()
	h := subs.byID[del.HandlerID]
	if h == nil {
		if fresh, err := d.s.current(d.ctx); err == nil {
			h = fresh.byID[del.HandlerID]
		}
		if h == nil {
			return fmt.Errorf("the subscription is gone")
		}
	}
	body, err := d.s.body(d.ctx, h, del)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), d.s.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.Handler, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Idempotency-Key", IdempotencyKey(del.ID))
	req.Header.Set("User-Agent", "smartcrm-events")
	resp, err := d.s.opts.HTTP.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the handler answered %d", resp.StatusCode)
	}
	return nil
}

// IdempotencyKey is the key every attempt of a delivery carries.
func IdempotencyKey(deliveryID int64) string {
	return "smartcrm-event-" + strconv.FormatInt(deliveryID, 10)
}

// body is the form of one event: event, event_handler_id, data, ts, auth.
func (s *Service) body(ctx context.Context, h *store.EventHandler, del *store.EventDelivery) (string, error) {
	auth, err := s.authText(ctx, h.AppID)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.Grow(len(del.Data) + len(auth) + 100)
	AppendForm(&b, "event", del.Event)
	AppendForm(&b, "event_handler_id", strconv.FormatInt(h.ID, 10))
	if del.Data != "" { // an empty data (ONOFFLINEEVENT's []) is no pair at all, as in PHP
		b.WriteByte('&')
		b.WriteString(del.Data)
	}
	AppendForm(&b, "ts", strconv.FormatInt(del.EventMS/1000, 10))
	b.WriteByte('&')
	b.WriteString(auth)
	return b.String(), nil
}

// authText is an application's auth block as form text, kept: every event of the
// application carries the same.
func (s *Service) authText(ctx context.Context, appID int64) (string, error) {
	s.mu.Lock()
	text, ok := s.authTexts[appID]
	s.mu.Unlock()
	if ok {
		return text, nil
	}
	auth, err := s.authMap(ctx, appID)
	if err != nil {
		return "", err
	}
	text = Form(jsonx.Map{{K: "auth", V: auth}})
	s.mu.Lock()
	s.authTexts[appID] = text
	s.mu.Unlock()
	return text, nil
}

// authMap is the auth block of an application's calls, as outgoing-webhook
// subscriptions get it in Bitrix24 (spec core §9.1).
func (s *Service) authMap(ctx context.Context, appID int64) (jsonx.Map, error) {
	domain, endpoint, member, token, err := s.Auth(ctx, appID)
	if err != nil {
		return nil, err
	}
	return jsonx.Map{{K: "domain", V: domain}, {K: "client_endpoint", V: endpoint}, {K: "server_endpoint", V: endpoint},
		{K: "member_id", V: member}, {K: "application_token", V: token}}, nil
}

// AuthForm is the auth block of an application's calls, for robots' handlers.
func (s *Service) AuthForm(ctx context.Context, appID int64) (jsonx.Map, error) {
	return s.authMap(ctx, appID)
}

// record writes outcomes in batches and moves the queues on once they are written.
func (d *dispatcher) record(ctx context.Context) {
	var batch []outcome
	flush := func() {
		if len(batch) == 0 {
			return
		}
		d.commit(batch)
		batch = batch[:0]
	}
	for {
		d.mu.Lock()
		idle := !d.running && len(d.outcomes) == 0
		d.mu.Unlock()
		if idle && d.sendsDone() {
			flush()
			return
		}
		select {
		case o := <-d.outcomes:
			batch = append(batch, o)
			// Take what else is there, up to a batch, without waiting.
		more:
			for len(batch) < 500 {
				select {
				case o := <-d.outcomes:
					batch = append(batch, o)
				default:
					break more
				}
			}
			flush()
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			// Sends under way still report; record them before leaving.
			d.mu.Lock()
			d.running = false
			d.mu.Unlock()
		}
	}
}

// sendsDone reports whether no send is under way: only the recorder is left in wg.
func (d *dispatcher) sendsDone() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, l := range d.lanes {
		if l.inFlight > 0 {
			return false
		}
	}
	return true
}

// commit records a batch of outcomes in one transaction, then moves each object's
// queue on: the next event of an object goes once the one before is recorded.
func (d *dispatcher) commit(batch []outcome) {
	now := d.s.now()
	nowMS := now.UnixMilli()
	d.mu.Lock()
	type health struct {
		id, failures, since int64
		last                string
	}
	var healths []health
	for _, o := range batch {
		del := o.d
		del.Attempts++
		l := d.lanes[o.laneID]
		switch {
		case o.ok:
			del.Status, del.FinishedMS, del.LastError = store.DeliveryDelivered, nowMS, ""
			if l != nil && l.failures > 0 {
				l.failures, l.failingSince, l.lastError, l.healthDirty = 0, 0, "", true
			}
		default:
			del.LastError = o.err
			if nowMS-del.CreatedMS >= d.s.opts.GiveUpAfter.Milliseconds() {
				del.Status, del.FinishedMS = store.DeliveryFailed, nowMS
			} else {
				del.NextMS = nowMS + d.s.backoff(del.Attempts).Milliseconds()
			}
			if l != nil {
				if l.failures == 0 {
					l.failingSince = nowMS
				}
				l.failures++
				l.lastError, l.healthDirty = o.err, true
			}
		}
	}
	for _, l := range d.lanes {
		if l.healthDirty {
			healths = append(healths, health{l.id, l.failures, l.failingSince, l.lastError})
			l.healthDirty = false
		}
	}
	d.mu.Unlock()
	err := d.s.crm.Run(context.Background(), access.System, func(u *crm.Unit) error {
		var delivered []int64
		for _, o := range batch {
			if o.d.Status == store.DeliveryDelivered {
				delivered = append(delivered, o.d.ID)
				continue
			}
			if err := u.Tx().RecordDelivery(u.Ctx(), o.d); err != nil {
				return err
			}
		}
		if err := u.Tx().MarkDelivered(u.Ctx(), delivered, nowMS); err != nil {
			return err
		}
		for _, h := range healths {
			if err := u.Tx().SetHandlerHealth(u.Ctx(), h.id, h.failures, h.since, h.last); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		// The rows stay pending: the attempt is made again (same key) after a
		// backoff, and after a restart from the rows.
		d.s.log.Error("events: recording deliveries", "err", err)
		for _, o := range batch {
			if o.ok {
				o.d.Status, o.d.FinishedMS = store.DeliveryPending, 0
				o.d.NextMS = nowMS + d.s.opts.RetryBase.Milliseconds()
			}
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, o := range batch {
		l := d.lanes[o.laneID]
		if l == nil {
			continue
		}
		key := o.d.ItemKey
		if o.d.Status != store.DeliveryPending {
			q := l.queues[key]
			if len(q) > 0 && q[0] == o.d {
				q = q[1:]
				d.queued--
			}
			if len(q) == 0 {
				delete(l.queues, key)
			} else {
				l.queues[key] = q
			}
		}
		l.busy[key] = false
		if len(l.queues[key]) > 0 {
			l.ready = append(l.ready, key)
		}
		d.pump(l)
	}
}

// backoff is the wait after the attempt-th failed attempt.
func (s *Service) backoff(attempt int64) time.Duration {
	wait := s.opts.RetryBase
	for i := int64(1); i < attempt && wait < s.opts.MaxRetryDelay; i++ {
		wait *= 2
	}
	return min(wait, s.opts.MaxRetryDelay)
}
