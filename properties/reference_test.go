package properties_test

import (
	"sort"
	"time"

	"github.com/shopspring/decimal"

	"github.com/respool/respool/domain"
	"github.com/respool/respool/respooltest"
)

// This file is the reference model the properties compare against: SPEC's
// rules written again, as plainly as possible, without the domain's code.

// daysIn is the number of days of month m of year y.
func daysIn(y int, m time.Month) int { return time.Date(y, m+1, 0, 12, 0, 0, 0, time.UTC).Day() }

// refTermEnd is the exclusive end of the term that expires k months after
// anchor (R22): the anchor's day of month in the k-th month after it,
// clamped to that month's last day, ends at 00:00:00 of the next day in
// the billing zone.
func refTermEnd(anchor time.Time, loc *time.Location, k int) time.Time {
	a := anchor.In(loc)
	first := time.Date(a.Year(), a.Month()+time.Month(k), 1, 12, 0, 0, 0, loc) // Go normalizes the month
	day := min(a.Day(), daysIn(first.Year(), first.Month()))
	return time.Date(first.Year(), first.Month(), day+1, 0, 0, 0, 0, loc)
}

// refAddDays is the same clock time n days later in the billing zone.
func refAddDays(t time.Time, loc *time.Location, n int) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day()+n, l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), loc)
}

// refFirstAttempt is 03:00 on the day lead days before the expiry date of a
// term ending at end (R24).
func refFirstAttempt(end time.Time, loc *time.Location, lead int) time.Time {
	last := end.Add(-time.Nanosecond).In(loc) // the expiry date: the day before the exclusive end
	return time.Date(last.Year(), last.Month(), last.Day()-lead, 3, 0, 0, 0, loc)
}

// refNext0300 is the first 03:00 of the billing zone strictly after t.
func refNext0300(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	at := time.Date(l.Year(), l.Month(), l.Day(), 3, 0, 0, 0, loc)
	if !at.After(t) {
		at = time.Date(l.Year(), l.Month(), l.Day()+1, 3, 0, 0, 0, loc)
	}
	return at
}

// isHourStart reports whether t is the start of a clock hour in loc.
func isHourStart(t time.Time, loc *time.Location) bool {
	l := t.In(loc)
	return l.Minute() == 0 && l.Second() == 0 && l.Nanosecond() == 0
}

// isAt0300 reports whether t is 03:00:00 sharp in loc.
func isAt0300(t time.Time, loc *time.Location) bool {
	l := t.In(loc)
	return l.Hour() == 3 && l.Minute() == 0 && l.Second() == 0 && l.Nanosecond() == 0
}

// term is a prepaid term bought at creation or renewal.
type term struct {
	at         time.Time // when it was bought
	start, end time.Time
	months     int
	charge     domain.Money
	list       domain.Money
	auto       bool
	renewal    bool
	nodes      int
}

// termsOf returns a prepaid pool's terms in the order bought.
func termsOf(evs []domain.Event) []term {
	var out []term
	nodes := 0
	for _, e := range evs {
		switch e := e.(type) {
		case *domain.Created:
			if e.Billing != domain.Prepaid {
				return nil
			}
			nodes = e.Nodes
			out = append(out, term{at: e.At, start: e.Term.Start, end: e.Term.End, months: e.Term.Months, charge: e.Charge, list: e.ListPrice, nodes: nodes})
		case *domain.Renewed:
			out = append(out, term{at: e.At, start: e.Term.Start, end: e.Term.End, months: e.Term.Months, charge: e.Charge, list: e.ListPrice,
				auto: e.Automatic, renewal: true, nodes: nodes})
		}
	}
	return out
}

// createdOf returns the pool's Created event.
func createdOf(evs []domain.Event) *domain.Created {
	for _, e := range evs {
		if c, ok := e.(*domain.Created); ok {
			return c
		}
	}
	return nil
}

// step is one piece of a step function of whole seconds: from sec on, n
// nodes accrue.
type step struct{ sec, n, cum int64 } // cum: node-seconds before sec

