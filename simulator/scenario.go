package simulator

import (
	"time"

	"github.com/respool/respool/domain"
)

// Scenario is a checked what-if scenario (SPEC section 9): the accounts and
// rate card it starts from, the pools bought and the actions taken, in the
// billing calendar of Zone, between Start and End. Build one with Load or
// Parse, which report every problem of a file at once; a Scenario they
// return is complete and consistent (every pool names a listed account and
// a catalog flavor, every action names a listed pool, every instant lies in
// [Start, End)). Whether the cloud's rules accept each pool and action is
// left to the run: a rejection is a result, reported with its code, not an
// error of the file.
//
// A Scenario is not changed by Run and may be run concurrently.
type Scenario struct {
	// File is the name the scenario was loaded from, used in messages.
	File string
	// Name is the scenario's title (the report's "scenario").
	Name string
	// Start and End bound the simulation: [Start, End).
	Start, End time.Time
	// Tick is how often the cumulative cost is sampled and progress is
	// reported (default 1h). It never changes results (SPEC section 9).
	Tick time.Duration
	// Policy holds the rules' settings, its Zone the billing zone.
	Policy domain.Policy
	// Catalog is the rate card pools are bought from.
	Catalog *domain.RateCard
	// Accounts are opened at Start, in this order.
	Accounts []Account
	// Pools are the pools of the scenario as written (the base variant).
	Pools []Pool
	// Actions are the scenario's actions, in file order.
	Actions []Action
	// Variants are the stories to compare. Variants[0] is always "base",
	// the scenario as written; the others follow in file order.
	Variants []Variant
}

// Account is an account opened at the scenario's start.
type Account struct {
	ID domain.AccountID
	// Quota is the account's node quota per flavor; an absent flavor has no
	// limit (R6).
	Quota map[domain.FlavorID]int
	// Balance is the starting balance; nil means unlimited.
	Balance *domain.Money
	Line    int // where it is declared
}

// Pool is a pool the scenario buys at At.
type Pool struct {
	ID          domain.PoolID
	Account     domain.AccountID
	Name        string
	Description string
	Type        domain.PoolType
	Billing     domain.Billing
	Flavor      domain.FlavorID
	Region      string
	Nodes       int
	Months      int  // prepaid only
	AutoRenew   bool // prepaid only
	AZ          string
	Network     *domain.Network
	At          time.Time
	Line        int // where it is declared
}

// Verb is what an action does. Its string is the action name used in
// reports (SPEC section 9).
type Verb string

// The verbs of a scenario action, and VerbCreate for a pool's creation.
const (
	VerbCreate    Verb = "create"
	VerbScaleOut  Verb = "scale_out"
	VerbScaleIn   Verb = "scale_in"
	VerbDelete    Verb = "delete"
	VerbRenew     Verb = "renew"
	VerbAutoRenew Verb = "auto_renew"
	VerbFault     Verb = "fault"
	VerbRecover   Verb = "recover"
	VerbTopUp     Verb = "top_up"
)

// Action is one scheduled action of the scenario.
type Action struct {
	At      time.Time
	Account domain.AccountID
	Pool    domain.PoolID // empty for top_up
	Verb    Verb
	// Count is the nodes of scale_out, the newest nodes to remove of
	// scale_in (when Nodes is empty), and the months of renew.
	Count int
	// Nodes are the nodes scale_in names.
	Nodes []domain.NodeID
	// On is auto_renew's setting.
	On bool
	// Amount is top_up's amount.
	Amount domain.Money
	Index  int // position in the file's actions, from 0
	Line   int // where it is declared
}

// Variant is the scenario under other choices: the same accounts and
// actions with some pool fields overridden.
type Variant struct {
	Name string
	// Changes says what the variant overrides, for people
	// ("train-a: billing=prepaid months=12"); empty for base.
	Changes []string
	// Pools are the scenario's pools with the variant's overrides applied.
	Pools []Pool
	Line  int
}

// Base returns the base variant (the scenario as written).
func (s *Scenario) Base() Variant { return s.Variants[0] }
