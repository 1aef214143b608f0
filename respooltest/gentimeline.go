package respooltest

import (
	"fmt"
	"math/rand"
	"strings"
	"time"

	"github.com/leanovate/gopter"

	"github.com/respool/respool"
	"github.com/respool/respool/domain"
)

// TimelineOptions tune GenTimeline. The zero value is the default: any
// policy and rate card, one to three accounts with or without quotas and
// balances, up to the generator's size (gopter's MaxSize) steps, about one
// in ten of them invalid, pools of both billing modes and both types.
type TimelineOptions struct {
	// MinSteps and MaxSteps bound the number of steps. MaxSteps 0: the
	// generator's size, which gopter raises from MinSize to MaxSize over a
	// run, so early cases are short.
	MinSteps, MaxSteps int
	// MaxPools bounds the pools created (0: 4).
	MaxPools int
	// Policy and Catalog tune the policy and the rate card.
	Policy  PolicyOptions
	Catalog CatalogOptions
	// Billing, if set, makes every valid CreatePool of that billing mode.
	Billing domain.Billing
	// Type, if set, makes every valid CreatePool of that pool type.
	Type domain.PoolType
	// Invalid is the share of invalid commands in percent (0: 10; a
	// negative value: none).
	Invalid int
	// Unlimited opens no account: every account has no quota and an
	// unlimited balance.
	Unlimited bool
	// NoRetries leaves out steps that resend an earlier command with the
	// same id (R20).
	NoRetries bool
	// NoNamedScaleIn leaves out ScaleIn commands that name nodes; scale-in
	// is then only ScaleInNewest, which does not depend on node names.
	NoNamedScaleIn bool
	// NoFaults leaves out ReportFault and Rectify.
	NoFaults bool
	// WholeSeconds keeps every instant on a whole second.
	WholeSeconds bool
	// Horizon, if positive, sets End to the last step plus Horizon instead
	// of a random stretch.
	Horizon time.Duration
	// MaxSpan, if positive, keeps the timeline within MaxSpan of its start
	// (give or take an hour a step): once a jump would pass it, steps come
	// minutes apart. Properties that look at every clock hour use it to bound their
	// cost.
	MaxSpan time.Duration
	// SmallBalances opens every account with a limited balance of at most
	// 1000, often 0: balances run out (R8, R27).
	SmallBalances bool
}

// The accounts generated timelines act as. WalkIn is never opened: it has no
// quota and an unlimited balance.
const (
	Acme   domain.AccountID = "acme"
	Beta   domain.AccountID = "beta"
	Gamma  domain.AccountID = "gamma"
	WalkIn domain.AccountID = "walkin"
)

// genPool is what the generator assumes of a pool, as if every valid
// command succeeded. It only steers generation towards commands that can
// succeed; nothing relies on it being right.
type genPool struct {
	id      domain.PoolID
	acct    domain.AccountID
	typ     domain.PoolType
	billing domain.Billing
	flavor  domain.FlavorID
	region  string
	nodes   int
	seq     int
	gone    bool
}

type genModel struct {
	o        TimelineOptions
	pol      domain.Policy
	cat      Catalog
	accounts []domain.OpenAccount
	pools    []*genPool
	steps    []Step
	cmds     int
}

func (m *genModel) cmdID(r *rand.Rand) domain.CommandID {
	m.cmds++
	return domain.CommandID(fmt.Sprintf("c%d", m.cmds))
}

// actor picks an account: an opened one mostly, the walk-in now and then.
func (m *genModel) actor(r *rand.Rand) domain.AccountID {
	if len(m.accounts) == 0 || r.Intn(8) == 0 {
		return WalkIn
	}
	return m.accounts[r.Intn(len(m.accounts))].Account
}

func (m *genModel) maxPools() int {
	if m.o.MaxPools > 0 {
		return m.o.MaxPools
	}
	return 4
}

