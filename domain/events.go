package domain

import (
	"strconv"
	"time"
)

// PoolType is what a pool is dedicated to (seed).
type PoolType string

const (
	// Training: "Dedicated for Development/Training": notebooks, training and
	// TensorBoard jobs.
	Training PoolType = "training"
	// Deployment: "Dedicated for Service Deployment": model deployment only.
	Deployment PoolType = "deployment"
)

// Billing is a pool's billing mode (seed).
type Billing string

const (
	PayPerUse Billing = "pay-per-use"
	Prepaid   Billing = "prepaid" // the console's Yearly/Monthly
)

// Status is a pool's status (SPEC section 7).
type Status string

const (
	StatusRunning  Status = "running"  // usable
	StatusAbnormal Status = "abnormal" // a fault (R18)
	StatusExpired  Status = "expired"  // grace: term ended or account in arrears, still usable (R26, R27)
	StatusFrozen   Status = "frozen"   // retention: unusable, not accruing
	StatusDeleted  Status = "deleted"  // final
)

// AZ policies of a deployment pool (R11).
const (
	AZRandom = "random"
	AZ1      = "az1"
	AZ2      = "az2"
	AZ3      = "az3"
)

// Network is a deployment pool's custom network (R10).
type Network struct {
	VPC           string `json:"vpc"`
	Subnet        string `json:"subnet"`
	SecurityGroup string `json:"security_group"`
}

// Term is a prepaid term: [Start, End). End is exclusive: the term covers its
// expiry date (the day before End in the billing zone) up to 23:59:59.999...,
// and the next term starts at End, 00:00:00 (R22).
type Term struct {
	Start  time.Time
	End    time.Time
	Months int
}

// Reasons carried by StatusChanged, RenewalFailed and Deleted.
const (
	ReasonFault       = "fault"        // running -> abnormal (R18)
	ReasonRectified   = "rectified"    // abnormal -> running (R18)
	ReasonExpired     = "expired"      // term ended: grace (R26)
	ReasonArrears     = "arrears"      // account in arrears: grace (R27)
	ReasonRetention   = "retention"    // grace ended: frozen (R26, R27)
	ReasonRenewed     = "renewed"      // renewal in grace or retention (R26)
	ReasonArrearsPaid = "arrears_paid" // arrears paid: back from grace or retention (R27)
	ReasonUser        = "user"         // deleted by its account (R17)
	ReasonRetentionUp = "retention_ended"
)

// Meta is what every event carries: which pool (empty for account events not
// caused by a pool), which account, when, and the command that caused it.
type Meta struct {
	Pool    PoolID
	Account AccountID
	At      time.Time
	Command CommandID
}

// Event is a fact that happened to a pool, an account or a stock item. The
// concrete types are the structs of this file; each has a stable type name
// (EventType) that never changes, used by the codec.
type Event interface {
	EventType() string
	EventMeta() Meta
}

// Stable event type names. Never derived from Go type names.
const (
	TypeCreated            = "pool.created"
	TypeNodeAdded          = "pool.node_added"
	TypeNodeRemoved        = "pool.node_removed"
	TypeRenewed            = "pool.renewed"
	TypeRenewalFailed      = "pool.renewal_failed"
	TypeAutoRenewalChanged = "pool.auto_renewal_changed"
	TypeStatusChanged      = "pool.status_changed"
	TypeDeleted            = "pool.deleted"

	TypeAccountOpened  = "account.opened"
	TypeQuotaUsed      = "account.quota_used"
	TypeQuotaFreed     = "account.quota_freed"
	TypeCharged        = "account.charged"
	TypeRefunded       = "account.refunded"
	TypeToppedUp       = "account.topped_up"
	TypeRateChanged    = "account.rate_changed"
	TypeArrearsStarted = "account.arrears_started"
	TypeArrearsCleared = "account.arrears_cleared"

	TypeStockTaken    = "stock.taken"
	TypeStockReturned = "stock.returned"
)

// EventTypes returns the type name of every event this version of the
// library knows, in the order of the constants above.
func EventTypes() []string {
	return []string{
		TypeCreated, TypeNodeAdded, TypeNodeRemoved, TypeRenewed, TypeRenewalFailed,
		TypeAutoRenewalChanged, TypeStatusChanged, TypeDeleted,
		TypeAccountOpened, TypeQuotaUsed, TypeQuotaFreed, TypeCharged, TypeRefunded,
		TypeToppedUp, TypeRateChanged, TypeArrearsStarted, TypeArrearsCleared,
		TypeStockTaken, TypeStockReturned,
	}
}

// Created: a pool is bought (R1 to R13).
type Created struct {
	Meta
	Name        string
	Description string
	Type        PoolType
	Billing     Billing
	Flavor      FlavorID
	Kind        Kind
	Region      string
	AZ          string   // AZ policy: random, az1, az2, az3 (deployment); "" (training)
	Network     *Network // custom network (deployment), nil for an isolated one
	Prices      Prices   // captured from the rate card
	Nodes       int      // nodes bought; one NodeAdded follows for each
	// Prepaid only.
	Term      Term
	Charge    Money // what was taken from the balance (R8)
	ListPrice Money // nodes x monthly x months; above Charge for the 1-year package
	AutoRenew bool
}

// NodeAdded: one node joins the pool, at creation or scale-out (R15).
type NodeAdded struct {
	Meta
	Node NodeID
	AZ   string
}

