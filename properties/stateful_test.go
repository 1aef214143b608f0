package properties_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/commands"
	"github.com/leanovate/gopter/gen"
	"github.com/leanovate/gopter/prop"

	"github.com/respool/respool"
	"github.com/respool/respool/domain"
	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/respooltest"
)

// This file is property 18: a stateful gopter/commands test of two
// Services sharing one store against a small reference model.

// refPool is a pool as the reference model sees it.
type refPool struct {
	id      domain.PoolID
	acct    domain.AccountID
	flavor  domain.FlavorID
	region  string
	billing domain.Billing
	nodes   int
	deleted bool
}

// refModel is the reference model: stock capacities and quotas, and the
// pools with their node counts. It is shared by pointer between a
// command's NextState (which applies its predicted effect and remembers
// the predicted code) and its PostCondition.
type refModel struct {
	stockCap map[string]int // "flavor@region" -> capacity
	quota    map[domain.AccountID]map[domain.FlavorID]int
	pools    []*refPool
	nextPool int
	expect   domain.Code // the predicted code of the last sequential command
}

func (m *refModel) pool(id domain.PoolID) *refPool {
	for _, p := range m.pools {
		if p.id == id {
			return p
		}
	}
	return nil
}

func (m *refModel) stockUsed(key string) int {
	n := 0
	for _, p := range m.pools {
		if !p.deleted && string(p.flavor)+"@"+p.region == key {
			n += p.nodes
		}
	}
	return n
}

func (m *refModel) quotaUsed(a domain.AccountID, f domain.FlavorID) int {
	n := 0
	for _, p := range m.pools {
		if !p.deleted && p.acct == a && p.flavor == f {
			n += p.nodes
		}
	}
	return n
}

// room returns the code that R5 then R6 give to n more nodes, or "".
func (m *refModel) room(a domain.AccountID, f domain.FlavorID, region string, n int) domain.Code {
	key := string(f) + "@" + region
	if c, ok := m.stockCap[key]; ok && m.stockUsed(key)+n > c {
		return domain.CodeFlavorSoldOut
	}
	if q, ok := m.quota[a][f]; ok && m.quotaUsed(a, f)+n > q {
		return domain.CodeQuotaExceeded
	}
	return ""
}

const (
	flavorA domain.FlavorID = "gpu.a"
	flavorB domain.FlavorID = "cpu.b"
	regionX                 = respooltest.RegionPrepaidDeployment
	regionY                 = respooltest.RegionOther
)

// op is one command of the model: create, scale out, scale in the newest,
// delete, or any of them by an account that does not own the pool.
type op struct {
	kind    string // create, out, in, delete
	acct    domain.AccountID
	pool    domain.PoolID
	flavor  domain.FlavorID
	region  string
	billing domain.Billing
	n       int
	svc     int // which Service runs it
}

func (o op) String() string {
	switch o.kind {
	case "create":
		return fmt.Sprintf("svc%d %s create %s %s %s@%s x%d", o.svc, o.acct, o.pool, o.billing, o.flavor, o.region, o.n)
	case "delete":
		return fmt.Sprintf("svc%d %s delete %s", o.svc, o.acct, o.pool)
	}
	return fmt.Sprintf("svc%d %s scale-%s %s %d", o.svc, o.acct, o.kind, o.pool, o.n)
}

// predict returns the code the rules give op on the model, and applies its
// effect if it is accepted.
func (m *refModel) predict(o op) domain.Code {
	if o.kind == "create" {
		if c := m.room(o.acct, o.flavor, o.region, o.n); c != "" {
			return c
		}
		m.pools = append(m.pools, &refPool{id: o.pool, acct: o.acct, flavor: o.flavor, region: o.region, billing: o.billing, nodes: o.n})
		return ""
	}
	p := m.pool(o.pool)
	switch {
	case p == nil || p.acct != o.acct:
		return domain.CodeNotFound // R19
	case p.deleted:
		return domain.CodePoolGone // R17
	}
	switch o.kind {
	case "out":
		if p.billing == domain.Prepaid {
			return domain.CodeScalingNotSupported // R14
		}
		if c := m.room(o.acct, p.flavor, p.region, o.n); c != "" {
			return c
		}
		p.nodes += o.n
	case "in":
		if p.billing == domain.Prepaid {
			return domain.CodeScalingNotSupported
		}
		if o.n >= p.nodes {
			return domain.CodeLastNode // R16
		}
		p.nodes -= o.n
	case "delete":
		if p.billing == domain.Prepaid {
			return domain.CodeDeleteNotSupported // R17
		}
		p.deleted = true
	}
	return ""
}