func genAccounts(r *rand.Rand, c Catalog, small bool) []domain.OpenAccount {
	ids := []domain.AccountID{Acme, Beta, Gamma}[:1+r.Intn(3)]
	var out []domain.OpenAccount
	for _, id := range ids {
		a := domain.OpenAccount{Cmd: domain.Cmd{ID: domain.CommandID("open-" + string(id)), Account: id}}
		if r.Intn(2) == 0 {
			a.Quota = map[domain.FlavorID]int{}
			for _, f := range c.Flavors {
				if r.Intn(2) == 0 {
					a.Quota[f.ID] = r.Intn(11)
				}
			}
		}
		switch {
		case small:
			m := domain.MustMoney([]string{"0", "0", "1", "50", "123.456", "1000"}[r.Intn(6)])
			a.Balance = &m
		case r.Intn(5) < 2: // a limited balance (R8, R27)
			m := domain.MustMoney([]string{"0", "1", "50", "1000", "25000", "1000000", "123.456"}[r.Intn(7)])
			a.Balance = &m
		}
		out = append(out, a)
	}
	return out
}

// GenAccounts generates the accounts of a timeline (OpenAccount commands for
// Acme, Beta and Gamma): quotas per flavor of c now and then, some of them
// 0 (R6), and limited balances, some of them too small for anything (R8,
// R27).
func GenAccounts(c Catalog) gopter.Gen {
	return fromRand(func(r *rand.Rand) []domain.OpenAccount { return genAccounts(r, c, false) })
}

// pickMonths returns an allowed prepaid duration (R7), biased to 1, 12 and
// the longest.
func pickMonths(r *rand.Rand, pol domain.Policy, t domain.PoolType) int {
	set := pol.AllowedMonths(t)
	switch r.Intn(4) {
	case 0:
		return set[0]
	case 1:
		return set[len(set)-1]
	case 2:
		for _, m := range set {
			if m == 12 {
				return 12
			}
		}
	}
	return set[r.Intn(len(set))]
}

var nameChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"

func genName(r *rand.Rand) string {
	switch r.Intn(6) {
	case 0:
		return strings.Repeat("n", 64) // the longest (R1)
	case 1:
		return "a"
	}
	n := 1 + r.Intn(12)
	b := make([]byte, n)
	for i := range b {
		b[i] = nameChars[r.Intn(len(nameChars))]
	}
	return string(b)
}

func genDescription(r *rand.Rand) string {
	switch r.Intn(5) {
	case 0:
		return strings.Repeat("é", domain.MaxDescription) // 256 characters, 512 bytes (R2)
	case 1:
		return "训练池 for the night shift"
	}
	return ""
}

// validCreate returns a CreatePool that breaks no rule that the generator
// can see (stock, quota and balance may still refuse it).
func (m *genModel) validCreate(r *rand.Rand) domain.CreatePool {
	acct := m.actor(r)
	f := m.cat.Flavors[r.Intn(len(m.cat.Flavors))]
	typ := domain.Training
	if m.o.Type != "" {
		typ = m.o.Type
	} else if r.Intn(5) < 2 {
		typ = domain.Deployment
	}
	billing := domain.PayPerUse
	if m.o.Billing != "" {
		billing = m.o.Billing
	} else if r.Intn(2) == 0 {
		billing = domain.Prepaid
	}
	region := f.Regions[r.Intn(len(f.Regions))]
	if billing == domain.Prepaid && typ == domain.Deployment && f.SoldIn(RegionPrepaidDeployment) {
		region = RegionPrepaidDeployment // R9
	}
	nodes := 1 + r.Intn(4)
	if r.Intn(8) == 0 {
		nodes = 5 + r.Intn(8)
	}
	if left := m.room(acct, f, region); left < nodes && left > 0 && r.Intn(5) != 0 {
		nodes = left // mostly stay within the stock and quota left (R5, R6)
	}
	c := domain.CreatePool{
		Cmd:  domain.Cmd{ID: m.cmdID(r), Account: acct},
		Pool: domain.PoolID(fmt.Sprintf("p%d", len(m.pools)+1)),
		Name: genName(r), Description: genDescription(r),
		Type: typ, Billing: billing, Flavor: f.ID, Region: region, Nodes: nodes,
	}
	if r.Intn(10) == 0 {
		c.Pool = "" // the Service assigns it (R20: from the account and command id)
	}
	if billing == domain.Prepaid {
		c.Months = pickMonths(r, m.pol, typ)
		c.AutoRenew = r.Intn(2) == 0
	}
	if typ == domain.Deployment {
		c.AZ = []string{"", domain.AZRandom, domain.AZ1, domain.AZ2, domain.AZ3}[r.Intn(5)]
		if r.Intn(3) == 0 {
			c.Network = &domain.Network{VPC: "vpc-1", Subnet: "subnet-1", SecurityGroup: "sg-1"}
		}
	}
	return c
}

