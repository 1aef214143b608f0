package properties_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
	"github.com/leanovate/gopter/prop"
	"github.com/shopspring/decimal"

	"github.com/respool/respool/domain"
	"github.com/respool/respool/projections"
	"github.com/respool/respool/respooltest"
)

// payPerUseHeavy are timelines of pay-per-use pools that scale often.
var payPerUseHeavy = respooltest.TimelineOptions{Billing: domain.PayPerUse, MaxPools: 3}

// hourly are timelines short enough (four months or so) that looking at
// every clock hour of every pool stays cheap.
var (
	hourlyPayPerUse = respooltest.TimelineOptions{Billing: domain.PayPerUse, MaxPools: 3, MaxSpan: 120 * 24 * time.Hour}
	hourlyAny       = respooltest.TimelineOptions{MaxPools: 3, MaxSpan: 120 * 24 * time.Hour}
)

// frozenSpans returns the [from, to) spans during which a pool was frozen
// (retention, R27), to its deletion or +infinity if it never thawed.
func frozenSpans(evs []domain.Event) [][2]time.Time {
	var out [][2]time.Time
	frozen := false
	far := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, e := range evs {
		at := e.EventMeta().At
		switch e := e.(type) {
		case *domain.StatusChanged:
			switch {
			case e.To == domain.StatusFrozen && !frozen:
				frozen = true
				out = append(out, [2]time.Time{at, far})
			case e.To != domain.StatusFrozen && frozen:
				frozen = false
				out[len(out)-1][1] = at
			}
		case *domain.Deleted:
			if frozen {
				out[len(out)-1][1] = at
			}
			return out
		}
	}
	return out
}

// samples are instants around everything that happened to a pool: each
// event's instant, a nanosecond and a second either side, the clock-hour
// boundaries around it, and the timeline's end and beyond.
func samples(o *respooltest.Outcome, evs []domain.Event) []time.Time {
	loc := o.Timeline.Calendar().Location()
	var out []time.Time
	for _, e := range evs {
		at := e.EventMeta().At
		l := at.In(loc)
		h := time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), 0, 0, 0, loc)
		out = append(out, at, at.Add(-time.Nanosecond), at.Add(time.Nanosecond), at.Add(-time.Second), at.Add(time.Second),
			at.Add(500*time.Millisecond), h, h.Add(time.Hour), h.Add(time.Hour-time.Second))
	}
	out = append(out, o.Timeline.End, o.Timeline.End.Add(time.Hour), o.Timeline.End.Add(400*24*time.Hour))
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// Property 4 (R29): pay-per-use records lie within one clock hour of the
// billing zone, never spanning a boundary, one per pool per hour that
// accrued, and together they cover each node's life exactly: every
// node-second from its addition to its removal, the pool's deletion or
// the retention freeze (R28), counted once. Each amount is the hourly price
// x node-seconds / 3600 to 8 places.
func TestProperty04_RecordsWithinClockHours_R29(t *testing.T) {
	check(t, forTimelines(hourlyPayPerUse, func(o *respooltest.Outcome) string {
		var bad problems
		loc := o.Timeline.Calendar().Location()
		f := func(t time.Time) string { return respooltest.FormatInstant(t, loc) }
		end := o.Timeline.End
		for _, id := range o.PoolIDs() {
			evs := o.PoolEvents(id)
			c := createdOf(evs)
			recs := o.Charges.Records(id, c.At, end)
			if c.Billing == domain.Prepaid {
				if len(recs) > 0 {
					bad.add("pool %s is prepaid but has %d pay-per-use records", id, len(recs))
				}
				continue
			}
			fn := accruing(evs)
			var sum int64
			for i, r := range recs {
				switch {
				case !isHourStart(r.Hour, loc):
					bad.add("pool %s record %d starts at %s, not at a clock hour", id, i, f(r.Hour))
				case !r.End.After(r.Hour) || r.End.After(r.Hour.Add(time.Hour)):
					bad.add("pool %s record %d spans %s..%s: not within one clock hour", id, i, f(r.Hour), f(r.End))
				case r.Open != r.End.Before(r.Hour.Add(time.Hour)):
					bad.add("pool %s record %d (%s..%s) open=%v", id, i, f(r.Hour), f(r.End), r.Open)
				case i > 0 && r.Hour.Before(recs[i-1].End):
					bad.add("pool %s records %d and %d overlap: %s..%s and %s..%s", id, i-1, i, f(recs[i-1].Hour), f(recs[i-1].End), f(r.Hour), f(r.End))
				}
				want := nodeSeconds(fn, r.Hour.Unix(), r.End.Unix())
				if r.NodeSeconds != want || r.NodeSeconds <= 0 {
					bad.add("pool %s record %d (%s..%s): %d node-seconds, the events say %d", id, i, f(r.Hour), f(r.End), r.NodeSeconds, want)
				}
				amt := roundMode(exact(priceSeconds(c.Prices.Hourly, r.NodeSeconds)), 8, o.Timeline.Policy.Rounding) // R29: 8 places
				if !r.Amount.Decimal().Equal(amt) {
					bad.add("pool %s record %d: amount %s, want %s x %d s / 3600 = %s", id, i, r.Amount, c.Prices.Hourly, r.NodeSeconds, amt)
				}
				if m := o.Timeline.Calendar().MonthOf(r.Hour); r.Month != m {
					bad.add("pool %s record %d of %s is in bill month %s", id, i, f(r.Hour), r.Month)
				}
				sum += r.NodeSeconds
			}
			// Each node's life, from the node list, less the frozen spans:
			// every node-second is in exactly one record.
			hist, _ := o.Nodes.History(id)
			spans := frozenSpans(evs)
			var life int64
			for _, n := range hist {
				from, to := n.Added.Unix(), end.Unix()
				if !n.Removed.IsZero() {
					to = min(to, n.Removed.Unix())
				}
				secs := max(to-from, 0)
				for _, s := range spans {
					lo, hi := max(from, s[0].Unix()), min(to, s[1].Unix())
					secs -= max(hi-lo, 0)
				}
				life += secs
			}
			if sum != life {
				bad.add("pool %s: the records hold %d node-seconds, its nodes lived %d (less frozen spans) up to %s", id, sum, life, f(end))
			}
		}
		return bad.String()
	}))
}

