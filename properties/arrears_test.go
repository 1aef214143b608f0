package properties_test

import (
	"sort"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/respool/respool/domain"
	"github.com/respool/respool/respooltest"
)

// arrearsTimelines are pay-per-use timelines on whole seconds (where the
// balance and the bill count the same accrual, see property 19) of two
// months at most, with small balances that run out.
var arrearsTimelines = respooltest.TimelineOptions{Billing: domain.PayPerUse, MaxPools: 3, WholeSeconds: true,
	MaxSpan: 60 * 24 * time.Hour, SmallBalances: true}

// Property 20 (R27): an account falls into arrears at the first clock hour
// of the billing zone at which its pay-per-use accrual exceeds its credit
// (balance paid in, less prepaid charges), not an hour earlier and not an
// hour later; its running pay-per-use pools enter grace at that instant;
// while in arrears it cannot create pools; a top-up that covers the debt
// clears the arrears at once and brings back the pools that arrears had
// sent to grace or retention.
func TestProperty20_ArrearsAtFirstUncoveredHour_R27(t *testing.T) {
	check(t, forTimelines(arrearsTimelines, func(o *respooltest.Outcome) string {
		var bad problems
		loc := o.Timeline.Calendar().Location()
		f := func(t time.Time) string { return respooltest.FormatInstant(t, loc) }
		for _, acct := range o.AccountIDs() {
			if !limited(o.Timeline, acct) {
				continue
			}
			evs := o.AccountEvents(acct)
			credit := func(t time.Time) decimal.Decimal {
				c := decimal.Zero
				for _, e := range evs {
					if e.EventMeta().At.After(t) {
						break
					}
					switch e := e.(type) {
					case *domain.AccountOpened:
						c = c.Add(e.Balance.Decimal())
					case *domain.ToppedUp:
						c = c.Add(e.Amount.Decimal())
					case *domain.Refunded:
						c = c.Add(e.Amount.Decimal())
					case *domain.Charged:
						c = c.Sub(e.Amount.Decimal())
					}
				}
				return c
			}
			overAt := func(h time.Time) bool { // accrual as of h exceeds the credit as of h
				return o.Charges.AccountAsOf(acct, h).PayPerUse.Exact().GreaterThan(credit(h))
			}
			// The instants where the credit changes or arrears start or end.
			// At an arrears event, the credit is what the events before it
			// in the stream say (a top-up at the same instant may follow).
			var marks []time.Time
			in := false
			var since time.Time
			running := decimal.Zero
			for _, e := range evs {
				at := e.EventMeta().At
				switch e := e.(type) {
				case *domain.AccountOpened:
					running = running.Add(e.Balance.Decimal())
				case *domain.ToppedUp:
					running = running.Add(e.Amount.Decimal())
				case *domain.Refunded:
					running = running.Add(e.Amount.Decimal())
				case *domain.Charged:
					running = running.Sub(e.Amount.Decimal())
				}
				credit := func(time.Time) decimal.Decimal { return running }
				over := func(h time.Time) bool {
					return o.Charges.AccountAsOf(acct, h).PayPerUse.Exact().GreaterThan(running)
				}
				switch e.(type) {
				case *domain.ArrearsStarted:
					if in {
						bad.add("account %s: arrears start again at %s", acct, f(at))
					}
					if !isHourStart(at, loc) {
						bad.add("account %s: arrears start at %s, not at a clock hour", acct, f(at))
					}
					if !over(at) {
						bad.add("account %s: arrears at %s, but the credit %s covers the accrual %s", acct, f(at), credit(at),
							o.Charges.AccountAsOf(acct, at).PayPerUse.Exact())
					}
					if prev := at.Add(-time.Hour); prev.After(since) && overAt(prev) {
						bad.add("account %s: arrears at %s, but the credit no longer covered the accrual at %s already", acct, f(at), f(prev))
					}
					in = true
					for _, id := range o.PoolIDs() {
						checkArrearsGrace(&bad, o, id, acct, at)
					}
				case *domain.ArrearsCleared:
					if !in {
						bad.add("account %s: arrears cleared at %s while not in arrears", acct, f(at))
					}
					if over(at) {
						bad.add("account %s: arrears cleared at %s, but the credit %s does not cover the accrual %s", acct, f(at), credit(at),
							o.Charges.AccountAsOf(acct, at).PayPerUse.Exact())
					}
					in, since = false, at
				case *domain.AccountOpened:
					since = at
				}
				marks = append(marks, at)
			}
			marks = append(marks, o.Timeline.End)
			sort.Slice(marks, func(i, j int) bool { return marks[i].Before(marks[j]) })
			// Liveness: between two marks the accrual only grows and the
			// credit is fixed, so the first uncovered clock hour, if any,
			// is found by bisection; arrears must have started by then.
			started := func(by time.Time) bool {
				open := false
				for _, e := range evs {
					if e.EventMeta().At.After(by) {
						break
					}
					switch e.(type) {
					case *domain.ArrearsStarted:
						open = true
					case *domain.ArrearsCleared:
						open = false
					}
				}
				return open
			}
			for i := 0; i+1 < len(marks); i++ {
				lo := nextHourStart(marks[i], loc)
				hi := marks[i+1]
				if hi.Before(lo) || !overAt(hourFloor(hi, loc)) {
					continue
				}
				first := firstHour(lo, hourFloor(hi, loc), loc, overAt)
				if first.Before(marks[i+1]) && !started(first) {
					bad.add("account %s: the credit %s no longer covers the accrual at %s, and no arrears started", acct, credit(first), f(first))
				}
			}
		}
		// No pool is created by an account in arrears.
		for _, r := range o.Results {
			c, ok := r.Sent.(domain.CreatePool)
			if ok && r.Err == nil && !r.Duplicate && inArrearsBefore(o.AccountEvents(c.Account), c.ID) {
				bad.add("account %s created %s at %s while in arrears", c.Account, r.Pool, f(r.Step.At))
			}
		}
		return bad.String()
	}))
}

