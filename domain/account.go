package domain

import (
	"time"

	"github.com/shopspring/decimal"
)

// Account is an account's state, folded from its stream by Evolve: quota and
// its use (R6), balance, pay-per-use burn rate and arrears (R8, R27). The
// zero value is an account that was never opened: no quota limits and an
// unlimited balance.
type Account struct {
	ID     AccountID
	Opened bool
	Quota  map[FlavorID]int // absent flavor: no limit
	Used   map[FlavorID]int // nodes held by live pools, per flavor

	// Limited is false for an unlimited balance; the fields below matter
	// only when it is true.
	Limited bool
	// Credit is what the account has paid in, less prepaid charges: the
	// balance before pay-per-use accrual.
	Credit Money
	// Accrued is the pay-per-use accrual up to AccruedAt; after it, the
	// account accrues Rate per hour.
	Accrued   Accrual
	AccruedAt time.Time
	Rate      Money
	// Arrears: a clock-hour settlement could not be covered (R27).
	Arrears      bool
	ArrearsSince time.Time

	Version uint64
	cmds    map[CommandID]bool // account commands applied (R20)
}

// Applied reports whether an account command (OpenAccount, TopUp) with id
// was already applied (R20).
func (a *Account) Applied(id CommandID) bool { return a.cmds[id] }

func (a *Account) remember(id CommandID) {
	if a.cmds == nil {
		a.cmds = make(map[CommandID]bool)
	}
	a.cmds[id] = true
}

// QuotaLeft returns how many more nodes of f the account may hold, and false
// if it has no limit for f (R6).
func (a *Account) QuotaLeft(f FlavorID) (int, bool) {
	q, ok := a.Quota[f]
	if !ok {
		return 0, false
	}
	return q - a.Used[f], true
}

// AccruedUntil returns the pay-per-use accrual up to t (t not before AccruedAt).
func (a *Account) AccruedUntil(t time.Time) Accrual {
	if !t.After(a.AccruedAt) {
		return a.Accrued
	}
	return a.Accrued.Add(AccrualBetween(a.Rate, 1, a.AccruedAt, t))
}

// CanPay reports whether the balance covers amount at t, after the
// pay-per-use accrual up to t (R8). An unlimited balance always can.
func (a *Account) CanPay(amount Money, t time.Time) bool {
	if !a.Limited {
		return true
	}
	// Credit - accrued(t) >= amount, exactly: credit - amount >= accrued.
	rest, ok := a.Credit.Sub(amount)
	if !ok {
		return false
	}
	return a.AccruedUntil(t).Cmp(rest) <= 0
}

// Balance is the money left at t, after pay-per-use accrual up to t, rounded
// down to 8 places; zero when the accrual exceeds the credit (the rest is
// arrears). Unlimited accounts report false.
func (a *Account) Balance(t time.Time) (Money, bool) {
	if !a.Limited {
		return Zero, false
	}
	acc := a.AccruedUntil(t).Exact()
	left := a.Credit.d.Sub(acc)
	if left.Sign() <= 0 {
		return Zero, true
	}
	return Money{d: left.Truncate(8)}, true
}

// MaxArrearsHours is how far ahead ArrearsDue looks: a balance that lasts
// longer than this (about 114 years) at the current rate is not due.
const MaxArrearsHours = 1_000_000

// ArrearsDue returns the clock-hour boundary at which the balance will no
// longer cover the accrual at the current rate (R27), and false if it never
// will (unlimited, no rate, or already in arrears). Settlement happens at
// each clock hour of cal, so arrears starts at the first boundary h, not
// before AccruedAt, where accrued(h) > credit. It is computed in closed form,
// so an account costs nothing per hour.
func (a *Account) ArrearsDue(cal Calendar) (time.Time, bool) {
	if !a.Limited || a.Arrears {
		return time.Time{}, false
	}
	t0 := a.AccruedAt
	h1 := cal.HourStart(t0)
	if h1.Before(t0) {
		h1 = cal.NextHour(t0)
	}
	over := func(h time.Time) bool { return a.AccruedUntil(h).Cmp(a.Credit) > 0 }
	if over(h1) { // a debt already run up is settled at the next hour, whatever the rate now
		return h1, true
	}
	if a.Rate.IsZero() {
		return time.Time{}, false
	}
	// headroom in price-seconds: credit*3600 - accrued; seconds left = / rate.
	head := a.Credit.d.Mul(secondsPerHr).Sub(a.Accrued.ps)
	secs := head.DivRound(a.Rate.d, 9)                           // seconds after t0 at which accrual reaches credit
	d1 := decimal.NewFromInt(int64(h1.Sub(t0))).Mul(nsPerSecond) // seconds from t0 to h1
	kd := secs.Sub(d1).Div(secondsPerHr).Floor()                 // hours after h1, less one
	if kd.Cmp(decimal.NewFromInt(MaxArrearsHours)) >= 0 {
		// Beyond a century: not due. Any change of rate reschedules it.
		return time.Time{}, false
	}
	k := max(kd.IntPart()+1, 1)
	h := h1.Add(time.Duration(k) * time.Hour)
	// Correct the estimate exactly, both ways.
	for !over(h) {
		h = h.Add(time.Hour)
	}
	for h.After(h1) && over(h.Add(-time.Hour)) {
		h = h.Add(-time.Hour)
	}
	return h, true
}

