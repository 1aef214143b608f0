package projections

import (
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/respool/respool/domain"
	"github.com/respool/respool/eventstore"
)

// Charges is the projection of what pools and accounts have cost: the
// pay-per-use accrual per node per second (R28), hourly settlement records
// (R29), bill months (R30), and prepaid charges with their list price and
// amortized daily cost. Every figure can be asked for as of any instant
// (R32) and names the events it comes from.
//
// # How it keeps pay-per-use accrual
//
// For each pay-per-use pool it keeps the instants at which the number of
// accruing nodes changed (a node added or removed, the retention freeze and
// its end, deletion) with the node-seconds accrued before each: integers,
// since every node of a pool has the pool's hourly price, captured in its
// Created event. Applying an event is integer arithmetic; the decimal
// product (price per hour x node-seconds / 3600, exact, R28) is formed only
// when a figure is asked for. Accrual counts whole seconds of the clock: an
// instant is taken at its second (Unix time, rounded down), so a node
// added and removed within the same second costs nothing, and hour
// boundaries, which fall on whole seconds, split it exactly.
//
// # As-of answers
//
// An answer as of t is final once the projection has applied the pool's
// events up to t: a pool's events come in time order, so no later event can
// change the past. For a t later than the pool's last event it assumes that
// nothing else happens until t (the nodes go on accruing). For a fixed
// state of the projection, every amount is non-decreasing in t (R32).
//
// Charges is safe for concurrent use. Build it with NewCharges.
type Charges struct {
	mu     sync.RWMutex
	t      tracker
	cal    domain.Calendar
	rnd    domain.Rounding
	pools  map[domain.PoolID]*poolCharges
	byAcct byAccount[*poolCharges]
	last   *poolCharges // the pool of the last event

	// The pools come from slabs, so that they sit together in memory.
	poolSlab slab[poolCharges]
	termSlab slab[poolTerms]
}

// RecordPlaces is the number of decimal places an hourly record keeps (R29).
const RecordPlaces = 8

// BillPlaces is the number of decimal places of a bill month's total (R30).
const BillPlaces = 2

// poolCharges is one pool: what most of its events read and change, which
// is small, so that the pools sit close together in memory; the rest is in
// poolTerms.
type poolCharges struct {
	// id is the map key: a copy of the Created event's, so that the ids
	// compared on every lookup sit together rather than in the decoded
	// events.
	id domain.PoolID

	live      int64 // nodes in the pool
	payPerUse bool  // its billing: only pay-per-use pools accrue by the second
	frozen    bool  // retention: not accruing (R27, R28)
	deleted   bool

	// bps are the instants at which the number of accruing nodes changed,
	// in time order (pay-per-use pools only). Elements before the last
	// never change once another follows, so readers may use them without
	// the lock (see view).
	bps []breakpoint

	*poolTerms
}

// poolTerms is what a pool's Created event sets, and its prepaid charges.
// What a renewal reads and changes comes first, together.
type poolTerms struct {
	account  domain.AccountID
	currency string

	prepaid    []PrepaidLine
	prepaidCum []decimal.Decimal // prepaidCum[i]: sum of prepaid[0..i]
	// cum is the last of prepaidCum as cum x 10^cumExp, if cumInt: the
	// next sum is then formed in int64 arithmetic, without reading that
	// decimal back from memory that is seldom in cache.
	cum    int64
	cumExp int32
	cumInt bool

	stream    string
	hourly    domain.Money
	created   time.Time
	createdBy Source
}

// breakpoint: from at (Unix seconds) on, nodes nodes accrue; cum
// node-seconds accrued before at. The events that set the count are
// versions from..to of the pool's stream.
type breakpoint struct {
	at, nodes, cum int64
	from, to       eventstore.Version
	fromPos, toPos eventstore.Position
}

var _ Projection = (*Charges)(nil)

// NewCharges returns an empty projection that computes charges under pol:
// its calendar (the billing zone, for clock hours and bill months) and its
// rounding (R30; records keep 8 places with the same rounding mode, R29).
func NewCharges(pol domain.Policy, o Options) *Charges {
	c := &Charges{
		cal:    pol.Calendar(),
		rnd:    pol.Rounding,
		pools:  make(map[domain.PoolID]*poolCharges),
		byAcct: make(byAccount[*poolCharges]),
	}
	c.t.init("charges", o)
	return c
}

// Name implements Projection.
func (c *Charges) Name() string { return c.t.name }

