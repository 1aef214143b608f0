package simulator

import (
	"encoding/json"
	"io"
	"time"

	"github.com/shopspring/decimal"

	"github.com/respool/respool/domain"
)

// Report is the result of a run: one VariantReport per variant, base first.
// Its JSON form is the document of SPEC section 9: the fields named there
// (scenario; variants with name, currency, total, pools, rejected) keep their
// names and meaning, and the others add insight.
type Report struct {
	Scenario string          `json:"scenario"`
	Variants []VariantReport `json:"variants"`

	File  string `json:"file"`
	Start string `json:"start"` // RFC 3339 in the billing zone
	End   string `json:"end"`
	Tick  string `json:"tick"`
	Zone  string `json:"zone"` // the billing zone's offset, such as +08:00
	// Months is the simulated span in calendar months of the billing zone
	// (a partial month counts its share of days), the unit of every "per
	// month" figure.
	Months float64 `json:"months"`
}

// VariantReport is one variant's outcome.
type VariantReport struct {
	Name     string       `json:"name"`
	Currency string       `json:"currency"`
	Total    Amount       `json:"total"` // the sum of the pools' charged
	Pools    []PoolReport `json:"pools"`
	Rejected []Rejection  `json:"rejected"`

	// Changes are the variant's overrides ("train-a: billing=prepaid
	// months=12"); empty for base.
	Changes []string `json:"changes"`
	Insight Insight  `json:"insight"`
	// Cumulative is the variant's cumulative cost over time.
	Cumulative Series `json:"cumulative"`
	// Monthly is what the variant spent in each calendar month of the
	// billing zone (the difference of the cumulative cost at the month's
	// bounds, rounded to 0.01).
	Monthly []MonthSpend `json:"monthly"`
	// Events is the number of events the run wrote (pools, accounts and
	// stock).
	Events int `json:"events"`
}

// PoolReport is one pool whose creation succeeded, as of the scenario's end.
type PoolReport struct {
	ID       string `json:"id"`
	Billing  string `json:"billing"`
	Status   string `json:"status"`   // section 7
	Nodes    int    `json:"nodes"`    // 0 once deleted
	Renewals int    `json:"renewals"` // Renewed events
	Charged  Amount `json:"charged"`  // everything it cost up to end, rounded to 0.01 (policy rounding)

	// StatusSince is when the pool entered Status (its creation if it
	// never left running).
	StatusSince string `json:"status_since"`
	// History lists the pool's status changes (fault, grace, retention,
	// back to running) and its deletion, in order.
	History []StatusEvent `json:"history"`
	// RenewalsFailed counts auto-renewal attempts that the balance could
	// not cover (R24).
	RenewalsFailed int `json:"renewals_failed"`

	Account string `json:"account"`
	Type    string `json:"type"`
	Flavor  string `json:"flavor"`
	Region  string `json:"region"`
	// Prepaid and PayPerUse split Charged: prepaid terms bought, and
	// pay-per-use accrual (each rounded to 0.01).
	Prepaid   Amount `json:"prepaid"`
	PayPerUse Amount `json:"pay_per_use"`
	// ListPrice is what the prepaid terms would cost at the monthly price
	// (nodes x monthly x months); above Prepaid for a 1-year package (R8).
	ListPrice Amount `json:"list_price"`
	// NodeHours is the node time held while usable or in grace (not frozen,
	// not deleted).
	NodeHours float64 `json:"node_hours"`
	// HourlyPerNode is Charged / NodeHours: what a node-hour really cost.
	HourlyPerNode Amount `json:"hourly_per_node"`
	// Expiry is the end of a prepaid pool's latest term (exclusive, R22).
	Expiry string `json:"expiry,omitempty"`
	// AZs counts the pool's nodes per availability zone at the end (R11).
	AZs map[string]int `json:"azs"`
}

// StatusEvent is a change of a pool's status.
type StatusEvent struct {
	At     string `json:"at"`
	Status string `json:"status"` // the status entered (section 7)
	Reason string `json:"reason"` // fault, rectified, expired, arrears, retention, renewed, arrears_paid, user, retention_ended

	at time.Time
}

// Rejection is a scenario step that the rules refused (section 8).
type Rejection struct {
	At     string `json:"at"`
	Pool   string `json:"pool"` // empty for top_up
	Action string `json:"action"`
	Code   string `json:"code"`

	Account string `json:"account"`
	Rule    string `json:"rule,omitempty"` // such as R6
	Message string `json:"message"`
	Line    int    `json:"line"` // where the pool or action is written
}

// Series is a cumulative cost sampled at start, start+step, start+2 step,
// ..., and end: Values[i] is the cost as of min(Start + i x Step, End).
type Series struct {
	Start  string   `json:"start"`
	Step   string   `json:"step"`
	Values []Amount `json:"values"`

	start time.Time
	step  time.Duration
	end   time.Time
}

// At returns the instant of Values[i]. On a series decoded from JSON,
// which does not keep the end, the last instant is not clamped to it.
func (s Series) At(i int) time.Time {
	if s.start.IsZero() {
		start, err1 := time.Parse(time.RFC3339, s.Start)
		step, err2 := ParseDuration(s.Step)
		if err1 != nil || err2 != nil {
			return time.Time{}
		}
		return start.Add(time.Duration(i) * step)
	}
	t := s.start.Add(time.Duration(i) * s.step)
	if t.After(s.end) {
		return s.end
	}
	return t
}

// valueAt interpolates the series at t, for drawing.
func (s Series) valueAt(t time.Time) float64 {
	for i := 1; i < len(s.Values); i++ {
		if a, b := s.At(i-1), s.At(i); !t.After(b) {
			va, vb := f(s.Values[i-1]), f(s.Values[i])
			if !b.After(a) {
				return vb
			}
			return va + (vb-va)*float64(t.Sub(a))/float64(b.Sub(a))
		}
	}
	if len(s.Values) == 0 {
		return 0
	}
	return f(s.Values[len(s.Values)-1])
}

// MonthSpend is what was spent in one calendar month.
type MonthSpend struct {
	Month string `json:"month"` // 2026-01
	Spend Amount `json:"spend"`
}

// Amount is an amount of money in a report, with exactly two decimals in
// its text and JSON forms ("123.45"). Unlike domain.Money it may be
// negative: a saving against base is negative when the variant costs more.
// The zero value is 0.00.
type Amount struct{ d decimal.Decimal }

// AmountOf rounds d to 0.01 with mode.
func AmountOf(d decimal.Decimal, mode domain.Rounding) Amount {
	if mode == domain.RoundHalfEven {
		return Amount{d.RoundBank(2)}
	}
	return Amount{d.Round(2)}
}

// Decimal returns the amount.
func (a Amount) Decimal() decimal.Decimal { return a.d }

// String is the amount with two decimals.
func (a Amount) String() string { return a.d.StringFixed(2) }

// MarshalText encodes the amount as its string.
func (a Amount) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText decodes an amount.
func (a *Amount) UnmarshalText(b []byte) error {
	d, err := decimal.NewFromString(string(b))
	if err != nil {
		return err
	}
	a.d = d
	return nil
}

// WriteJSON writes the report as one indented JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
