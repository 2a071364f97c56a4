package automation

import (
	"fmt"
	"strings"
	"time"
)

// Calendar is when people work, for robots delayed to working hours: the working
// days of the week, the hours of a working day, and the zone they are in.
type Calendar struct {
	Days       [7]bool // by time.Weekday
	Start, End time.Duration
	Zone       *time.Location
}

// DefaultCalendar is Monday to Friday, 09:00 to 18:00, in the server's zone.
var DefaultCalendar = Calendar{
	Days:  [7]bool{time.Monday: true, time.Tuesday: true, time.Wednesday: true, time.Thursday: true, time.Friday: true},
	Start: 9 * time.Hour, End: 18 * time.Hour, Zone: time.Local,
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// ParseCalendar reads "mon-fri 09:00-18:00 Europe/Berlin": days as a range or a
// comma list (mon,wed,fri), hours, and an optional IANA zone (the server's otherwise).
func ParseCalendar(s string) (Calendar, error) {
	parts := strings.Fields(s)
	if len(parts) < 2 || len(parts) > 3 {
		return Calendar{}, fmt.Errorf("working hours %q are not like \"mon-fri 09:00-18:00 Europe/Berlin\"", s)
	}
	var c Calendar
	for _, item := range strings.Split(strings.ToLower(parts[0]), ",") {
		from, to, isRange := strings.Cut(item, "-")
		a, okA := dayNames[from]
		b, okB := dayNames[to]
		if !isRange {
			b, okB = a, okA
		}
		if !okA || !okB {
			return Calendar{}, fmt.Errorf("working days %q are not like mon-fri or mon,wed,fri", parts[0])
		}
		for d := a; ; d = (d + 1) % 7 {
			c.Days[d] = true
			if d == b {
				break
			}
		}
	}
	from, to, ok := strings.Cut(parts[1], "-")
	start, err1 := clockTime(from)
	end, err2 := clockTime(to)
	if !ok || err1 != nil || err2 != nil || end <= start {
		return Calendar{}, fmt.Errorf("working hours %q are not like 09:00-18:00", parts[1])
	}
	c.Start, c.End, c.Zone = start, end, time.Local
	if len(parts) == 3 {
		z, err := time.LoadLocation(parts[2])
		if err != nil {
			return Calendar{}, fmt.Errorf("time zone %q: %w", parts[2], err)
		}
		c.Zone = z
	}
	return c, nil
}

func clockTime(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, err
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// Next is t when it falls in working time, otherwise the start of the next working
// period.
func (c Calendar) Next(t time.Time) time.Time {
	if c.Zone == nil {
		c = DefaultCalendar
	}
	local := t.In(c.Zone)
	for i := 0; i < 8; i++ {
		day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, c.Zone).AddDate(0, 0, i)
		if !c.Days[day.Weekday()] {
			continue
		}
		start, end := day.Add(c.Start), day.Add(c.End)
		switch {
		case i == 0 && !local.Before(start) && local.Before(end):
			return t
		case local.Before(start):
			return start
		}
	}
	return t // no working day at all: do not hold robots forever
}
