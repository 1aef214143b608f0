package domain

import (
	"strings"
	"time"
	"unicode/utf8"
)

// MaxNodesPerCommand bounds the nodes one command may add (decision): a pool
// is bought node by node as events, and a typo of 10^9 nodes must be a clear
// error rather than a store filled with events.
const MaxNodesPerCommand = 10000

// World is the state a pool command is decided against: the pool, its
// account (for CreatePool, the acting account) and the stock item of its
// flavor and region. Decide never changes it.
type World struct {
	Pool    *Pool
	Account *Account
	Stock   *Stock
}

// Decide decides a pool or account command: the events it produces, or a
// *RuleError. It is pure: the same world, command and env give the same
// answer. Checks run in this order (SPEC section 8): a malformed command
// (invalid_command); a pool that is not the actor's (not_found, R19) or is
// deleted (pool_gone, R17); a command the pool's billing mode does not
// support at all (R14, R17, R25: the rules that govern such a command do not
// apply to it); then the rules in rule order.
func Decide(w World, c Command, env Env) (Decision, error) {
	switch c := c.(type) {
	case CreatePool:
		return decideCreate(w, c, env)
	case ScaleOut:
		return decideScaleOut(w, c, env)
	case ScaleIn:
		return decideScaleIn(w, c, env)
	case DeletePool:
		return decideDelete(w, c, env)
	case Renew:
		return decideRenew(w, c, env)
	case SetAutoRenew:
		return decideAutoRenew(w, c, env)
	case ReportFault:
		return decideFault(w, c, env)
	case Rectify:
		return decideRectify(w, c, env)
	case OpenAccount:
		return decideOpenAccount(w, c, env)
	case TopUp:
		return decideTopUp(w, c, env)
	}
	return Decision{}, reject(CodeInvalidCommand, "", "unknown command %T", c)
}

func checkCmd(c Cmd) error {
	if !ValidID(string(c.ID)) {
		return reject(CodeInvalidCommand, "R20", "command id %q: want 1 to %d letters, digits or -_.:", c.ID, MaxIDLen)
	}
	if !ValidID(string(c.Account)) {
		return reject(CodeInvalidCommand, "R19", "account %q: want 1 to %d letters, digits or -_.:", c.Account, MaxIDLen)
	}
	return nil
}

// checkPool applies R19 and R17: another account's pool is exactly as
// invisible as one that does not exist.
func checkPool(p *Pool, c Cmd, id PoolID) error {
	if err := checkCmd(c); err != nil {
		return err
	}
	if p == nil || !p.Exists() || p.Account != c.Account || p.ID != id {
		return reject(CodeNotFound, "R19", "pool %q not found", id)
	}
	if p.Phase == PhaseGone {
		return reject(CodePoolGone, "R17", "pool %q was deleted", id)
	}
	return nil
}

func meta(p PoolID, a AccountID, at time.Time, c CommandID) Meta {
	return Meta{Pool: p, Account: a, At: at, Command: c}
}

// ValidName reports whether s is a valid pool name (R1): 1 to 64 letters,
// digits, "-" or "_".
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// MaxDescription is the longest description, in characters (R2).
const MaxDescription = 256

// nodeAZ is the AZ of the seq-th node (from 1) under policy az (R11):
// random spreads nodes over az1, az2, az3 in turn, deterministically so that
// replays agree; training pools, which take no AZ choice, are spread the
// same way.
func nodeAZ(az string, seq int) string {
	switch az {
	case AZ1, AZ2, AZ3:
		return az
	}
	return [3]string{AZ1, AZ2, AZ3}[(seq-1)%3]
}

// addNodes returns n NodeAdded events after the pool's seq nodes. The events
// share one allocation and their ids one string.
func addNodes(out []Event, m Meta, az string, seq, n int) []Event {
	nodes := make([]NodeAdded, n)
	var names strings.Builder // its String does not copy
	names.Grow(n * 7)
	var buf [24]byte
	ends := make([]int, 0, 64)[:0]
	for i := 0; i < n; i++ {
		names.Write(appendNodeName(buf[:0], seq+i+1))
		if len(ends) < cap(ends) {
			ends = append(ends, names.Len())
		}
	}
	all := names.String()
	start := 0
	for i := range nodes {
		s := seq + i + 1
		var name string
		if i < len(ends) {
			name, start = all[start:ends[i]], ends[i]
		} else {
			name = string(appendNodeName(buf[:0], s))
		}
		nodes[i] = NodeAdded{Meta: m, Node: NodeID(name), AZ: nodeAZ(az, s)}
		out = append(out, &nodes[i])
	}
	return out
}