// Property 5 (R28): accrual is additive: splitting an interval anywhere,
// into any number of pieces, leaves the unrounded total exactly the same,
// in the domain's arithmetic and in the charges projection (whose as-of
// differences are the reference accrual of each piece).
func TestProperty05_AccrualAdditive_R28(t *testing.T) {
	t.Run("domain", func(t *testing.T) {
		check(t, prop.ForAll(func(h domain.Money, nodes int, d1, d2, d3 int64) string {
			a, b, c := time.Duration(d1), time.Duration(d2), time.Duration(d3)
			whole := domain.AccrualFor(h, nodes, a+b+c)
			split := domain.AccrualFor(h, nodes, a).Add(domain.AccrualFor(h, nodes, b)).Add(domain.AccrualFor(h, nodes, c))
			if whole.CmpAccrual(split) != 0 {
				return "AccrualFor over " + (a + b + c).String() + " = " + whole.Exact().String() + ", in pieces " + a.String() + ", " + b.String() + ", " + c.String() + " = " + split.Exact().String()
			}
			t0 := time.Date(2028, 2, 29, 23, 59, 59, 0, domain.DefaultZone())
			bw := domain.AccrualBetween(h, nodes, t0, t0.Add(a+b))
			bs := domain.AccrualBetween(h, nodes, t0, t0.Add(a)).Add(domain.AccrualBetween(h, nodes, t0.Add(a), t0.Add(a+b)))
			if bw.CmpAccrual(bs) != 0 {
				return "AccrualBetween is not additive at " + a.String()
			}
			return ""
		}, respooltest.GenFlavorPrice(), gen.IntRange(1, 64), durations(), durations(), durations()))
	})
	t.Run("charges", func(t *testing.T) {
		check(t, prop.ForAll(func(tl respooltest.Timeline, cuts []uint32) (string, error) {
			defer watchdog(tl.String)()
			o, err := respooltest.Execute(context.Background(), tl)
			if err != nil {
				return "", err
			}
			var bad problems
			for _, id := range o.PoolIDs() {
				evs := o.PoolEvents(id)
				c := createdOf(evs)
				pts := samples(o, evs)
				// Random cuts between the first and the last sample.
				span := pts[len(pts)-1].Sub(pts[0])
				for _, u := range cuts {
					pts = append(pts, pts[0].Add(time.Duration(float64(span)*float64(u)/float64(1<<32))))
				}
				sort.Slice(pts, func(i, j int) bool { return pts[i].Before(pts[j]) })
				fn := accruing(evs)
				sum := decimal.Zero
				for i := 1; i < len(pts); i++ {
					piece := priceSeconds(c.Prices.Hourly, nodeSeconds(fn, pts[i-1].Unix(), pts[i].Unix()))
					a0, _ := o.Charges.AsOf(id, pts[i-1])
					a1, _ := o.Charges.AsOf(id, pts[i])
					if got := a1.PayPerUse.PriceSeconds().Sub(a0.PayPerUse.PriceSeconds()); !got.Equal(piece) {
						bad.add("pool %s: accrual over [%s, %s) is %s/3600, the reference says %s/3600", id,
							respooltest.FormatInstant(pts[i-1], tl.Calendar().Location()), respooltest.FormatInstant(pts[i], tl.Calendar().Location()), got, piece)
						break
					}
					sum = sum.Add(piece)
				}
				first, _ := o.Charges.AsOf(id, pts[0])
				last, _ := o.Charges.AsOf(id, pts[len(pts)-1])
				if whole := last.PayPerUse.PriceSeconds().Sub(first.PayPerUse.PriceSeconds()); !whole.Equal(sum) {
					bad.add("pool %s: the whole accrual %s/3600 differs from the sum of its %d pieces %s/3600", id, whole, len(pts)-1, sum)
				}
			}
			if !bad.ok() {
				return bad.String() + "\n" + o.String(), nil
			}
			return "", nil
		}, genTimeline(payPerUseHeavy), gen.SliceOfN(6, gen.UInt32())))
	})
}

