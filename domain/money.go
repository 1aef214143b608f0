package domain

import (
	"errors"
	"fmt"

	"github.com/shopspring/decimal"
)

// Money is a non-negative amount in a rate card's currency, exact (decimal,
// never binary floating point: R31). The zero value is zero. Compare with
// Cmp or Equal, never ==.
type Money struct {
	d decimal.Decimal
	s string // the decimal's text, kept for amounts parsed once and written often (prices)
}

// ErrNegativeMoney is returned when an amount would be negative (R31).
var ErrNegativeMoney = errors.New("money: amount is negative")

// Zero is no money.
var Zero = Money{}

// ParseMoney reads a decimal amount such as "12.50". It rejects negative
// amounts (R31), exponents beyond 28 digits, and anything that is not a plain
// decimal number.
func ParseMoney(s string) (Money, error) {
	if s == "" {
		return Money{}, fmt.Errorf("money: empty amount")
	}
	for _, c := range s {
		if (c < '0' || c > '9') && c != '.' && c != '-' && c != '+' {
			return Money{}, fmt.Errorf("money: %q is not a decimal amount", s)
		}
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return Money{}, fmt.Errorf("money: %q is not a decimal amount", s)
	}
	m, err := MoneyFromDecimal(d)
	m.s = d.String()
	return m, err
}

// MustMoney is ParseMoney for constants in code and tests; it panics on a bad
// amount.
func MustMoney(s string) Money {
	m, err := ParseMoney(s)
	if err != nil {
		panic(err)
	}
	return m
}

// withText returns m with its text kept, for an amount written often (a
// rate card's prices, computed or parsed).
func (m Money) withText() Money {
	if m.s == "" {
		m.s = m.d.String()
	}
	return m
}

// MoneyFromDecimal wraps d; it rejects negative amounts (R31).
func MoneyFromDecimal(d decimal.Decimal) (Money, error) {
	if d.Sign() < 0 {
		return Money{}, fmt.Errorf("%w: %s", ErrNegativeMoney, d)
	}
	return Money{d: d}, nil
}

// Decimal returns the amount as a decimal.
func (m Money) Decimal() decimal.Decimal { return m.d }

// IsZero reports whether m is zero.
func (m Money) IsZero() bool { return m.d.Sign() == 0 }

// Add returns m + o.
func (m Money) Add(o Money) Money { return Money{d: m.d.Add(o.d)} }

// Sub returns m - o, or false (and m) if the result would be negative (R31).
func (m Money) Sub(o Money) (Money, bool) {
	if m.d.Cmp(o.d) < 0 {
		return m, false
	}
	return Money{d: m.d.Sub(o.d)}, true
}

// SubFloor returns m - o, or zero if o is larger.
func (m Money) SubFloor(o Money) Money {
	r, ok := m.Sub(o)
	if !ok {
		return Zero
	}
	return r
}

// Mul returns m x n for a count n >= 0 (nodes, months). A negative n panics:
// counts are never negative, and a negative one is a programming error.
func (m Money) Mul(n int64) Money {
	if n < 0 {
		panic("money: negative multiplier")
	}
	return Money{d: m.d.Mul(decimal.NewFromInt(n))}
}

// Cmp compares m and o: -1, 0 or +1.
func (m Money) Cmp(o Money) int { return m.d.Cmp(o.d) }

// Equal reports whether m and o are the same amount (2.50 equals 2.5).
func (m Money) Equal(o Money) bool { return m.d.Equal(o.d) }

// Round rounds to places decimal places with mode (R30).
func (m Money) Round(places int32, mode Rounding) Money {
	if mode == RoundHalfEven {
		return Money{d: m.d.RoundBank(places)}
	}
	return Money{d: m.d.Round(places)}
}

// String is the amount in plain decimal notation ("12.5", "0").
func (m Money) String() string {
	if m.s != "" {
		return m.s
	}
	return m.d.String()
}

// StringFixed is the amount with exactly places decimals ("12.50").
func (m Money) StringFixed(places int32) string { return m.d.StringFixed(places) }

// MarshalText encodes the amount as its decimal string.
func (m Money) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText decodes a decimal string, rejecting negative amounts.
func (m *Money) UnmarshalText(b []byte) error {
	v, err := ParseMoney(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// Rounding is how a bill month's total is rounded to 0.01 (R30). The zero
// value is half up.
type Rounding uint8

const (
	RoundHalfUp   Rounding = iota // 0.005 -> 0.01 (the default)
	RoundHalfEven                 // 0.005 -> 0.00, 0.015 -> 0.02 (banker's)
)

// ParseRounding reads "half-up" or "half-even".
func ParseRounding(s string) (Rounding, error) {
	switch s {
	case "half-up", "":
		return RoundHalfUp, nil
	case "half-even":
		return RoundHalfEven, nil
	}
	return 0, fmt.Errorf("rounding %q: want half-up or half-even", s)
}

func (r Rounding) String() string {
	if r == RoundHalfEven {
		return "half-even"
	}
	return "half-up"
}
