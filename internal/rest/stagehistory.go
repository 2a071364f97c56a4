package rest

import (
	"strconv"

	"smartcrm/internal/history"
	"smartcrm/internal/jsonx"
)

// crm.stagehistory.list (automation spec §9.2), for smart processes.

func (s *Server) registerStageHistory() {
	s.register("crm.stagehistory.list", method{fn: (*Server).stageHistoryList, family: familyItem})
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

// stageMoveWire is a history row; select (UPPER_CASE names) keeps only those asked.
func stageMoveWire(m *history.Entry, sel map[string]bool) jsonx.Map {
	all := jsonx.Map{
		{K: "ID", V: m.ID}, {K: "TYPE_ID", V: m.Kind}, {K: "OWNER_ID", V: m.ItemID},
		{K: "CREATED_TIME", V: m.CreatedTime.Format(wireTime)}, {K: "CATEGORY_ID", V: m.CategoryID},
		{K: "STAGE_SEMANTIC_ID", V: string(m.Semantics)}, {K: "STAGE_ID", V: m.StageID},
	}
	if sel == nil {
		return all
	}
	out := jsonx.Map{}
	for _, kv := range all {
		if sel[kv.K] {
			out = append(out, kv)
		}
	}
	return out
}

func (s *Server) stageHistoryList(c *Call) (*Result, error) {
	etid, _, err := itemIDs(c, false)
	if err != nil {
		return nil, err
	}
	where, order, err := parseQuery(c, upperResolver(history.QueryFields()))
	if err != nil {
		return nil, err
	}
	start := startParam(c.Params)
	rows, total, err := s.history.StageMoves(c.Ctx, c.Actor, etid, history.Query{Where: where, Order: order,
		Offset: int(max(start, 0)), NoCount: start == -1})
	if err != nil {
		return nil, err
	}
	sel := selectNames(c.Params, false)
	if sel["*"] {
		sel = nil
	}
	out := make([]jsonx.Map, len(rows))
	for i, m := range rows {
		out[i] = stageMoveWire(m, sel)
	}
	t, next := pageInfo(start, len(out), total)
	return &Result{Result: jsonx.Map{{K: "items", V: out}}, Total: t, Next: next}, nil
}
