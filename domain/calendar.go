package domain

import (
	"fmt"
	"time"
)

// DefaultZone is the billing zone when none is configured: a fixed UTC+08:00,
// never the host's local zone.
var defaultZone = time.FixedZone("UTC+08:00", 8*60*60)

// DefaultZone returns the default billing zone, a fixed UTC+08:00.
func DefaultZone() *time.Location { return defaultZone }

// Date is a calendar day in the billing zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// BillMonth is a calendar month of the billing zone (R30).
type BillMonth struct {
	Year  int
	Month time.Month
}

func (m BillMonth) String() string { return fmt.Sprintf("%04d-%02d", m.Year, int(m.Month)) }

// Before reports whether m comes before o.
func (m BillMonth) Before(o BillMonth) bool {
	return m.Year < o.Year || (m.Year == o.Year && m.Month < o.Month)
}

// Calendar does all calendar arithmetic (days, months, clock hours, bill
// months) in one zone, so that results never depend on the host's time zone.
// The zero value uses DefaultZone.
type Calendar struct{ loc *time.Location }

// NewCalendar returns a calendar in loc; nil means DefaultZone.
func NewCalendar(loc *time.Location) Calendar { return Calendar{loc: loc} }

// Location returns the calendar's zone.
func (c Calendar) Location() *time.Location {
	if c.loc == nil {
		return defaultZone
	}
	return c.loc
}

// DateOf returns the day of t in the billing zone.
func (c Calendar) DateOf(t time.Time) Date {
	y, m, d := t.In(c.Location()).Date()
	return Date{y, m, d}
}

// daysIn is the number of days of month m of year y.
func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// ExpiryDate is the last day of a term that ends k months after the anchor
// (R22): the anchor's day of month in the k-th month after it, clamped to that
// month's last day. It is always computed from the anchor, never from an
// earlier clamped date: bought 31 Jan, k=1 is 28/29 Feb, k=2 is 31 Mar.
func (c Calendar) ExpiryDate(anchor time.Time, k int) Date {
	a := c.DateOf(anchor)
	total := int(a.Month) - 1 + k
	y := a.Year + total/12
	m := time.Month(total%12 + 1)
	if total < 0 { // k is never negative for a term; keep the arithmetic total anyway
		y = a.Year + (total-11)/12
		m = time.Month((total%12+12)%12 + 1)
	}
	d := a.Day
	if n := daysIn(y, m); d > n {
		d = n
	}
	return Date{y, m, d}
}

// EndOfDate is the instant a day ends: 00:00:00 of the following day in the
// billing zone. A term's end is exclusive: the term covers its expiry date up
// to 23:59:59.999..., and the next term starts at this instant (R22).
func (c Calendar) EndOfDate(d Date) time.Time {
	return time.Date(d.Year, d.Month, d.Day+1, 0, 0, 0, 0, c.Location())
}

// TermEnd is the (exclusive) end of the term that expires k months after the
// anchor: c.EndOfDate(c.ExpiryDate(anchor, k)).
func (c Calendar) TermEnd(anchor time.Time, k int) time.Time {
	return c.EndOfDate(c.ExpiryDate(anchor, k))
}

// LastDayOf returns the expiry date of a term whose exclusive end is end.
func (c Calendar) LastDayOf(end time.Time) Date {
	return c.DateOf(end.Add(-time.Nanosecond))
}

// At returns hour:00:00 on day d in the billing zone.
func (c Calendar) At(d Date, hour int) time.Time {
	return time.Date(d.Year, d.Month, d.Day, hour, 0, 0, 0, c.Location())
}

// AddDays returns the same clock time n days later in the billing zone.
func (c Calendar) AddDays(t time.Time, n int) time.Time {
	l := t.In(c.Location())
	return time.Date(l.Year(), l.Month(), l.Day()+n, l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), c.Location())
}

// RenewalHour is the clock hour of auto-renewal attempts (R24).
const RenewalHour = 3

// FirstRenewalAttempt is the first auto-renewal attempt for a term ending at
// end: 03:00 on the day daysBefore days before its expiry date (R24).
func (c Calendar) FirstRenewalAttempt(end time.Time, daysBefore int) time.Time {
	d := c.LastDayOf(end)
	return time.Date(d.Year, d.Month, d.Day-daysBefore, RenewalHour, 0, 0, 0, c.Location())
}

// NextRenewalHourAfter is the first 03:00 of the billing zone strictly after t
// (the retry after a failed attempt, R24).
func (c Calendar) NextRenewalHourAfter(t time.Time) time.Time {
	l := t.In(c.Location())
	at := time.Date(l.Year(), l.Month(), l.Day(), RenewalHour, 0, 0, 0, c.Location())
	if !at.After(t) {
		at = time.Date(l.Year(), l.Month(), l.Day()+1, RenewalHour, 0, 0, 0, c.Location())
	}
	return at
}

// HourStart is the start of the clock hour of the billing zone that holds t
// (R29).
func (c Calendar) HourStart(t time.Time) time.Time {
	l := t.In(c.Location())
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), 0, 0, 0, c.Location())
}

// NextHour is the first clock-hour boundary strictly after t. In a zone with
// daylight saving it steps over a spring-forward gap (01:00 is followed by
// 03:00), and at a fall-back the repeated hour joins the one before it.
func (c Calendar) NextHour(t time.Time) time.Time {
	h := c.HourStart(t)
	for step := time.Hour; ; step += time.Hour {
		if n := c.HourStart(h.Add(step)); n.After(t) {
			return n
		}
	}
}

// MonthOf returns the bill month of t (R30).
func (c Calendar) MonthOf(t time.Time) BillMonth {
	y, m, _ := t.In(c.Location()).Date()
	return BillMonth{y, m}
}

// MonthStart returns the first instant of bill month m.
func (c Calendar) MonthStart(m BillMonth) time.Time {
	return time.Date(m.Year, m.Month, 1, 0, 0, 0, 0, c.Location())
}

// NextMonth returns the month after m.
func (m BillMonth) Next() BillMonth {
	if m.Month == time.December {
		return BillMonth{m.Year + 1, time.January}
	}
	return BillMonth{m.Year, m.Month + 1}
}
