package web

import (
	"fmt"
	"net/http"

	"smartcrm/internal/crm"
	"smartcrm/internal/history"
)

// Analytics of a funnel, drawn as SVG bar charts by the server (no script), each with
// a table of its numbers beside it: items per stage now, conversion to success and
// failure share, average time in each stage, created and closed per week.

type chart struct {
	Title  string
	Label  string // what the chart shows, for screen readers
	Width  int
	Height int
	Bars   []bar
}

type bar struct {
	X, Y, W, H int
	Color      string
	Label      string
	Value      string
	LabelX     int
	LabelY     int
}

type analyticsPage struct {
	Type       *crm.Type
	Category   *crm.Category
	Categories []linkView
	Report     *history.FunnelReport
	Stages     chart
	Outcome    chart
	Time       chart
	Weeks      chart
	StageRows  []stageRow
	WeekRows   []history.WeekStat
	KanbanURL  string
}

type stageRow struct {
	Name, Amount, AvgTime string
	Items, Stays          int64
}

// barChart lays out vertical bars for values, scaled to the largest.
func barChart(title, label string, names []string, values []float64, texts []string, colors []string) chart {
	const height, barW, gap, top, bottom = 180, 48, 16, 20, 40
	c := chart{Title: title, Label: label, Height: height + top + bottom, Width: max(len(values)*(barW+gap)+gap, 200)}
	maxV := 0.0
	for _, v := range values {
		maxV = max(maxV, v)
	}
	for i, v := range values {
		h := 0
		if maxV > 0 {
			h = int(v / maxV * height)
		}
		x := gap + i*(barW+gap)
		color := "#3b82f6"
		if i < len(colors) && colors[i] != "" {
			color = colors[i]
		}
		c.Bars = append(c.Bars, bar{X: x, Y: top + height - h, W: barW, H: h, Color: color, Label: names[i], Value: texts[i],
			LabelX: x + barW/2, LabelY: top + height + 16})
	}
	return c
}

func (s *Server) analyticsRoute(q *request, tg target) {
	t := tg.t
	if !t.HasStages() {
		q.notFound()
		return
	}
	cat, rest, ok := categoryOf(t, tg, 1)
	if !ok || len(rest) > 0 {
		q.notFound()
		return
	}
	if !q.method(http.MethodGet) {
		return
	}
	r, err := s.history.FunnelReport(q.ctx, q.actor, t.EntityTypeID, cat, 12)
	if err != nil {
		q.fail(err)
		return
	}
	p := analyticsPage{Type: t, Category: r.Category, Report: r, KanbanURL: KanbanPath(t.EntityTypeID, cat)}
	for _, c := range t.Categories() {
		p.Categories = append(p.Categories, linkView{Text: c.Name, URL: AnalyticsPath(t.EntityTypeID, c.ID)})
	}
	var names, texts, colors, tnames, ttexts []string
	var vals, tvals []float64
	for _, st := range r.Now {
		names = append(names, st.Stage.Name)
		vals = append(vals, float64(st.Items))
		texts = append(texts, itoa(st.Items))
		colors = append(colors, safeColor(st.Stage.Color))
		avg := r.Time[st.Stage.StatusID]
		p.StageRows = append(p.StageRows, stageRow{Name: st.Stage.Name, Items: st.Items, Amount: formatMoney(st.Amount),
			AvgTime: formatDuration(avg.Average), Stays: avg.Stays})
		if st.Stage.Semantics == crm.InProgress {
			tnames = append(tnames, st.Stage.Name)
			tvals = append(tvals, avg.Average.Hours())
			ttexts = append(ttexts, formatDuration(avg.Average))
		}
	}
	p.Stages = barChart("Items per stage now", "Bar chart of the items in each stage", names, vals, texts, colors)
	p.Outcome = barChart("Outcome of the items that entered the funnel", "Bar chart: entered, reached success, failed",
		[]string{"Entered", "Success", "Failure"}, []float64{float64(r.Entered), float64(r.Succeeded), float64(r.Failed)},
		[]string{itoa(r.Entered), fmt.Sprintf("%d (%.1f%%)", r.Succeeded, r.Conversion()*100), fmt.Sprintf("%d (%.1f%%)", r.Failed, r.FailureShare()*100)},
		[]string{"#64748b", "#16a34a", "#dc2626"})
	p.Time = barChart("Average time in each stage", "Bar chart of the average time items spent in each stage", tnames, tvals, ttexts, nil)
	var wn, wt []string
	var wv []float64
	for _, w := range r.Weeks {
		wn = append(wn, w.Start.Format("01-02"))
		wv = append(wv, float64(w.Created))
		wt = append(wt, fmt.Sprintf("%d/%d", w.Created, w.Closed))
	}
	p.Weeks = barChart("Created per week (created/closed)", "Bar chart of the items created each week", wn, wv, wt, nil)
	p.WeekRows = r.Weeks
	q.render(http.StatusOK, "analytics", "Analytics: "+t.Title+": "+r.Category.Name, t.EntityTypeID, p)
}

// safeColor passes a stage colour written as #rgb or #rrggbb, else a neutral one.
func safeColor(c string) string {
	if (len(c) == 4 || len(c) == 7) && c[0] == '#' {
		for _, r := range c[1:] {
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
				return "#94a3b8"
			}
		}
		return c
	}
	return "#94a3b8"
}