// Reads implements Selective: the types apply reads.
func (*Charges) Reads(typ string) bool {
	switch typ {
	case domain.TypeCreated, domain.TypeNodeAdded, domain.TypeNodeRemoved, domain.TypeStatusChanged, domain.TypeDeleted, domain.TypeRenewed:
		return true
	}
	return false
}

// Position implements Projection.
func (c *Charges) Position() eventstore.Position { return c.t.position() }

// Apply implements Projection. Only pool events change charges; the others
// move the position.
func (c *Charges) Apply(e Envelope) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if seen, err := c.t.seen(e.Position); seen {
		return err
	}
	c.apply(&e)
	return c.t.done(e.Position)
}

// ApplyBatch implements BatchProjection.
func (c *Charges) ApplyBatch(es []Envelope) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t.batch(es, c.apply)
}

// pool returns the pool id, or nil.
func (c *Charges) pool(id domain.PoolID) *poolCharges {
	if c.last != nil && c.last.id == id {
		return c.last
	}
	p := c.pools[id]
	if p != nil {
		c.last = p
	}
	return p
}

func (c *Charges) apply(e *Envelope) {
	switch ev := e.Event.(type) {
	case *domain.Created:
		if c.pools[ev.Pool] != nil {
			return
		}
		terms := c.termSlab.new()
		*terms = poolTerms{account: ev.Account, stream: e.Stream, hourly: ev.Prices.Hourly,
			currency: ev.Prices.Currency, created: ev.At, createdBy: e.Source()}
		p := c.poolSlab.new()
		*p = poolCharges{id: domain.PoolID(strings.Clone(string(ev.Pool))),
			payPerUse: ev.Billing == domain.PayPerUse, poolTerms: terms}
		c.pools[p.id] = p
		c.byAcct.add(ev.Account, p)
		c.last = p
		if ev.Billing == domain.Prepaid {
			// Room for a few renewals, which most prepaid pools see.
			p.prepaid, p.prepaidCum = make([]PrepaidLine, 0, 4), make([]decimal.Decimal, 0, 4)
			c.addPrepaid(p, e, ev.At, false, false, ev.Term, int64(ev.Nodes), ev.Charge, ev.ListPrice)
		}
	case *domain.NodeAdded:
		if p := c.pool(ev.Pool); p != nil && !p.deleted {
			p.live++
			p.rate(e, ev.At)
		}
	case *domain.NodeRemoved:
		if p := c.pool(ev.Pool); p != nil && !p.deleted && p.live > 0 {
			p.live--
			p.rate(e, ev.At)
		}
	case *domain.StatusChanged: // R27, R28: the retention freeze stops accrual
		if p := c.pool(ev.Pool); p != nil && !p.deleted {
			p.frozen = ev.To == domain.StatusFrozen
			p.rate(e, ev.At)
		}
	case *domain.Deleted: // R17: every node stops accruing at that instant
		if p := c.pool(ev.Pool); p != nil && !p.deleted {
			p.deleted = true
			p.rate(e, ev.At)
		}
	case *domain.Renewed:
		if p := c.pool(ev.Pool); p != nil {
			c.addPrepaid(p, e, ev.At, true, ev.Automatic, ev.Term, p.live, ev.Charge, ev.ListPrice)
		}
	}
}

// accruing is the number of nodes accruing pay-per-use charges now (R28).
func (p *poolCharges) accruing() int64 {
	if !p.payPerUse || p.frozen || p.deleted {
		return 0
	}
	return p.live
}

// rate records that the number of accruing nodes may have changed at t.
func (p *poolCharges) rate(e *Envelope, t time.Time) {
	if !p.payPerUse {
		return
	}
	n, at := p.accruing(), t.Unix()
	k := len(p.bps)
	if k == 0 {
		if n != 0 {
			if cap(p.bps) == 0 {
				// Room for a few: a pool's node count changes with
				// most of its commands.
				p.bps = make([]breakpoint, 0, 4)
			}
			p.bps = append(p.bps, breakpoint{at: at, nodes: n, from: e.Version, to: e.Version, fromPos: e.Position, toPos: e.Position})
		}
		return
	}
	last := &p.bps[k-1]
	if at < last.at {
		at = last.at // a pool's events are in time order; never go back
	}
	if at == last.at { // another event of the same second
		last.nodes, last.to, last.toPos = n, e.Version, e.Position
		// Added and removed within the second: the breakpoint changes
		// nothing any more, and goes.
		if (k == 1 && n == 0) || (k > 1 && p.bps[k-2].nodes == n) {
			p.bps = p.bps[:k-1]
		}
		return
	}
	if last.nodes == n {
		return
	}
	p.bps = append(p.bps, breakpoint{
		at: at, nodes: n, cum: last.cum + last.nodes*(at-last.at),
		from: e.Version, to: e.Version, fromPos: e.Position, toPos: e.Position,
	})
}

