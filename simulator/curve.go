package simulator

import (
	"time"

	"github.com/shopspring/decimal"
)

// curve is a run's cumulative cost over time: piecewise linear, growing at
// the pay-per-use rate between events, with a jump at each prepaid charge.
// It answers "what had the run cost by t" for any t in O(log events), so
// sampling it costs nothing per pool.
type curve struct {
	pts []curvePoint // by time; pts[0] is the start, at zero
}

type curvePoint struct {
	t    time.Time
	v    decimal.Decimal // cost at t, jumps at t included
	rate decimal.Decimal // per hour, from t on
}

// hours returns d in hours, exactly enough for money (20 places).
func hours(d time.Duration) decimal.Decimal {
	return decimal.NewFromInt(int64(d)).DivRound(decimal.NewFromInt(int64(time.Hour)), 20)
}

// at returns the cost as of t (jumps at t included).
func (c *curve) at(t time.Time) decimal.Decimal {
	lo, hi := 0, len(c.pts)
	for lo < hi { // the last point at or before t
		mid := (lo + hi) / 2
		if c.pts[mid].t.After(t) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if lo == 0 {
		return decimal.Zero
	}
	p := c.pts[lo-1]
	return p.v.Add(p.rate.Mul(hours(t.Sub(p.t))))
}

type curveBuilder struct {
	c curve
}

func (b *curveBuilder) start(t time.Time) {
	b.c.pts = []curvePoint{{t: t}}
}

// add records a jump and a change of rate at t (not before the last point).
func (b *curveBuilder) add(t time.Time, jump, dRate decimal.Decimal) {
	if jump.IsZero() && dRate.IsZero() {
		return
	}
	last := &b.c.pts[len(b.c.pts)-1]
	if t.Equal(last.t) {
		last.v = last.v.Add(jump)
		last.rate = last.rate.Add(dRate)
		return
	}
	v := last.v.Add(last.rate.Mul(hours(t.Sub(last.t)))).Add(jump)
	b.c.pts = append(b.c.pts, curvePoint{t: t, v: v, rate: last.rate.Add(dRate)})
}

func (b *curveBuilder) done() curve { return b.c }

// crossing compares two runs' curves up to end. It returns which is cheaper
// at end (-1: a, +1: b, 0: neither) and the instant from which it has been
// cheaper without a break. Both curves start at the same instant.
func crossing(a, b *curve, start, end time.Time) (cheaper int, since time.Time) {
	diff := func(t time.Time) decimal.Decimal { return a.at(t).Sub(b.at(t)) } // < 0: a cheaper
	s := diff(end).Sign()
	if s == 0 {
		return 0, time.Time{}
	}
	// The breakpoints of both curves, merged: between two of them the
	// difference is linear.
	ts := []time.Time{start}
	i, j := 0, 0
	for i < len(a.pts) || j < len(b.pts) {
		var t time.Time
		switch {
		case j >= len(b.pts) || (i < len(a.pts) && a.pts[i].t.Before(b.pts[j].t)):
			t = a.pts[i].t
			i++
		default:
			t = b.pts[j].t
			j++
		}
		if t.After(ts[len(ts)-1]) && t.Before(end) {
			ts = append(ts, t)
		}
	}
	ts = append(ts, end)
	has := false
	for k := 0; k+1 < len(ts); k++ {
		from, to := ts[k], ts[k+1]
		d0 := diff(from)
		// value just before to: the linear part, without to's jumps
		slope := a.rateAt(from).Sub(b.rateAt(from))
		d1 := d0.Add(slope.Mul(hours(to.Sub(from))))
		in0, in1 := d0.Sign() == s, d1.Sign() == s
		switch {
		case in0 && in1:
			if !has {
				since, has = from, true
			}
		case !in0 && in1: // crosses zero inside the segment
			x := d0.Neg().Div(slope) // hours after from
			since, has = from.Add(time.Duration(x.Mul(decimal.NewFromInt(int64(time.Hour))).IntPart())), true
		default:
			has = false
		}
		// A jump at to that breaks the run shows as !in0 in the next
		// segment; at end the sign is s by definition.
	}
	if !has {
		since = end
	}
	return s, since
}

// rateAt is the rate per hour in force just after t.
func (c *curve) rateAt(t time.Time) decimal.Decimal {
	lo, hi := 0, len(c.pts)
	for lo < hi {
		mid := (lo + hi) / 2
		if c.pts[mid].t.After(t) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if lo == 0 {
		return decimal.Zero
	}
	return c.pts[lo-1].rate
}

// before returns the cost as of just before t: jumps at t excluded.
func (c *curve) before(t time.Time) decimal.Decimal {
	lo, hi := 0, len(c.pts)
	for lo < hi { // the last point strictly before t
		mid := (lo + hi) / 2
		if c.pts[mid].t.Before(t) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == 0 {
		return decimal.Zero
	}
	p := c.pts[lo-1]
	return p.v.Add(p.rate.Mul(hours(t.Sub(p.t))))
}