// NodeRemoved: a node leaves by scale-in (R16).
type NodeRemoved struct {
	Meta
	Node NodeID
}

// Renewed: a term after the first is bought (R23, R24, R25).
type Renewed struct {
	Meta
	Term      Term
	Charge    Money
	ListPrice Money
	Automatic bool
}

// RenewalFailed: an auto-renewal attempt could not be charged (R24).
type RenewalFailed struct {
	Meta
	Months int
	Charge Money // what it would have cost
	Reason Code
}

// AutoRenewalChanged: auto-renewal set on or off (R12, R21). Months is the
// renewal length; 0 means the length of the current term.
type AutoRenewalChanged struct {
	Meta
	On     bool
	Months int
}

// StatusChanged: fault, rectified, grace, retention, back to running (R18,
// R26, R27).
type StatusChanged struct {
	Meta
	From   Status
	To     Status
	Reason string
}

// Deleted: deleted by its account or by the system after retention (R17,
// R26). It releases every node still in the pool; no NodeRemoved follows.
type Deleted struct {
	Meta
	Reason string
}

// AccountOpened: an account's quota and starting balance are set. An account
// that was never opened has no quota limits and an unlimited balance.
type AccountOpened struct {
	Meta
	Quota   map[FlavorID]int // absent flavor: no limit
	Limited bool             // false: unlimited balance
	Balance Money
}

// QuotaUsed and QuotaFreed: nodes of a flavor held by the account's live
// pools change (R6). Meta.Pool names the pool.
type QuotaUsed struct {
	Meta
	Flavor FlavorID
	Nodes  int
}

// QuotaFreed: see QuotaUsed.
type QuotaFreed struct {
	Meta
	Flavor FlavorID
	Nodes  int
}

// Charged: a prepaid term's price is taken from a limited balance (R8).
type Charged struct {
	Meta
	Amount Money
}

// Refunded: a charge is given back because the pool's own append failed
// after the charge was taken (a compensation, never a business refund).
type Refunded struct {
	Meta
	Amount Money
}

// ToppedUp: money is added to a limited balance (R27).
type ToppedUp struct {
	Meta
	Amount Money
}

// RateChanged: the account's pay-per-use burn rate (price per hour of all its
// accruing nodes) changes at Meta.At (R27). What accrued at the old rate up
// to that instant is folded into the account's accrued total by Evolve, so
// the event carries only the new rate. Written only for limited balances.
type RateChanged struct {
	Meta
	Rate Money
}

// ArrearsStarted: at a clock-hour settlement the balance could not cover the
// pay-per-use accrual (R27).
type ArrearsStarted struct {
	Meta
}

// ArrearsCleared: a top-up paid the arrears (R27).
type ArrearsCleared struct {
	Meta
}

// StockTaken and StockReturned: nodes of a flavor in a region are sold or
// given back (R5). Meta.Pool names the pool.
type StockTaken struct {
	Meta
	Flavor FlavorID
	Region string
	Nodes  int
}

// StockReturned: see StockTaken.
type StockReturned struct {
	Meta
	Flavor FlavorID
	Region string
	Nodes  int
}

// EventMeta returns the event's Meta.
func (m Meta) EventMeta() Meta { return m }

func (*Created) EventType() string            { return TypeCreated }
func (*NodeAdded) EventType() string          { return TypeNodeAdded }
func (*NodeRemoved) EventType() string        { return TypeNodeRemoved }
func (*Renewed) EventType() string            { return TypeRenewed }
func (*RenewalFailed) EventType() string      { return TypeRenewalFailed }
func (*AutoRenewalChanged) EventType() string { return TypeAutoRenewalChanged }
func (*StatusChanged) EventType() string      { return TypeStatusChanged }
func (*Deleted) EventType() string            { return TypeDeleted }
func (*AccountOpened) EventType() string      { return TypeAccountOpened }
func (*QuotaUsed) EventType() string          { return TypeQuotaUsed }
func (*QuotaFreed) EventType() string         { return TypeQuotaFreed }
func (*Charged) EventType() string            { return TypeCharged }
func (*Refunded) EventType() string           { return TypeRefunded }
func (*ToppedUp) EventType() string           { return TypeToppedUp }
func (*RateChanged) EventType() string        { return TypeRateChanged }
func (*ArrearsStarted) EventType() string     { return TypeArrearsStarted }
func (*ArrearsCleared) EventType() string     { return TypeArrearsCleared }
func (*StockTaken) EventType() string         { return TypeStockTaken }
func (*StockReturned) EventType() string      { return TypeStockReturned }

// Stream names. Every pool, account and stock item has its own stream.

// PoolStream is the stream of pool id.
func PoolStream(id PoolID) string { return "pool-" + string(id) }

// AccountStream is the stream of account id.
func AccountStream(id AccountID) string { return "account-" + string(id) }

// StockStream is the stream of a flavor's stock in a region.
func StockStream(f FlavorID, region string) string { return "stock-" + string(f) + "@" + region }

// NodeName is the id of the seq-th node of a pool (from 1): n-0001. Ids are
// never reused within a pool.
func NodeName(seq int) NodeID { return NodeID(appendNodeName(nil, seq)) }

func appendNodeName(b []byte, seq int) []byte {
	b = append(b, 'n', '-')
	if seq < 1000 {
		b = append(b, '0')
	}
	if seq < 100 {
		b = append(b, '0')
	}
	if seq < 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(seq), 10)
}
