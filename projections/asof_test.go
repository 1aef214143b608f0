package projections_test

import (
	"testing"
	"time"

	"github.com/leanovate/gopter"
	ggen "github.com/leanovate/gopter/gen"
	"github.com/leanovate/gopter/prop"
	"github.com/shopspring/decimal"

	"github.com/respool/respool/domain"
	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/projections"
	"github.com/respool/respool/projections/internal/gen"
)

// settled is the sum of a pool's or account's bill months as of t: every
// hourly record and prepaid charge up to t.
func settled(ms []projections.Month) decimal.Decimal {
	var d decimal.Decimal
	for _, m := range ms {
		d = d.Add(m.Unrounded.Decimal())
	}
	return d
}

// TestR32AsOfNeverDecreases checks, for random histories, pools and pairs
// of instants t1 <= t2, that what has accrued as of t1 is at most what has
// accrued as of t2 (R32): the exact pay-per-use accrual, the prepaid
// charges, their rounded total, and the hourly records and charges of the
// bill months, for the pool and for its account.
func TestR32AsOfNeverDecreases(t *testing.T) {
	t.Parallel()
	params := gopter.DefaultTestParametersWithSeed(32)
	params.MinSuccessfulTests = 60
	props := gopter.NewProperties(params)
	type world struct {
		s   set
		end time.Time
	}
	worlds := map[uint64]world{}
	worldOf := func(seed uint64) world {
		if w, ok := worlds[seed]; ok {
			return w
		}
		st := eventstore.NewMemory()
		end := gen.New(st).Random(seed, 600)
		w := world{rebuild(t, st, domain.Policy{}), end}
		worlds[seed] = w
		return w
	}
	props.Property("R32: as-of charges never decrease as the instant moves later", prop.ForAll(
		func(seed uint64, pick int, f1, f2 float64) bool {
			w := worldOf(seed)
			pools := w.s.nl.AllPools()
			p := pools[pick%len(pools)]
			span := w.end.Add(48 * time.Hour).Sub(gen.Start)
			t1 := gen.Start.Add(time.Duration(f1 * float64(span)))
			t2 := t1.Add(time.Duration(f2 * float64(span)))
			a1, _ := w.s.ch.AsOf(p.ID, t1)
			a2, _ := w.s.ch.AsOf(p.ID, t2)
			if a1.PayPerUse.CmpAccrual(a2.PayPerUse) > 0 || a1.Prepaid.Cmp(a2.Prepaid) > 0 ||
				a1.Total(2, domain.RoundHalfUp).Cmp(a2.Total(2, domain.RoundHalfUp)) > 0 {
				t.Logf("pool %s: %s as of %s, %s as of %s", p.ID, accrual(a1.PayPerUse), t1, accrual(a2.PayPerUse), t2)
				return false
			}
			c1, c2 := w.s.ch.AccountAsOf(p.Account, t1), w.s.ch.AccountAsOf(p.Account, t2)
			if c1.PayPerUse.CmpAccrual(c2.PayPerUse) > 0 || c1.Prepaid.Cmp(c2.Prepaid) > 0 {
				return false
			}
			if settled(w.s.ch.Months(p.ID, t1)).Cmp(settled(w.s.ch.Months(p.ID, t2))) > 0 {
				return false
			}
			return settled(w.s.ch.AccountMonths(p.Account, t1)).Cmp(settled(w.s.ch.AccountMonths(p.Account, t2))) <= 0
		},
		ggen.UInt64Range(1, 6), ggen.IntRange(0, 1<<20), ggen.Float64Range(0, 1), ggen.Float64Range(0, 0.2),
	))
	props.TestingRun(t)
}
