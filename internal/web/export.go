package web

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"smartcrm/internal/crm"
)

// Export of the filtered list, in the list's columns and order: CSV streamed page by
// page (any size, memory stays flat), XLSX through excelize's stream writer (a sheet
// holds at most 1,048,575 rows besides the header).

const xlsxMaxRows = 1_048_575

// exportRows walks every page of the filtered list and gives each row's cells as text.
func (s *Server) exportRows(q *request, t *crm.Type, cat int64, header func([]string) error, row func([]string) error, flush func()) error {
	where, _, o, err := q.listQuery(t, cat)
	if err != nil {
		return err
	}
	cols := s.columns(q, t)
	titles := make([]string, len(cols))
	for i, f := range cols {
		titles[i] = f.Title
	}
	if err := header(titles); err != nil {
		return err
	}
	var cur *cursor
	for {
		items, next, err := q.page(t, where, o, cur, cols, crm.PageSize)
		if err != nil {
			return err
		}
		refs := map[int64][]int64{}
		collectRefs(refs, cols, items)
		tt := q.loadTitles(refs)
		for _, it := range items {
			cells := make([]string, len(cols))
			for i, f := range cols {
				v := q.display(t, f, it.Get(f.Name), tt)
				if v.Empty {
					continue
				}
				parts := []string{}
				if v.Text != "" {
					parts = append(parts, v.Text)
				}
				for _, l := range v.Links {
					parts = append(parts, l.Text)
				}
				cells[i] = strings.Join(parts, ", ")
			}
			if err := row(cells); err != nil {
				return err
			}
		}
		flush()
		if next == nil || q.ctx.Err() != nil {
			return q.ctx.Err()
		}
		cur = next
	}
}

func exportName(t *crm.Type, ext string) string {
	return fmt.Sprintf("%s-%s.%s", strings.ToLower(t.EntityName()), time.Now().Format("20060102-1504"), ext)
}

func (s *Server) exportCSV(q *request, t *crm.Type, cat int64) {
	w := q.w
	cw := csv.NewWriter(w)
	started := false
	err := s.exportRows(q, t, cat, func(h []string) error {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+exportName(t, "csv")+`"`)
		started = true
		_, _ = w.Write([]byte("\xEF\xBB\xBF")) // a BOM, so spreadsheet programs read UTF-8
		return cw.Write(h)
	}, func(r []string) error {
		for i, c := range r {
			r[i] = csvSafe(c)
		}
		return cw.Write(r)
	}, func() {
		cw.Flush()
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	})
	if err != nil && !started {
		q.fail(err)
		return
	}
	if err != nil {
		s.log.Warn("CSV export stopped", "err", err)
	}
	cw.Flush()
}

// csvSafe keeps a cell from being read as a formula by spreadsheet programs (a value
// someone typed as "=HYPERLINK(…)").
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		if s[0] == '-' && len(s) > 1 && (s[1] >= '0' && s[1] <= '9' || s[1] == '.') {
			return s // a negative number
		}
		return "'" + s
	}
	return s
}

func (s *Server) exportXLSX(q *request, t *crm.Type, cat int64) {
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		q.fail(err)
		return
	}
	n := 1
	toRow := func(cells []string) []any {
		out := make([]any, len(cells))
		for i, c := range cells {
			out[i] = c
		}
		return out
	}
	err = s.exportRows(q, t, cat, func(h []string) error {
		cell, _ := excelize.CoordinatesToCellName(1, n)
		n++
		return sw.SetRow(cell, toRow(h))
	}, func(r []string) error {
		if n > xlsxMaxRows {
			return fmt.Errorf("more than %d rows: export CSV instead", xlsxMaxRows)
		}
		cell, _ := excelize.CoordinatesToCellName(1, n)
		n++
		return sw.SetRow(cell, toRow(r))
	}, func() {})
	if err == nil {
		err = sw.Flush()
	}
	if err != nil {
		q.fail(err)
		return
	}
	q.w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	q.w.Header().Set("Content-Disposition", `attachment; filename="`+exportName(t, "xlsx")+`"`)
	if err := f.Write(q.w); err != nil {
		s.log.Warn("XLSX export", "err", err)
	}
}
