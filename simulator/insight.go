package simulator

import (
	"fmt"
	"math"
	"time"

	"github.com/shopspring/decimal"

	"github.com/respool/respool/domain"
)

// Insight is what a variant teaches beyond its totals.
type Insight struct {
	// SavingVsBase is base's total minus this variant's: positive when this
	// variant is cheaper. Zero for base.
	SavingVsBase Amount `json:"saving_vs_base"`
	// SavingPercent is SavingVsBase as a percentage of base's total.
	SavingPercent float64 `json:"saving_percent"`
	// NodeHours is the node time of every pool, held while usable or in
	// grace.
	NodeHours float64 `json:"node_hours"`
	// HourlyPerNode is the total divided by NodeHours: the effective price
	// of a node-hour.
	HourlyPerNode Amount `json:"hourly_per_node"`
	// MonthlyAverage is the total spread evenly over the simulated months
	// (the amortized monthly cost).
	MonthlyAverage Amount `json:"monthly_average"`
	// VsBase says which of base and this variant is cheaper at the end and
	// since when it has been cheaper without a break; nil for base.
	VsBase *Crossover `json:"vs_base,omitempty"`
	// BreakEven compares each prepaid pool's first term with paying per use
	// for the same nodes over the same term.
	BreakEven []BreakEven `json:"break_even"`
}

// Crossover is when one run became cheaper than the other for good.
type Crossover struct {
	// Cheaper is the name of the cheaper run at the end (this variant or
	// "base"), or "" if both cost the same.
	Cheaper string `json:"cheaper"`
	// Since is the instant from which Cheaper has cost less without a
	// break, and AfterMonths the months from the start to it.
	Since       string  `json:"since,omitempty"`
	AfterMonths float64 `json:"after_months"`
	Summary     string  `json:"summary"`
}

// BreakEven compares a prepaid pool's first term with pay-per-use.
type BreakEven struct {
	Pool       string `json:"pool"`
	TermMonths int    `json:"term_months"`
	Nodes      int    `json:"nodes"`
	// TermCharge is what the term cost (R8).
	TermCharge Amount `json:"term_charge"`
	// PayPerUse is what the same nodes would cost pay-per-use for the
	// whole term, at the hourly price captured at purchase (R28).
	PayPerUse Amount `json:"pay_per_use"`
	// AfterMonths is how many months of pay-per-use for the same nodes
	// would cost as much as the term: from then on the term is cheaper.
	AfterMonths float64 `json:"after_months"`
	// Utilisation is TermCharge / PayPerUse in percent: the term is
	// cheaper when the nodes would otherwise run pay-per-use for more than
	// this share of the term.
	Utilisation float64 `json:"utilisation_percent"`
	Summary     string  `json:"summary"`
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }
func round2(f float64) float64 { return math.Round(f*100) / 100 }

// calMonths is the time from a to b in calendar months of loc: whole
// months (by date, as the billing calendar counts them), then the rest as a
// share of the month in progress. 2026-01-01 to 2026-05-01 is 4.
func calMonths(a, b time.Time, loc *time.Location) float64 {
	if !b.After(a) {
		return 0
	}
	a = a.In(loc)
	k := 0
	for !a.AddDate(0, k+1, 0).After(b) {
		k++
	}
	lo, hi := a.AddDate(0, k, 0), a.AddDate(0, k+1, 0)
	return float64(k) + float64(b.Sub(lo))/float64(hi.Sub(lo))
}

// addCalMonths is the instant m calendar months after a (calMonths'
// inverse).
func addCalMonths(a time.Time, m float64, loc *time.Location) time.Time {
	a = a.In(loc)
	k := int(math.Floor(m))
	lo, hi := a.AddDate(0, k, 0), a.AddDate(0, k+1, 0)
	return lo.Add(time.Duration((m - float64(k)) * float64(hi.Sub(lo))))
}