// invalidCreate breaks one rule of a valid CreatePool (R1 to R12, or the
// command's own form).
func (m *genModel) invalidCreate(r *rand.Rand) domain.CreatePool {
	c := m.validCreate(r)
	switch r.Intn(17) {
	case 0:
		c.Name = []string{"", "has space", strings.Repeat("x", 65), "名字", "a.b"}[r.Intn(5)] // R1
	case 1:
		c.Description = []string{strings.Repeat("é", domain.MaxDescription+1), "\xff\xfe"}[r.Intn(2)] // R2
	case 2:
		c.Nodes = []int{0, -1, domain.MaxNodesPerCommand + 1}[r.Intn(3)] // R3
	case 3:
		c.Flavor = "gpu.none" // R4
	case 4:
		c.Region = "mars-1" // R4
	case 5: // R7
		if c.Billing == domain.Prepaid {
			c.Months = []int{0, -1, 13, 1000}[r.Intn(4)]
		} else {
			c.Months = 1 + r.Intn(12)
		}
	case 6: // R9
		c.Type, c.Billing, c.Months = domain.Deployment, domain.Prepaid, 1
		c.Region = RegionThird
	case 7: // R10
		if c.Type == domain.Training {
			c.Network = &domain.Network{VPC: "v", Subnet: "s", SecurityGroup: "g"}
		} else {
			c.Network = &domain.Network{VPC: "v"}
		}
	case 8: // R11
		if c.Type == domain.Training {
			c.AZ = domain.AZ1
		} else {
			c.AZ = "az4"
		}
	case 9: // R12
		c.Billing, c.Months, c.AutoRenew = domain.PayPerUse, 0, true
	case 10:
		c.Type = "inference"
	case 11:
		c.Billing = "spot"
	case 12:
		c.ID = []domain.CommandID{"", "bad id!"}[r.Intn(2)]
	case 13:
		c.Account = ""
	case 14: // a pool id that is taken
		if len(m.pools) > 0 {
			c.Pool = m.pools[r.Intn(len(m.pools))].id
		} else {
			c.Pool = "bad/id"
		}
	case 15:
		c.Pool = "bad/id"
	default: // more nodes than any stock or quota holds (R5, R6)
		c.Nodes = 40 + r.Intn(100)
	}
	return c
}

// room is how many more nodes of f in region the generator expects acct to
// be able to buy, as far as stock and quota go (R5, R6).
func (m *genModel) room(acct domain.AccountID, f domain.Flavor, region string) int {
	left := 1 << 20
	if n, ok := f.StockIn(region); ok {
		for _, p := range m.pools {
			if !p.gone && p.flavor == f.ID && p.region == region {
				n -= p.nodes
			}
		}
		left = min(left, n)
	}
	for _, a := range m.accounts {
		if a.Account != acct {
			continue
		}
		if q, ok := a.Quota[f.ID]; ok {
			for _, p := range m.pools {
				if !p.gone && p.flavor == f.ID && p.acct == acct {
					q -= p.nodes
				}
			}
			left = min(left, q)
		}
	}
	return left
}

// pickPool returns a pool the generator knows of: a live one mostly.
func (m *genModel) pickPool(r *rand.Rand, want func(*genPool) bool) *genPool {
	var live, all []*genPool
	for _, p := range m.pools {
		if want != nil && !want(p) {
			continue
		}
		all = append(all, p)
		if !p.gone {
			live = append(live, p)
		}
	}
	if len(live) > 0 && r.Intn(10) != 0 {
		return live[r.Intn(len(live))]
	}
	if len(all) > 0 {
		return all[r.Intn(len(all))]
	}
	return nil
}