func (c *Charges) addPrepaid(p *poolCharges, e *Envelope, at time.Time, renewal, auto bool, term domain.Term, nodes int64, charge, list domain.Money) {
	l := PrepaidLine{
		Pool: p.id, Account: p.account, At: at, Month: c.cal.MonthOf(at), Renewal: renewal, Automatic: auto,
		Term: term, Nodes: int(nodes), Currency: p.currency, ListPrice: list, Charge: charge,
		Discount: list.SubFloor(charge), Source: e.Source(),
	}
	if !term.End.After(term.Start) {
		l.Days = 0
	} else {
		first, last := c.cal.DateOf(term.Start), c.cal.LastDayOf(term.End)
		l.Days = daysBetween(first, last) + 1
		l.PerDay = perDay(charge, l.Days, c.rnd)
	}
	p.prepaid = append(p.prepaid, l)
	p.prepaidCum = append(p.prepaidCum, p.nextCum(charge.Decimal()))
}

// nextCum returns the sum of the prepaid charges so far and charge, and
// keeps it as the last cum.
func (p *poolTerms) nextCum(charge decimal.Decimal) decimal.Decimal {
	k := len(p.prepaidCum)
	if k == 0 {
		p.cum, p.cumExp, p.cumInt = asInt64(charge)
		return charge
	}
	if c, e, ok := asInt64(charge); ok && p.cumInt {
		// The decimal sum: the smaller exponent, the coefficients brought
		// to it and added.
		exp := min(e, p.cumExp)
		a, okA := shift10(c, e-exp)
		b, okB := shift10(p.cum, p.cumExp-exp)
		if sum := a + b; okA && okB && (sum >= a) == (b >= 0) { // no overflow
			p.cum, p.cumExp = sum, exp
			return decimal.New(sum, exp)
		}
	}
	sum := charge.Add(p.prepaidCum[k-1])
	p.cum, p.cumExp, p.cumInt = asInt64(sum)
	return sum
}

// asInt64 returns d as coefficient x 10^exponent, and false if the
// coefficient does not fit an int64.
func asInt64(d decimal.Decimal) (int64, int32, bool) {
	if d.NumDigits() > 18 {
		return 0, 0, false
	}
	return d.CoefficientInt64(), d.Exponent(), true
}

// perDay is charge / days to RecordPlaces places with mode: the quotient
// to RecordPlaces+8 places (a half away from zero), then rounded with mode.
// The usual amounts are divided as integers (perDayInt), with the same two
// roundings, rather than through a dozen decimal allocations; the others
// take the decimal path.
func perDay(charge domain.Money, days int, mode domain.Rounding) domain.Money {
	if m, ok := perDayInt(charge.Decimal(), int64(days), mode); ok {
		return m
	}
	q := charge.Decimal().DivRound(decimal.NewFromInt(int64(days)), RecordPlaces+8)
	m, _ := domain.MoneyFromDecimal(q)
	return m.Round(RecordPlaces, mode)
}

// perDayInt is perDay in int64 arithmetic, and false if the amount does not
// fit it. With B the charge in units of 10^-8 and B = q1 x days + r1, the
// quotient to 16 places is q1 x 10^8 + q2, where q2 is r1 x 10^8 / days
// rounded a half up; rounding that to 8 places looks at q2 alone.
func perDayInt(c decimal.Decimal, days int64, mode domain.Rounding) (domain.Money, bool) {
	const unit = 100_000_000 // 10^RecordPlaces
	if days < 1 || days > 1<<32 || c.Sign() < 0 || c.NumDigits() > 18 {
		return domain.Money{}, false
	}
	b, ok := shift10(c.CoefficientInt64(), c.Exponent()+RecordPlaces)
	if !ok {
		return domain.Money{}, false
	}
	q1, r1 := b/days, b%days
	q2, r2 := r1*unit/days, r1*unit%days // r1 < days <= 2^32: no overflow
	if 2*r2 >= days {
		if q2++; q2 == unit {
			q1, q2 = q1+1, 0
		}
	}
	if q2 > unit/2 || q2 == unit/2 && (mode != domain.RoundHalfEven || q1%2 == 1) {
		q1++
	}
	m, err := domain.MoneyFromDecimal(decimal.New(q1, -RecordPlaces))
	return m, err == nil // q1 >= 0: never an error
}

