package rest_test

import (
	"context"
	"strings"
	"testing"

	"smartcrm/internal/apitest"
	"smartcrm/internal/change"
	"smartcrm/internal/crm"
	"smartcrm/internal/events"
	"smartcrm/internal/jsonx"
)

// outboxChanges reads every change the outbox holds, oldest first.
func outboxChanges(t *testing.T, s *apitest.Server) []*change.Change {
	t.Helper()
	rows, err := s.App.Store.OutboxAfter(context.Background(), 0, 1_000_000)
	if err != nil {
		t.Fatalf("outbox: %v", err)
	}
	out := make([]*change.Change, len(rows))
	for i, r := range rows {
		if out[i], err = change.Decode([]byte(r.Payload)); err != nil {
			t.Fatalf("outbox row %d: %v", r.ID, err)
		}
	}
	return out
}

// outboxEvents lists the events announced about an item, as they will be delivered:
// its own and those of the comments and activities about it.
func outboxEvents(t *testing.T, s *apitest.Server, etid, id int64) []string {
	t.Helper()
	item := crm.Owner{EntityTypeID: etid, ID: id}
	var out []string
	for _, c := range outboxChanges(t, s) {
		if (c.Owner != nil && *c.Owner == item) || (c.Entity == change.Item && c.EntityTypeID == etid && c.ID == id) {
			out = append(out, events.Name(c))
		}
	}
	return out
}

// taskEvents lists a task's events with their data, as they will be delivered.
func taskEvents(t *testing.T, s *apitest.Server, id int64) string {
	t.Helper()
	var parts []string
	for _, c := range outboxChanges(t, s) {
		if c.Entity == change.Task && c.ID == id {
			data, _ := jsonx.Append(nil, events.Data(c))
			parts = append(parts, events.Name(c)+" "+string(data))
		}
	}
	return strings.Join(parts, "; ")
}
