package domain

import (
	"slices"
	"time"
)

// Phase is where a pool is in its life; with the fault flag it gives the
// status (section 7).
type Phase uint8

const (
	PhaseNone      Phase = iota // not created
	PhaseActive                 // running or abnormal
	PhaseGrace                  // expired: grace after expiry or arrears (R26, R27)
	PhaseRetention              // frozen (R26, R27)
	PhaseGone                   // deleted
)

// Node is one node of a pool.
type Node struct {
	ID    NodeID
	AZ    string
	Added time.Time
}

// Pool is a pool's state, folded from its events by Evolve. The zero value is
// a pool that does not exist. A Pool is not safe for concurrent use.
type Pool struct {
	ID          PoolID
	Account     AccountID
	Name        string
	Description string
	Type        PoolType
	Billing     Billing
	Flavor      FlavorID
	Kind        Kind
	Region      string
	AZ          string
	Network     *Network
	Prices      Prices
	Created     time.Time

	Phase      Phase
	PhaseSince time.Time // when the current phase began
	PhaseCause string    // ReasonExpired or ReasonArrears while in grace or retention
	Fault      bool      // abnormal (R18)

	Nodes   []Node // live nodes, oldest first
	NodeSeq int    // nodes ever added; the next is NodeName(NodeSeq+1)

	// Prepaid only.
	Anchor      time.Time // purchase instant: expiries are computed from it (R22)
	Months      int       // months covered since the anchor, all terms together
	Term        Term      // the latest term bought
	AutoRenew   bool
	RenewMonths int       // 0: the length of the current term (R21)
	NextAttempt time.Time // next auto-renewal attempt, zero if none (R24)
	Renewals    int       // Renewed events

	Version  uint64               // events folded
	commands map[CommandID]uint64 // command -> version of its last event (R20)
	lastCmd  CommandID
}

// Exists reports whether the pool was created.
func (p *Pool) Exists() bool { return p.Phase != PhaseNone }

// Status is the pool's status (section 7).
func (p *Pool) Status() Status {
	switch p.Phase {
	case PhaseGone:
		return StatusDeleted
	case PhaseRetention:
		return StatusFrozen
	case PhaseGrace:
		return StatusExpired
	}
	if p.Fault {
		return StatusAbnormal
	}
	return StatusRunning
}

// Accruing reports whether the pool's nodes accrue pay-per-use charges now:
// a pay-per-use pool that is not frozen or deleted (R27, R28).
func (p *Pool) Accruing() bool {
	return p.Billing == PayPerUse && (p.Phase == PhaseActive || p.Phase == PhaseGrace)
}

// accruingNodes is the number of nodes accruing now.
func (p *Pool) accruingNodes() int {
	if !p.Accruing() {
		return 0
	}
	return len(p.Nodes)
}

// HourlyRate is what the pool accrues per hour now (zero if not accruing).
func (p *Pool) HourlyRate() Money {
	return p.Prices.Hourly.Mul(int64(p.accruingNodes()))
}

// Clone returns a copy of p that shares no memory that Evolve writes: its
// own nodes, network settings and record of applied commands.
func (p Pool) Clone() Pool {
	p.Nodes = append([]Node(nil), p.Nodes...)
	if p.Network != nil {
		n := *p.Network
		p.Network = &n
	}
	p.commands = cloneMap(p.commands)
	return p
}

// Reset makes p the pool that does not exist, as the zero value, but keeps
// the memory of its nodes and of its record of applied commands for the
// pool folded into it next. Use it only on a Pool that shares them with no
// one (see Clone).
func (p *Pool) Reset() {
	nodes, cmds := p.Nodes[:0], p.commands
	clear(nodes[:cap(nodes)]) // hold on to no node ids
	clear(cmds)
	*p = Pool{Nodes: nodes, commands: cmds}
}

// Applied reports whether command id already produced events in this pool,
// and the version of its last event (R20).
func (p *Pool) Applied(id CommandID) (uint64, bool) {
	if id == p.lastCmd && id != "" {
		return p.Version, true
	}
	v, ok := p.commands[id]
	return v, ok
}

// NodeIndex returns the index of node id in Nodes, or -1.
func (p *Pool) NodeIndex(id NodeID) int {
	for i := range p.Nodes {
		if p.Nodes[i].ID == id {
			return i
		}
	}
	return -1
}

// renewMonths is the length of the next auto-renewal (R21).
func (p *Pool) renewMonths() int {
	if p.RenewMonths > 0 {
		return p.RenewMonths
	}
	return p.Term.Months
}