// checkArrearsGrace checks that every pay-per-use pool of acct that was
// running at h entered grace for arrears at h.
func checkArrearsGrace(bad *problems, o *respooltest.Outcome, id domain.PoolID, acct domain.AccountID, h time.Time) {
	evs := o.PoolEvents(id)
	c := createdOf(evs)
	if c == nil || c.Account != acct || c.Billing != domain.PayPerUse || c.At.After(h) {
		return
	}
	active := true
	for _, e := range evs {
		at := e.EventMeta().At
		if at.After(h) {
			break
		}
		switch e := e.(type) {
		case *domain.StatusChanged:
			if at.Equal(h) && e.Reason == domain.ReasonArrears {
				return // there it is
			}
			if e.Reason != domain.ReasonFault && e.Reason != domain.ReasonRectified {
				active = e.To == domain.StatusRunning || e.To == domain.StatusAbnormal
			}
		case *domain.Deleted:
			return
		}
	}
	if active {
		bad.add("pool %s of %s was running when its account fell into arrears at %s, and did not enter grace then", id, acct,
			respooltest.FormatInstant(h, o.Timeline.Calendar().Location()))
	}
}

// inArrearsBefore reports whether an account was in arrears just before the
// first of its events that command cmd caused.
func inArrearsBefore(evs []domain.Event, cmd domain.CommandID) bool {
	in := false
	for _, e := range evs {
		if e.EventMeta().Command == cmd {
			break
		}
		switch e.(type) {
		case *domain.ArrearsStarted:
			in = true
		case *domain.ArrearsCleared:
			in = false
		}
	}
	return in
}

// hourFloor is the start of the clock hour holding t; nextHourStart the
// first clock-hour start at or after t.
func hourFloor(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), 0, 0, 0, loc)
}

func nextHourStart(t time.Time, loc *time.Location) time.Time {
	h := hourFloor(t, loc)
	if h.Before(t) {
		h = h.Add(time.Hour)
	}
	return h
}

// firstHour returns the first clock-hour start in [lo, hi] where pred
// holds, pred being monotone and true at hi.
func firstHour(lo, hi time.Time, loc *time.Location, pred func(time.Time) bool) time.Time {
	n := int64(hi.Sub(lo) / time.Hour)
	k := sort.Search(int(n)+1, func(i int) bool { return pred(lo.Add(time.Duration(i) * time.Hour)) })
	return lo.Add(time.Duration(k) * time.Hour)
}