// sut is the system under test: two Services over one store.
type sut struct {
	store eventstore.Store
	svcs  [2]*respool.Service
	mu    sync.Mutex
	ticks int
}

// now returns the next instant of the test's clock: a second after the
// last, from 2026-01-01 (prepaid terms never end within a test).
func (s *sut) now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ticks++
	return time.Date(2026, 1, 1, 0, 0, s.ticks, 0, domain.DefaultZone())
}

// outcome is what a command or a batch did, and the store's state after it.
type outcome struct {
	codes []domain.Code
	errs  []error
	snap  snapshot
}

// snapshot is the store's word on stock in use, quota used and pools.
type snapshot struct {
	stock map[string]int
	used  map[domain.AccountID]map[domain.FlavorID]int
	pools map[domain.PoolID]*domain.Pool
	err   error
}

func snap(s eventstore.Store) snapshot {
	out := snapshot{stock: map[string]int{}, used: map[domain.AccountID]map[domain.FlavorID]int{}, pools: map[domain.PoolID]*domain.Pool{}}
	log, err := respooltest.ReadLog(context.Background(), s)
	if err != nil {
		out.err = err
		return out
	}
	for _, e := range log {
		m := e.Event.EventMeta()
		switch ev := e.Event.(type) {
		case *domain.StockTaken:
			out.stock[string(ev.Flavor)+"@"+ev.Region] += ev.Nodes
		case *domain.StockReturned:
			out.stock[string(ev.Flavor)+"@"+ev.Region] -= ev.Nodes
		case *domain.QuotaUsed:
			if out.used[m.Account] == nil {
				out.used[m.Account] = map[domain.FlavorID]int{}
			}
			out.used[m.Account][ev.Flavor] += ev.Nodes
		case *domain.QuotaFreed:
			if out.used[m.Account] == nil {
				out.used[m.Account] = map[domain.FlavorID]int{}
			}
			out.used[m.Account][ev.Flavor] -= ev.Nodes
		}
		if strings.HasPrefix(e.Stream, "pool-") {
			p := out.pools[m.Pool]
			if p == nil {
				p = &domain.Pool{}
				out.pools[m.Pool] = p
			}
			p.Evolve(e.Event, domain.Policy{})
		}
	}
	return out
}

// invariants checks R5 and R6 on a snapshot, and that stock and quota
// account for exactly the nodes of the live pools.
func invariants(m *refModel, s snapshot) string {
	if s.err != nil {
		return s.err.Error()
	}
	var bad problems
	live := map[string]int{}
	perAcct := map[domain.AccountID]map[domain.FlavorID]int{}
	for id, p := range s.pools {
		if !p.Exists() || p.Phase == domain.PhaseGone {
			continue
		}
		live[string(p.Flavor)+"@"+p.Region] += len(p.Nodes)
		if perAcct[p.Account] == nil {
			perAcct[p.Account] = map[domain.FlavorID]int{}
		}
		perAcct[p.Account][p.Flavor] += len(p.Nodes)
		if len(p.Nodes) < 1 {
			bad.add("pool %s is live with no node (R16)", id)
		}
	}
	for key, n := range s.stock {
		if c, ok := m.stockCap[key]; ok && n > c {
			bad.add("stock %s oversold: %d in use, %d to sell (R5)", key, n, c)
		}
		if n < 0 || n != live[key] {
			bad.add("stock %s: %d in use, the live pools hold %d", key, n, live[key])
		}
	}
	for key, n := range live {
		if s.stock[key] != n {
			bad.add("stock %s: the live pools hold %d, %d in use", key, n, s.stock[key])
		}
	}
	for a, fs := range s.used {
		for f, n := range fs {
			if q, ok := m.quota[a][f]; ok && n > q {
				bad.add("account %s exceeds its quota of %s: %d of %d (R6)", a, f, n, q)
			}
			if n != perAcct[a][f] {
				bad.add("account %s uses %d of %s, its live pools hold %d", a, n, f, perAcct[a][f])
			}
		}
	}
	return bad.String()
}