// durations generates durations from a nanosecond to about 400 days,
// whole seconds and hours more often than not.
func durations() gopter.Gen {
	return gen.OneGenOf(
		gen.Int64Range(0, int64(400*24*time.Hour)),
		gen.Int64Range(0, 400*24*3600).Map(func(s int64) int64 { return s * int64(time.Second) }),
		gen.Int64Range(0, 400*24).Map(func(h int64) int64 { return h * int64(time.Hour) }),
		gen.Int64Range(0, int64(time.Second)),
	)
}

// Property 6 (R28): accrual is linear in nodes (n + m nodes cost what n
// and m nodes cost apart, k nodes k times one), and a node added and
// removed within the same second costs nothing: slipping such a node into
// a timeline changes no charge of any pool at any instant.
func TestProperty06_AccrualLinearInNodes_R28(t *testing.T) {
	t.Run("domain", func(t *testing.T) {
		check(t, prop.ForAll(func(h domain.Money, n, m int, d int64) string {
			dur := time.Duration(d)
			sum := domain.AccrualFor(h, n, dur).Add(domain.AccrualFor(h, m, dur))
			if domain.AccrualFor(h, n+m, dur).CmpAccrual(sum) != 0 {
				return "AccrualFor is not additive in nodes"
			}
			one := domain.AccrualFor(h, 1, dur).PriceSeconds().Mul(decimal.NewFromInt(int64(n)))
			if !domain.AccrualFor(h, n, dur).PriceSeconds().Equal(one) {
				return "AccrualFor(n nodes) is not n x AccrualFor(1 node)"
			}
			if !domain.AccrualFor(h, 0, dur).IsZero() {
				return "zero nodes accrue"
			}
			return ""
		}, respooltest.GenFlavorPrice(), gen.IntRange(0, 500), gen.IntRange(0, 500), durations()))
	})
	t.Run("blink", func(t *testing.T) {
		opts := payPerUseHeavy
		opts.NoNamedScaleIn = true // later scale-ins must not depend on node names
		opts.Unlimited = true      // settlement against balances counts nanoseconds (see property 19)
		check(t, prop.ForAll(func(tl respooltest.Timeline, where uint32, nodes int, frac uint32) (string, error) {
			defer watchdog(tl.String)()
			if len(tl.Steps) == 0 {
				return "", nil
			}
			ctx := context.Background()
			base, err := respooltest.Execute(ctx, tl)
			if err != nil {
				return "", err
			}
			k := int(where) % len(tl.Steps)
			run, err := respooltest.Start(ctx, tl, respooltest.RunConfig{})
			if err != nil {
				return "", err
			}
			var blink string
			for i, s := range tl.Steps {
				if _, err := run.Do(ctx, s); err != nil {
					return "", err
				}
				if i != k {
					continue
				}
				// A blink: nodes added at the step's instant and removed
				// later in the same second, before the next step.
				id, ok := respooltest.PoolOf(s.Cmd)
				if !ok {
					break
				}
				at := s.At
				room := time.Second - time.Duration(at.Nanosecond())
				if i+1 < len(tl.Steps) {
					room = min(room, tl.Steps[i+1].At.Sub(at)+1)
				}
				gone := at.Add(time.Duration(int64(frac) % int64(room)))
				acct := s.Cmd.Actor()
				res, err := run.Service.Handle(ctx, at, domain.ScaleOut{Cmd: domain.Cmd{ID: "blink-out", Account: acct}, Pool: id, Nodes: nodes})
				if err != nil {
					break // refused: nothing to take back
				}
				var added []domain.NodeID
				for _, e := range res.Events {
					if n, ok := e.(*domain.NodeAdded); ok {
						added = append(added, n.Node)
					}
				}
				if _, err := run.Service.Handle(ctx, gone, domain.ScaleIn{Cmd: domain.Cmd{ID: "blink-in", Account: acct}, Pool: id, Nodes: added}); err != nil {
					return "", err
				}
				blink = "blinked " + itoa(nodes) + " nodes into " + string(id) + " at " + respooltest.FormatInstant(at, tl.Calendar().Location()) +
					" until " + respooltest.FormatInstant(gone, tl.Calendar().Location())
			}
			o, err := run.Finish(ctx)
			if err != nil {
				return "", err
			}
			if blink == "" {
				return "", nil
			}
			var bad problems
			for _, id := range base.PoolIDs() {
				for _, at := range samples(base, base.PoolEvents(id)) {
					a, _ := base.Charges.AsOf(id, at)
					b, _ := o.Charges.AsOf(id, at)
					if a.PayPerUse.CmpAccrual(b.PayPerUse) != 0 || !a.Prepaid.Equal(b.Prepaid) {
						bad.add("%s: pool %s as of %s costs %s + %s, without the blink %s + %s", blink, id,
							respooltest.FormatInstant(at, tl.Calendar().Location()), b.Prepaid, b.PayPerUse.Exact(), a.Prepaid, a.PayPerUse.Exact())
						break
					}
				}
			}
			if !bad.ok() {
				return bad.String() + "\n" + o.String(), nil
			}
			return "", nil
		}, genTimeline(opts), gen.UInt32(), gen.IntRange(1, 3), gen.UInt32()))
	})
}

