package projections

import (
	"sort"
	"strings"
	"sync"

	"github.com/respool/respool/domain"
	"github.com/respool/respool/eventstore"
)

// StockLevel is a flavor's stock in a region (R5): nodes sold and not given
// back, and what is left to sell.
type StockLevel struct {
	Flavor domain.FlavorID
	Region string
	InUse  int
	// Limited is false when the rate card sets no stock for the flavor in
	// the region; Capacity and Left are then 0 and mean nothing.
	Limited  bool
	Capacity int
	Left     int
}

// QuotaLevel is an account's use of its quota for a flavor (R6).
type QuotaLevel struct {
	Account domain.AccountID
	Flavor  domain.FlavorID
	// Used is the nodes of the flavor held by the account's live pools.
	Used int
	// Limited is false when the account has no quota for the flavor (it
	// was never opened, or its quota does not name the flavor).
	Limited bool
	Quota   int
	Left    int
}

type stockKey struct {
	flavor domain.FlavorID
	region string
}

type acctQuota struct {
	id domain.AccountID // the map key: a copy of the first event's (see Inventory.accts)
	// used is the nodes held per flavor, in order of first use. An
	// account holds few flavors: a scan of a few entries costs less than
	// a map, and most accounts' entries fit in own, beside the id, rather
	// than in another allocation (so an acctQuota is never copied).
	used  []flavorUse
	own   [1]flavorUse
	quota map[domain.FlavorID]int
}

type flavorUse struct {
	flavor domain.FlavorID // shared by every account (Inventory.flavor), so compared in cache
	nodes  int
}

// Inventory is the projection of stock and quota: nodes in use and left,
// per flavor and region (from the stock streams, R5) and per account and
// flavor (from the account streams, R6). Stock capacity comes from the rate
// card, so it follows the card the Inventory is given, not the one in force
// when the nodes were sold. It is safe for concurrent use; build it with
// NewInventory.
type Inventory struct {
	mu    sync.RWMutex
	t     tracker
	rc    *domain.RateCard
	stock map[stockKey]*int
	// accts and stock have keys of their own, copied from the events: the
	// keys compared on every lookup then sit together in memory, rather
	// than each in the decoded event that first named it.
	accts map[domain.AccountID]*acctQuota
	// flavors holds one copy of each flavor id, which every account's
	// counters share (flavorUse).
	flavors map[domain.FlavorID]domain.FlavorID
	// Caches of the last counters changed: most events of a log are of a
	// few flavors and regions, and an account's events come together.
	last      *acctQuota
	lastStock stockKey
	stockN    *int

	acctSlab slab[acctQuota] // so that the accounts sit together in memory
}

var _ Projection = (*Inventory)(nil)

// NewInventory returns an empty inventory; rc gives the stock capacities
// (nil: none is limited).
func NewInventory(rc *domain.RateCard, o Options) *Inventory {
	v := &Inventory{rc: rc, stock: make(map[stockKey]*int), accts: make(map[domain.AccountID]*acctQuota),
		flavors: make(map[domain.FlavorID]domain.FlavorID)}
	v.t.init("inventory", o)
	return v
}

// Name implements Projection.
func (v *Inventory) Name() string { return v.t.name }

// Reads implements Selective: the types apply reads.
func (*Inventory) Reads(typ string) bool {
	switch typ {
	case domain.TypeStockTaken, domain.TypeStockReturned, domain.TypeAccountOpened, domain.TypeQuotaUsed, domain.TypeQuotaFreed:
		return true
	}
	return false
}

// Position implements Projection.
func (v *Inventory) Position() eventstore.Position { return v.t.position() }

// Apply implements Projection. Only stock and account events change it.
func (v *Inventory) Apply(e Envelope) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if seen, err := v.t.seen(e.Position); seen {
		return err
	}
	v.apply(&e)
	return v.t.done(e.Position)
}

// ApplyBatch implements BatchProjection.
func (v *Inventory) ApplyBatch(es []Envelope) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.t.batch(es, v.apply)
}

func (v *Inventory) apply(e *Envelope) {
	switch ev := e.Event.(type) {
	case *domain.StockTaken:
		*v.stockOf(ev.Flavor, ev.Region) += ev.Nodes
	case *domain.StockReturned:
		*v.stockOf(ev.Flavor, ev.Region) -= ev.Nodes
	case *domain.AccountOpened:
		a := v.acct(ev.Account)
		a.quota = make(map[domain.FlavorID]int, len(ev.Quota))
		for f, n := range ev.Quota {
			a.quota[f] = n
		}
	case *domain.QuotaUsed:
		*v.usedOf(v.acct(ev.Account), ev.Flavor) += ev.Nodes
	case *domain.QuotaFreed:
		*v.usedOf(v.acct(ev.Account), ev.Flavor) -= ev.Nodes
	}
}