// accruing returns how many of a pay-per-use pool's nodes accrue, as a step
// function of Unix seconds (R28): a node accrues from its NodeAdded to its
// NodeRemoved or the pool's Deleted, except while the pool is frozen
// (retention, R27). Instants count at their whole second, and of several
// events in one second the last one decides (a node added and removed in the
// same second never accrues: projections' documented decision).
func accruing(evs []domain.Event) []step {
	c := createdOf(evs)
	if c == nil || c.Billing != domain.PayPerUse {
		return nil
	}
	live := map[domain.NodeID]bool{}
	frozen, deleted := false, false
	var out []step
	for _, e := range evs {
		switch e := e.(type) {
		case *domain.NodeAdded:
			live[e.Node] = true
		case *domain.NodeRemoved:
			delete(live, e.Node)
		case *domain.StatusChanged:
			frozen = e.To == domain.StatusFrozen
		case *domain.Deleted:
			deleted = true
		default:
			continue
		}
		n := int64(len(live))
		if frozen || deleted {
			n = 0
		}
		s := e.EventMeta().At.Unix()
		if k := len(out); k > 0 && out[k-1].sec >= s {
			out[k-1].n = n
			continue
		}
		out = append(out, step{sec: s, n: n})
	}
	for i := 1; i < len(out); i++ {
		out[i].cum = out[i-1].cum + out[i-1].n*(out[i].sec-out[i-1].sec)
	}
	return out
}

// nodeSeconds is the integral of the step function over [a, b) seconds.
func nodeSeconds(f []step, a, b int64) int64 {
	if b <= a {
		return 0
	}
	return integral(f, b) - integral(f, a)
}

// integral is the node-seconds of the step function before second x.
func integral(f []step, x int64) int64 {
	i := sort.Search(len(f), func(i int) bool { return f[i].sec > x }) - 1
	if i < 0 {
		return 0
	}
	return f[i].cum + f[i].n*(x-f[i].sec)
}

// priceSeconds is hourly x seconds: the exact representation of an accrual.
func priceSeconds(hourly domain.Money, secs int64) decimal.Decimal {
	return hourly.Decimal().Mul(decimal.NewFromInt(secs))
}

// exact is price-seconds / 3600 to 30 places: for comparisons with
// tolerances only.
func exact(ps decimal.Decimal) decimal.Decimal { return ps.DivRound(decimal.NewFromInt(3600), 30) }

// roundMode rounds d to places with the policy's rounding (R30).
func roundMode(d decimal.Decimal, places int32, mode domain.Rounding) decimal.Decimal {
	if mode == domain.RoundHalfEven {
		return d.RoundBank(places)
	}
	return d.Round(places)
}

// refTermPrice is what a term costs by R8, from the timeline's rate card:
// nodes x monthly x months, except a 12-month training term, which costs
// nodes x yearly, the yearly price being 10 x monthly unless the flavor
// sets its own.
func refTermPrice(cat respooltest.Catalog, flavor domain.FlavorID, typ domain.PoolType, nodes, months int) (charge, list decimal.Decimal, ok bool) {
	f, ok := cat.Flavor(flavor)
	if !ok {
		return decimal.Zero, decimal.Zero, false
	}
	n := decimal.NewFromInt(int64(nodes))
	list = f.Monthly.Decimal().Mul(n).Mul(decimal.NewFromInt(int64(months)))
	if typ == domain.Training && months == 12 {
		yearly := f.Yearly.Decimal()
		if yearly.IsZero() {
			yearly = f.Monthly.Decimal().Mul(decimal.NewFromInt(10))
		}
		return yearly.Mul(n), list, true
	}
	return list, list, true
}

// limited reports whether the timeline opens account a with a limited
// balance.
func limited(tl respooltest.Timeline, a domain.AccountID) bool {
	for _, o := range tl.Accounts {
		if o.Account == a {
			return o.Balance != nil
		}
	}
	return false
}