// Property 7 (R29, R30): each bill month's total is its unrounded total
// rounded to 0.01 with the policy's rounding, so off it by at most half a
// cent; the unrounded total is exactly the sum of the month's hourly records
// and prepaid charges (and off the exact accrual by no more than the
// records' own 8-place rounding); the months add up to all records and
// charges, nothing falling between them; an account's month is its pools'
// months added, rounded once.
func TestProperty07_BillMonthsRounding_R30(t *testing.T) {
	half := decimal.New(5, -3)
	check(t, forTimelines(hourlyAny, func(o *respooltest.Outcome) string {
		var bad problems
		cal := o.Timeline.Calendar()
		mode := o.Timeline.Policy.Rounding
		end := o.Timeline.End
		perAcct := map[domain.AccountID]map[domain.BillMonth]decimal.Decimal{}
		for _, id := range o.PoolIDs() {
			evs := o.PoolEvents(id)
			c := createdOf(evs)
			ms := o.Charges.Months(id, end)
			recs := o.Charges.Records(id, c.At, end)
			lines := o.Charges.Prepaid(id)
			fn := accruing(evs)
			if len(ms) == 0 || ms[0].Month != cal.MonthOf(c.At) || ms[len(ms)-1].Month != cal.MonthOf(end) {
				bad.add("pool %s: bill months %v do not run from its creation to the end", id, monthsOf(ms))
				continue
			}
			allRecs, allLines := decimal.Zero, decimal.Zero
			for _, r := range recs {
				allRecs = allRecs.Add(r.Amount.Decimal())
			}
			for _, l := range lines {
				if !l.At.After(end) {
					allLines = allLines.Add(l.Charge.Decimal())
				}
			}
			sumMonths := decimal.Zero
			for i, m := range ms {
				if i > 0 && m.Month != ms[i-1].Month.Next() {
					bad.add("pool %s: month %s follows %s", id, m.Month, ms[i-1].Month)
				}
				ppu, n, exactPPU := decimal.Zero, 0, decimal.Zero
				for _, r := range recs {
					if r.Month == m.Month {
						ppu = ppu.Add(r.Amount.Decimal())
						exactPPU = exactPPU.Add(exact(priceSeconds(c.Prices.Hourly, nodeSeconds(fn, r.Hour.Unix(), r.End.Unix()))))
						n++
					}
				}
				pre := decimal.Zero
				for _, l := range m.Lines {
					pre = pre.Add(l.Charge.Decimal())
					if l.Month != m.Month || cal.MonthOf(l.At) != m.Month {
						bad.add("pool %s: a charge of %s at %s is in month %s", id, l.Charge, l.At, m.Month)
					}
				}
				un := m.Unrounded.Decimal()
				switch {
				case m.Records != n || !m.PayPerUse.Decimal().Equal(ppu):
					bad.add("pool %s %s: %d records summing to %s, the records say %d and %s", id, m.Month, m.Records, m.PayPerUse, n, ppu)
				case !m.Prepaid.Decimal().Equal(pre):
					bad.add("pool %s %s: prepaid %s, its lines sum to %s", id, m.Month, m.Prepaid, pre)
				case !un.Equal(ppu.Add(pre)):
					bad.add("pool %s %s: unrounded %s, records + charges = %s", id, m.Month, un, ppu.Add(pre))
				case !m.Total.Decimal().Equal(roundMode(un, 2, mode)):
					bad.add("pool %s %s: total %s, %s rounded %s is %s", id, m.Month, m.Total, un, mode, roundMode(un, 2, mode))
				case m.Total.Decimal().Sub(un).Abs().GreaterThan(half):
					bad.add("pool %s %s: total %s is more than half a cent off %s", id, m.Month, m.Total, un)
				case ppu.Sub(exactPPU).Abs().GreaterThan(decimal.New(5, -9).Mul(decimal.NewFromInt(int64(n)))):
					bad.add("pool %s %s: records sum to %s, exactly %s: more than their rounding", id, m.Month, ppu, exactPPU)
				}
				sumMonths = sumMonths.Add(un)
				if perAcct[c.Account] == nil {
					perAcct[c.Account] = map[domain.BillMonth]decimal.Decimal{}
				}
				perAcct[c.Account][m.Month] = perAcct[c.Account][m.Month].Add(un)
			}
			if !sumMonths.Equal(allRecs.Add(allLines)) {
				bad.add("pool %s: the months add up to %s, the records and charges to %s", id, sumMonths, allRecs.Add(allLines))
			}
		}
		for acct, months := range perAcct {
			for _, m := range o.Charges.AccountMonths(acct, end) {
				want := months[m.Month]
				if !m.Unrounded.Decimal().Equal(want) || !m.Total.Decimal().Equal(roundMode(want, 2, mode)) {
					bad.add("account %s %s: unrounded %s total %s; its pools add up to %s", acct, m.Month, m.Unrounded, m.Total, want)
				}
				delete(months, m.Month)
			}
			for m, v := range months {
				if !v.IsZero() {
					bad.add("account %s: its pools have %s in %s, the account's months do not show it", acct, v, m)
				}
			}
		}
		return bad.String()
	}))
}