// rateChange returns the account's RateChanged for a change of its burn
// rate by +hourly x up nodes and -hourly x down nodes, or nil when the
// balance is unlimited (nothing to settle against) or the rate does not
// change.
func rateChange(a *Account, m Meta, hourly Money, up, down int) []Event {
	if a == nil || !a.Limited || up == down || hourly.IsZero() {
		return nil
	}
	r := a.Rate.Add(hourly.Mul(int64(up))).SubFloor(hourly.Mul(int64(down)))
	return []Event{&RateChanged{Meta: m, Rate: r}}
}

func decideCreate(w World, c CreatePool, env Env) (Decision, error) {
	if err := checkCmd(c.Cmd); err != nil {
		return Decision{}, err
	}
	if !ValidID(string(c.Pool)) {
		return Decision{}, reject(CodeInvalidCommand, "", "pool id %q: want 1 to %d letters, digits or -_.:", c.Pool, MaxIDLen)
	}
	if w.Pool != nil && w.Pool.Exists() {
		return Decision{}, reject(CodeConflict, "", "pool id %q is taken; choose another, or leave it empty to have one assigned", c.Pool)
	}
	if c.Type != Training && c.Type != Deployment {
		return Decision{}, reject(CodeInvalidCommand, "", "pool type %q: want training or deployment", c.Type)
	}
	if c.Billing != PayPerUse && c.Billing != Prepaid {
		return Decision{}, reject(CodeInvalidCommand, "", "billing mode %q: want pay-per-use or prepaid", c.Billing)
	}
	if !ValidName(c.Name) { // R1
		return Decision{}, reject(CodeInvalidName, "R1", "name %q: want 1 to 64 letters, digits, - or _", c.Name)
	}
	if n := utf8.RuneCountInString(c.Description); n > MaxDescription || !utf8.ValidString(c.Description) { // R2
		return Decision{}, reject(CodeInvalidDescription, "R2", "description of %d characters: at most %d of valid UTF-8", n, MaxDescription)
	}
	if c.Nodes < 1 || c.Nodes > MaxNodesPerCommand { // R3
		return Decision{}, reject(CodeInvalidNodes, "R3", "%d nodes: want 1 to %d", c.Nodes, MaxNodesPerCommand)
	}
	f, ok := env.Catalog.Flavor(c.Flavor) // R4
	if !ok {
		return Decision{}, reject(CodeUnknownFlavor, "R4", "flavor %q is not in the rate card", c.Flavor)
	}
	if !f.SoldIn(c.Region) {
		return Decision{}, reject(CodeUnknownFlavor, "R4", "flavor %s is not sold in region %q", c.Flavor, c.Region)
	}
	if err := checkStock(w.Stock, f, c.Region, c.Nodes); err != nil { // R5
		return Decision{}, err
	}
	if err := checkQuota(w.Account, c.Flavor, c.Nodes); err != nil { // R6
		return Decision{}, err
	}
	prices := env.Catalog.PricesOf(f)
	var charge, list Money
	var term Term
	if c.Billing == Prepaid { // R7
		if !env.Policy.MonthsAllowed(c.Type, c.Months) {
			return Decision{}, reject(CodeInvalidDuration, "R7", "%d months: a prepaid %s pool takes one of %v", c.Months, c.Type, env.Policy.AllowedMonths(c.Type))
		}
		charge, list = prices.TermPrice(c.Type, c.Nodes, c.Months)
		if !w.Account.CanPay(charge, env.At) { // R8
			return Decision{}, reject(CodeInsufficientBalance, "R8", "the term costs %s %s, more than the balance", charge, prices.Currency)
		}
		if c.Type == Deployment && !env.Policy.PrepaidDeploymentAllowed(c.Region) { // R9
			return Decision{}, reject(CodeRegionNotSupported, "R9", "prepaid deployment pools are sold only in %s, not %s", strings.Join(env.Policy.PrepaidRegions(), ", "), c.Region)
		}
		term = Term{Start: env.At, End: env.Policy.Calendar().TermEnd(env.At, c.Months), Months: c.Months}
	} else if c.Months != 0 {
		return Decision{}, reject(CodeInvalidDuration, "R7", "a pay-per-use pool takes no duration (got %d months)", c.Months)
	}
	if c.Network != nil { // R10
		if c.Type == Training {
			return Decision{}, reject(CodeInvalidNetwork, "R10", "a training pool takes no network settings")
		}
		if c.Network.VPC == "" || c.Network.Subnet == "" || c.Network.SecurityGroup == "" {
			return Decision{}, reject(CodeInvalidNetwork, "R10", "a custom network needs a VPC, a subnet and a security group")
		}
	}
	az := c.AZ // R11
	if c.Type == Training {
		if az != "" {
			return Decision{}, reject(CodeInvalidAZ, "R11", "a training pool takes no AZ choice (got %q)", az)
		}
	} else {
		switch az {
		case "":
			az = AZRandom
		case AZRandom, AZ1, AZ2, AZ3:
		default:
			return Decision{}, reject(CodeInvalidAZ, "R11", "AZ %q: want random, az1, az2 or az3", az)
		}
	}
	if c.AutoRenew && c.Billing != Prepaid { // R12
		return Decision{}, reject(CodeRenewalNotSupported, "R12", "auto-renewal is for prepaid pools only")
	}
	if w.Account != nil && w.Account.Arrears { // R27
		return Decision{}, reject(CodeInArrears, "R27", "account %s is in arrears: top up before creating pools", c.Account)
	}

	m := meta(c.Pool, c.Account, env.At, c.ID)
	created := &Created{
		Meta: m, Name: c.Name, Description: c.Description, Type: c.Type, Billing: c.Billing,
		Flavor: c.Flavor, Kind: f.Kind, Region: c.Region, AZ: az, Network: c.Network,
		Prices: prices, Nodes: c.Nodes, Term: term, Charge: charge, ListPrice: list, AutoRenew: c.AutoRenew,
	}
	if c.Type == Training {
		created.AZ = ""
	}
	d := Decision{Pool: make([]Event, 0, 1+c.Nodes)}
	d.Pool = append(d.Pool, created)
	d.Pool = addNodes(d.Pool, m, created.AZ, 0, c.Nodes)
	// The reservations of a create come in one allocation.
	r := &struct {
		taken StockTaken
		used  QuotaUsed
		stock [1]Event
		acct  [2]Event
	}{taken: StockTaken{Meta: m, Flavor: c.Flavor, Region: c.Region, Nodes: c.Nodes}, used: QuotaUsed{Meta: m, Flavor: c.Flavor, Nodes: c.Nodes}}
	r.stock[0], r.acct[0] = &r.taken, &r.used
	d.Stock, d.Account = r.stock[:], r.acct[:1]
	if c.Billing == Prepaid {
		if w.Account != nil && w.Account.Limited {
			d.Account = append(d.Account, &Charged{Meta: m, Amount: charge})
		}
	} else {
		d.Account = append(d.Account, rateChange(w.Account, m, prices.Hourly, c.Nodes, 0)...)
	}
	return d, nil
}

