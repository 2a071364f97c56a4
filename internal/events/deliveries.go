package events

import (
	"context"
	"net/http"

	"smartcrm/internal/access"
	"smartcrm/internal/store"
)

// DeliveryQuery selects deliveries for smartcrm.events.deliveries: of one handler,
// in one status, below a cursor (the id of the last delivery of the previous page).
type DeliveryQuery struct {
	HandlerID int64
	Status    string
	Before    int64
}

// DeliveriesPage is how many deliveries one page holds.
const DeliveriesPage = 50

// Deliveries lists deliveries newest first, with the handlers they went to and the
// cursor of the next page (0 at the end). Administrators see every handler's; others
// their application's.
func (s *Service) Deliveries(ctx context.Context, actor access.Actor, q DeliveryQuery) ([]*store.EventDelivery, map[int64]*store.EventHandler, int64, error) {
	switch q.Status {
	case "", store.DeliveryPending, store.DeliveryDelivered, store.DeliveryFailed:
	default:
		return nil, nil, 0, refuse(http.StatusBadRequest, "INVALID_ARG_VALUE", "status is pending, delivered or failed")
	}
	s.changed() // failures are counted as deliveries go: read them fresh
	subs, err := s.current(ctx)
	if err != nil {
		return nil, nil, 0, err
	}
	mine := func(h *store.EventHandler) bool { return h != nil && (actor.IsAdmin || h.AppID == actor.AppID) }
	if q.HandlerID != 0 && !mine(subs.byID[q.HandlerID]) {
		return nil, nil, 0, refuse(http.StatusBadRequest, "NOT_FOUND", "There is no handler %d", q.HandlerID)
	}
	var out []*store.EventDelivery
	before := q.Before
	for len(out) < DeliveriesPage {
		page, err := s.st.Deliveries(ctx, q.HandlerID, q.Status, before, DeliveriesPage)
		if err != nil {
			return nil, nil, 0, err
		}
		for _, d := range page {
			if mine(subs.byID[d.HandlerID]) && len(out) < DeliveriesPage {
				out = append(out, d)
			}
		}
		if len(page) < DeliveriesPage {
			before = 0
			break
		}
		before = page[len(page)-1].ID
	}
	var next int64
	if len(out) == DeliveriesPage && before != 0 {
		next = out[len(out)-1].ID
	}
	handlers := map[int64]*store.EventHandler{}
	for _, d := range out {
		handlers[d.HandlerID] = subs.byID[d.HandlerID]
	}
	return out, handlers, next, nil
}