// shift10 returns v x 10^exp for 0 <= exp <= 18, and false if exp is out of
// that range or the product overflows int64.
func shift10(v int64, exp int32) (int64, bool) {
	if exp < 0 || exp > 18 {
		return 0, false
	}
	for ; exp > 0; exp-- {
		if v > math.MaxInt64/10 || v < math.MinInt64/10 {
			return 0, false
		}
		v *= 10
	}
	return v, true
}

func daysBetween(a, b domain.Date) int {
	ta := time.Date(a.Year, a.Month, a.Day, 0, 0, 0, 0, time.UTC)
	tb := time.Date(b.Year, b.Month, b.Day, 0, 0, 0, 0, time.UTC)
	return int(tb.Sub(ta).Hours() / 24)
}

// PrepaidLine is a prepaid charge: a term bought at creation or renewal
// (R8). It shows the list price (nodes x monthly price x months) and the
// price paid, so the 1-year package's discount (12 months for the price of
// 10) is explicit, and the amortized cost per day of the term.
type PrepaidLine struct {
	Pool    domain.PoolID
	Account domain.AccountID
	// At is when the term was bought; Month is the bill month it belongs
	// to (R30).
	At    time.Time
	Month domain.BillMonth
	// Renewal is false for the purchase at creation; Automatic tells an
	// auto-renewal (R24) from a manual one (R25).
	Renewal   bool
	Automatic bool
	Term      domain.Term
	Nodes     int
	Currency  string
	ListPrice domain.Money
	Charge    domain.Money // the price paid
	Discount  domain.Money // ListPrice - Charge
	// Days is the number of calendar days of the billing zone the term
	// covers, its first (partial) and last days included; PerDay is Charge
	// / Days to 8 places, with the policy's rounding.
	Days   int
	PerDay domain.Money
	// Source names the Created or Renewed event.
	Source Source
}

// Amount is what a pool or an account has accrued as of an instant (R32).
type Amount struct {
	Currency string
	// PayPerUse is the exact pay-per-use accrual (R28).
	PayPerUse domain.Accrual
	// Prepaid is the sum of the prepaid charges taken at or before the
	// instant (R8).
	Prepaid domain.Money
}

// Total is Prepaid + PayPerUse rounded once, to places decimal places
// with mode: Total(2, policy.Rounding) is what the simulator reports as
// "charged".
func (a Amount) Total(places int32, mode domain.Rounding) domain.Money {
	m, _ := domain.MoneyFromDecimal(a.Prepaid.Decimal().Add(a.PayPerUse.Exact()))
	return m.Round(places, mode)
}

// Record is an hourly settlement record of a pool's pay-per-use accrual
// (R29): one per pool per clock hour of the billing zone that accrued
// anything, never spanning an hour boundary.
type Record struct {
	Pool    domain.PoolID
	Account domain.AccountID
	// Hour is the start of the clock hour; End is its end or, for an open
	// record, the as-of instant.
	Hour, End time.Time
	// Open: the hour was not over at the as-of instant; Amount covers
	// [Hour, End) and will grow.
	Open bool
	// Month is the bill month of the record (that of Hour, R30).
	Month domain.BillMonth
	// NodeSeconds is the number of node-seconds accrued in the hour.
	NodeSeconds int64
	Currency    string
	// Hourly is the price per node per hour, from the pool's Created event.
	Hourly domain.Money
	// Amount is Hourly x NodeSeconds / 3600 to 8 places (R29), with the
	// policy's rounding mode.
	Amount domain.Money
	// Sources names the events the record comes from: the pool's Created
	// event (the price), then the events that set the number of accruing
	// nodes in force during the hour, oldest first.
	Sources []Source
}

// Month is a bill month of a pool or an account (R30): the hourly records
// and prepaid charges whose time falls in the month.
type Month struct {
	Month    domain.BillMonth
	Currency string
	// Records is the number of hourly records; PayPerUse their sum.
	Records   int
	PayPerUse domain.Money
	// Prepaid is the sum of the prepaid charges of Lines.
	Prepaid domain.Money
	Lines   []PrepaidLine
	// Unrounded is PayPerUse + Prepaid: exactly the sum of the month's
	// records and charges. Total is Unrounded rounded to 0.01 with the
	// policy's rounding (R30).
	Unrounded domain.Money
	Total     domain.Money
}

