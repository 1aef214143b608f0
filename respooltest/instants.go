package respooltest

import (
	"math/rand"
	"time"

	"github.com/leanovate/gopter"

	"github.com/respool/respool/domain"
)

// The instants where billing breaks, as the generators aim at them: the
// 28th to 31st of a month, 29 February, year ends, clock-hour boundaries,
// 23:59:59 and 00:00:00, 03:00 (R24), and several events in one second.
// Every instant is in the billing zone's calendar, never the host's.

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// genDate returns a day of 2024 to 2029, biased to month ends, 29 February
// and year ends.
func genDate(r *rand.Rand) (int, time.Month, int) {
	y := 2024 + r.Intn(6)
	switch r.Intn(9) {
	case 0: // 29 February of a leap year
		y = []int{2024, 2028}[r.Intn(2)]
		return y, time.February, 29
	case 1:
		return y, time.December, 31
	case 2:
		return y, time.January, 1
	case 3:
		return y, time.January, 31 // the anchor of R22's example
	case 4, 5: // the 28th to the 31st, clamped
		m := time.Month(1 + r.Intn(12))
		return y, m, min(28+r.Intn(4), daysIn(y, m))
	}
	m := time.Month(1 + r.Intn(12))
	return y, m, 1 + r.Intn(daysIn(y, m))
}

// genClock returns a time of day, biased to the day's ends, 03:00 and clock
// hour boundaries.
func genClock(r *rand.Rand) (h, m, s, ns int) {
	switch r.Intn(9) {
	case 0:
		return 0, 0, 0, 0
	case 1:
		return 23, 59, 59, 0
	case 2:
		return 3, 0, 0, 0 // R24's attempt hour
	case 3:
		return 2, 59, 59, 0
	case 4:
		return r.Intn(24), 0, 0, 0
	case 5:
		return r.Intn(24), 59, 59, 0
	case 6:
		return 23, 59, 59, 999999999
	}
	return r.Intn(24), r.Intn(60), r.Intn(60), 0
}

// genInstant returns an instant of 2024 to 2029 in cal's zone, biased to
// the edges above.
func genInstant(r *rand.Rand, cal domain.Calendar) time.Time {
	y, mo, d := genDate(r)
	h, mi, s, ns := genClock(r)
	return time.Date(y, mo, d, h, mi, s, ns, cal.Location())
}

// GenInstant generates instants (time.Time in cal's zone) between 2024 and
// 2029, biased to the edges of the billing calendar: month ends, 29
// February, year ends, 23:59:59, 00:00:00, 03:00 and clock-hour boundaries.
func GenInstant(cal domain.Calendar) gopter.Gen {
	return fromRand(func(r *rand.Rand) time.Time { return genInstant(r, cal) })
}

// jump returns an instant at or after t: often the same instant or the same
// second, otherwise the next edge of the calendar (give or take a second)
// or a random stretch of minutes, hours or days.
func jump(r *rand.Rand, cal domain.Calendar, t time.Time) time.Time {
	loc := cal.Location()
	l := t.In(loc)
	y, mo, d := l.Date()
	around := func(u time.Time) time.Time { // the edge, a second before or after
		return u.Add(time.Duration(r.Intn(3)-1) * time.Second)
	}
	var u time.Time
	switch k := r.Intn(40); {
	case k < 4: // the same instant
		u = t
	case k < 6: // later in the same second, if there is room
		if left := time.Second - time.Duration(l.Nanosecond()); left > 1 {
			u = t.Add(1 + time.Duration(r.Int63n(int64(left-1))))
		} else {
			u = t
		}
	case k < 8: // the next second
		u = t.Add(time.Second)
	case k < 12: // a clock-hour boundary (R29)
		u = around(time.Date(y, mo, d, l.Hour()+1+r.Intn(3), 0, 0, 0, loc))
	case k < 16: // a day's end: 23:59:59 or 00:00:00
		u = time.Date(y, mo, d+1+r.Intn(3), 0, 0, 0, 0, loc)
		if r.Intn(2) == 0 {
			u = u.Add(-time.Second)
		}
	case k < 19: // 03:00, give or take a second (R24)
		u = around(time.Date(y, mo, d+1+r.Intn(8), 3, 0, 0, 0, loc))
	case k < 22: // a month's end (R22, R30)
		nm := mo + time.Month(r.Intn(2))
		switch r.Intn(3) {
		case 0: // the last second of the month
			u = time.Date(y, nm+1, 1, 0, 0, 0, 0, loc).Add(-time.Second)
		case 1: // the first instant of the next
			u = time.Date(y, nm+1, 1, 0, 0, 0, 0, loc)
		default: // the 28th to the 31st
			u = time.Date(y, nm, min(28+r.Intn(4), daysIn(y, nm)), l.Hour(), l.Minute(), l.Second(), 0, loc)
		}
	case k < 24: // whole months on, clamped: where expiries fall (R22)
		nm := mo + time.Month(1+r.Intn(12))
		ny, nmo, _ := time.Date(y, nm, 1, 0, 0, 0, 0, loc).Date()
		u = time.Date(ny, nmo, min(d, daysIn(ny, nmo)), 0, 0, 0, 0, loc)
		if r.Intn(2) == 0 {
			u = u.Add(-time.Second)
		}
	case k < 25: // a year's end
		u = time.Date(y+1, time.January, 1, 0, 0, 0, 0, loc)
		if r.Intn(2) == 0 {
			u = u.Add(-time.Second)
		}
	case k < 31:
		u = t.Add(time.Duration(1+r.Intn(600)) * time.Minute)
	case k < 35:
		u = t.Add(time.Duration(1+r.Intn(72)) * time.Hour)
	default:
		u = t.Add(time.Duration(1+r.Intn(45))*24*time.Hour + time.Duration(r.Intn(86400))*time.Second)
	}
	if u.Before(t) {
		return t
	}
	return u
}

// horizon returns the end of a timeline whose last step is at t: the same
// instant, a little later, or long enough for terms to renew, expire and
// be deleted (R24, R26).
func horizon(r *rand.Rand, cal domain.Calendar, t time.Time) time.Time {
	switch r.Intn(6) {
	case 0:
		return t
	case 1:
		return jump(r, cal, t)
	case 2:
		return t.Add(time.Duration(1+r.Intn(72)) * time.Hour)
	case 3:
		return t.Add(time.Duration(10+r.Intn(60)) * 24 * time.Hour)
	}
	return t.Add(time.Duration(60+r.Intn(400)) * 24 * time.Hour)
}
