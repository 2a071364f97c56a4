package field

import "time"

// FormatWireTime is t.In(time.Local).Format(WireTime) without interpreting the layout:
// a list page formats every date-time cell it shows, and the general formatter was a
// twentieth of a page's CPU. Years outside 0–9999 take the general path.
func FormatWireTime(t time.Time) string { return formatInOwnZone(t.In(time.Local)) }

// formatInOwnZone is t.Format(WireTime).
func formatInOwnZone(t time.Time) string {
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.Format(WireTime)
	}
	hour, minute, sec := t.Clock()
	_, offset := t.Zone()
	offset /= 60 // the layout shows hours and minutes of the offset, seconds dropped
	sign := byte('+')
	if offset < 0 {
		sign, offset = '-', -offset
	}
	var b [25]byte
	put4(b[0:], year)
	b[4] = '-'
	put2(b[5:], int(month))
	b[7] = '-'
	put2(b[8:], day)
	b[10] = 'T'
	put2(b[11:], hour)
	b[13] = ':'
	put2(b[14:], minute)
	b[16] = ':'
	put2(b[17:], sec)
	b[19] = sign
	put2(b[20:], offset/60)
	b[22] = ':'
	put2(b[23:], offset%60)
	return string(b[:])
}

func put2(b []byte, n int) { b[0], b[1] = byte('0'+n/10), byte('0'+n%10) }

func put4(b []byte, n int) {
	put2(b, n/100)
	put2(b[2:], n%100)
}