// view is a consistent picture of one pool's charges that can be read
// without the lock: the breakpoints but the last are shared (they never
// change again), the last is copied.
type view struct {
	p       *poolCharges // immutable fields only: id and the terms its Created event set
	bps     []breakpoint // shared prefix
	last    breakpoint
	hasLast bool
	prepaid []PrepaidLine
	cum     []decimal.Decimal
	cal     domain.Calendar
	rnd     domain.Rounding
}

func (c *Charges) view(p *poolCharges) view {
	v := view{p: p, prepaid: p.prepaid, cum: p.prepaidCum, cal: c.cal, rnd: c.rnd}
	if k := len(p.bps); k > 0 {
		v.bps, v.last, v.hasLast = p.bps[:k-1:k-1], p.bps[k-1], true
	}
	return v
}

func (v *view) n() int {
	if v.hasLast {
		return len(v.bps) + 1
	}
	return 0
}

func (v *view) bp(i int) *breakpoint {
	if i == len(v.bps) {
		return &v.last
	}
	return &v.bps[i]
}

// index returns the index of the breakpoint in force at second s, or -1.
func (v *view) index(s int64) int {
	n := v.n()
	if n == 0 || v.last.at <= s {
		return n - 1
	}
	return sort.Search(len(v.bps), func(i int) bool { return v.bps[i].at > s }) - 1
}

// nodeSeconds returns the node-seconds accrued before second s.
func (v *view) nodeSeconds(s int64) int64 {
	i := v.index(s)
	if i < 0 {
		return 0
	}
	b := v.bp(i)
	return b.cum + b.nodes*(s-b.at)
}

func (v *view) accrual(nodeSeconds int64) domain.Accrual {
	return domain.AccrualFor(v.p.hourly, int(nodeSeconds), time.Second)
}

// prepaidAt returns the sum of the prepaid charges at or before t.
func (v *view) prepaidAt(t time.Time) domain.Money {
	i := sort.Search(len(v.prepaid), func(i int) bool { return v.prepaid[i].At.After(t) }) - 1
	if i < 0 {
		return domain.Zero
	}
	m, _ := domain.MoneyFromDecimal(v.cum[i])
	return m
}

func (v *view) amount(t time.Time) Amount {
	return Amount{Currency: v.p.currency, PayPerUse: v.accrual(v.nodeSeconds(t.Unix())), Prepaid: v.prepaidAt(t)}
}

// AsOf returns what pool has accrued as of t (R32), and false if the
// projection never saw the pool created.
func (c *Charges) AsOf(pool domain.PoolID, t time.Time) (Amount, bool) {
	c.mu.RLock()
	p := c.pools[pool]
	if p == nil {
		c.mu.RUnlock()
		return Amount{}, false
	}
	v := c.view(p)
	c.mu.RUnlock()
	return v.amount(t), true
}

// AccountAsOf returns what the account's pools have accrued as of t (R32).
// The currency is that of its pools (a rate card has one).
func (c *Charges) AccountAsOf(account domain.AccountID, t time.Time) Amount {
	var total Amount
	var prepaid decimal.Decimal
	for _, v := range c.views(account) {
		a := v.amount(t)
		total.Currency = a.Currency
		total.PayPerUse = total.PayPerUse.Add(a.PayPerUse)
		prepaid = prepaid.Add(a.Prepaid.Decimal())
	}
	total.Prepaid, _ = domain.MoneyFromDecimal(prepaid)
	return total
}

func (c *Charges) views(account domain.AccountID) []view {
	c.mu.RLock()
	defer c.mu.RUnlock()
	ps := c.byAcct.of(account)
	out := make([]view, len(ps))
	for i, p := range ps {
		out[i] = c.view(p)
	}
	return out
}

// Pools returns the ids of the account's pools in creation order.
func (c *Charges) Pools(account domain.AccountID) []domain.PoolID {
	c.mu.RLock()
	defer c.mu.RUnlock()
	ps := c.byAcct.of(account)
	out := make([]domain.PoolID, len(ps))
	for i, p := range ps {
		out[i] = p.id
	}
	return out
}