func ppu(p *genPool) bool     { return p.billing == domain.PayPerUse }
func prepaid(p *genPool) bool { return p.billing == domain.Prepaid }

// poolCommand returns a valid-looking command on an existing pool, or nil if
// there is none to act on.
func (m *genModel) poolCommand(r *rand.Rand) domain.Command {
	type choice struct {
		w int
		f func() domain.Command
	}
	cmd := func(p *genPool) domain.Cmd { return domain.Cmd{ID: m.cmdID(r), Account: p.acct} }
	choices := []choice{
		{5, func() domain.Command {
			p := m.pickPool(r, ppu)
			if p == nil {
				return nil
			}
			n := 1 + r.Intn(3)
			if !p.gone {
				p.nodes += n
				p.seq += n
			}
			return domain.ScaleOut{Cmd: cmd(p), Pool: p.id, Nodes: n}
		}},
		{4, func() domain.Command {
			p := m.pickPool(r, ppu)
			if p == nil {
				return nil
			}
			n := 1 + r.Intn(3)
			if n >= p.nodes {
				n = max(p.nodes-1, 1)
			}
			p.nodes = max(p.nodes-n, 1)
			return ScaleInNewest{Cmd: cmd(p), Pool: p.id, Count: n}
		}},
		{2, func() domain.Command {
			if m.o.NoNamedScaleIn {
				return nil
			}
			p := m.pickPool(r, ppu)
			if p == nil || p.seq == 0 {
				return nil
			}
			nodes := []domain.NodeID{domain.NodeName(1 + r.Intn(p.seq))}
			if r.Intn(3) == 0 {
				nodes = append(nodes, domain.NodeName(1+r.Intn(p.seq)))
			}
			return domain.ScaleIn{Cmd: cmd(p), Pool: p.id, Nodes: nodes}
		}},
		{1, func() domain.Command {
			p := m.pickPool(r, ppu)
			if p == nil {
				return nil
			}
			p.gone = true
			return domain.DeletePool{Cmd: cmd(p), Pool: p.id}
		}},
		{4, func() domain.Command {
			p := m.pickPool(r, prepaid)
			if p == nil {
				return nil
			}
			return domain.Renew{Cmd: cmd(p), Pool: p.id, Months: pickMonths(r, m.pol, p.typ)}
		}},
		{3, func() domain.Command {
			p := m.pickPool(r, prepaid)
			if p == nil {
				return nil
			}
			c := domain.SetAutoRenew{Cmd: cmd(p), Pool: p.id, On: r.Intn(3) != 0}
			if r.Intn(3) == 0 {
				c.Months = pickMonths(r, m.pol, p.typ)
			}
			return c
		}},
		{1, func() domain.Command {
			p := m.pickPool(r, nil)
			if p == nil || m.o.NoFaults {
				return nil
			}
			return domain.ReportFault{Cmd: cmd(p), Pool: p.id}
		}},
		{1, func() domain.Command {
			p := m.pickPool(r, nil)
			if p == nil || m.o.NoFaults {
				return nil
			}
			return domain.Rectify{Cmd: cmd(p), Pool: p.id}
		}},
		{1, func() domain.Command {
			var limited []domain.AccountID
			for _, a := range m.accounts {
				if a.Balance != nil {
					limited = append(limited, a.Account)
				}
			}
			if len(limited) == 0 {
				return nil
			}
			amt := domain.MustMoney([]string{"10", "1000", "50000", "0.01", "99999.99"}[r.Intn(5)])
			acct := limited[r.Intn(len(limited))]
			return domain.TopUp{Cmd: domain.Cmd{ID: m.cmdID(r), Account: acct}, Amount: amt}
		}},
	}
	total := 0
	for _, c := range choices {
		total += c.w
	}
	for tries := 0; tries < 8; tries++ {
		k := r.Intn(total)
		for _, c := range choices {
			if k < c.w {
				if out := c.f(); out != nil {
					return out
				}
				break
			}
			k -= c.w
		}
	}
	return nil
}