func monthsOf(ms []projections.Month) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Month.String()
	}
	return out
}

// Property 10 (R17, R27, R28): nothing accrues before a pool's creation,
// after its deletion, or while it is frozen; a prepaid pool accrues no
// pay-per-use charge at all.
func TestProperty10_NoAccrualOutsideLife_R28(t *testing.T) {
	check(t, forTimelines(respooltest.TimelineOptions{MaxPools: 3}, func(o *respooltest.Outcome) string {
		var bad problems
		loc := o.Timeline.Calendar().Location()
		f := func(t time.Time) string { return respooltest.FormatInstant(t, loc) }
		for _, id := range o.PoolIDs() {
			evs := o.PoolEvents(id)
			c := createdOf(evs)
			for _, before := range []time.Time{c.At.Add(-time.Nanosecond), c.At.Add(-time.Second), c.At.Add(-40 * 24 * time.Hour)} {
				if a, _ := o.Charges.AsOf(id, before); !a.PayPerUse.IsZero() || !a.Prepaid.IsZero() {
					bad.add("pool %s created %s has cost %s + %s as of %s", id, f(c.At), a.Prepaid, a.PayPerUse.Exact(), f(before))
				}
			}
			if c.Billing == domain.Prepaid {
				if a, _ := o.Charges.AsOf(id, o.Timeline.End.Add(1000*time.Hour)); !a.PayPerUse.IsZero() {
					bad.add("prepaid pool %s accrued %s pay-per-use", id, a.PayPerUse.Exact())
				}
			}
			for _, e := range evs {
				d, ok := e.(*domain.Deleted)
				if !ok {
					continue
				}
				at0, _ := o.Charges.AsOf(id, d.At)
				for _, later := range []time.Time{d.At.Add(time.Nanosecond), d.At.Add(time.Second), d.At.Add(time.Hour), d.At.Add(400 * 24 * time.Hour)} {
					if a, _ := o.Charges.AsOf(id, later); a.PayPerUse.CmpAccrual(at0.PayPerUse) != 0 {
						bad.add("pool %s deleted %s: cost %s then, %s as of %s", id, f(d.At), at0.PayPerUse.Exact(), a.PayPerUse.Exact(), f(later))
					}
				}
			}
			for _, s := range frozenSpans(evs) {
				from, _ := o.Charges.AsOf(id, s[0])
				upTo := s[1]
				if upTo.After(o.Timeline.End.Add(400 * 24 * time.Hour)) {
					upTo = o.Timeline.End.Add(400 * 24 * time.Hour)
				}
				mid := s[0].Add(upTo.Sub(s[0]) / 2)
				for _, in := range []time.Time{s[0].Add(time.Second), mid, upTo.Add(-time.Nanosecond)} {
					if in.Before(s[0]) {
						continue
					}
					if a, _ := o.Charges.AsOf(id, in); a.PayPerUse.CmpAccrual(from.PayPerUse) != 0 {
						bad.add("pool %s frozen %s..%s: cost %s at the freeze, %s as of %s", id, f(s[0]), f(s[1]), from.PayPerUse.Exact(), a.PayPerUse.Exact(), f(in))
					}
				}
			}
		}
		return bad.String()
	}))
}

