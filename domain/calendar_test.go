package domain_test

import (
	"testing"
	"time"

	"github.com/respool/respool/domain"
)

// R22: expiry k months after the anchor is the anchor's day, clamped, and
// always from the anchor.
func TestR22ExpiryDatesFromTheAnchor(t *testing.T) {
	t.Parallel()
	cal := domain.NewCalendar(nil)
	tests := []struct {
		name   string
		anchor time.Time
		want   []string // k = 1, 2, ...
	}{
		{"31 Jan clamps, then recovers", at(2026, 1, 31, 10, 0, 0), []string{"2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31", "2026-06-30"}},
		{"31 Jan in a leap year", at(2028, 1, 31, 0, 0, 0), []string{"2028-02-29", "2028-03-31"}},
		{"29 Feb anchors the 29th", at(2028, 2, 29, 12, 0, 0), []string{"2028-03-29", "2028-04-29", "2028-05-29"}},
		{"30th", at(2026, 1, 30, 0, 0, 0), []string{"2026-02-28", "2026-03-30"}},
		{"29th in a common year", at(2026, 1, 29, 0, 0, 0), []string{"2026-02-28", "2026-03-29"}},
		{"year end", at(2026, 12, 31, 23, 59, 59), []string{"2027-01-31", "2027-02-28", "2027-03-31"}},
		{"late evening UTC is the next day in +08:00", time.Date(2026, 1, 30, 17, 0, 0, 0, time.UTC), []string{"2026-02-28", "2026-03-31"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, want := range tt.want {
				if got := cal.ExpiryDate(tt.anchor, k+1).String(); got != want {
					t.Errorf("k=%d: %s, want %s", k+1, got, want)
				}
			}
		})
	}
	if got := cal.ExpiryDate(at(2026, 3, 15, 0, 0, 0), 12).String(); got != "2027-03-15" {
		t.Errorf("12 months: %s", got)
	}
}

// R22: a term ends at the end of its expiry date; the next starts at 00:00.
func TestR22TermEndsAtMidnightAfterTheExpiryDate(t *testing.T) {
	t.Parallel()
	cal := domain.NewCalendar(nil)
	end := cal.TermEnd(at(2026, 1, 31, 10, 0, 0), 1)
	if !end.Equal(at(2026, 3, 1, 0, 0, 0)) {
		t.Fatalf("end %v, want 2026-03-01 00:00:00 +08:00", end)
	}
	if got := cal.LastDayOf(end).String(); got != "2026-02-28" {
		t.Fatalf("last day %s", got)
	}
	last := end.Add(-time.Second) // 23:59:59 is still covered
	if cal.DateOf(last).String() != "2026-02-28" || last.In(cst).Hour() != 23 {
		t.Fatalf("23:59:59 is %v", last.In(cst))
	}
}

// R24: the first attempt is at 03:00, N days before the expiry date; retries
// at the next 03:00.
func TestR24RenewalAttemptTimes(t *testing.T) {
	t.Parallel()
	cal := domain.NewCalendar(nil)
	end := at(2026, 3, 1, 0, 0, 0) // expiry date 28 Feb
	for days, want := range map[int]time.Time{
		7: at(2026, 2, 21, 3, 0, 0),
		1: at(2026, 2, 27, 3, 0, 0),
		0: at(2026, 2, 28, 3, 0, 0),
	} {
		if got := cal.FirstRenewalAttempt(end, days); !got.Equal(want) {
			t.Errorf("%d days before: %v, want %v", days, got, want)
		}
	}
	for _, tt := range []struct{ from, want time.Time }{
		{at(2026, 2, 21, 3, 0, 0), at(2026, 2, 22, 3, 0, 0)},   // exactly 03:00: the next day
		{at(2026, 2, 21, 2, 59, 59), at(2026, 2, 21, 3, 0, 0)}, // just before
		{at(2026, 2, 28, 23, 59, 59), at(2026, 3, 1, 3, 0, 0)},
		{at(2026, 12, 31, 12, 0, 0), at(2027, 1, 1, 3, 0, 0)},
	} {
		if got := cal.NextRenewalHourAfter(tt.from); !got.Equal(tt.want) {
			t.Errorf("after %v: %v, want %v", tt.from, got, tt.want)
		}
	}
}

// Section 1: calendar arithmetic happens in the billing zone, never the host's.
func TestCalendarUsesTheBillingZoneNotTheHost(t *testing.T) {
	cal := domain.NewCalendar(nil)
	u := time.Date(2026, 1, 31, 16, 30, 0, 0, time.UTC) // 2026-02-01 00:30 in +08:00
	if got := cal.MonthOf(u).String(); got != "2026-02" {
		t.Errorf("bill month %s, want 2026-02", got)
	}
	if got := cal.HourStart(u); !got.Equal(at(2026, 2, 1, 0, 0, 0)) {
		t.Errorf("hour start %v", got)
	}
	if got := cal.NextHour(at(2026, 2, 1, 0, 0, 0)); !got.Equal(at(2026, 2, 1, 1, 0, 0)) {
		t.Errorf("next hour after a boundary %v", got)
	}
	ist := domain.NewCalendar(time.FixedZone("IST", 5*3600+1800))
	if got := ist.HourStart(time.Date(2026, 1, 1, 0, 10, 0, 0, time.UTC)); got.UTC().Minute() != 30 {
		t.Errorf("a +05:30 zone's hours start at :30 UTC, got %v", got.UTC())
	}
}

// A billing zone with daylight saving: clock hours never stall (a loop over
// them always ends) and never go back.
func TestNextHourAcrossDaylightSaving(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skipf("no tz database: %v", err)
	}
	cal := domain.NewCalendar(ny)
	for _, tt := range []struct {
		name     string
		from     time.Time
		wantHour int
	}{
		{"spring forward: 01:00 is followed by 03:00", time.Date(2026, 3, 8, 1, 0, 0, 0, ny), 3},
		{"inside the hour before the gap", time.Date(2026, 3, 8, 1, 30, 0, 0, ny), 3},
		{"an ordinary hour", time.Date(2026, 3, 8, 4, 0, 0, 0, ny), 5},
	} {
		if got := cal.NextHour(tt.from); !got.After(tt.from) || got.In(ny).Hour() != tt.wantHour {
			t.Errorf("%s: NextHour(%v) = %v", tt.name, tt.from, got.In(ny))
		}
	}
	// A whole year of clock hours, hour by hour: always forward, at most two
	// real hours apart (the fall-back hour), and as many as expected.
	h, end, n := cal.HourStart(time.Date(2026, 1, 1, 0, 0, 0, 0, ny)), time.Date(2027, 1, 1, 0, 0, 0, 0, ny), 0
	for h.Before(end) {
		next := cal.NextHour(h)
		if d := next.Sub(h); d <= 0 || d > 2*time.Hour {
			t.Fatalf("NextHour(%v) = %v", h, next)
		}
		h = next
		n++
	}
	if n != 8760-1 { // 8760 real hours in 2026; the fall-back joins two of them into one clock hour
		t.Errorf("%d clock hours in 2026", n)
	}
}