func (s *sut) run(ctx context.Context, at time.Time, o op) (domain.Code, error) {
	svc := s.svcs[o.svc]
	var cmd domain.Command
	base := domain.Cmd{ID: domain.CommandID(fmt.Sprintf("%s-%s-%d", o.kind, o.pool, at.UnixNano())), Account: o.acct}
	switch o.kind {
	case "create":
		c := domain.CreatePool{Cmd: base, Pool: o.pool, Name: string(o.pool), Type: domain.Training, Billing: o.billing,
			Flavor: o.flavor, Region: o.region, Nodes: o.n}
		if o.billing == domain.Prepaid {
			c.Months = 1
		}
		cmd = c
	case "out":
		cmd = domain.ScaleOut{Cmd: base, Pool: o.pool, Nodes: o.n}
	case "in":
		in := domain.ScaleIn{Cmd: base, Pool: o.pool}
		if p, err := svc.Pool(ctx, o.acct, o.pool); err == nil {
			for _, n := range p.Nodes[max(len(p.Nodes)-o.n, 0):] {
				in.Nodes = append(in.Nodes, n.ID)
			}
		} else {
			in.Nodes = []domain.NodeID{"n-0001"}
		}
		cmd = in
	case "delete":
		cmd = domain.DeletePool{Cmd: base, Pool: o.pool}
	}
	_, err := svc.Handle(ctx, at, cmd)
	if err != nil && domain.CodeOf(err) == "" {
		return "", err
	}
	return domain.CodeOf(err), nil
}

// seqCmd is one command, whose outcome the model predicts exactly.
type seqCmd struct{ o op }

func (c seqCmd) Run(s commands.SystemUnderTest) commands.Result {
	sys := s.(*sut)
	code, err := sys.run(context.Background(), sys.now(), c.o)
	return outcome{codes: []domain.Code{code}, errs: []error{err}, snap: snap(sys.store)}
}

func (c seqCmd) NextState(st commands.State) commands.State {
	m := st.(*refModel)
	m.expect = m.predict(c.o)
	if c.o.kind == "create" {
		m.nextPool++
	}
	return m
}

func (c seqCmd) PreCondition(commands.State) bool { return true }

func (c seqCmd) PostCondition(st commands.State, r commands.Result) *gopter.PropResult {
	m, out := st.(*refModel), r.(outcome)
	if out.errs[0] != nil {
		return &gopter.PropResult{Status: gopter.PropError, Error: out.errs[0]}
	}
	var bad problems
	if out.codes[0] != m.expect {
		bad.add("%s: %q, the model says %q", c.o, out.codes[0], m.expect)
	}
	if msg := invariants(m, out.snap); msg != "" {
		bad.add("%s", msg)
	}
	for _, p := range m.pools {
		got := out.snap.pools[p.id]
		if got == nil || (p.deleted != (got.Phase == domain.PhaseGone)) || (!p.deleted && len(got.Nodes) != p.nodes) {
			bad.add("pool %s: the model has %d nodes (deleted %v), the store %v", p.id, p.nodes, p.deleted, got)
		}
	}
	if !bad.ok() {
		return gopter.NewPropResult(false, bad.String())
	}
	return &gopter.PropResult{Status: gopter.PropTrue}
}

func (c seqCmd) String() string { return c.o.String() }

