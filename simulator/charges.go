package simulator

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/respool/respool/domain"
	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/projections"
)

// This file is the simulator's one seam to the charges of a run. Every
// amount comes from projections.Charges, the one place where the billing
// rules of SPEC section 5 are enforced (prepaid charges R8, accrual per
// node per second R28, the retention freeze R27, rounding R30); the
// simulator computes no charge of its own. What it adds is arithmetic over
// the projection's answers: a pool's cost changes only at its own events
// (between two of them it grows at a constant pay-per-use rate, and at one
// it may jump by a prepaid charge), so asking the projection at each event
// instant gives the whole cumulative curve, in O(events) queries rather than
// pools x samples.

// poolCharges is what one pool cost up to the run's end, from the
// projections.
type poolCharges struct {
	// AsOfEnd is the projection's answer as of the end (R32).
	AsOfEnd projections.Amount
	// Lines are the prepaid terms bought up to the end (R8).
	Lines []projections.PrepaidLine
	// NodeSeconds is the node time held while the pool was not frozen
	// (from the node list and the pool's status changes).
	NodeSeconds int64
	// History is the pool's status changes and deletion, in order.
	History []StatusEvent
	// RenewalsFailed counts failed auto-renewal attempts (R24).
	RenewalsFailed int
}

// Exact returns the pool's exact cost.
func (c *poolCharges) Exact() decimal.Decimal {
	return c.AsOfEnd.Prepaid.Decimal().Add(c.AsOfEnd.PayPerUse.Exact())
}

// Charged is the pool's cost rounded to 0.01 with mode (SPEC section 9).
func (c *poolCharges) Charged(mode domain.Rounding) domain.Money { return c.AsOfEnd.Total(2, mode) }

// ListPrice is the list price of the prepaid terms bought.
func (c *poolCharges) ListPrice() domain.Money {
	var m domain.Money
	for _, l := range c.Lines {
		m = m.Add(l.ListPrice)
	}
	return m
}

// runCharges is what a run cost: per pool, and as a cumulative curve.
type runCharges struct {
	Pools  map[domain.PoolID]*poolCharges
	Curve  curve
	Events int // events in the run's log
}

// poolTrace is what the log says of one pool besides money: the instants of
// its events and its frozen spans.
type poolTrace struct {
	instants []time.Time // distinct, in time order
	frozen   [][2]time.Time
	history  []StatusEvent
	failed   int
}

// charges folds the run's log through the projections and returns what
// each pool cost up to end, and the run's cumulative cost curve from start.
func charges(ctx context.Context, store eventstore.Store, pol domain.Policy, start, end time.Time) (*runCharges, error) {
	f := newFold(pol, end, false)
	for rec, err := range store.ReadAll(ctx, 0) {
		if err != nil {
			return nil, fmt.Errorf("reading the run's events: %w", err)
		}
		if err := f.add(rec); err != nil {
			return nil, err
		}
	}
	return f.charges(start), nil
}

// fold is a run's log folded, record by record in log order, through the
// projections (and, for Replay, into the pools' states).
type fold struct {
	end    time.Time
	pol    domain.Policy
	ch     *projections.Charges
	nl     *projections.NodeList
	runner *projections.Runner
	dec    domain.Decoder // one for the whole log: it reuses its buffers
	traces map[domain.PoolID]*poolTrace
	order  []domain.PoolID
	n      int
	// states are the pools' states as of their last event, when asked
	// for (nil otherwise): what Service.Pool gives at the end of a run.
	states map[domain.PoolID]*domain.Pool
}

func newFold(pol domain.Policy, end time.Time, states bool) *fold {
	f := &fold{end: end, pol: pol, ch: projections.NewCharges(pol, projections.Options{}),
		nl: projections.NewNodeList(projections.Options{}), traces: map[domain.PoolID]*poolTrace{}}
	f.runner = projections.NewRunner(nil, f.ch, f.nl) // fed by hand: ApplyEnvelope
	if states {
		f.states = map[domain.PoolID]*domain.Pool{}
	}
	return f
}

// add folds the next record of the log.
func (f *fold) add(rec eventstore.Record) error {
	f.n++
	if !strings.HasPrefix(rec.Stream, "pool-") {
		return nil // the charges and the node list are folded from pool events only
	}
	ev, err := f.dec.Decode(rec.Type, rec.Data)
	if err != nil {
		return &projections.DecodeError{Stream: rec.Stream, Version: rec.Version, Position: rec.Position, Type: rec.Type, Err: err}
	}
	env := projections.Envelope{Stream: rec.Stream, Version: rec.Version, Position: rec.Position, ID: rec.ID, Event: ev}
	if err := f.runner.ApplyEnvelope(env); err != nil {
		return err
	}
	m := env.Event.EventMeta()
	if f.states != nil && m.Pool != "" {
		st := f.states[m.Pool]
		if st == nil {
			st = &domain.Pool{}
			f.states[m.Pool] = st
		}
		st.Evolve(ev, f.pol)
	}
	if m.Pool == "" || m.At.After(f.end) {
		return nil
	}
	tr := f.traces[m.Pool]
	if tr == nil {
		tr = &poolTrace{}
		f.traces[m.Pool] = tr
		f.order = append(f.order, m.Pool)
	}
	if k := len(tr.instants); k == 0 || m.At.After(tr.instants[k-1]) {
		tr.instants = append(tr.instants, m.At)
	}
	switch ev := env.Event.(type) {
	case *domain.StatusChanged:
		tr.history = append(tr.history, StatusEvent{at: ev.At, Status: string(ev.To), Reason: ev.Reason})
		switch {
		case ev.To == domain.StatusFrozen:
			tr.frozen = append(tr.frozen, [2]time.Time{ev.At, f.end})
		case ev.From == domain.StatusFrozen && len(tr.frozen) > 0:
			tr.frozen[len(tr.frozen)-1][1] = ev.At
		}
	case *domain.Deleted:
		tr.history = append(tr.history, StatusEvent{at: ev.At, Status: string(domain.StatusDeleted), Reason: ev.Reason})
	case *domain.RenewalFailed:
		tr.failed++
	}
	return nil
}