// buildReport assembles the report of a run.
func buildReport(sc *Scenario, tick, step time.Duration, samples []time.Time, runs []*variantRun) *Report {
	zone := sc.Policy.Zone
	mode := sc.Policy.Rounding
	cur := sc.Catalog.Currency()
	months := calMonths(sc.Start, sc.End, zone)
	rep := &Report{
		Scenario: sc.Name, File: sc.File,
		Start: sc.Start.In(zone).Format(time.RFC3339), End: sc.End.In(zone).Format(time.RFC3339),
		Tick: FormatDuration(tick), Zone: sc.Start.In(zone).Format("-07:00"), Months: round2(months),
	}
	for _, r := range runs {
		vr := VariantReport{Name: r.variant.Name, Currency: cur, Changes: r.variant.Changes, Rejected: r.rejected, Events: r.charges.Events}
		if vr.Changes == nil {
			vr.Changes = []string{}
		}
		if vr.Rejected == nil {
			vr.Rejected = []Rejection{}
		}
		total := decimal.Zero
		var nodeSecs int64
		vr.Pools = []PoolReport{}
		vr.Insight.BreakEven = []BreakEven{}
		for _, p := range r.variant.Pools {
			st, ok := r.states[p.ID]
			if !ok {
				continue
			}
			c := r.charges.Pools[p.ID]
			if c == nil {
				c = &poolCharges{}
			}
			charged := c.Charged(mode)
			total = total.Add(charged.Decimal())
			nodeSecs += c.NodeSeconds
			pr := PoolReport{
				ID: string(p.ID), Billing: string(st.Billing), Status: string(st.Status()),
				Nodes: len(st.Nodes), Renewals: st.Renewals, Charged: AmountOf(charged.Decimal(), mode),
				Account: string(st.Account), Type: string(st.Type), Flavor: string(st.Flavor), Region: st.Region,
				Prepaid:   AmountOf(c.AsOfEnd.Prepaid.Decimal(), mode),
				PayPerUse: AmountOf(c.AsOfEnd.PayPerUse.Exact(), mode),
				ListPrice: AmountOf(c.ListPrice().Decimal(), mode),
				NodeHours: round2(float64(c.NodeSeconds) / 3600),
			}
			if c.NodeSeconds > 0 {
				pr.HourlyPerNode = AmountOf(c.Exact().Mul(decimal.NewFromInt(3600)).DivRound(decimal.NewFromInt(c.NodeSeconds), 8), mode)
			}
			pr.AZs = map[string]int{}
			for _, n := range st.Nodes {
				pr.AZs[n.AZ]++
			}
			if st.Billing == domain.Prepaid {
				pr.Expiry = st.Term.End.In(zone).Format(time.RFC3339)
			}
			pr.History = make([]StatusEvent, len(c.History))
			pr.StatusSince = st.Created.In(zone).Format(time.RFC3339)
			for i, h := range c.History {
				h.At = h.at.In(zone).Format(time.RFC3339)
				pr.History[i] = h
				if h.Status == pr.Status {
					pr.StatusSince = h.At
				}
			}
			pr.RenewalsFailed = c.RenewalsFailed
			vr.Pools = append(vr.Pools, pr)
			if be, ok := breakEven(p.ID, st.Prices.Hourly, c, mode, cur, zone); ok {
				vr.Insight.BreakEven = append(vr.Insight.BreakEven, be)
			}
		}
		vr.Total = AmountOf(total, mode)
		vr.Insight.NodeHours = round2(float64(nodeSecs) / 3600)
		if nodeSecs > 0 {
			vr.Insight.HourlyPerNode = AmountOf(total.Mul(decimal.NewFromInt(3600)).DivRound(decimal.NewFromInt(nodeSecs), 8), mode)
		}
		if months > 0 {
			vr.Insight.MonthlyAverage = AmountOf(total.DivRound(decimal.NewFromFloat(months), 8), mode)
		}
		vr.Cumulative = series(&r.charges.Curve, samples, step, zone, mode, vr.Total)
		vr.Monthly = monthly(&r.charges.Curve, sc.Start, sc.End, sc.Policy.Calendar(), mode)
		rep.Variants = append(rep.Variants, vr)
	}
	base := &rep.Variants[0]
	for i := 1; i < len(rep.Variants); i++ {
		v := &rep.Variants[i]
		saving := base.Total.d.Sub(v.Total.d)
		v.Insight.SavingVsBase = Amount{saving}
		if !base.Total.d.IsZero() {
			pct, _ := saving.Mul(decimal.NewFromInt(100)).DivRound(base.Total.d, 4).Float64()
			v.Insight.SavingPercent = round1(pct)
		}
		v.Insight.VsBase = vsBase(v, base, &runs[i].charges.Curve, &runs[0].charges.Curve, sc, cur)
	}
	return rep
}

// series samples a curve. The last value, as of end, is the total: the sum
// of the pools' rounded charges, so a series always ends where the report's
// total says. Samples and segments are both in time order, so the curve is
// walked once, with each segment's rate per nanosecond computed once.
func series(c *curve, samples []time.Time, step time.Duration, zone *time.Location, mode domain.Rounding, total Amount) Series {
	s := Series{Start: samples[0].In(zone).Format(time.RFC3339), Step: FormatDuration(step),
		start: samples[0], step: step, end: samples[len(samples)-1]}
	s.Values = make([]Amount, len(samples))
	perHourNs := decimal.NewFromInt(int64(time.Hour))
	seg, perNs := -1, decimal.Zero
	for i, t := range samples {
		k := seg
		for k+1 < len(c.pts) && !c.pts[k+1].t.After(t) {
			k++
		}
		if k < 0 {
			s.Values[i] = Amount{}
			continue
		}
		if k != seg {
			seg, perNs = k, c.pts[k].rate.DivRound(perHourNs, 30)
		}
		p := c.pts[k]
		s.Values[i] = AmountOf(p.v.Add(perNs.Mul(decimal.NewFromInt(int64(t.Sub(p.t))))), mode)
	}
	s.Values[len(s.Values)-1] = total
	return s
}

