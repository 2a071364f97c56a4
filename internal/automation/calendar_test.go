package automation

import (
	"testing"
	"time"
)

// Robots delayed to working time run at the next working moment of the calendar:
// at once inside working hours, at the day's start before it, the next working day's
// start after it or on a day off.
func TestCalendarNextWorkingTime(t *testing.T) {
	cal, err := ParseCalendar("mon-fri 09:00-18:00 Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	at := func(day, hour, minute int) time.Time {
		return time.Date(2026, time.December, day, hour, minute, 0, 0, berlin)
	}
	for _, c := range []struct{ from, want time.Time }{
		{at(1, 10, 30), at(1, 10, 30)}, // Tuesday, working
		{at(1, 7, 0), at(1, 9, 0)},     // Tuesday, early
		{at(1, 18, 0), at(2, 9, 0)},    // Tuesday, closing time
		{at(4, 20, 0), at(7, 9, 0)},    // Friday evening → Monday
		{at(5, 12, 0), at(7, 9, 0)},    // Saturday
	} {
		if got := cal.Next(c.from); !got.Equal(c.want) {
			t.Errorf("after %s: %s, want %s", c.from, got, c.want)
		}
	}
	if _, err := ParseCalendar("sat-sun 10:00-14:00"); err != nil {
		t.Errorf("a weekend calendar: %v", err)
	}
	for _, bad := range []string{"", "mon-fri", "mon-fri 18:00-09:00", "mon-xyz 09:00-18:00", "mon-fri 9-18", "mon-fri 09:00-18:00 Mars/Olympus"} {
		if _, err := ParseCalendar(bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}