// Evolve folds one event into the account. It never fails; events of other
// aggregates are ignored.
func (a *Account) Evolve(e Event) {
	switch e := e.(type) {
	case *AccountOpened:
		a.ID, a.Opened = e.Account, true
		a.Quota = make(map[FlavorID]int, len(e.Quota))
		for f, n := range e.Quota {
			a.Quota[f] = n
		}
		a.Limited, a.Credit = e.Limited, e.Balance
		a.AccruedAt = e.At
		a.remember(e.Command)
	case *QuotaUsed:
		a.ID = e.Account
		if a.Used == nil {
			a.Used = make(map[FlavorID]int)
		}
		a.Used[e.Flavor] += e.Nodes
	case *QuotaFreed:
		if a.Used != nil {
			a.Used[e.Flavor] -= e.Nodes
		}
	case *Charged:
		a.Credit = a.Credit.SubFloor(e.Amount)
	case *Refunded:
		a.Credit = a.Credit.Add(e.Amount)
	case *ToppedUp:
		a.Credit = a.Credit.Add(e.Amount)
		a.remember(e.Command)
	case *RateChanged:
		a.Accrued = a.AccruedUntil(e.At)
		if e.At.After(a.AccruedAt) {
			a.AccruedAt = e.At
		}
		a.Rate = e.Rate
	case *ArrearsStarted:
		a.Arrears, a.ArrearsSince = true, e.At
	case *ArrearsCleared:
		a.Arrears, a.ArrearsSince = false, time.Time{}
	default:
		return
	}
	a.Version++
}

// Stock is the state of one flavor's stock in one region: nodes sold and not
// given back (R5). The zero value is nothing sold.
type Stock struct {
	Flavor  FlavorID
	Region  string
	InUse   int
	Version uint64
}

// Left returns how many nodes can still be sold, and false if the region has
// no limit for the flavor.
func (s *Stock) Left(f Flavor, region string) (int, bool) {
	n, ok := f.StockIn(region)
	if !ok {
		return 0, false
	}
	return n - s.InUse, true
}

// Evolve folds one event into the stock item.
func (s *Stock) Evolve(e Event) {
	switch e := e.(type) {
	case *StockTaken:
		s.Flavor, s.Region = e.Flavor, e.Region
		s.InUse += e.Nodes
	case *StockReturned:
		s.InUse -= e.Nodes
	default:
		return
	}
	s.Version++
}

// Clone returns a copy of a that shares no map with it.
func (a Account) Clone() Account {
	a.Quota = cloneMap(a.Quota)
	a.Used = cloneMap(a.Used)
	a.cmds = cloneMap(a.cmds)
	return a
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return nil
	}
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// RateUndo says how to undo a burn-rate change: the command changed the rate
// from Before to After, and the account's rate is Current now (other
// commands may have changed it since).
type RateUndo struct{ Current, Before, After Money }

// rate is Current less the command's change.
func (u RateUndo) rate() Money {
	r := u.Current.d.Add(u.Before.d).Sub(u.After.d)
	if r.Sign() < 0 { // cannot happen for consistent inputs; never go negative (R31)
		return Zero
	}
	return Money{d: r}
}

// Releases reports whether a decision only gives back: no stock taken, no
// quota used, nothing charged. Service appends such a decision's pool events
// first and its returns after, since a return, unlike a take, commutes with
// everything else written to the stock and account streams and so can be
// retried until it is written, never compensated (compensating a return
// would take back stock that another writer may have sold meanwhile).
func (d Decision) Releases() bool {
	for _, e := range d.Stock {
		if _, ok := e.(*StockTaken); ok {
			return false
		}
	}
	for _, e := range d.Account {
		switch e.(type) {
		case *QuotaUsed, *Charged:
			return false
		}
	}
	return true
}

// Rebase returns account events decided when the burn rate was from (and
// moved it to to) rewritten for an account whose rate is current now: a
// RateChanged then sets current + (to - from). Other events are unchanged.
func Rebase(events []Event, current, from, to Money) []Event {
	out := make([]Event, len(events))
	for i, e := range events {
		if r, ok := e.(*RateChanged); ok {
			out[i] = &RateChanged{Meta: r.Meta, Rate: RateUndo{Current: current, Before: to, After: from}.rate()}
			continue
		}
		out[i] = e
	}
	return out
}

// Compensate returns the events that give back what events took from a stock
// item or an account: stock taken returns, quota used is freed, a charge is
// refunded, a rate change is undone (see RateUndo). Service appends them
// when a command's later append fails, so a failed command holds nothing.
// The events commute with whatever else was written to the stream since.
func Compensate(events []Event, undo *RateUndo) []Event {
	out := make([]Event, 0, len(events))
	for i := len(events) - 1; i >= 0; i-- {
		switch e := events[i].(type) {
		case *StockTaken:
			out = append(out, &StockReturned{Meta: e.Meta, Flavor: e.Flavor, Region: e.Region, Nodes: e.Nodes})
		case *StockReturned:
			out = append(out, &StockTaken{Meta: e.Meta, Flavor: e.Flavor, Region: e.Region, Nodes: e.Nodes})
		case *QuotaUsed:
			out = append(out, &QuotaFreed{Meta: e.Meta, Flavor: e.Flavor, Nodes: e.Nodes})
		case *QuotaFreed:
			out = append(out, &QuotaUsed{Meta: e.Meta, Flavor: e.Flavor, Nodes: e.Nodes})
		case *Charged:
			out = append(out, &Refunded{Meta: e.Meta, Amount: e.Amount})
		case *RateChanged:
			if undo != nil {
				out = append(out, &RateChanged{Meta: e.Meta, Rate: undo.rate()})
			}
		}
	}
	return out
}