func checkStock(s *Stock, f Flavor, region string, n int) error {
	var st Stock
	if s != nil {
		st = *s
	}
	if left, limited := st.Left(f, region); limited && left < n {
		return reject(CodeFlavorSoldOut, "R5", "flavor %s in %s has %d nodes left, %d asked for", f.ID, region, max(left, 0), n)
	}
	return nil
}

func checkQuota(a *Account, f FlavorID, n int) error {
	if a == nil {
		return nil
	}
	if left, limited := a.QuotaLeft(f); limited && left < n {
		return reject(CodeQuotaExceeded, "R6", "quota of %s allows %d more nodes, %d asked for", f, max(left, 0), n)
	}
	return nil
}

func decideScaleOut(w World, c ScaleOut, env Env) (Decision, error) {
	p := w.Pool
	if err := checkPool(p, c.Cmd, c.Pool); err != nil {
		return Decision{}, err
	}
	if p.Billing == Prepaid { // R14
		return Decision{}, reject(CodeScalingNotSupported, "R14", "a prepaid pool cannot be scaled")
	}
	if c.Nodes < 1 || c.Nodes > MaxNodesPerCommand { // R15 (R3)
		return Decision{}, reject(CodeInvalidNodes, "R15", "scale out by %d nodes: want 1 to %d", c.Nodes, MaxNodesPerCommand)
	}
	f, ok := env.Catalog.Flavor(p.Flavor)
	if !ok { // the rate card no longer sells it: stock cannot be checked
		return Decision{}, reject(CodeUnknownFlavor, "R4", "flavor %q is no longer in the rate card", p.Flavor)
	}
	if err := checkStock(w.Stock, f, p.Region, c.Nodes); err != nil { // R5
		return Decision{}, err
	}
	if err := checkQuota(w.Account, p.Flavor, c.Nodes); err != nil { // R6
		return Decision{}, err
	}
	if s := p.Status(); s != StatusRunning { // R18
		return Decision{}, reject(CodePoolNotRunning, "R18", "pool %s is %s; scaling needs it running", p.ID, s)
	}
	m := meta(p.ID, p.Account, env.At, c.ID)
	d := Decision{
		Pool:    addNodes(make([]Event, 0, c.Nodes), m, p.AZ, p.NodeSeq, c.Nodes),
		Stock:   []Event{&StockTaken{Meta: m, Flavor: p.Flavor, Region: p.Region, Nodes: c.Nodes}},
		Account: []Event{&QuotaUsed{Meta: m, Flavor: p.Flavor, Nodes: c.Nodes}},
	}
	d.Account = append(d.Account, rateChange(w.Account, m, p.Prices.Hourly, c.Nodes, 0)...)
	return d, nil
}

