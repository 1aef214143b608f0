package respooltest

import (
	"fmt"
	"math/rand"
	"sort"
	"strings"

	"github.com/leanovate/gopter"

	"github.com/respool/respool/domain"
)

// The regions the generated rate cards sell in. RegionPrepaidDeployment is
// the only one that sells prepaid deployment pools under the default policy
// (R9).
const (
	RegionPrepaidDeployment = "cn-north-4"
	RegionOther             = "ap-southeast-1"
	RegionThird             = "cn-east-3"
)

// regions are the regions generated rate cards may sell in.
var regions = []string{RegionPrepaidDeployment, RegionOther, RegionThird}

// Catalog is a rate card as plain data: the flavors and the currency. It is
// what the generators produce rather than a *domain.RateCard, so that a
// failing case prints every price. Build the rate card with RateCard.
type Catalog struct {
	Currency string
	Flavors  []domain.Flavor
}

// RateCard builds the domain rate card. The catalogs GenCatalog produces
// always build.
func (c Catalog) RateCard() (*domain.RateCard, error) {
	return domain.NewRateCard(c.Currency, c.Flavors...)
}

// Flavor returns the flavor id, and false if the catalog has none.
func (c Catalog) Flavor(id domain.FlavorID) (domain.Flavor, bool) {
	for _, f := range c.Flavors {
		if f.ID == id {
			return f, true
		}
	}
	return domain.Flavor{}, false
}

// String lists the flavors, one a line, with prices, regions and stock.
func (c Catalog) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rate card in %s:", c.Currency)
	for _, f := range c.Flavors {
		fmt.Fprintf(&b, "\n    %s (%s) hourly %s monthly %s", f.ID, f.Kind, f.Hourly, f.Monthly)
		if !f.Yearly.IsZero() {
			fmt.Fprintf(&b, " yearly %s", f.Yearly)
		} else {
			fmt.Fprintf(&b, " yearly (10 x monthly)")
		}
		fmt.Fprintf(&b, " in %s", strings.Join(f.Regions, ","))
		if len(f.Stock) > 0 {
			keys := make([]string, 0, len(f.Stock))
			for r := range f.Stock {
				keys = append(keys, r)
			}
			sort.Strings(keys)
			parts := make([]string, len(keys))
			for i, r := range keys {
				parts[i] = fmt.Sprintf("%s=%d", r, f.Stock[r])
			}
			fmt.Fprintf(&b, " stock {%s}", strings.Join(parts, " "))
		}
	}
	return b.String()
}

// The flavor ids generated catalogs use.
var flavorIDs = []struct {
	id   domain.FlavorID
	kind domain.Kind
}{
	{"gpu.t4", domain.GPU},
	{"cpu.c6", domain.CPU},
	{"gpu.v100", domain.GPU},
}

// Prices that break naive arithmetic: a cent, a hundredth of a cent, an
// amount whose division by 3600 never terminates, round and large ones.
var edgePrices = []string{"0.01", "0.0001", "3.3333", "1", "12.50", "7.77", "29.99", "0.36", "1000", "6200", "0.07"}

// genPrice returns a price: an edge price, or a random amount with 0 to 4
// decimals. It is zero only when zeroOK and rarely.
func genPrice(r *rand.Rand, zeroOK bool) domain.Money {
	if zeroOK && r.Intn(40) == 0 {
		return domain.Zero
	}
	if r.Intn(2) == 0 {
		return domain.MustMoney(edgePrices[r.Intn(len(edgePrices))])
	}
	places := r.Intn(5)
	units := 1 + r.Int63n(200000)
	s := fmt.Sprintf("%d", units)
	if places > 0 {
		for len(s) <= places {
			s = "0" + s
		}
		s = s[:len(s)-places] + "." + s[len(s)-places:]
	}
	return domain.MustMoney(s)
}

// CatalogOptions tune GenCatalog. The zero value is the default: one to
// three flavors, stock limited in about a third of the regions.
type CatalogOptions struct {
	// MaxFlavors bounds the number of flavors (1 to 3; 0: 3).
	MaxFlavors int
	// Unlimited leaves every region without a stock limit (R5).
	Unlimited bool
}

func genCatalog(r *rand.Rand, o CatalogOptions) Catalog {
	maxF := o.MaxFlavors
	if maxF <= 0 || maxF > len(flavorIDs) {
		maxF = len(flavorIDs)
	}
	n := 1 + r.Intn(maxF)
	c := Catalog{Currency: "CNY"}
	for i := 0; i < n; i++ {
		f := domain.Flavor{ID: flavorIDs[i].id, Kind: flavorIDs[i].kind, Hourly: genPrice(r, true), Monthly: genPrice(r, true)}
		if r.Intn(3) == 0 { // a yearly price of its own, else 10 x monthly (R8)
			f.Yearly = genPrice(r, false)
		}
		// The first flavor is always sold where every pool type can be
		// bought, so that most generated commands can succeed.
		for j, reg := range regions {
			if (i == 0 && j == 0) || r.Intn(2) == 0 {
				f.Regions = append(f.Regions, reg)
			}
		}
		if len(f.Regions) == 0 {
			f.Regions = []string{regions[r.Intn(len(regions))]}
		}
		if !o.Unlimited {
			for _, reg := range f.Regions {
				if r.Intn(3) == 0 {
					if f.Stock == nil {
						f.Stock = map[string]int{}
					}
					f.Stock[reg] = r.Intn(13)
				}
			}
		}
		c.Flavors = append(c.Flavors, f)
	}
	return c
}

// GenCatalog generates rate cards (as Catalog values): one to three flavors
// with prices that break naive arithmetic (a hundredth of a cent, amounts
// whose division by 3600 never terminates, zero now and then), an own
// yearly price for about a third of them (R8), regions, and small stock
// limits that run out (R5). The first flavor is always sold in
// RegionPrepaidDeployment.
func GenCatalog(o CatalogOptions) gopter.Gen {
	return fromRand(func(r *rand.Rand) Catalog { return genCatalog(r, o) })
}

// GenFlavorPrice generates prices per node (Money): edge amounts and random
// ones with up to 4 decimals, never zero.
func GenFlavorPrice() gopter.Gen {
	return fromRand(func(r *rand.Rand) domain.Money { return genPrice(r, false) })
}

// fromRand turns a function of the generator's random source into a gopter
// generator without a shrinker.
func fromRand[T any](f func(r *rand.Rand) T) gopter.Gen {
	return func(p *gopter.GenParameters) *gopter.GenResult {
		return gopter.NewGenResult(f(p.Rng), gopter.NoShrinker)
	}
}