// Evolve folds one event into the pool. It never fails and never validates:
// an event is a fact (STYLE 2). Events of other aggregates are ignored.
func (p *Pool) Evolve(e Event, pol Policy) {
	var cmd CommandID
	switch e := e.(type) {
	case *NodeAdded: // most of any log: first
		p.NodeSeq++
		p.Nodes = append(p.Nodes, Node{ID: e.Node, AZ: e.AZ, Added: e.At})
		cmd = e.Command
	case *NodeRemoved:
		if i := p.NodeIndex(e.Node); i >= 0 {
			p.Nodes = append(p.Nodes[:i], p.Nodes[i+1:]...)
		}
		cmd = e.Command
	case *Created:
		p.evolveCreated(e, pol)
		cmd = e.Command
	case *Renewed:
		p.Renewals++
		p.Months += e.Term.Months
		p.Term = e.Term
		if p.Phase == PhaseGrace || p.Phase == PhaseRetention {
			// The StatusChanged that follows says so too; setting it here
			// keeps Evolve total even if a store lost the order of two
			// events of one append, which no store may do.
			p.Phase, p.PhaseSince, p.PhaseCause = PhaseActive, e.At, ""
		}
		p.scheduleAttempt(e.At, pol, false)
		cmd = e.Command
	case *RenewalFailed:
		p.NextAttempt = pol.Calendar().NextRenewalHourAfter(e.At)
		if !p.NextAttempt.Before(p.Term.End) {
			p.NextAttempt = time.Time{}
		}
		cmd = e.Command
	case *AutoRenewalChanged:
		p.AutoRenew, p.RenewMonths = e.On, e.Months
		p.scheduleAttempt(e.At, pol, true)
		cmd = e.Command
	case *StatusChanged:
		p.evolveStatus(e)
		cmd = e.Command
	case *Deleted:
		p.Phase, p.PhaseSince = PhaseGone, e.At
		p.Nodes = nil
		p.NextAttempt = time.Time{}
		cmd = e.Command
	default:
		return
	}
	p.Version++
	if cmd != p.lastCmd {
		if p.lastCmd != "" {
			if p.commands == nil {
				p.commands = make(map[CommandID]uint64)
			}
			p.commands[p.lastCmd] = p.Version - 1
		}
		p.lastCmd = cmd
	}
}

func (p *Pool) evolveCreated(e *Created, pol Policy) {
	p.ID, p.Account = e.Pool, e.Account
	p.Name, p.Description = e.Name, e.Description
	p.Type, p.Billing = e.Type, e.Billing
	p.Flavor, p.Kind, p.Region = e.Flavor, e.Kind, e.Region
	p.AZ, p.Network, p.Prices = e.AZ, e.Network, e.Prices
	p.Created = e.At
	p.Phase, p.PhaseSince = PhaseActive, e.At
	p.Nodes = slices.Grow(p.Nodes[:0], e.Nodes) // the memory of a Reset pool, if it has room
	if e.Billing == Prepaid {
		p.Anchor = e.At
		p.Months = e.Term.Months
		p.Term = e.Term
		p.AutoRenew = e.AutoRenew
		p.scheduleAttempt(e.At, pol, false)
	}
}

func (p *Pool) evolveStatus(e *StatusChanged) {
	switch e.Reason {
	case ReasonFault:
		p.Fault = true
		return
	case ReasonRectified:
		p.Fault = false
		return
	}
	switch e.To {
	case StatusExpired:
		p.Phase, p.PhaseSince, p.PhaseCause = PhaseGrace, e.At, e.Reason
		p.NextAttempt = time.Time{}
	case StatusFrozen:
		p.Phase, p.PhaseSince = PhaseRetention, e.At
	case StatusRunning, StatusAbnormal:
		p.Phase, p.PhaseSince, p.PhaseCause = PhaseActive, e.At, ""
	}
}

// scheduleAttempt sets the next auto-renewal attempt after a change at t
// (R24): 03:00 on the policy's day before expiry; at once when auto-renewal
// is turned on (turnedOn) after that time; otherwise, past that time (a
// late manual renewal whose new term is already inside its window), the
// next 03:00. None if auto-renewal is off or the pool is not active.
func (p *Pool) scheduleAttempt(t time.Time, pol Policy, turnedOn bool) {
	p.NextAttempt = time.Time{}
	if !p.AutoRenew || p.Billing != Prepaid || p.Phase != PhaseActive {
		return
	}
	cal := pol.Calendar()
	first := cal.FirstRenewalAttempt(p.Term.End, pol.RenewLeadDays())
	if t.After(first) {
		first = t
		if !turnedOn {
			first = cal.NextRenewalHourAfter(t)
		}
	}
	if first.Before(p.Term.End) {
		p.NextAttempt = first
	}
}