func decideScaleIn(w World, c ScaleIn, env Env) (Decision, error) {
	p := w.Pool
	if err := checkPool(p, c.Cmd, c.Pool); err != nil {
		return Decision{}, err
	}
	if p.Billing == Prepaid { // R14
		return Decision{}, reject(CodeScalingNotSupported, "R14", "a prepaid pool cannot be scaled")
	}
	if len(c.Nodes) == 0 { // R16
		return Decision{}, reject(CodeInvalidNodes, "R16", "scale in names no node")
	}
	seen := make(map[NodeID]bool, len(c.Nodes))
	for _, id := range c.Nodes {
		if seen[id] || p.NodeIndex(id) < 0 {
			return Decision{}, reject(CodeUnknownNode, "R16", "node %q is not a current node of pool %s", id, p.ID)
		}
		seen[id] = true
	}
	if len(c.Nodes) >= len(p.Nodes) {
		return Decision{}, reject(CodeLastNode, "R16", "pool %s would have no node left; delete the pool instead", p.ID)
	}
	if s := p.Status(); s != StatusRunning { // R18
		return Decision{}, reject(CodePoolNotRunning, "R18", "pool %s is %s; scaling needs it running", p.ID, s)
	}
	m := meta(p.ID, p.Account, env.At, c.ID)
	d := Decision{Pool: make([]Event, 0, len(c.Nodes))}
	for _, id := range c.Nodes {
		d.Pool = append(d.Pool, &NodeRemoved{Meta: m, Node: id})
	}
	n := len(c.Nodes)
	d.Stock = []Event{&StockReturned{Meta: m, Flavor: p.Flavor, Region: p.Region, Nodes: n}}
	d.Account = []Event{&QuotaFreed{Meta: m, Flavor: p.Flavor, Nodes: n}}
	d.Account = append(d.Account, rateChange(w.Account, m, p.Prices.Hourly, 0, n)...)
	return d, nil
}