// Prepaid returns the pool's prepaid charges in the order they were taken.
func (c *Charges) Prepaid(pool domain.PoolID) []PrepaidLine {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if p := c.pools[pool]; p != nil {
		return append([]PrepaidLine(nil), p.prepaid...)
	}
	return nil
}

// Records returns the pool's hourly records (R29) for the clock hours that
// start in [HourStart(from), to), as of to: the record of the hour that
// holds to, unless to is an hour boundary, is open and covers up to to.
// Hours that accrued nothing have no record.
func (c *Charges) Records(pool domain.PoolID, from, to time.Time) []Record {
	c.mu.RLock()
	p := c.pools[pool]
	if p == nil {
		c.mu.RUnlock()
		return nil
	}
	v := c.view(p)
	c.mu.RUnlock()
	var out []Record
	v.hours(from, to, func(h0 time.Time, count, end, nodeSec int64, first, last int) {
		amount := v.accrual(nodeSec).Money(RecordPlaces, v.rnd)
		sources := make([]Source, 0, 1+last-first+1)
		sources = append(sources, v.p.createdBy)
		for i := first; i <= last; i++ {
			b := v.bp(i)
			sources = append(sources, Source{Stream: v.p.stream, From: b.from, To: b.to, FromPosition: b.fromPos, ToPosition: b.toPos})
		}
		for k := range count {
			h := h0.Add(time.Duration(k) * time.Hour)
			h1 := v.nextHour(h)
			r := Record{
				Pool: v.p.id, Account: v.p.account, Hour: h, End: h1, Month: v.cal.MonthOf(h),
				NodeSeconds: nodeSec, Currency: v.p.currency, Hourly: v.p.hourly, Amount: amount, Sources: sources,
			}
			if end < h1.Unix() {
				r.End, r.Open = time.Unix(end, 0).In(v.cal.Location()), true
			}
			out = append(out, r)
		}
	})
	return out
}

// hours calls fn for the clock hours that start in [HourStart(from), to)
// and accrued something as of to, in order. Each call covers count
// consecutive hours from h0 that are alike: each accrued nodeSec
// node-seconds under breakpoints first..last, and for count > 1 each is a
// whole hour of 3600 seconds. end is when the accrual of the last of them
// ends (its end, or to for the open hour). Alike hours are reported
// together only within one node count, one period of the zone's offset and
// one bill month, so a caller may step through them by adding hours.
// Stretches where nothing accrues are skipped in one step.
func (v *view) hours(from, to time.Time, fn func(h0 time.Time, count int64, end int64, nodeSec int64, first, last int)) {
	n := v.n()
	if n == 0 {
		return
	}
	if first := time.Unix(v.bp(0).at, 0); from.Before(first) {
		from = first
	}
	toS := to.Unix()
	for h0 := v.cal.HourStart(from); h0.Before(to); {
		s0 := h0.Unix()
		// A run of whole hours under one breakpoint.
		if i := v.index(s0); i >= 0 && v.bp(i).nodes > 0 {
			limit := toS
			if i+1 < n {
				limit = min(limit, v.bp(i+1).at)
			}
			if _, zoneEnd := h0.ZoneBounds(); !zoneEnd.IsZero() {
				limit = min(limit, zoneEnd.Unix())
			}
			limit = min(limit, v.cal.MonthStart(v.cal.MonthOf(h0).Next()).Unix())
			if count := (limit - s0) / 3600; count >= 2 {
				fn(h0, count, s0+count*3600, v.bp(i).nodes*3600, i, i)
				h0 = h0.Add(time.Duration(count) * time.Hour)
				continue
			}
		}
		h1 := v.nextHour(h0)
		s1 := h1.Unix()
		end := min(s1, toS)
		if ns := v.nodeSeconds(end) - v.nodeSeconds(s0); ns > 0 {
			fn(h0, 1, end, ns, max(v.index(s0), 0), v.index(end-1))
		}
		k := v.index(s1)
		if k < 0 || v.bp(k).nodes != 0 {
			h0 = h1
			continue
		}
		if k+1 >= n {
			return // nothing accrues any more
		}
		h0 = v.cal.HourStart(time.Unix(v.bp(k+1).at, 0))
	}
}