func (v *Inventory) acct(id domain.AccountID) *acctQuota {
	if v.last != nil && v.last.id == id {
		return v.last
	}
	a := v.accts[id]
	if a == nil {
		a = v.acctSlab.new()
		a.id = domain.AccountID(strings.Clone(string(id)))
		a.used = a.own[:0]
		v.accts[a.id] = a
	}
	v.last = a
	return a
}

func (v *Inventory) stockOf(f domain.FlavorID, region string) *int {
	k := stockKey{f, region}
	if v.stockN != nil && v.lastStock == k {
		return v.stockN
	}
	n := v.stock[k]
	if n == nil {
		n = new(int)
		k = stockKey{v.flavor(f), strings.Clone(region)}
		v.stock[k] = n
	}
	v.lastStock, v.stockN = k, n
	return n
}

// usedOf returns a's counter of nodes of flavor f, added if need be.
func (v *Inventory) usedOf(a *acctQuota, f domain.FlavorID) *int {
	if u := a.find(f); u != nil {
		return &u.nodes
	}
	a.used = append(a.used, flavorUse{flavor: v.flavor(f)})
	return &a.used[len(a.used)-1].nodes
}

// flavor returns the Inventory's copy of f.
func (v *Inventory) flavor(f domain.FlavorID) domain.FlavorID {
	c, ok := v.flavors[f]
	if !ok {
		c = domain.FlavorID(strings.Clone(string(f)))
		v.flavors[c] = c
	}
	return c
}

// find returns a's counter of flavor f, or nil.
func (a *acctQuota) find(f domain.FlavorID) *flavorUse {
	for i := range a.used {
		if a.used[i].flavor == f {
			return &a.used[i]
		}
	}
	return nil
}

func deref(n *int) int {
	if n == nil {
		return 0
	}
	return *n
}

func (v *Inventory) level(k stockKey) StockLevel {
	l := StockLevel{Flavor: k.flavor, Region: k.region, InUse: deref(v.stock[k])}
	if v.rc != nil {
		if f, ok := v.rc.Flavor(k.flavor); ok {
			if n, limited := f.StockIn(k.region); limited {
				l.Limited, l.Capacity, l.Left = true, n, n-l.InUse
			}
		}
	}
	return l
}

// Stock returns the stock level of flavor in region.
func (v *Inventory) Stock(flavor domain.FlavorID, region string) StockLevel {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.level(stockKey{flavor, region})
}

// StockLevels returns the stock level of every flavor and region the rate
// card sells and of any other seen in events, sorted by flavor and region.
func (v *Inventory) StockLevels() []StockLevel {
	v.mu.RLock()
	defer v.mu.RUnlock()
	keys := make(map[stockKey]bool, len(v.stock))
	for k := range v.stock {
		keys[k] = true
	}
	if v.rc != nil {
		for _, f := range v.rc.Flavors() {
			for _, r := range f.Regions {
				keys[stockKey{f.ID, r}] = true
			}
		}
	}
	out := make([]StockLevel, 0, len(keys))
	for k := range keys {
		out = append(out, v.level(k))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Flavor != out[j].Flavor {
			return out[i].Flavor < out[j].Flavor
		}
		return out[i].Region < out[j].Region
	})
	return out
}

func (a *acctQuota) level(id domain.AccountID, f domain.FlavorID) QuotaLevel {
	l := QuotaLevel{Account: id, Flavor: f}
	if a == nil {
		return l
	}
	if u := a.find(f); u != nil {
		l.Used = u.nodes
	}
	if q, ok := a.quota[f]; ok {
		l.Limited, l.Quota, l.Left = true, q, q-l.Used
	}
	return l
}

// Quota returns the account's use of its quota for flavor.
func (v *Inventory) Quota(account domain.AccountID, flavor domain.FlavorID) QuotaLevel {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.accts[account].level(account, flavor)
}

// Quotas returns the account's quota levels for every flavor it has a quota
// for or holds nodes of, sorted by flavor.
func (v *Inventory) Quotas(account domain.AccountID) []QuotaLevel {
	v.mu.RLock()
	defer v.mu.RUnlock()
	a := v.accts[account]
	if a == nil {
		return nil
	}
	fs := make(map[domain.FlavorID]bool, len(a.quota)+len(a.used))
	for f := range a.quota {
		fs[f] = true
	}
	for _, u := range a.used {
		fs[u.flavor] = true
	}
	out := make([]QuotaLevel, 0, len(fs))
	for f := range fs {
		out = append(out, a.level(account, f))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Flavor < out[j].Flavor })
	return out
}
