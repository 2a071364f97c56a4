package events

import (
	"context"

	"smartcrm/internal/access"
	"smartcrm/internal/field"
	"smartcrm/internal/query"
	"smartcrm/internal/store"
)

// Offline events (spec core §9.4): changes wait in a queue per application and
// connector, one record per object holding its latest change, until the application
// takes them with event.offline.get — at once (clear) or reserved under a process id
// and cleared (or marked failed) once handled.

// OfflineFields is the catalog of offline records by wire name, for filters and order.
var OfflineFields = func() map[string]*query.Field {
	m := map[string]*query.Field{}
	for _, f := range store.OfflineQueryFields() {
		m[f.Name] = &f
	}
	return m
}()

// OfflineQuery is an event.offline.get or .list call.
type OfflineQuery struct {
	Where     query.Group
	Order     []query.Order
	Limit     int
	Offset    int
	Connector string
	// Get: Clear deletes what it returns; otherwise it is reserved under ProcessID (a
	// new one when empty). Error selects the records marked failed.
	Clear     bool
	ProcessID string
	Error     bool
}

// MaxOfflineLimit bounds one event.offline.get.
const MaxOfflineLimit = 1000

func (s *Service) offlineAllowed(actor access.Actor) error {
	if actor.AppID == 0 {
		return errNoApp
	}
	if !actor.IsAdmin {
		return errAccessDenied
	}
	return nil
}

func eq(name string, v any) query.Cond {
	return query.Cond{Field: OfflineFields[name], Op: field.OpEq, Value: v}
}

// partition is the caller's queue.
func partition(actor access.Actor, connector string, g query.Group) query.Group {
	return query.Group{Items: []query.Expr{eq("APP_ID", actor.AppID), eq("CONNECTOR", connector), g}}
}

// OfflineGet takes records from the caller's queue: the unreserved ones matching the
// query, in order. It returns the process id they are reserved under ("" when they
// were cleared).
func (s *Service) OfflineGet(ctx context.Context, actor access.Actor, q OfflineQuery) (string, []*store.OfflineEvent, error) {
	if err := s.offlineAllowed(actor); err != nil {
		return "", nil, err
	}
	errFlag := int64(0)
	if q.Error {
		errFlag = 1
	}
	where := partition(actor, q.Connector, query.Group{Items: []query.Expr{eq("PROCESS_ID", ""), eq("ERROR", errFlag), q.Where}})
	order := q.Order
	if len(order) == 0 {
		order = []query.Order{{Field: OfflineFields["TIMESTAMP_X"]}, {Field: OfflineFields["ID"]}}
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, MaxOfflineLimit)
	processID := ""
	if !q.Clear {
		processID = q.ProcessID
		if processID == "" {
			var err error
			if processID, err = randomHex(16); err != nil {
				return "", nil, err
			}
		}
	}
	var out []*store.OfflineEvent
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		list, err := tx.OfflineEvents(ctx, where, order, store.Page{Limit: limit}, true)
		if err != nil {
			return err
		}
		ids := make([]int64, len(list))
		for i, e := range list {
			ids[i] = e.ID
		}
		out = list
		if q.Clear {
			return tx.DeleteOfflineEvents(ctx, ids)
		}
		return tx.ReserveOfflineEvents(ctx, ids, processID, s.now().UnixMilli())
	})
	if err != nil {
		return "", nil, err
	}
	return processID, out, nil
}

// reserved lists the records of the caller's process, all or those with the ids or
// message ids given.
func (s *Service) reserved(ctx context.Context, tx *store.Tx, actor access.Actor, processID string, ids []int64, messageIDs []string) ([]int64, error) {
	list, err := tx.OfflineEvents(ctx, query.Group{Items: []query.Expr{eq("APP_ID", actor.AppID), eq("PROCESS_ID", processID)}},
		nil, store.Page{}, true)
	if err != nil {
		return nil, err
	}
	wantID := map[int64]bool{}
	for _, id := range ids {
		wantID[id] = true
	}
	wantMsg := map[string]bool{}
	for _, m := range messageIDs {
		wantMsg[m] = true
	}
	var out []int64
	for _, e := range list {
		if (len(ids) == 0 && len(messageIDs) == 0) || wantID[e.ID] || wantMsg[e.MessageID] {
			out = append(out, e.ID)
		}
	}
	return out, nil
}

// OfflineClear deletes the records a process reserved: all, or those named.
func (s *Service) OfflineClear(ctx context.Context, actor access.Actor, processID string, ids []int64, messageIDs []string) error {
	if err := s.offlineAllowed(actor); err != nil {
		return err
	}
	if processID == "" {
		return Missing("PROCESS_ID")
	}
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		list, err := s.reserved(ctx, tx, actor, processID, ids, messageIDs)
		if err != nil {
			return err
		}
		return tx.DeleteOfflineEvents(ctx, list)
	})
}

// OfflineError marks records a process reserved as failed and gives them back to the
// queue, where event.offline.get with error=1 finds them.
func (s *Service) OfflineError(ctx context.Context, actor access.Actor, processID string, messageIDs []string) error {
	if err := s.offlineAllowed(actor); err != nil {
		return err
	}
	if processID == "" {
		return Missing("PROCESS_ID")
	}
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		list, err := s.reserved(ctx, tx, actor, processID, nil, messageIDs)
		if err != nil {
			return err
		}
		return tx.MarkOfflineErrors(ctx, list)
	})
}

// OfflineList lists the caller's queue, reserved records included, with the total.
func (s *Service) OfflineList(ctx context.Context, actor access.Actor, q OfflineQuery) ([]*store.OfflineEvent, int, error) {
	if err := s.offlineAllowed(actor); err != nil {
		return nil, 0, err
	}
	where := partition(actor, q.Connector, q.Where)
	order := q.Order
	if len(order) == 0 {
		order = []query.Order{{Field: OfflineFields["ID"]}}
	}
	list, err := s.st.OfflineEvents(ctx, where, order, store.Page{Limit: 50, Offset: q.Offset}, false)
	if err != nil {
		return nil, 0, err
	}
	total, err := s.st.CountOfflineEvents(ctx, where)
	return list, total, err
}
