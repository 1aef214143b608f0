package gen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/respool/respool/domain"
	"github.com/respool/respool/eventstore"
)

// Flavor is the flavor every generated pool uses; Region its region.
const (
	Flavor = domain.FlavorID("modelarts.vm.gpu.t4u8")
	Region = "cn-north-4"
)

// Prices are the prices every generated pool captures unless told otherwise.
var Prices = domain.Prices{
	Currency: "CNY",
	Hourly:   domain.MustMoney("12.50"),
	Monthly:  domain.MustMoney("6200"),
	Yearly:   domain.MustMoney("62000"),
}

// RateCard returns a rate card selling Flavor in Region at Prices, with
// stock nodes of stock (0: unlimited).
func RateCard(stock int) *domain.RateCard {
	f := domain.Flavor{ID: Flavor, Kind: domain.GPU, Hourly: Prices.Hourly, Monthly: Prices.Monthly,
		Yearly: Prices.Yearly, Regions: []string{Region}}
	if stock > 0 {
		f.Stock = map[string]int{Region: stock}
	}
	rc, err := domain.NewRateCard(Prices.Currency, f)
	if err != nil {
		panic(err)
	}
	return rc
}

// Pool is what the builder knows of a pool.
type Pool struct {
	ID      domain.PoolID
	Account domain.AccountID
	Billing domain.Billing
	Type    domain.PoolType
	Prices  domain.Prices
	Status  domain.Status
	Nodes   []domain.NodeID // live, oldest first
	Seq     int
	Anchor  time.Time
	Months  int
	Term    domain.Term
	Last    time.Time
}

// Builder appends domain events to a store. It is not safe for concurrent
// use. Methods panic on store errors: they are for tests and benchmarks.
type Builder struct {
	Store eventstore.Store
	Cal   domain.Calendar
	Pools map[domain.PoolID]*Pool
	cmd   int
	ctx   context.Context
}

// New returns a builder over st in the default billing zone.
func New(st eventstore.Store) *Builder {
	return &Builder{Store: st, Pools: map[domain.PoolID]*Pool{}, ctx: context.Background()}
}

func (b *Builder) nextCmd() domain.CommandID {
	b.cmd++
	return domain.CommandID("c" + strconv.Itoa(b.cmd))
}

// Append encodes events and appends them to stream, with ids derived from
// the stream, the command and the version as respool.Service does.
func (b *Builder) Append(stream string, events ...domain.Event) {
	if len(events) == 0 {
		return
	}
	v, err := b.Store.StreamVersion(b.ctx, stream)
	if err != nil {
		panic(err)
	}
	recs := make([]eventstore.Event, len(events))
	for i, e := range events {
		typ, data, err := domain.Encode(e)
		if err != nil {
			panic(err)
		}
		m := e.EventMeta()
		recs[i] = eventstore.Event{
			ID:   stream + "/" + string(m.Command) + "/" + strconv.FormatUint(uint64(v)+uint64(i)+1, 10),
			Type: typ, Data: data, Time: m.At,
		}
	}
	if _, err := b.Store.Append(b.ctx, stream, eventstore.ExpectVersion(v), recs...); err != nil {
		panic(err)
	}
}

// AppendRaw appends one record that the codec did not write (for tests of
// undecodable events).
func (b *Builder) AppendRaw(stream, typ string, data []byte, at time.Time) {
	v, err := b.Store.StreamVersion(b.ctx, stream)
	if err != nil {
		panic(err)
	}
	ev := eventstore.Event{ID: fmt.Sprintf("%s/raw/%d", stream, v+1), Type: typ, Data: data, Time: at}
	if _, err := b.Store.Append(b.ctx, stream, eventstore.ExpectVersion(v), ev); err != nil {
		panic(err)
	}
}

// OpenAccount opens an account with a quota for Flavor (0: no limit).
func (b *Builder) OpenAccount(at time.Time, acct domain.AccountID, quota int) {
	e := &domain.AccountOpened{Meta: domain.Meta{Account: acct, At: at, Command: b.nextCmd()}}
	if quota > 0 {
		e.Quota = map[domain.FlavorID]int{Flavor: quota}
	}
	b.Append(domain.AccountStream(acct), e)
}

func (b *Builder) meta(p *Pool, at time.Time) domain.Meta {
	if at.Before(p.Last) {
		at = p.Last
	}
	p.Last = at
	return domain.Meta{Pool: p.ID, Account: p.Account, At: at, Command: b.nextCmd()}
}

func (b *Builder) pool(id domain.PoolID) *Pool {
	p := b.Pools[id]
	if p == nil {
		panic("gen: no pool " + string(id))
	}
	return p
}