// Property 15 (R32): charges as of a later instant are never smaller: for
// every pool and account, pay-per-use, prepaid and their rounded total are
// non-decreasing in the instant, and so are the bill months' sums.
func TestProperty15_AsOfMonotone_R32(t *testing.T) {
	check(t, forTimelines(respooltest.TimelineOptions{MaxPools: 3}, func(o *respooltest.Outcome) string {
		var bad problems
		loc := o.Timeline.Calendar().Location()
		mode := o.Timeline.Policy.Rounding
		var all []time.Time
		for _, id := range o.PoolIDs() {
			pts := samples(o, o.PoolEvents(id))
			all = append(all, pts...)
			var prev projections.Amount
			for i, t := range pts {
				a, _ := o.Charges.AsOf(id, t)
				if i > 0 && (a.PayPerUse.CmpAccrual(prev.PayPerUse) < 0 || a.Prepaid.Cmp(prev.Prepaid) < 0 || a.Total(2, mode).Cmp(prev.Total(2, mode)) < 0) {
					bad.add("pool %s: as of %s it cost %s + %s, as of %s %s + %s", id, respooltest.FormatInstant(pts[i-1], loc),
						prev.Prepaid, prev.PayPerUse.Exact(), respooltest.FormatInstant(t, loc), a.Prepaid, a.PayPerUse.Exact())
					break
				}
				prev = a
			}
			var prevSum decimal.Decimal
			at := []time.Time{pts[0], pts[len(pts)/4], pts[len(pts)/2], o.Timeline.End, pts[len(pts)-1]}
			sort.Slice(at, func(i, j int) bool { return at[i].Before(at[j]) })
			for i, t := range at {
				sum := decimal.Zero
				for _, m := range o.Charges.Months(id, t) {
					sum = sum.Add(m.Unrounded.Decimal())
				}
				if i > 0 && sum.LessThan(prevSum) {
					bad.add("pool %s: bill months as of %s sum to %s, less than earlier (%s)", id, respooltest.FormatInstant(t, loc), sum, prevSum)
				}
				prevSum = sum
			}
		}
		sort.Slice(all, func(i, j int) bool { return all[i].Before(all[j]) })
		for _, acct := range o.AccountIDs() {
			var prev projections.Amount
			for i, t := range all {
				a := o.Charges.AccountAsOf(acct, t)
				if i > 0 && (a.PayPerUse.CmpAccrual(prev.PayPerUse) < 0 || a.Prepaid.Cmp(prev.Prepaid) < 0) {
					bad.add("account %s: as of %s it cost %s + %s, as of %s %s + %s", acct, respooltest.FormatInstant(all[i-1], loc),
						prev.Prepaid, prev.PayPerUse.Exact(), respooltest.FormatInstant(t, loc), a.Prepaid, a.PayPerUse.Exact())
					break
				}
				prev = a
			}
		}
		return bad.String()
	}))
}
