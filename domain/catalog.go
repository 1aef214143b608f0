package domain

import (
	"fmt"
	"sort"
)

// Kind is a flavor's kind of compute.
type Kind string

const (
	CPU Kind = "cpu"
	GPU Kind = "gpu"
)

// Flavor is a node specification that the cloud sells (the seed's
// "specification"), with its prices per node.
type Flavor struct {
	ID   FlavorID
	Kind Kind
	// Hourly is the pay-per-use price per node per hour (R28).
	Hourly Money
	// Monthly is the prepaid price per node per month (R8).
	Monthly Money
	// Yearly is the prepaid price per node for a 12-month training term (R8).
	// Zero means the default: 10 x Monthly ("1 year for the price of 10
	// months").
	Yearly Money
	// Regions are the regions that sell the flavor (R4).
	Regions []string
	// Stock is the number of nodes each region can sell in all (R5). A region
	// absent from the map has no limit; nil means no limit anywhere.
	Stock map[string]int
}

// YearlyPrice is the price per node of a 12-month training term: Yearly, or 10
// x Monthly when Yearly is zero (R8).
func (f Flavor) YearlyPrice() Money {
	if !f.Yearly.IsZero() {
		return f.Yearly
	}
	return f.Monthly.Mul(10)
}

// SoldIn reports whether region sells f (R4).
func (f Flavor) SoldIn(region string) bool {
	for _, r := range f.Regions {
		if r == region {
			return true
		}
	}
	return false
}

// StockIn returns the number of nodes region can sell in all, and false when
// the region has no limit (R5).
func (f Flavor) StockIn(region string) (int, bool) {
	n, ok := f.Stock[region]
	return n, ok
}

// RateCard is the catalog: the flavors with their prices, in one currency.
// It is data: the project ships an illustrative one and users load their own.
// Build it with NewRateCard; a RateCard is immutable and safe for concurrent
// use.
type RateCard struct {
	currency string
	flavors  map[FlavorID]Flavor
	prices   map[FlavorID]Prices // captured once: a create copies them
	ids      []FlavorID
}

// NewRateCard validates the flavors and returns the catalog. Each flavor needs
// a unique id, a kind (cpu or gpu), at least one region and non-negative
// stock; prices are Money, so never negative.
func NewRateCard(currency string, flavors ...Flavor) (*RateCard, error) {
	if currency == "" {
		return nil, fmt.Errorf("rate card: currency is empty")
	}
	rc := &RateCard{currency: currency, flavors: make(map[FlavorID]Flavor, len(flavors)), prices: make(map[FlavorID]Prices, len(flavors))}
	for _, f := range flavors {
		switch {
		case f.ID == "":
			return nil, fmt.Errorf("rate card: a flavor has no id")
		case f.Kind != CPU && f.Kind != GPU:
			return nil, fmt.Errorf("rate card: flavor %s: kind %q, want cpu or gpu", f.ID, f.Kind)
		case len(f.Regions) == 0:
			return nil, fmt.Errorf("rate card: flavor %s: no region sells it", f.ID)
		}
		if _, dup := rc.flavors[f.ID]; dup {
			return nil, fmt.Errorf("rate card: flavor %s is listed twice", f.ID)
		}
		for r, n := range f.Stock {
			if n < 0 {
				return nil, fmt.Errorf("rate card: flavor %s: stock %d in %s is negative", f.ID, n, r)
			}
			if !f.SoldIn(r) {
				return nil, fmt.Errorf("rate card: flavor %s: stock given for %s, which does not sell it", f.ID, r)
			}
		}
		f.Regions = append([]string(nil), f.Regions...)
		if f.Stock != nil {
			s := make(map[string]int, len(f.Stock))
			for r, n := range f.Stock {
				s[r] = n
			}
			f.Stock = s
		}
		rc.flavors[f.ID] = f
		rc.prices[f.ID] = Prices{Currency: currency, Hourly: f.Hourly.withText(), Monthly: f.Monthly.withText(), Yearly: f.YearlyPrice().withText()}
		rc.ids = append(rc.ids, f.ID)
	}
	sort.Slice(rc.ids, func(i, j int) bool { return rc.ids[i] < rc.ids[j] })
	return rc, nil
}

// Currency is the currency of every price of the card.
func (rc *RateCard) Currency() string { return rc.currency }

// Flavor looks a flavor up by id.
func (rc *RateCard) Flavor(id FlavorID) (Flavor, bool) {
	f, ok := rc.flavors[id]
	return f, ok
}

// Flavors returns the flavors sorted by id.
func (rc *RateCard) Flavors() []Flavor {
	out := make([]Flavor, len(rc.ids))
	for i, id := range rc.ids {
		out[i] = rc.flavors[id]
	}
	return out
}

// Prices are a flavor's prices as captured into a pool's Created event, so
// that later changes of the rate card never alter a past or running contract.
type Prices struct {
	Currency string
	Hourly   Money
	Monthly  Money
	Yearly   Money // the effective yearly price (default applied)
}

// PricesOf captures f's prices in the card's currency.
func (rc *RateCard) PricesOf(f Flavor) Prices {
	if p, ok := rc.prices[f.ID]; ok {
		return p
	}
	return Prices{Currency: rc.currency, Hourly: f.Hourly, Monthly: f.Monthly, Yearly: f.YearlyPrice()}
}

// TermPrice is what a prepaid term of months costs for nodes nodes, and its
// list price (nodes x monthly x months), which differs only for the 1-year
// package of a training pool (R8).
func (p Prices) TermPrice(t PoolType, nodes, months int) (charge, list Money) {
	list = p.Monthly.Mul(int64(nodes)).Mul(int64(months))
	if t == Training && months == 12 {
		return p.Yearly.Mul(int64(nodes)), list
	}
	return list, list
}