func (b *Builder) take(m domain.Meta, n int) {
	b.Append(domain.StockStream(Flavor, Region), &domain.StockTaken{Meta: m, Flavor: Flavor, Region: Region, Nodes: n})
	b.Append(domain.AccountStream(m.Account), &domain.QuotaUsed{Meta: m, Flavor: Flavor, Nodes: n})
}

func (b *Builder) give(m domain.Meta, n int) {
	if n == 0 {
		return
	}
	b.Append(domain.StockStream(Flavor, Region), &domain.StockReturned{Meta: m, Flavor: Flavor, Region: Region, Nodes: n})
	b.Append(domain.AccountStream(m.Account), &domain.QuotaFreed{Meta: m, Flavor: Flavor, Nodes: n})
}

func (b *Builder) addNodes(p *Pool, m domain.Meta, n int) []domain.Event {
	out := make([]domain.Event, n)
	for i := range out {
		p.Seq++
		id := domain.NodeName(p.Seq)
		p.Nodes = append(p.Nodes, id)
		out[i] = &domain.NodeAdded{Meta: m, Node: id, AZ: [3]string{domain.AZ1, domain.AZ2, domain.AZ3}[(p.Seq-1)%3]}
	}
	return out
}

// Create buys a pay-per-use training pool of n nodes at Prices.
func (b *Builder) Create(at time.Time, acct domain.AccountID, id domain.PoolID, n int) *Pool {
	return b.CreateAt(at, acct, id, n, Prices)
}

// CreateAt is Create with other prices.
func (b *Builder) CreateAt(at time.Time, acct domain.AccountID, id domain.PoolID, n int, px domain.Prices) *Pool {
	p := &Pool{ID: id, Account: acct, Billing: domain.PayPerUse, Type: domain.Training, Prices: px, Status: domain.StatusRunning}
	b.Pools[id] = p
	m := b.meta(p, at)
	b.take(m, n)
	evs := []domain.Event{&domain.Created{Meta: m, Name: "pool_" + string(id), Type: p.Type, Billing: p.Billing,
		Flavor: Flavor, Kind: domain.GPU, Region: Region, Prices: px, Nodes: n}}
	b.Append(domain.PoolStream(id), append(evs, b.addNodes(p, m, n)...)...)
	return p
}

// CreatePrepaid buys a prepaid training pool of n nodes for months (R8: the
// 12-month term costs the yearly price).
func (b *Builder) CreatePrepaid(at time.Time, acct domain.AccountID, id domain.PoolID, n, months int, auto bool) *Pool {
	p := &Pool{ID: id, Account: acct, Billing: domain.Prepaid, Type: domain.Training, Prices: Prices, Status: domain.StatusRunning}
	b.Pools[id] = p
	m := b.meta(p, at)
	b.take(m, n)
	charge, list := Prices.TermPrice(p.Type, n, months)
	p.Anchor, p.Months = m.At, months
	p.Term = domain.Term{Start: m.At, End: b.Cal.TermEnd(m.At, months), Months: months}
	evs := []domain.Event{&domain.Created{Meta: m, Name: "pool_" + string(id), Type: p.Type, Billing: p.Billing,
		Flavor: Flavor, Kind: domain.GPU, Region: Region, Prices: Prices, Nodes: n,
		Term: p.Term, Charge: charge, ListPrice: list, AutoRenew: auto}}
	b.Append(domain.PoolStream(id), append(evs, b.addNodes(p, m, n)...)...)
	return p
}

// ScaleOut adds n nodes.
func (b *Builder) ScaleOut(at time.Time, id domain.PoolID, n int) {
	p := b.pool(id)
	m := b.meta(p, at)
	b.take(m, n)
	b.Append(domain.PoolStream(id), b.addNodes(p, m, n)...)
}

// ScaleIn removes the k newest nodes.
func (b *Builder) ScaleIn(at time.Time, id domain.PoolID, k int) {
	p := b.pool(id)
	m := b.meta(p, at)
	evs := make([]domain.Event, 0, k)
	for _, n := range p.Nodes[len(p.Nodes)-k:] {
		evs = append(evs, &domain.NodeRemoved{Meta: m, Node: n})
	}
	p.Nodes = p.Nodes[:len(p.Nodes)-k]
	b.Append(domain.PoolStream(id), evs...)
	b.give(m, k)
}

// Status changes the pool's status with reason.
func (b *Builder) Status(at time.Time, id domain.PoolID, to domain.Status, reason string) {
	p := b.pool(id)
	m := b.meta(p, at)
	b.Append(domain.PoolStream(id), &domain.StatusChanged{Meta: m, From: p.Status, To: to, Reason: reason})
	p.Status = to
}