// release is what giving back all of a pool's nodes produces on the stock
// and account streams (R5, R6), with the rate change if it was accruing.
func release(d *Decision, w World, m Meta) {
	p := w.Pool
	n := len(p.Nodes)
	if n > 0 {
		d.Stock = append(d.Stock, &StockReturned{Meta: m, Flavor: p.Flavor, Region: p.Region, Nodes: n})
		d.Account = append(d.Account, &QuotaFreed{Meta: m, Flavor: p.Flavor, Nodes: n})
	}
	d.Account = append(d.Account, rateChange(w.Account, m, p.Prices.Hourly, 0, p.accruingNodes())...)
}

func decideDelete(w World, c DeletePool, env Env) (Decision, error) {
	p := w.Pool
	if err := checkPool(p, c.Cmd, c.Pool); err != nil {
		return Decision{}, err
	}
	if p.Billing == Prepaid { // R17
		return Decision{}, reject(CodeDeleteNotSupported, "R17", "a prepaid pool cannot be deleted; it ends when its term does")
	}
	m := meta(p.ID, p.Account, env.At, c.ID)
	d := Decision{Pool: []Event{&Deleted{Meta: m, Reason: ReasonUser}}}
	release(&d, w, m)
	return d, nil
}

// statusAfterRevival is the status of a pool brought back to the active
// phase: abnormal if it still has a fault.
func (p *Pool) statusAfterRevival() Status {
	if p.Fault {
		return StatusAbnormal
	}
	return StatusRunning
}

func decideRenew(w World, c Renew, env Env) (Decision, error) {
	p := w.Pool
	if err := checkPool(p, c.Cmd, c.Pool); err != nil {
		return Decision{}, err
	}
	if p.Billing != Prepaid { // R25
		return Decision{}, reject(CodeRenewalNotSupported, "R25", "a pay-per-use pool has no term to renew")
	}
	if !env.Policy.MonthsAllowed(p.Type, c.Months) { // R7
		return Decision{}, reject(CodeInvalidDuration, "R7", "%d months: a prepaid %s pool takes one of %v", c.Months, p.Type, env.Policy.AllowedMonths(p.Type))
	}
	// R23: the renewal starts at the old expiry however late it is paid, and
	// R26: it brings the pool back to running. A renewal so late and so
	// short that its term is already over could do neither; it is refused,
	// naming the shortest renewal that reaches the present.
	cal := env.Policy.Calendar()
	if end := cal.TermEnd(p.Anchor, p.Months+c.Months); !end.After(env.At) {
		need := c.Months
		for !cal.TermEnd(p.Anchor, p.Months+need).After(env.At) {
			need++
		}
		return Decision{}, reject(CodeInvalidDuration, "R23", "renewing for %d months from the expiry %s would end %s, already past; renew for at least %d months",
			c.Months, cal.LastDayOf(p.Term.End), cal.LastDayOf(end), need)
	}
	return renewal(w, c.ID, c.Months, false, env)
}

// renewal buys the next term of months (R23): it starts at the previous
// expiry whenever it is paid, and its expiry is computed from the anchor.
func renewal(w World, id CommandID, months int, auto bool, env Env) (Decision, error) {
	p := w.Pool
	charge, list := p.Prices.TermPrice(p.Type, len(p.Nodes), months)
	m := meta(p.ID, p.Account, env.At, id)
	if !w.Account.CanPay(charge, env.At) { // R8
		if auto {
			return Decision{Pool: []Event{&RenewalFailed{Meta: m, Months: months, Charge: charge, Reason: CodeInsufficientBalance}}}, nil
		}
		return Decision{}, reject(CodeInsufficientBalance, "R8", "renewing for %d months costs %s %s, more than the balance", months, charge, p.Prices.Currency)
	}
	term := Term{Start: p.Term.End, End: env.Policy.Calendar().TermEnd(p.Anchor, p.Months+months), Months: months}
	d := Decision{Pool: []Event{&Renewed{Meta: m, Term: term, Charge: charge, ListPrice: list, Automatic: auto}}}
	if p.Phase == PhaseGrace || p.Phase == PhaseRetention { // R26
		d.Pool = append(d.Pool, &StatusChanged{Meta: m, From: p.Status(), To: p.statusAfterRevival(), Reason: ReasonRenewed})
	}
	if w.Account != nil && w.Account.Limited {
		d.Account = []Event{&Charged{Meta: m, Amount: charge}}
	}
	return d, nil
}