// batchCmd runs its commands at once, each on its own goroutine and its own
// Service.
type batchCmd struct{ ops []op }

func (c batchCmd) Run(s commands.SystemUnderTest) commands.Result {
	sys := s.(*sut)
	out := outcome{codes: make([]domain.Code, len(c.ops)), errs: make([]error, len(c.ops))}
	var wg sync.WaitGroup
	for i, o := range c.ops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out.codes[i], out.errs[i] = sys.run(context.Background(), sys.now(), o)
		}()
	}
	wg.Wait()
	out.snap = snap(sys.store)
	return out
}

func (c batchCmd) NextState(st commands.State) commands.State {
	m := st.(*refModel)
	m.nextPool += len(c.ops) // the batch's fresh pool ids, used or not
	return m
}

func (c batchCmd) PreCondition(commands.State) bool { return true }

// allowed are the codes a command of a concurrent batch may get: those of
// its rules, and conflict when the other Service kept winning.
var allowed = map[domain.Code]bool{"": true, domain.CodeFlavorSoldOut: true, domain.CodeQuotaExceeded: true, domain.CodeNotFound: true,
	domain.CodePoolGone: true, domain.CodeLastNode: true, domain.CodeScalingNotSupported: true, domain.CodeDeleteNotSupported: true,
	domain.CodeUnknownNode: true, domain.CodeConflict: true, domain.CodeInvalidNodes: true}

func (c batchCmd) PostCondition(st commands.State, r commands.Result) *gopter.PropResult {
	m, out := st.(*refModel), r.(outcome)
	var bad problems
	for i, err := range out.errs {
		if err != nil {
			return &gopter.PropResult{Status: gopter.PropError, Error: fmt.Errorf("%s: %w", c.ops[i], err)}
		}
		if !allowed[out.codes[i]] {
			bad.add("%s: %q", c.ops[i], out.codes[i])
		}
	}
	if msg := invariants(m, out.snap); msg != "" {
		bad.add("after %v: %s", c.ops, msg)
	}
	// The model takes the store's word for what the batch did.
	for _, o := range c.ops {
		if o.kind == "create" && m.pool(o.pool) == nil {
			if p := out.snap.pools[o.pool]; p != nil && p.Exists() {
				m.pools = append(m.pools, &refPool{id: o.pool, acct: o.acct, flavor: o.flavor, region: o.region, billing: o.billing})
			}
		}
	}
	for _, p := range m.pools {
		if got := out.snap.pools[p.id]; got != nil {
			p.nodes, p.deleted = len(got.Nodes), got.Phase == domain.PhaseGone
		}
	}
	if !bad.ok() {
		return gopter.NewPropResult(false, fmt.Sprintf("%s\ncodes %v", bad.String(), out.codes))
	}
	return &gopter.PropResult{Status: gopter.PropTrue}
}

func (c batchCmd) String() string {
	parts := make([]string, len(c.ops))
	for i, o := range c.ops {
		parts[i] = o.String()
	}
	return "at once {" + strings.Join(parts, "; ") + "}"
}

// genOp generates a command on the model: mostly by a pool's owner, now and
// then by the other account (R19).
func genOp(m *refModel, fresh int) gopter.Gen {
	return func(p *gopter.GenParameters) *gopter.GenResult {
		r := p.Rng
		accts := []domain.AccountID{respooltest.Acme, respooltest.Beta}
		o := op{svc: r.Intn(2), n: 1 + r.Intn(3)}
		if len(m.pools) == 0 || r.Intn(3) == 0 {
			o.kind, o.acct = "create", accts[r.Intn(2)]
			o.pool = domain.PoolID(fmt.Sprintf("q%d", fresh))
			o.flavor = []domain.FlavorID{flavorA, flavorB}[r.Intn(2)]
			o.region = []string{regionX, regionY}[r.Intn(2)]
			o.billing = domain.PayPerUse
			if r.Intn(4) == 0 {
				o.billing = domain.Prepaid
			}
			return gopter.NewGenResult(o, gopter.NoShrinker)
		}
		pl := m.pools[r.Intn(len(m.pools))]
		o.pool, o.acct = pl.id, pl.acct
		if r.Intn(10) == 0 {
			o.acct = accts[r.Intn(2)]
		}
		o.kind = []string{"out", "out", "in", "delete"}[r.Intn(4)]
		return gopter.NewGenResult(o, gopter.NoShrinker)
	}
}