// invalidCommand returns a command that breaks a rule of section 8 on a
// pool or an account.
func (m *genModel) invalidCommand(r *rand.Rand) domain.Command {
	p := m.pickPool(r, nil)
	if p == nil || r.Intn(4) == 0 {
		return m.invalidCreate(r)
	}
	own := domain.Cmd{ID: m.cmdID(r), Account: p.acct}
	switch r.Intn(12) {
	case 0: // another account's pool (R19)
		other := Beta
		if p.acct == Beta {
			other = Acme
		}
		return domain.ScaleOut{Cmd: domain.Cmd{ID: own.ID, Account: other}, Pool: p.id, Nodes: 1}
	case 1:
		return domain.Renew{Cmd: own, Pool: "p99", Months: 1} // no such pool (R19)
	case 2:
		return domain.ScaleOut{Cmd: own, Pool: p.id, Nodes: []int{0, -3}[r.Intn(2)]} // R15
	case 3:
		return domain.ScaleIn{Cmd: own, Pool: p.id} // names no node (R16)
	case 4:
		return domain.ScaleIn{Cmd: own, Pool: p.id, Nodes: []domain.NodeID{"n-9999"}} // R16
	case 5:
		n := domain.NodeName(max(p.seq, 1))
		return domain.ScaleIn{Cmd: own, Pool: p.id, Nodes: []domain.NodeID{n, n}} // R16
	case 6:
		return domain.Renew{Cmd: own, Pool: p.id, Months: []int{0, 13, -1}[r.Intn(3)]} // R7
	case 7:
		return domain.SetAutoRenew{Cmd: own, Pool: p.id, On: true, Months: 1000} // R7
	case 8:
		return domain.TopUp{Cmd: domain.Cmd{ID: own.ID, Account: m.actor(r)}} // zero amount
	case 9:
		if len(m.accounts) > 0 { // an account opens once
			return domain.OpenAccount{Cmd: domain.Cmd{ID: own.ID, Account: m.accounts[0].Account}}
		}
		return domain.DeletePool{Cmd: own, Pool: p.id}
	case 10: // the wrong billing mode (R14, R17, R25)
		if p.billing == domain.Prepaid {
			return []domain.Command{domain.ScaleOut{Cmd: own, Pool: p.id, Nodes: 1}, domain.DeletePool{Cmd: own, Pool: p.id}}[r.Intn(2)]
		}
		return []domain.Command{domain.Renew{Cmd: own, Pool: p.id, Months: 1}, domain.SetAutoRenew{Cmd: own, Pool: p.id, On: true}}[r.Intn(2)]
	}
	return domain.ScaleIn{Cmd: own, Pool: p.id, Nodes: []domain.NodeID{"bad id"}}
}

// next returns the command of the next step.
func (m *genModel) next(r *rand.Rand) domain.Command {
	inv := m.o.Invalid
	if inv == 0 {
		inv = 10
	}
	if inv > 0 && r.Intn(100) < inv {
		return m.invalidCommand(r)
	}
	if !m.o.NoRetries && len(m.steps) > 0 && r.Intn(25) == 0 { // a client retries (R20)
		return m.steps[r.Intn(len(m.steps))].Cmd
	}
	if len(m.pools) < m.maxPools() && (len(m.pools) == 0 || r.Intn(4) == 0) {
		return m.create(r)
	}
	if c := m.poolCommand(r); c != nil {
		return c
	}
	if inv < 0 {
		return m.create(r) // beyond MaxPools rather than an invalid command
	}
	return m.invalidCommand(r)
}

// create returns a valid CreatePool and expects the pool to exist from then
// on, unless the stock or quota the generator sees cannot hold it.
func (m *genModel) create(r *rand.Rand) domain.CreatePool {
	c := m.validCreate(r)
	id := c.Pool
	if id == "" {
		id = respool.AssignPoolID(c.Account, c.ID)
	}
	gp := &genPool{id: id, acct: c.Account, typ: c.Type, billing: c.Billing, flavor: c.Flavor, region: c.Region, nodes: c.Nodes, seq: c.Nodes}
	if f, ok := m.cat.Flavor(c.Flavor); ok && m.room(c.Account, f, c.Region) < c.Nodes {
		gp.gone = true // it will be refused: commands on it will mostly be not_found
	}
	m.pools = append(m.pools, gp)
	return c
}

