package automation

import (
	"testing"
	"time"
)

// The small parsers of the automation document: durations, working hours,
// placeholders. None panics, and what they accept is what they say.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"90s", "15m", "2h", "3d", "-1d", "+2h", "1h30m", "", "-", "d", "99999999d", "1e9h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseDuration(s)
		if err == nil && (d > 3660*24*time.Hour || d < -3660*24*time.Hour) {
			t.Fatalf("%q gave %s, beyond ten years", s, d)
		}
	})
}

func FuzzParseCalendar(f *testing.F) {
	for _, s := range []string{"mon-fri 09:00-18:00", "sat,sun 10:00-14:00 Europe/Berlin", "fri-mon 00:00-23:59 UTC", "x", "mon-fri 18:00-09:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCalendar(s)
		if err != nil {
			return
		}
		if c.End <= c.Start {
			t.Fatalf("%q: a working day that ends before it starts", s)
		}
		now := time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC)
		if next := c.Next(now); next.Before(now) {
			t.Fatalf("%q: next working time %s is before %s", s, next, now)
		}
	})
}

func FuzzPlaceholders(f *testing.F) {
	for _, s := range []string{"{{title}}", "{{ assignedBy.name }}", "{{parent2.title}} and {{url}}", "{{", "}}{{x", "{{a.b.c}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, name := range placeholders(s) {
			if name == "" {
				t.Fatalf("%q: an empty placeholder name", s)
			}
		}
	})
}