var stockCommands = &commands.ProtoCommands{
	NewSystemUnderTestFunc: func(st commands.State) commands.SystemUnderTest {
		m := st.(*refModel)
		stock := map[domain.FlavorID]map[string]int{}
		for key, n := range m.stockCap {
			f, r, _ := strings.Cut(key, "@")
			if stock[domain.FlavorID(f)] == nil {
				stock[domain.FlavorID(f)] = map[string]int{}
			}
			stock[domain.FlavorID(f)][r] = n
		}
		rc, err := domain.NewRateCard("CNY",
			domain.Flavor{ID: flavorA, Kind: domain.GPU, Hourly: domain.MustMoney("12.5"), Monthly: domain.MustMoney("6200"), Regions: []string{regionX, regionY}, Stock: stock[flavorA]},
			domain.Flavor{ID: flavorB, Kind: domain.CPU, Hourly: domain.MustMoney("3.4"), Monthly: domain.MustMoney("1650"), Regions: []string{regionX, regionY}, Stock: stock[flavorB]})
		if err != nil {
			panic(err)
		}
		s := &sut{store: slowStore{eventstore.NewMemory()}}
		ctx := context.Background()
		for i := range s.svcs {
			if s.svcs[i], err = respool.New(ctx, respool.Config{Catalog: rc, Store: s.store}); err != nil {
				panic(err)
			}
		}
		for a, q := range m.quota {
			if _, err := s.svcs[0].Handle(ctx, s.now(), domain.OpenAccount{Cmd: domain.Cmd{ID: "open", Account: a}, Quota: q}); err != nil {
				panic(err)
			}
		}
		return s
	},
	DestroySystemUnderTestFunc: func(s commands.SystemUnderTest) { s.(*sut).store.Close() },
	InitialStateGen: func(p *gopter.GenParameters) *gopter.GenResult {
		// Small stock and quotas, so that commands compete for them.
		r := p.Rng
		m := &refModel{stockCap: map[string]int{}, quota: map[domain.AccountID]map[domain.FlavorID]int{}}
		for _, key := range []string{string(flavorA) + "@" + regionX, string(flavorA) + "@" + regionY, string(flavorB) + "@" + regionX} {
			if r.Intn(4) != 0 {
				m.stockCap[key] = r.Intn(9)
			}
		}
		for _, a := range []domain.AccountID{respooltest.Acme, respooltest.Beta} {
			m.quota[a] = map[domain.FlavorID]int{}
			for _, f := range []domain.FlavorID{flavorA, flavorB} {
				if r.Intn(2) == 0 {
					m.quota[a][f] = r.Intn(8)
				}
			}
		}
		return gopter.NewGenResult(m, gopter.NoShrinker)
	},
	GenCommandFunc: func(st commands.State) gopter.Gen {
		m := st.(*refModel)
		seq := genOp(m, m.nextPool).Map(func(o op) commands.Command { return seqCmd{o} })
		batch := gen.IntRange(2, 6).FlatMap(func(v any) gopter.Gen {
			n := v.(int)
			return func(p *gopter.GenParameters) *gopter.GenResult {
				ops := make([]op, n)
				for i := range ops {
					v, _ := genOp(m, m.nextPool+i)(p).Retrieve()
					ops[i] = v.(op)
				}
				return gopter.NewGenResult(commands.Command(batchCmd{ops}), gopter.NoShrinker)
			}
		}, reflect.TypeOf((*commands.Command)(nil)).Elem())
		return gen.Weighted([]gen.WeightedGen{{Weight: 3, Gen: seq}, {Weight: 1, Gen: batch}})
	},
}

