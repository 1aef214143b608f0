package domain

import (
	"time"

	"github.com/shopspring/decimal"
)

// Accrual is an exact pay-per-use amount (R28). It is kept as price per hour
// x seconds, so that sums of accruals are exact (splitting an interval
// anywhere leaves the total the same) and the division by 3600, which rarely
// terminates in decimal, happens once, when the amount becomes Money. The
// zero value is nothing accrued.
type Accrual struct{ ps decimal.Decimal }

var (
	nsPerSecond  = decimal.New(1, -9)
	secondsPerHr = decimal.NewFromInt(3600)
)

// AccrualFor is what nodes nodes at hourly per node per hour cost over d
// (R28). A non-positive d or nodes accrues nothing.
func AccrualFor(hourly Money, nodes int, d time.Duration) Accrual {
	if d <= 0 || nodes <= 0 || hourly.IsZero() {
		return Accrual{}
	}
	secs := decimal.NewFromInt(int64(d)).Mul(nsPerSecond)
	return Accrual{ps: hourly.d.Mul(decimal.NewFromInt(int64(nodes))).Mul(secs)}
}

// AccrualBetween is AccrualFor over [from, to).
func AccrualBetween(hourly Money, nodes int, from, to time.Time) Accrual {
	return AccrualFor(hourly, nodes, to.Sub(from))
}

// Add returns a + b.
func (a Accrual) Add(b Accrual) Accrual { return Accrual{ps: a.ps.Add(b.ps)} }

// IsZero reports whether nothing accrued.
func (a Accrual) IsZero() bool { return a.ps.Sign() == 0 }

// Cmp compares a with m exactly: -1, 0 or +1.
func (a Accrual) Cmp(m Money) int { return a.ps.Cmp(m.d.Mul(secondsPerHr)) }

// CmpAccrual compares two accruals exactly.
func (a Accrual) CmpAccrual(b Accrual) int { return a.ps.Cmp(b.ps) }

// Money returns the amount rounded to places decimal places with mode. R29
// keeps 8 places in hourly records; R30 rounds bill months to 2.
func (a Accrual) Money(places int32, mode Rounding) Money {
	// Divide with enough spare digits that rounding to places is exact: the
	// quotient's digits beyond places+2 cannot change a half-up or
	// half-even decision unless the remainder is exactly at a half, and
	// price-seconds/3600 terminates or repeats long before 20 extra digits.
	q := a.ps.DivRound(secondsPerHr, places+20)
	return Money{d: q}.Round(places, mode)
}

// Exact returns the amount as a decimal with 20 decimal places, for
// comparisons and reports that must not round yet.
func (a Accrual) Exact() decimal.Decimal { return a.ps.DivRound(secondsPerHr, 20) }

// PriceSeconds returns the exact representation: price per hour x seconds.
func (a Accrual) PriceSeconds() decimal.Decimal { return a.ps }
