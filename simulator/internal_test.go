package simulator

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/respool/respool/domain"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, domain.DefaultZone())

func day(n int) time.Time { return t0.AddDate(0, 0, n) }

func TestSampleStep(t *testing.T) {
	t.Parallel()
	year := day(365).Sub(t0)
	for _, c := range []struct {
		span, tick time.Duration
		max        int
		want       time.Duration
	}{
		{year, 24 * time.Hour, 1000, 24 * time.Hour}, // 366 samples: every tick
		{year, time.Hour, 1000, 12 * time.Hour},      // 8761 would be too many: a round multiple
		{year, time.Minute, 1000, 12 * time.Hour},    // the same, whatever the tick
		{year, 7 * time.Minute, 1000, 9 * time.Hour}, // no round multiple of 7m fits: 7m x 77
		{30 * 24 * time.Hour, time.Hour, 1000, time.Hour},
	} {
		got := sampleStep(c.span, c.tick, c.max)
		if c.tick == 7*time.Minute {
			if got%c.tick != 0 || c.span/got > time.Duration(c.max) {
				t.Errorf("sampleStep(%v, %v) = %v", c.span, c.tick, got)
			}
			continue
		}
		if got != c.want {
			t.Errorf("sampleStep(%v, %v, %d) = %v, want %v", c.span, c.tick, c.max, got, c.want)
		}
	}
	s := sampleTimes(t0, day(1).Add(30*time.Minute), time.Hour)
	if len(s) != 26 || !s[25].Equal(day(1).Add(30*time.Minute)) || !s[24].Equal(day(1)) {
		t.Errorf("sampleTimes ends %v (%d samples), want the end last", s[len(s)-1], len(s))
	}
}

func TestCalMonths(t *testing.T) {
	t.Parallel()
	loc := domain.DefaultZone()
	for _, c := range []struct {
		from, to time.Time
		want     float64
	}{
		{t0, day(365), 12},
		{t0, time.Date(2026, 5, 1, 0, 0, 0, 0, loc), 4},
		{t0, time.Date(2026, 2, 15, 0, 0, 0, 0, loc), 1 + 14.0/28},
		{time.Date(2026, 1, 31, 0, 0, 0, 0, loc), time.Date(2026, 3, 3, 0, 0, 0, 0, loc), 1}, // Jan 31 + 1 month = Mar 3 (Go's AddDate normalizes)
		{t0, t0, 0},
	} {
		if got := calMonths(c.from, c.to, loc); got < c.want-1e-9 || got > c.want+1e-9 {
			t.Errorf("calMonths(%v, %v) = %v, want %v", c.from, c.to, got, c.want)
		}
		if got := addCalMonths(c.from, c.want, loc); !got.Equal(c.to) && c.want != 1 {
			t.Errorf("addCalMonths(%v, %v) = %v, want %v", c.from, c.want, got, c.to)
		}
	}
}

// curveOf builds a curve from (day, jump, rate per hour) steps.
func curveOf(steps ...[3]int64) curve {
	var b curveBuilder
	b.start(t0)
	rate := decimal.Zero
	for _, s := range steps {
		r := decimal.NewFromInt(s[2])
		b.add(day(int(s[0])), decimal.NewFromInt(s[1]), r.Sub(rate))
		rate = r
	}
	return b.done()
}

func TestCurve(t *testing.T) {
	t.Parallel()
	c := curveOf([3]int64{0, 100, 0}, [3]int64{10, 0, 2}, [3]int64{20, 50, 1})
	for _, x := range []struct {
		at          time.Time
		at0, before string
	}{
		{t0, "100", "0"},
		{day(5), "100", "100"},
		{day(10), "100", "100"},
		{day(15), "340", "340"}, // 100 + 5 days x 24 h x 2
		{day(20), "630", "580"}, // 100 + 480 + the jump of 50 at day 20
		{day(21), "654", "654"}, // + 24 h x 1
	} {
		if got := c.at(x.at); !got.Equal(decimal.RequireFromString(x.at0)) {
			t.Errorf("at(day %v) = %s, want %s", x.at.Sub(t0).Hours()/24, got, x.at0)
		}
		if got := c.before(x.at); !got.Equal(decimal.RequireFromString(x.before)) {
			t.Errorf("before(day %v) = %s, want %s", x.at.Sub(t0).Hours()/24, got, x.before)
		}
	}
}

func TestCrossing(t *testing.T) {
	t.Parallel()
	end := day(100)
	payg := curveOf([3]int64{0, 0, 10})      // 240 a day
	prepaid := curveOf([3]int64{0, 2400, 0}) // 10 days of pay-per-use up front
	s, since := crossing(&prepaid, &payg, t0, end)
	if s != -1 || !since.Equal(day(10)) {
		t.Errorf("prepaid vs payg: %d since %v, want -1 since day 10", s, since)
	}
	s, since = crossing(&payg, &prepaid, t0, end)
	if s != 1 || !since.Equal(day(10)) {
		t.Errorf("payg vs prepaid: %d since %v, want 1 since day 10", s, since)
	}
	// cheaper all along
	cheap := curveOf([3]int64{0, 0, 5})
	if s, since := crossing(&cheap, &payg, t0, end); s != -1 || !since.Equal(t0) {
		t.Errorf("cheap vs payg: %d since %v, want -1 since the start", s, since)
	}
	// equal at the end
	if s, _ := crossing(&payg, &payg, t0, end); s != 0 {
		t.Errorf("a curve against itself: %d", s)
	}
	// renewed terms: cheaper, then not (a renewal jump), then cheaper again
	monthly := curveOf([3]int64{0, 1000, 0}, [3]int64{30, 7000, 0})
	s, since = crossing(&monthly, &payg, t0, end) // payg reaches 1000 at day 4.17, 8000 at day 33.3
	want := t0.Add(time.Duration(8000.0 / 10 * float64(time.Hour)))
	if s != -1 || since.Sub(want).Abs() > time.Second {
		t.Errorf("monthly vs payg: %d since %v, want -1 since %v", s, since, want)
	}
}

func TestTimeline(t *testing.T) {
	t.Parallel()
	pools := []Pool{{ID: "late", At: day(2)}, {ID: "early", At: day(1)}}
	actions := []Action{{Index: 0, At: day(1)}, {Index: 1, At: day(0)}}
	var got []string
	for _, s := range timeline(pools, actions) {
		if s.pool != nil {
			got = append(got, "create "+string(s.pool.ID))
		} else {
			got = append(got, "action "+string(rune('0'+s.action.Index)))
		}
	}
	want := []string{"action 1", "create early", "action 0", "create late"}
	if len(got) != len(want) {
		t.Fatalf("timeline %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("timeline %v, want %v (by time; at the same instant, creations first)", got, want)
		}
	}
}

func TestFormatting(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{time.Hour: "1h", 24 * time.Hour: "1d", 90 * time.Minute: "1h30m", time.Minute: "1m", 10 * time.Second: "10s", 12 * time.Hour: "12h"} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
	for in, want := range map[string]string{"0.00": "0.00", "1234.50": "1,234.50", "-1234567.89": "-1,234,567.89", "999": "999", "1000": "1,000"} {
		if got := groupDigits(in); got != want {
			t.Errorf("groupDigits(%q) = %q, want %q", in, got, want)
		}
	}
}
