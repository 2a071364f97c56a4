package events

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"strconv"

	"smartcrm/internal/access"
	"smartcrm/internal/change"
	"smartcrm/internal/crm"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/outbox"
	"smartcrm/internal/store"
)

// fanout reads the outbox and, in the unit that moves its cursor, turns each change
// into one delivery per online subscription of its events and one record per offline
// queue. A change that rolled back never reaches the outbox, so nothing goes out for
// it; one that committed is fanned out exactly once, whatever crashes in between.
type fanout struct{ s *Service }

var _ outbox.BatchHandler = (*fanout)(nil)

func (f *fanout) Prepare(ctx context.Context) error {
	_, err := f.s.current(ctx)
	return err
}

func (f *fanout) Wants(c *change.Change) bool {
	subs := f.s.subs.Load()
	if subs == nil {
		return true
	}
	for _, n := range Names(c) {
		if len(subs.byEvent[n]) > 0 {
			return true
		}
	}
	return false
}

// WantsHeader: an event's names depend only on the entity, kind and type.
func (f *fanout) WantsHeader(h *change.Change) bool { return f.Wants(h) }

func (f *fanout) Actor(*change.Change) access.Actor { return access.System }

func (f *fanout) Handle(u *crm.Unit, c *change.Change) error {
	return f.HandleBatch(u, []outbox.Entry{{Change: c}})
}

func (f *fanout) Failed(_ *crm.Unit, c *change.Change, err error) error {
	f.s.log.Warn("events: a change could not be fanned out", "entity", c.Entity, "id", c.ID, "err", err)
	return nil
}

func (f *fanout) HandleBatch(u *crm.Unit, entries []outbox.Entry) error {
	subs := f.s.subs.Load()
	if subs == nil {
		return nil
	}
	now := f.s.now().UnixMilli()
	var fresh []*store.EventDelivery
	queued := map[int64]int64{} // application → the last outbox row it queued offline
	for _, e := range entries {
		c := e.Change
		var data jsonx.Map
		var form string
		for _, name := range Names(c) {
			for _, h := range subs.byEvent[name] {
				if data == nil {
					data = Data(c)
					form = Form(jsonx.Map{{K: "data", V: data}})
				}
				if h.Offline {
					recorded, err := f.record(u, h, c, name, data)
					if err != nil {
						return err
					}
					if recorded {
						queued[h.AppID] = e.ID
					}
					continue
				}
				fresh = append(fresh, &store.EventDelivery{HandlerID: h.ID, OutboxID: e.ID, ItemKey: ObjectKey(c), Event: name, Data: form,
					EventMS: c.Time.UnixMilli(), Status: store.DeliveryPending, NextMS: now, CreatedMS: now})
			}
		}
	}
	notices := f.notices(subs, queued, now)
	fresh = append(fresh, notices...)
	if err := u.Tx().InsertDeliveries(u.Ctx(), fresh); err != nil {
		return err
	}
	if len(fresh) > 0 {
		u.AfterCommit(func() {
			f.s.noticed(notices)
			f.s.d.add(fresh)
		})
	}
	return nil
}

// notices are the ONOFFLINEEVENT deliveries of a batch: one per online handler of an
// application whose offline queue got entries, unless one is already on its way, and
// no sooner than the handler's minTimeout after the previous one — then it waits for
// that moment, so entries are never left unannounced.
func (f *fanout) notices(subs *subscriptions, queued map[int64]int64, now int64) []*store.EventDelivery {
	var out []*store.EventDelivery
	for _, h := range subs.byEvent[OfflineNotice] {
		outboxID, ok := queued[h.AppID]
		if !ok || h.Offline {
			continue
		}
		last := f.s.lastNotice(h.ID)
		if last >= now {
			continue // one is due from now on: it tells about these entries too
		}
		at := max(now, last+h.MinTimeoutS*1000)
		out = append(out, &store.EventDelivery{HandlerID: h.ID, OutboxID: outboxID, ItemKey: "offline", Event: OfflineNotice,
			EventMS: at, Status: store.DeliveryPending, NextMS: at, CreatedMS: now})
	}
	return out
}

// record puts a change in an offline queue, unless the change came from the
// connector that reads the queue (loop avoidance).
func (f *fanout) record(u *crm.Unit, h *store.EventHandler, c *change.Change, name string, data jsonx.Map) (bool, error) {
	if c.Connector != "" && c.Connector == h.Connector {
		return false, nil
	}
	body, err := jsonx.Append(nil, data)
	if err != nil {
		return false, err
	}
	extra, err := json.Marshal(map[string]string{"user_id": strconv.FormatInt(c.UserID, 10)})
	if err != nil {
		return false, err
	}
	sum := md5.Sum([]byte(ObjectKey(c)))
	err = u.Tx().PutOfflineEvent(u.Ctx(), &store.OfflineEvent{AppID: h.AppID, Connector: h.Connector, MessageID: hex.EncodeToString(sum[:]),
		Event: name, Data: string(body), Additional: string(extra), Timestamp: c.Time})
	return err == nil, err
}