// Property 18 (R5, R6): stock is never oversold and quotas are never
// exceeded, under random commands, sequential and concurrent, through two
// Services sharing one store (two processes); and stock in use and quota
// used always account for exactly the nodes of the live pools. The model
// predicts the exact outcome of each sequential command (R19, R17, R14,
// then R5 before R6, section 8's order); after a concurrent batch, which
// it cannot predict, it checks the invariants and takes the store's word
// for what happened.
func TestProperty18_StockAndQuotaNeverExceeded_R5_R6(t *testing.T) {
	t.Run("model", func(t *testing.T) { check(t, commands.Prop(stockCommands), config{maxSize: 40}) })
	// Contention: one pool at the edge of its stock and quota, and
	// commands on it from both Services at once, each batch run four
	// times, since a race shows only now and then.
	t.Run("contention", func(t *testing.T) {
		check(t, prop.ForAll(func(spare, quota, nodes int, ops []op) string {
			ctx := context.Background()
			capacity := nodes + spare // at the edge of the stock
			for rep := 0; rep < 4; rep++ {
				m := &refModel{stockCap: map[string]int{string(flavorB) + "@" + regionX: capacity},
					quota: map[domain.AccountID]map[domain.FlavorID]int{respooltest.Beta: {flavorB: quota}}}
				s := stockCommands.NewSystemUnderTestFunc(m).(*sut)
				code, err := s.run(ctx, s.now(), op{kind: "create", acct: respooltest.Beta, pool: "q0", flavor: flavorB, region: regionX,
					billing: domain.PayPerUse, n: nodes})
				if err != nil || code != "" {
					s.store.Close()
					return "" // the pool does not fit: nothing to contend for
				}
				codes := make([]domain.Code, len(ops))
				errs := make([]error, len(ops))
				var wg sync.WaitGroup
				for i, o := range ops {
					wg.Add(1)
					go func() {
						defer wg.Done()
						codes[i], errs[i] = s.run(ctx, s.now(), o)
					}()
				}
				wg.Wait()
				sn := snap(s.store)
				s.store.Close()
				for i, err := range errs {
					if err != nil {
						return fmt.Sprintf("%s: %v", ops[i], err)
					}
				}
				if msg := invariants(m, sn); msg != "" {
					return fmt.Sprintf("stock %d, quota %d, pool q0 of %d nodes; at once %v: codes %q\n%s", capacity, quota, nodes, ops, codes, msg)
				}
			}
			return ""
		}, gen.IntRange(0, 1), gen.IntRange(1, 5), gen.IntRange(1, 3), gen.SliceOfN(6, genContendingOp())))
	})
}

// genContendingOp generates a command on pool q0 (or a new pool q1) from
// either Service.
func genContendingOp() gopter.Gen {
	return func(p *gopter.GenParameters) *gopter.GenResult {
		r := p.Rng
		o := op{svc: r.Intn(2), acct: respooltest.Beta, pool: "q0", n: 1 + r.Intn(2)}
		switch k := r.Intn(20); {
		case k < 9:
			o.kind = "in"
		case k < 18:
			o.kind = "out"
		case k < 19:
			o.kind = "delete"
		default:
			o.kind, o.pool, o.flavor, o.region, o.billing = "create", "q1", flavorB, regionX, domain.PayPerUse
		}
		return gopter.NewGenResult(o, gopter.NoShrinker)
	}
}

// slowStore is a store whose appends to pool streams take a little while,
// as over a network: between a command's appends to the stock, account and
// pool streams (ARCHITECTURE: the flow of one command), other writers get
// the time to come in, so races that need them to happen, happen.
type slowStore struct{ eventstore.Store }

func (s slowStore) Append(ctx context.Context, stream string, expected eventstore.Expected, events ...eventstore.Event) (eventstore.AppendResult, error) {
	if strings.HasPrefix(stream, "pool-") {
		time.Sleep(20 * time.Microsecond)
	}
	return s.Store.Append(ctx, stream, expected, events...)
}
