package history

import (
	"context"
	"time"

	"smartcrm/internal/access"
	"smartcrm/internal/crm"
	"smartcrm/internal/store"
)

// Funnel analytics, from the counters (items per stage now) and the stage history the
// write path keeps (everything about the past): no scan of the items.

// FunnelReport is what a funnel's analytics page shows.
type FunnelReport struct {
	Category *crm.Category
	// Now are the funnel's stages with their items and amounts, from the counters.
	Now []StageStat
	// Entered counts the items that were ever in the funnel; Succeeded and Failed those
	// that reached a success or a failure stage (and may have left it since).
	Entered, Succeeded, Failed int64
	// Time is the average time items spent in each stage before they left it, by the
	// stage's STATUS_ID, with how many stays it averages.
	Time map[string]StageTime
	// Weeks are the last weeks, oldest first: items created and closed (reached a
	// success or failure stage) in each.
	Weeks []WeekStat
}

// StageTime is the average stay in a stage.
type StageTime struct {
	Average time.Duration
	Stays   int64
}

// WeekStat counts what happened in one week (Monday to Sunday).
type WeekStat struct {
	Start           time.Time
	Created, Closed int64
}

// Conversion is the share of the items that entered the funnel and reached success.
func (r *FunnelReport) Conversion() float64 { return share(r.Succeeded, r.Entered) }

// FailureShare is the share of the items that entered the funnel and failed.
func (r *FunnelReport) FailureShare() float64 { return share(r.Failed, r.Entered) }

func share(n, of int64) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

// FunnelReport computes a funnel's analytics over its whole history, with weekly
// figures for the last `weeks` weeks. Funnel 0 is the type's default one.
func (s *Service) FunnelReport(ctx context.Context, actor access.Actor, etid, categoryID int64, weeks int) (*FunnelReport, error) {
	t, err := s.crm.ItemType(ctx, actor, etid)
	if err != nil {
		return nil, err
	}
	if !t.HasStages() {
		return nil, crm.NewError(crm.ErrNotSupported, "%s has no stages", t.Title)
	}
	if categoryID == 0 && t.Category(0) == nil {
		categoryID = t.DefaultCategory().ID
	}
	cat := t.Category(categoryID)
	if cat == nil {
		return nil, crm.NewError(crm.ErrItemNotFound, "Pipeline %d not found", categoryID)
	}
	now, err := s.StageStats(ctx, actor, etid, categoryID)
	if err != nil {
		return nil, err
	}
	r := &FunnelReport{Category: cat, Now: now, Time: map[string]StageTime{}}
	if weeks <= 0 {
		weeks = 12
	}
	today := s.crm.Now()
	monday := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.Local)
	monday = monday.AddDate(0, 0, -((int(monday.Weekday()) + 6) % 7))
	first := monday.AddDate(0, 0, -7*(weeks-1))
	r.Weeks = make([]WeekStat, weeks)
	for i := range r.Weeks {
		r.Weeks[i].Start = first.AddDate(0, 0, 7*i)
	}
	week := func(at time.Time) *WeekStat {
		if at.Before(first) {
			return nil
		}
		i := int(at.Sub(first) / (7 * 24 * time.Hour))
		if i >= weeks {
			return nil
		}
		return &r.Weeks[i]
	}
	type total struct {
		sum   time.Duration
		stays int64
	}
	totals := map[string]*total{}
	var cur int64 = -1
	var prev store.FunnelMove
	var succeeded, failed bool
	flush := func() {
		if cur < 0 {
			return
		}
		r.Entered++
		if succeeded {
			r.Succeeded++
		}
		if failed {
			r.Failed++
		}
	}
	err = s.crm.Store().EachFunnelMove(ctx, etid, categoryID, func(m store.FunnelMove) error {
		if m.ItemID != cur {
			flush()
			cur, succeeded, failed = m.ItemID, false, false
		} else if m.Time.After(prev.Time) || m.Time.Equal(prev.Time) {
			t := totals[prev.StageID]
			if t == nil {
				t = &total{}
				totals[prev.StageID] = t
			}
			t.sum += m.Time.Sub(prev.Time)
			t.stays++
		}
		switch crm.Semantics(m.Semantic) {
		case crm.Success:
			succeeded = true
		case crm.Failure:
			failed = true
		}
		if m.TypeID == crm.HistoryCreated {
			if w := week(m.Time); w != nil {
				w.Created++
			}
		}
		if m.TypeID == crm.HistoryFinal || m.TypeID == crm.HistoryCreated && crm.Semantics(m.Semantic) != crm.InProgress && m.Semantic != "" {
			if w := week(m.Time); w != nil {
				w.Closed++
			}
		}
		prev = m
		return nil
	})
	if err != nil {
		return nil, err
	}
	flush()
	for id, t := range totals {
		r.Time[id] = StageTime{Average: t.sum / time.Duration(t.stays), Stays: t.stays}
	}
	return r, nil
}
