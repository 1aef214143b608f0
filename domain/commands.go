package domain

import "time"

// Command is a request to change a pool or an account. Every command carries
// its id (R20) and the acting account (R19). Service gives it the instant.
type Command interface {
	CommandID() CommandID
	Actor() AccountID
}

// Cmd is what every command carries.
type Cmd struct {
	ID      CommandID // unique per request; a retry reuses it (R20)
	Account AccountID // the acting account (R19)
}

// CommandID returns the command's id.
func (c Cmd) CommandID() CommandID { return c.ID }

// Actor returns the acting account.
func (c Cmd) Actor() AccountID { return c.Account }

// CreatePool buys a pool (R1 to R13).
type CreatePool struct {
	Cmd
	Pool        PoolID // the new pool's id; Service assigns one if empty
	Name        string
	Description string
	Type        PoolType
	Billing     Billing
	Flavor      FlavorID
	Region      string
	Nodes       int
	Months      int    // prepaid only (R7)
	AutoRenew   bool   // prepaid only (R12)
	AZ          string // deployment only: random (default), az1, az2, az3 (R11)
	Network     *Network
}

// ScaleOut adds Nodes nodes to a pay-per-use pool (R14, R15).
type ScaleOut struct {
	Cmd
	Pool  PoolID
	Nodes int
}

// ScaleIn removes the named nodes from a pay-per-use pool (R14, R16).
type ScaleIn struct {
	Cmd
	Pool  PoolID
	Nodes []NodeID
}

// DeletePool deletes a pay-per-use pool for good (R17).
type DeletePool struct {
	Cmd
	Pool PoolID
}

// Renew buys another term of a prepaid pool (R23, R25).
type Renew struct {
	Cmd
	Pool   PoolID
	Months int
}

// SetAutoRenew turns auto-renewal on or off (R12, R21). Months is the renewal
// length; 0 keeps the length of the current term.
type SetAutoRenew struct {
	Cmd
	Pool   PoolID
	On     bool
	Months int
}

// ReportFault marks a pool abnormal (R18).
type ReportFault struct {
	Cmd
	Pool PoolID
}

// Rectify clears a pool's fault (R18).
type Rectify struct {
	Cmd
	Pool PoolID
}

// OpenAccount sets an account's quota and starting balance. Balance nil means
// unlimited. An account that is never opened has no limits.
type OpenAccount struct {
	Cmd
	Quota   map[FlavorID]int
	Balance *Money
}

// TopUp adds money to a limited balance, and pays arrears (R27).
type TopUp struct {
	Cmd
	Amount Money
}

// Env is what a decision depends on besides state and command: the instant,
// the rate card and the policy. Decide is a pure function of them.
type Env struct {
	At      time.Time
	Catalog *RateCard
	Policy  Policy
}

// Decision is the events a command produces, per stream. Service appends Stock
// first, then Account, then Pool, and gives back Stock and Account (with
// Undo) if a later append fails.
type Decision struct {
	Stock   []Event
	Account []Event
	Pool    []Event
}

// Empty reports whether the decision produces no events.
func (d Decision) Empty() bool {
	return len(d.Stock) == 0 && len(d.Account) == 0 && len(d.Pool) == 0
}

// PoolOf returns the pool a command acts on, and false for account commands
// and for a CreatePool that leaves the id to be assigned.
func PoolOf(c Command) (PoolID, bool) {
	switch c := c.(type) {
	case CreatePool:
		return c.Pool, c.Pool != ""
	case ScaleOut:
		return c.Pool, true
	case ScaleIn:
		return c.Pool, true
	case DeletePool:
		return c.Pool, true
	case Renew:
		return c.Pool, true
	case SetAutoRenew:
		return c.Pool, true
	case ReportFault:
		return c.Pool, true
	case Rectify:
		return c.Pool, true
	}
	return "", false
}