// monthly is the spend of each calendar month of cal between start and end.
func monthly(c *curve, start, end time.Time, cal domain.Calendar, mode domain.Rounding) []MonthSpend {
	var out []MonthSpend
	for m := cal.MonthOf(start); ; m = m.Next() {
		from, to := cal.MonthStart(m), cal.MonthStart(m.Next())
		if !from.Before(end) {
			break
		}
		from, to = later(from, start), earlier(to, end)
		// the cost as of just before the month's bounds: a charge at the
		// first instant of a month belongs to that month
		spend := c.before(to).Sub(c.before(from))
		if to.Equal(end) {
			spend = c.at(end).Sub(c.before(from))
		}
		out = append(out, MonthSpend{Month: m.String(), Spend: AmountOf(spend, mode)})
	}
	return out
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// breakEven compares a prepaid pool's first term with pay-per-use.
// The pay-per-use side is what the same nodes would accrue over the same
// term at the hourly price the pool captured (R28, domain.AccrualBetween).
func breakEven(id domain.PoolID, hourly domain.Money, c *poolCharges, mode domain.Rounding, cur string, zone *time.Location) (BreakEven, bool) {
	if len(c.Lines) == 0 || c.Lines[0].Nodes == 0 || hourly.IsZero() {
		return BreakEven{}, false
	}
	first := c.Lines[0]
	term, nodesN := first.Term, first.Nodes
	payg := domain.AccrualBetween(hourly, nodesN, term.Start, term.End).Exact()
	perHour := hourly.Decimal().Mul(decimal.NewFromInt(int64(nodesN)))
	paid := first.Charge.Decimal()
	hoursToEven, _ := paid.DivRound(perHour, 8).Float64()
	after := calMonths(term.Start, term.Start.Add(time.Duration(hoursToEven*float64(time.Hour))), zone)
	util := 0.0
	if payg.Sign() > 0 {
		util, _ = paid.Mul(decimal.NewFromInt(100)).DivRound(payg, 4).Float64()
	}
	be := BreakEven{
		Pool: string(id), TermMonths: term.Months, Nodes: nodesN,
		TermCharge: AmountOf(paid, mode), PayPerUse: AmountOf(payg, mode),
		AfterMonths: round1(after), Utilisation: round1(util),
	}
	nodes := "nodes"
	if nodesN == 1 {
		nodes = "node"
	}
	if util >= 100 {
		be.Summary = fmt.Sprintf("the %d-month term (%s %s) costs more than running its %d %s pay-per-use for the whole term (%s %s): pay-per-use is cheaper at any utilisation",
			term.Months, group(be.TermCharge), cur, nodesN, nodes, group(be.PayPerUse), cur)
	} else {
		be.Summary = fmt.Sprintf("the %d-month term (%s %s) costs as much as %s of its %d %s on pay-per-use: prepaid is cheaper if the nodes would otherwise run more than %.1f%% of the term",
			term.Months, group(be.TermCharge), cur, monthsText(after, time.Duration(hoursToEven*float64(time.Hour))), nodesN, nodes, be.Utilisation)
	}
	return be, true
}

func vsBase(v, base *VariantReport, vc, bc *curve, sc *Scenario, cur string) *Crossover {
	s, since := crossing(vc, bc, sc.Start, sc.End)
	x := &Crossover{}
	switch s {
	case 0:
		x.Summary = fmt.Sprintf("%s and base cost the same by the end", v.Name)
		return x
	case -1:
		x.Cheaper = v.Name
	default:
		x.Cheaper = "base"
	}
	other := base.Name
	if x.Cheaper == base.Name {
		other = v.Name
	}
	x.Since = since.In(sc.Policy.Zone).Format(time.RFC3339)
	x.AfterMonths = round1(calMonths(sc.Start, since, sc.Policy.Zone))
	diff := v.Insight.SavingVsBase.d.Abs()
	when := fmt.Sprintf("from %s on (after %.1f months)", since.In(sc.Policy.Zone).Format("2006-01-02"), x.AfterMonths)
	if !since.After(sc.Start) {
		when = "all along"
	}
	x.Summary = fmt.Sprintf("%s is cheaper than %s %s, by %s %s at the end", x.Cheaper, other, when, group(Amount{diff}), cur)
	return x
}

// monthsText writes a span given in months for people: days below two
// months ("21 days"), months above ("6.8 months").
func monthsText(m float64, d time.Duration) string {
	if m < 2 {
		d := d.Hours() / 24
		if math.Round(d) == 1 {
			return "1 day"
		}
		return fmt.Sprintf("%.0f days", d)
	}
	return fmt.Sprintf("%.1f months", m)
}

// FormatDuration writes d the way a scenario does: whole days as "1d",
// anything else as Go writes it, without zero units ("1h", "90m").
func FormatDuration(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	s := d.String()
	for _, z := range []string{"0s", "0m"} {
		if len(s) > len(z) && s[len(s)-len(z):] == z && s[len(s)-len(z)-1] >= 'a' {
			s = s[:len(s)-len(z)]
		}
	}
	return s
}