// Freeze puts the pool through grace into retention (frozen) at at.
func (b *Builder) Freeze(at time.Time, id domain.PoolID) {
	if b.pool(id).Status != domain.StatusExpired {
		b.Status(at, id, domain.StatusExpired, domain.ReasonArrears)
	}
	b.Status(at, id, domain.StatusFrozen, domain.ReasonRetention)
}

// Thaw brings a frozen pool back to running (arrears paid, R27).
func (b *Builder) Thaw(at time.Time, id domain.PoolID) {
	b.Status(at, id, domain.StatusRunning, domain.ReasonArrearsPaid)
}

// Delete deletes the pool; its nodes return.
func (b *Builder) Delete(at time.Time, id domain.PoolID) {
	p := b.pool(id)
	m := b.meta(p, at)
	b.Append(domain.PoolStream(id), &domain.Deleted{Meta: m, Reason: domain.ReasonUser})
	b.give(m, len(p.Nodes))
	p.Nodes, p.Status = nil, domain.StatusDeleted
}

// Renew buys another term of months for a prepaid pool (R23).
func (b *Builder) Renew(at time.Time, id domain.PoolID, months int, auto bool) {
	p := b.pool(id)
	m := b.meta(p, at)
	charge, list := p.Prices.TermPrice(p.Type, len(p.Nodes), months)
	p.Months += months
	p.Term = domain.Term{Start: p.Term.End, End: b.Cal.TermEnd(p.Anchor, p.Months), Months: months}
	b.Append(domain.PoolStream(id), &domain.Renewed{Meta: m, Term: p.Term, Charge: charge, ListPrice: list, Automatic: auto})
}

// Start is where Random's histories begin: 2026-01-01T00:00:00+08:00.
var Start = time.Date(2026, 1, 1, 0, 0, 0, 0, domain.DefaultZone())

// Random appends at least events events of a plausible history to the
// builder's store, reproducibly from seed: accounts opening, pay-per-use
// and prepaid pools created, scaled out and in, faults, freezes and thaws,
// renewals and deletions, minutes to hours apart. It returns the instant of
// the last event.
func (b *Builder) Random(seed uint64, events int) time.Time {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	at := Start
	var live []domain.PoolID
	accounts := 0
	head := func() int {
		h, err := b.Store.Head(b.ctx)
		if err != nil {
			panic(err)
		}
		return int(h)
	}
	for n := head(); n < events; n = head() {
		at = at.Add(time.Duration(r.IntN(3600)+1) * time.Second)
		if accounts == 0 || r.IntN(50) == 0 {
			accounts++
			b.OpenAccount(at, domain.AccountID(fmt.Sprintf("acct-%d", accounts)), 0)
			continue
		}
		acct := domain.AccountID(fmt.Sprintf("acct-%d", r.IntN(accounts)+1))
		k := r.IntN(100)
		if len(live) < 20 || k < 15 {
			id := domain.PoolID(fmt.Sprintf("p%d", len(b.Pools)+1))
			if r.IntN(5) == 0 {
				b.CreatePrepaid(at, acct, id, r.IntN(8)+1, []int{1, 3, 12}[r.IntN(3)], r.IntN(2) == 0)
			} else {
				b.Create(at, acct, id, r.IntN(8)+1)
			}
			live = append(live, id)
			continue
		}
		i := r.IntN(len(live))
		p := b.Pools[live[i]]
		switch {
		case p.Billing == domain.Prepaid:
			if k < 60 {
				b.Renew(at, p.ID, []int{1, 3, 12}[r.IntN(3)], r.IntN(2) == 0)
			} else {
				b.Status(at, p.ID, domain.StatusAbnormal, domain.ReasonFault)
				b.Status(at.Add(time.Hour), p.ID, domain.StatusRunning, domain.ReasonRectified)
			}
		case p.Status == domain.StatusFrozen:
			if k < 60 {
				b.Thaw(at, p.ID)
			} else {
				b.Delete(at, p.ID)
				live = append(live[:i], live[i+1:]...)
			}
		case k < 55:
			b.ScaleOut(at, p.ID, r.IntN(4)+1)
		case k < 80 && len(p.Nodes) > 1:
			b.ScaleIn(at, p.ID, r.IntN(len(p.Nodes)-1)+1)
		case k < 88:
			b.Status(at, p.ID, domain.StatusAbnormal, domain.ReasonFault)
			b.Status(at.Add(time.Duration(r.IntN(7200))*time.Second), p.ID, domain.StatusRunning, domain.ReasonRectified)
		case k < 93:
			b.Freeze(at, p.ID)
		default:
			b.Delete(at, p.ID)
			live = append(live[:i], live[i+1:]...)
		}
	}
	return at
}
