package domain

import "time"

// DueKind is a transition the rules make due at an instant.
type DueKind uint8

const (
	DueNone      DueKind = iota
	DueRenewal           // an auto-renewal attempt (R24)
	DueExpiry            // a prepaid term ends without renewal: grace (R26)
	DueRetention         // grace ends: frozen (R26, R27)
	DueDeletion          // retention ends: deleted by the system (R26, R27)
)

func (k DueKind) String() string {
	return [...]string{"none", "renewal", "expiry", "retention", "deletion"}[k]
}

// Due returns the pool's next time-driven transition and when it is due, or
// false if none is. Service keeps one entry per pool in a due-time queue, so
// that Advance costs what is due, not the number of pools.
func (p *Pool) Due(pol Policy) (time.Time, DueKind, bool) {
	cal := pol.Calendar()
	switch p.Phase {
	case PhaseActive:
		if p.Billing != Prepaid {
			return time.Time{}, DueNone, false
		}
		if !p.NextAttempt.IsZero() && p.NextAttempt.Before(p.Term.End) {
			return p.NextAttempt, DueRenewal, true
		}
		return p.Term.End, DueExpiry, true
	case PhaseGrace:
		return cal.AddDays(p.PhaseSince, pol.Grace()), DueRetention, true
	case PhaseRetention:
		return cal.AddDays(p.PhaseSince, pol.Retention()), DueDeletion, true
	}
	return time.Time{}, DueNone, false
}

// DecideDue carries out the transition of kind due at env.At, as the system
// (command id id). It returns an empty decision if the transition is no
// longer due (a renewal or a command got there first), so that a stale
// queue entry is harmless.
func DecideDue(w World, kind DueKind, id CommandID, env Env) (Decision, error) {
	p := w.Pool
	if p == nil || !p.Exists() {
		return Decision{}, nil
	}
	at, k, ok := p.Due(env.Policy)
	if !ok || k != kind || at.After(env.At) {
		return Decision{}, nil
	}
	m := meta(p.ID, p.Account, env.At, id)
	switch kind {
	case DueRenewal: // R24
		return renewal(w, id, p.renewMonths(), true, env)
	case DueExpiry: // R26
		return Decision{Pool: []Event{&StatusChanged{Meta: m, From: p.Status(), To: StatusExpired, Reason: ReasonExpired}}}, nil
	case DueRetention: // R26, R27: frozen, and no longer accruing
		d := Decision{Pool: []Event{&StatusChanged{Meta: m, From: p.Status(), To: StatusFrozen, Reason: ReasonRetention}}}
		d.Account = rateChange(w.Account, m, p.Prices.Hourly, 0, p.accruingNodes())
		return d, nil
	case DueDeletion: // R26: deleted by the system; nodes and stock return
		d := Decision{Pool: []Event{&Deleted{Meta: m, Reason: ReasonRetentionUp}}}
		release(&d, w, m)
		return d, nil
	}
	return Decision{}, nil
}

// DecideArrears starts the account's arrears at env.At if the clock-hour
// settlement due then cannot be covered (R27). The account's pay-per-use
// pools then each get DecideArrearsGrace.
func DecideArrears(a *Account, id CommandID, env Env) []Event {
	at, ok := a.ArrearsDue(env.Policy.Calendar())
	if !ok || at.After(env.At) {
		return nil
	}
	return []Event{&ArrearsStarted{Meta: meta("", a.ID, env.At, id)}}
}

// DecideArrearsGrace puts a running pay-per-use pool of an account in
// arrears into grace (R27): still usable and still accruing.
func DecideArrearsGrace(p *Pool, id CommandID, env Env) []Event {
	if p == nil || p.Billing != PayPerUse || p.Phase != PhaseActive {
		return nil
	}
	m := meta(p.ID, p.Account, env.At, id)
	return []Event{&StatusChanged{Meta: m, From: p.Status(), To: StatusExpired, Reason: ReasonArrears}}
}

// DecideArrearsPaid brings a pay-per-use pool that entered grace or
// retention through arrears back to running once the arrears are paid (R27);
// a frozen pool starts accruing again.
func DecideArrearsPaid(w World, id CommandID, env Env) Decision {
	p := w.Pool
	if p == nil || p.Billing != PayPerUse || p.PhaseCause != ReasonArrears ||
		(p.Phase != PhaseGrace && p.Phase != PhaseRetention) {
		return Decision{}
	}
	m := meta(p.ID, p.Account, env.At, id)
	d := Decision{Pool: []Event{&StatusChanged{Meta: m, From: p.Status(), To: p.statusAfterRevival(), Reason: ReasonArrearsPaid}}}
	if p.Phase == PhaseRetention {
		d.Account = rateChange(w.Account, m, p.Prices.Hourly, len(p.Nodes), 0)
	}
	return d
}