func genTimeline(r *rand.Rand, size int, o TimelineOptions) Timeline {
	tl := Timeline{Policy: genPolicy(r, o.Policy), Catalog: genCatalog(r, o.Catalog)}
	if !o.Unlimited {
		tl.Accounts = genAccounts(r, tl.Catalog, o.SmallBalances)
	}
	cal := tl.Calendar()
	tl.Start = genInstant(r, cal)
	if o.WholeSeconds {
		tl.Start = tl.Start.Truncate(time.Second)
	}
	n := size
	if o.MaxSteps > 0 {
		n = min(n, o.MaxSteps)
	}
	if n > 0 {
		n = n/2 + r.Intn(n-n/2+1) // between half the size and the size
	}
	n = max(n, o.MinSteps)
	m := &genModel{o: o, pol: tl.Policy, cat: tl.Catalog, accounts: tl.Accounts}
	t := tl.Start
	limit := tl.Start.Add(o.MaxSpan)
	for i := 0; i < n; i++ {
		u := jump(r, cal, t)
		if o.MaxSpan > 0 && u.After(limit) {
			u = t.Add(time.Duration(r.Intn(3600)) * time.Second)
		}
		t = u
		if o.WholeSeconds {
			t = t.Truncate(time.Second)
		}
		m.steps = append(m.steps, Step{At: t, Cmd: m.next(r)})
	}
	tl.Steps = m.steps
	if o.Horizon > 0 {
		tl.End = t.Add(o.Horizon)
	} else {
		tl.End = horizon(r, cal, t)
	}
	if o.MaxSpan > 0 && tl.End.After(limit) {
		tl.End = latest(t, limit)
	}
	if o.WholeSeconds {
		tl.End = tl.End.Truncate(time.Second)
	}
	return tl
}

// GenTimeline generates whole timelines: a policy (GenPolicy), a rate card
// (GenCatalog), accounts (GenAccounts), then steps whose instants are
// biased to where billing breaks (the 28th to the 31st, 29 February, year
// ends, clock-hour boundaries, 23:59:59 and 00:00:00, 03:00, several steps
// in one second) and whose commands are mostly valid, steered by what the
// generator expects the pools to be, with invalid ones mixed in (each
// breaking one rule of SPEC section 8) and retries of earlier commands
// (R20). The number of steps follows the generator's size.
//
// It shrinks a failing timeline by dropping steps (halves, then quarters,
// ..., then one at a time), then by simplifying steps, the end, the
// accounts, the rate card and the policy, so a failure is reported as a
// short story.
func GenTimeline(o TimelineOptions) gopter.Gen {
	return func(p *gopter.GenParameters) *gopter.GenResult {
		return gopter.NewGenResult(genTimeline(p.Rng, p.MaxSize, o), ShrinkTimeline)
	}
}

// GenCreatePool generates valid CreatePool commands for the catalog and
// policy (R1 to R12): what is left to refuse them is stock, quota and
// balance.
func GenCreatePool(c Catalog, pol domain.Policy) gopter.Gen {
	return fromRand(func(r *rand.Rand) domain.CreatePool {
		m := &genModel{pol: pol, cat: c, accounts: []domain.OpenAccount{{Cmd: domain.Cmd{Account: Acme}}}}
		cmd := m.validCreate(r)
		cmd.Account = Acme
		return cmd
	})
}

// GenInvalidCreatePool generates CreatePool commands that each break one
// rule: a bad name (R1), description (R2), node count (R3), flavor or region
// (R4), duration (R7), region for a prepaid deployment pool (R9), network
// (R10), AZ (R11), auto-renewal of a pay-per-use pool (R12), or a malformed
// id, type or billing mode (invalid_command). Some ask for more nodes than
// any stock or quota holds (R5, R6), which only refuses them where those
// are limited.
func GenInvalidCreatePool(c Catalog, pol domain.Policy) gopter.Gen {
	return fromRand(func(r *rand.Rand) domain.CreatePool {
		m := &genModel{pol: pol, cat: c, accounts: []domain.OpenAccount{{Cmd: domain.Cmd{Account: Acme}}}}
		return m.invalidCreate(r)
	})
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