// nextHour is the start of the clock hour after the one that starts at h.
// domain.Calendar.NextHour does not advance where the zone's clock jumps
// forward over the next hour (02:00 on a spring-forward day): the next hour
// is then the first boundary an hour of real time later.
func (v *view) nextHour(h time.Time) time.Time {
	if n := v.cal.NextHour(h); n.After(h) {
		return n
	}
	if n := v.cal.HourStart(h.Add(time.Hour)); n.After(h) {
		return n
	}
	return h.Add(time.Hour)
}

// months returns the bill months of one pool from its creation up to t.
func (v *view) months(t time.Time) []Month {
	if t.Before(v.p.created) {
		return nil
	}
	first, last := v.cal.MonthOf(v.p.created), v.cal.MonthOf(t)
	var out []Month
	idx := map[domain.BillMonth]int{}
	for m := first; !last.Before(m); m = m.Next() {
		idx[m] = len(out)
		out = append(out, Month{Month: m, Currency: v.p.currency})
	}
	// Pay-per-use: the hourly records, summed per month. Consecutive full
	// hours with the same node-seconds have the same amount: it is
	// rounded once and multiplied.
	var (
		runNS    int64 = -1
		runCount int64
		runMonth int
		runAmt   domain.Money
		sums     = make([]decimal.Decimal, len(out))
	)
	flush := func() {
		if runCount > 0 {
			sums[runMonth] = sums[runMonth].Add(runAmt.Decimal().Mul(decimal.NewFromInt(runCount)))
		}
		runCount, runNS = 0, -1
	}
	v.hours(v.p.created, t, func(h0 time.Time, count, _, ns int64, _, _ int) {
		mi := idx[v.cal.MonthOf(h0)] // a run of hours stays in one month
		if ns != runNS || mi != runMonth {
			flush()
			runNS, runMonth = ns, mi
			runAmt = v.accrual(ns).Money(RecordPlaces, v.rnd)
		}
		runCount += count
		out[mi].Records += int(count)
	})
	flush()
	for i := range out {
		out[i].PayPerUse, _ = domain.MoneyFromDecimal(sums[i])
	}
	// Prepaid charges, in the month of their time.
	for _, l := range v.prepaid {
		if l.At.After(t) {
			break
		}
		if mi, ok := idx[l.Month]; ok {
			out[mi].Lines = append(out[mi].Lines, l)
			out[mi].Prepaid = out[mi].Prepaid.Add(l.Charge)
		}
	}
	for i := range out {
		out[i].Unrounded = out[i].PayPerUse.Add(out[i].Prepaid)
		out[i].Total = out[i].Unrounded.Round(BillPlaces, v.rnd)
	}
	return out
}

// Months returns the pool's bill months (R30) from the month of its
// creation to the month of t, as of t; nil if the projection never saw the
// pool created or t is before its creation.
func (c *Charges) Months(pool domain.PoolID, t time.Time) []Month {
	c.mu.RLock()
	p := c.pools[pool]
	if p == nil {
		c.mu.RUnlock()
		return nil
	}
	v := c.view(p)
	c.mu.RUnlock()
	return v.months(t)
}

// AccountMonths returns the account's bill months (R30), as of t: for each
// month in which one of its pools existed, the sums of the pools' records
// and prepaid charges. The account's Total is its own Unrounded rounded
// once (not the sum of its pools' rounded totals).
func (c *Charges) AccountMonths(account domain.AccountID, t time.Time) []Month {
	byMonth := map[domain.BillMonth]*Month{}
	var order []domain.BillMonth
	for _, v := range c.views(account) {
		for _, m := range v.months(t) {
			acc := byMonth[m.Month]
			if acc == nil {
				acc = &Month{Month: m.Month, Currency: m.Currency}
				byMonth[m.Month] = acc
				order = append(order, m.Month)
			}
			acc.Records += m.Records
			acc.PayPerUse = acc.PayPerUse.Add(m.PayPerUse)
			acc.Prepaid = acc.Prepaid.Add(m.Prepaid)
			acc.Lines = append(acc.Lines, m.Lines...)
		}
	}
	sort.Slice(order, func(i, j int) bool { return order[i].Before(order[j]) })
	out := make([]Month, len(order))
	for i, m := range order {
		acc := byMonth[m]
		sort.SliceStable(acc.Lines, func(i, j int) bool { return acc.Lines[i].At.Before(acc.Lines[j].At) })
		acc.Unrounded = acc.PayPerUse.Add(acc.Prepaid)
		acc.Total = acc.Unrounded.Round(BillPlaces, c.rnd)
		out[i] = *acc
	}
	return out
}