func decideAutoRenew(w World, c SetAutoRenew, env Env) (Decision, error) {
	p := w.Pool
	if err := checkPool(p, c.Cmd, c.Pool); err != nil {
		return Decision{}, err
	}
	if p.Billing != Prepaid { // R12, R25
		return Decision{}, reject(CodeRenewalNotSupported, "R12", "auto-renewal is for prepaid pools only")
	}
	if c.Months != 0 && !env.Policy.MonthsAllowed(p.Type, c.Months) { // R7
		return Decision{}, reject(CodeInvalidDuration, "R7", "renewal length %d months: a prepaid %s pool takes one of %v", c.Months, p.Type, env.Policy.AllowedMonths(p.Type))
	}
	if p.Phase != PhaseActive { // R21
		return Decision{}, reject(CodePoolNotRunning, "R21", "pool %s is %s: auto-renewal can change only before it expires", p.ID, p.Status())
	}
	m := meta(p.ID, p.Account, env.At, c.ID)
	return Decision{Pool: []Event{&AutoRenewalChanged{Meta: m, On: c.On, Months: c.Months}}}, nil
}

func decideFault(w World, c ReportFault, env Env) (Decision, error) {
	p := w.Pool
	if err := checkPool(p, c.Cmd, c.Pool); err != nil {
		return Decision{}, err
	}
	if p.Phase != PhaseActive { // R18
		return Decision{}, reject(CodePoolNotRunning, "R18", "pool %s is %s; only a running pool can report a fault", p.ID, p.Status())
	}
	if p.Fault {
		return Decision{}, nil // already abnormal: nothing happens
	}
	m := meta(p.ID, p.Account, env.At, c.ID)
	return Decision{Pool: []Event{&StatusChanged{Meta: m, From: StatusRunning, To: StatusAbnormal, Reason: ReasonFault}}}, nil
}

func decideRectify(w World, c Rectify, env Env) (Decision, error) {
	p := w.Pool
	if err := checkPool(p, c.Cmd, c.Pool); err != nil {
		return Decision{}, err
	}
	if !p.Fault {
		return Decision{}, nil // nothing to rectify
	}
	from := p.Status()
	to := from
	if from == StatusAbnormal {
		to = StatusRunning
	}
	m := meta(p.ID, p.Account, env.At, c.ID)
	return Decision{Pool: []Event{&StatusChanged{Meta: m, From: from, To: to, Reason: ReasonRectified}}}, nil
}

func decideOpenAccount(w World, c OpenAccount, env Env) (Decision, error) {
	if err := checkCmd(c.Cmd); err != nil {
		return Decision{}, err
	}
	if w.Account != nil && (w.Account.Opened || w.Account.Version > 0) {
		return Decision{}, reject(CodeInvalidCommand, "", "account %s is already open", c.Account)
	}
	for f, n := range c.Quota {
		if n < 0 {
			return Decision{}, reject(CodeInvalidCommand, "R6", "quota of %s is %d: want 0 or more", f, n)
		}
	}
	e := &AccountOpened{Meta: meta("", c.Account, env.At, c.ID), Quota: c.Quota}
	if c.Balance != nil {
		e.Limited, e.Balance = true, *c.Balance
	}
	return Decision{Account: []Event{e}}, nil
}

func decideTopUp(w World, c TopUp, env Env) (Decision, error) {
	if err := checkCmd(c.Cmd); err != nil {
		return Decision{}, err
	}
	if c.Amount.IsZero() {
		return Decision{}, reject(CodeInvalidAmount, "R27", "a top-up needs a positive amount")
	}
	m := meta("", c.Account, env.At, c.ID)
	d := Decision{Account: []Event{&ToppedUp{Meta: m, Amount: c.Amount}}}
	if a := w.Account; a != nil && a.Arrears && a.AccruedUntil(env.At).Cmp(a.Credit.Add(c.Amount)) <= 0 {
		d.Account = append(d.Account, &ArrearsCleared{Meta: m})
	}
	return d, nil
}
