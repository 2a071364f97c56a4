package main

import (
	"context"
	"encoding/json"
	"fmt"
)

// addFields is the body of a crm.item.add call.
type addFields struct {
	Title        string  `json:"title"`
	StageID      string  `json:"stageId"`
	AssignedByID int     `json:"assignedById"`
	Opportunity  float64 `json:"opportunity"`
}

type addParams struct {
	EntityTypeID int64     `json:"entityTypeId"`
	Fields       addFields `json:"fields"`
}

// benchAdds times cfg.adds crm.item.add calls at cfg.concurrency on a fresh type.
func benchAdds(ctx context.Context, cl *client, srv *serverProc, cfg config) (summary, error) {
	etid, err := cl.createType(ctx, "Bench adds")
	if err != nil {
		return summary{}, err
	}
	// One untimed add without a stage learns the default funnel's id (and warms the
	// server's type cache), so the timed adds can name their stages.
	var first addedItem
	if _, err := cl.call(ctx, "crm.item.add", map[string]any{"entityTypeId": etid,
		"fields": map[string]any{"title": "warm-up"}}, &first); err != nil {
		return summary{}, err
	}
	cat := first.Item.CategoryID

	// Bodies are built before the clock starts, so the timed loop spends no client CPU
	// on JSON encoding (on a 2-core machine the client competes with the server).
	bodies := make([][]byte, cfg.adds)
	for i := range bodies {
		r := genRow(i)
		bodies[i], err = json.Marshal(addParams{EntityTypeID: etid, Fields: addFields{
			Title: r.Title, StageID: stageID(etid, cat, r.Stage), AssignedByID: 1, Opportunity: r.Opportunity,
		}})
		if err != nil {
			return summary{}, err
		}
	}
	cpu := startCPU(srv.pid)
	res := runConcurrent(ctx, cfg.adds, cfg.concurrency, func(ctx context.Context, i int) error {
		_, err := cl.callRaw(ctx, "crm.item.add", bodies[i])
		return err
	})
	s := summarize(res, cfg.adds-res.errors)
	s.CPU = cpu.done()
	if ctx.Err() != nil {
		return s, ctx.Err()
	}
	if res.errors > 0 {
		fmt.Printf("WARNING: %d of %d adds failed; first: %v\n", res.errors, cfg.adds, res.firstErr)
	}
	return s, nil
}