// charges returns what each pool cost up to the fold's end, and the run's
// cumulative cost curve from start.
func (f *fold) charges(start time.Time) *runCharges {
	ch, nl, traces, order, end := f.ch, f.nl, f.traces, f.order, f.end
	rc := &runCharges{Pools: map[domain.PoolID]*poolCharges{}, Events: f.n}
	var steps []curveStep
	for _, id := range order {
		tr := traces[id]
		end1, ok := ch.AsOf(id, end)
		if !ok {
			continue
		}
		pc := &poolCharges{AsOfEnd: end1, History: tr.history, RenewalsFailed: tr.failed}
		for _, l := range ch.Prepaid(id) {
			if !l.At.After(end) {
				pc.Lines = append(pc.Lines, l)
			}
		}
		if hist, ok := nl.History(id); ok {
			pc.NodeSeconds = nodeSeconds(hist, tr.frozen, end)
		}
		rc.Pools[id] = pc
		if pc.AsOfEnd.PayPerUse.IsZero() {
			// Nothing accrued by the end, so nothing accrued before it
			// either (R32): the pool's curve is its prepaid charges.
			for _, l := range pc.Lines {
				steps = append(steps, curveStep{t: l.At, jump: l.Charge.Decimal()})
			}
			continue
		}
		steps = poolSteps(steps, ch, id, tr.instants, pc.Lines, end)
	}
	// Steps at the same instant add up in any order: no need for a stable sort.
	slices.SortFunc(steps, func(a, b curveStep) int { return a.t.Compare(b.t) })
	var b curveBuilder
	b.start(start)
	for _, s := range steps {
		b.add(s.t, s.jump, s.dRate)
	}
	rc.Curve = b.done()
	return rc
}

// curveStep is a change of a run's cumulative cost at t: a jump, and a
// change of the rate per hour from t on.
type curveStep struct {
	t     time.Time
	jump  decimal.Decimal
	dRate decimal.Decimal
}

// poolSteps appends one pool's contribution to the run's curve. Between two
// of the pool's event instants its cost is linear: the value at each
// instant comes from the projection, the jumps are its prepaid charges, and
// the rate of each stretch is what the projection says it accrued over it.
func poolSteps(out []curveStep, ch *projections.Charges, id domain.PoolID, instants []time.Time, lines []projections.PrepaidLine, end time.Time) []curveStep {
	value := func(t time.Time) decimal.Decimal {
		a, _ := ch.AsOf(id, t)
		return a.Prepaid.Decimal().Add(a.PayPerUse.Exact())
	}
	jumpAt := func(t time.Time) decimal.Decimal {
		j := decimal.Zero
		for _, l := range lines {
			if l.At.Equal(t) {
				j = j.Add(l.Charge.Decimal())
			}
		}
		return j
	}
	rate := decimal.Zero
	v := decimal.Zero
	for i, t := range instants {
		next := end
		if i+1 < len(instants) {
			next = instants[i+1]
		}
		jump := jumpAt(t)
		if i == 0 {
			v = value(t)
			jump = v // whatever the pool cost at its first instant
		}
		newRate := decimal.Zero
		if next.After(t) {
			vNext := value(next)
			if i+1 < len(instants) { // the value just before the next instant's jumps
				vNext = vNext.Sub(jumpAt(next))
			}
			newRate = vNext.Sub(v).DivRound(hours(next.Sub(t)), 20)
			v = value(next)
		}
		out = append(out, curveStep{t: t, jump: jump, dRate: newRate.Sub(rate)})
		rate = newRate
	}
	return out
}

// nodeSeconds is the node time of a pool's nodes up to end, less the spans
// it was frozen.
func nodeSeconds(hist []projections.Node, frozen [][2]time.Time, end time.Time) int64 {
	var total int64
	for _, n := range hist {
		from, to := n.Added, end
		if !n.Removed.IsZero() && n.Removed.Before(to) {
			to = n.Removed
		}
		if !to.After(from) {
			continue
		}
		d := to.Sub(from)
		for _, f := range frozen {
			lo, hi := later(from, f[0]), earlier(to, f[1])
			if hi.After(lo) {
				d -= hi.Sub(lo)
			}
		}
		total += int64(d / time.Second)
	}
	return total
}
