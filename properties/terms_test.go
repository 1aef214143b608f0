package properties_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/leanovate/gopter/gen"
	"github.com/leanovate/gopter/prop"

	"github.com/respool/respool/domain"
	"github.com/respool/respool/respooltest"
)

// prepaidHeavy are timelines where most pools are prepaid, so that terms,
// renewals, expiry, grace and retention happen often.
var prepaidHeavy = respooltest.TimelineOptions{Billing: domain.Prepaid, MaxPools: 3}

// Property 1 (R22): the expiry of the k-th month after the anchor is the
// anchor's day of month in that month, clamped to its last day, whatever
// happened in between: never computed from the previous clamped date.
func TestProperty01_ExpiryFromAnchor_R22(t *testing.T) {
	t.Run("calendar", func(t *testing.T) {
		check(t, prop.ForAll(func(loc *time.Location, anchorDay time.Time, k int) string {
			cal := domain.NewCalendar(loc)
			anchor := time.Date(anchorDay.Year(), anchorDay.Month(), anchorDay.Day(), anchorDay.Hour(), anchorDay.Minute(),
				anchorDay.Second(), anchorDay.Nanosecond(), loc)
			want := refTermEnd(anchor, loc, k)
			if got := cal.TermEnd(anchor, k); !got.Equal(want) {
				return "TermEnd(" + respooltest.FormatInstant(anchor, loc) + ", " + itoa(k) + ") = " +
					respooltest.FormatInstant(got, loc) + ", want " + respooltest.FormatInstant(want, loc)
			}
			d := cal.ExpiryDate(anchor, k)
			last := want.Add(-time.Nanosecond).In(loc)
			if d.Year != last.Year() || d.Month != last.Month() || d.Day != last.Day() {
				return "ExpiryDate = " + d.String() + ", want the day before " + respooltest.FormatInstant(want, loc)
			}
			return ""
		}, respooltest.GenZone(), respooltest.GenInstant(domain.NewCalendar(time.UTC)), gen.IntRange(0, 150)))
	})
	t.Run("service", func(t *testing.T) {
		check(t, forTimelines(prepaidHeavy, func(o *respooltest.Outcome) string {
			var bad problems
			loc := o.Timeline.Calendar().Location()
			for _, id := range o.PoolIDs() {
				evs := o.PoolEvents(id)
				ts := termsOf(evs)
				if len(ts) == 0 {
					continue
				}
				anchor, months := ts[0].at, 0
				for i, tm := range ts {
					months += tm.months
					if want := refTermEnd(anchor, loc, months); !tm.end.Equal(want) {
						bad.add("pool %s term %d: ends %s, want %s (%d months after the anchor %s)", id, i,
							respooltest.FormatInstant(tm.end, loc), respooltest.FormatInstant(want, loc), months, respooltest.FormatInstant(anchor, loc))
					}
				}
				p := o.Pool(id)
				if !p.Anchor.Equal(anchor) || p.Months != months || !p.Term.End.Equal(ts[len(ts)-1].end) {
					bad.add("pool %s state: anchor %s months %d term end %s; the events say %s, %d, %s", id,
						p.Anchor, p.Months, p.Term.End, anchor, months, ts[len(ts)-1].end)
				}
			}
			return bad.String()
		}))
	})
}

// Property 2 (R23): terms are back to back: each renewal starts exactly at
// the previous expiry, whenever it is paid (no gap, no overlap), and the
// expiry only moves forward, in the events and in the state after every
// step.
func TestProperty02_TermsBackToBack_R23(t *testing.T) {
	check(t, prop.ForAll(func(tl respooltest.Timeline) (string, error) {
		defer watchdog(tl.String)()
		ctx := context.Background()
		run, err := respooltest.Start(ctx, tl, respooltest.RunConfig{})
		if err != nil {
			return "", err
		}
		var bad problems
		loc := tl.Calendar().Location()
		seen := map[domain.PoolID]time.Time{}
		for i, s := range tl.Steps {
			if _, err := run.Do(ctx, s); err != nil {
				return "", err
			}
			for _, a := range actors(tl) {
				for _, id := range run.Service.Pools(a) {
					p, err := run.Service.Pool(ctx, a, id)
					if err != nil || p.Billing != domain.Prepaid {
						continue
					}
					if prev, ok := seen[id]; ok && p.Term.End.Before(prev) {
						bad.add("after step %d the expiry of %s moved back from %s to %s", i, id,
							respooltest.FormatInstant(prev, loc), respooltest.FormatInstant(p.Term.End, loc))
					}
					seen[id] = p.Term.End
				}
			}
		}
		o, err := run.Finish(ctx)
		if err != nil {
			return "", err
		}
		for _, id := range o.PoolIDs() {
			ts := termsOf(o.PoolEvents(id))
			for i, tm := range ts {
				if !tm.end.After(tm.start) || tm.months < 1 {
					bad.add("pool %s term %d is empty: %s..%s (%d months)", id, i, tm.start, tm.end, tm.months)
				}
				if i == 0 {
					if !tm.start.Equal(tm.at) {
						bad.add("pool %s: the first term starts at %s, not at its purchase %s", id,
							respooltest.FormatInstant(tm.start, loc), respooltest.FormatInstant(tm.at, loc))
					}
					continue
				}
				prev := ts[i-1]
				if !tm.start.Equal(prev.end) {
					bad.add("pool %s term %d starts %s but the previous one ends %s (renewed at %s): gap or overlap", id, i,
						respooltest.FormatInstant(tm.start, loc), respooltest.FormatInstant(prev.end, loc), respooltest.FormatInstant(tm.at, loc))
				}
				if !tm.end.After(prev.end) {
					bad.add("pool %s term %d: expiry moved from %s to %s", id, i,
						respooltest.FormatInstant(prev.end, loc), respooltest.FormatInstant(tm.end, loc))
				}
			}
		}
		if !bad.ok() {
			return bad.String() + "\n" + o.String(), nil
		}
		return "", nil
	}, genTimeline(prepaidHeavy)))
}

// Property 3 (R24): at most one paid term covers any instant, and at most
// one renewal succeeds per term: no term is renewed twice, no two automatic
// renewals happen while the same term is running, and a limited balance is
// charged once per term bought, with the term's price (never twice for one
// purchase).
func TestProperty03_OneTermOneRenewal_R24(t *testing.T) {
	check(t, forTimelines(prepaidHeavy, func(o *respooltest.Outcome) string {
		var bad problems
		loc := o.Timeline.Calendar().Location()
		for _, id := range o.PoolIDs() {
			evs := o.PoolEvents(id)
			ts := termsOf(evs)
			for i := range ts {
				for j := i + 1; j < len(ts); j++ {
					if ts[i].start.Before(ts[j].end) && ts[j].start.Before(ts[i].end) {
						bad.add("pool %s: terms %d (%s..%s) and %d (%s..%s) overlap", id, i,
							respooltest.FormatInstant(ts[i].start, loc), respooltest.FormatInstant(ts[i].end, loc), j,
							respooltest.FormatInstant(ts[j].start, loc), respooltest.FormatInstant(ts[j].end, loc))
					}
				}
			}
			renewedFrom := map[time.Time]int{}
			covering := map[time.Time]int{} // term end -> automatic renewals while it ran
			for i, tm := range ts {
				if !tm.renewal {
					continue
				}
				renewedFrom[tm.start.UTC()]++
				if renewedFrom[tm.start.UTC()] > 1 {
					bad.add("pool %s: the term ending %s was renewed twice", id, respooltest.FormatInstant(tm.start, loc))
				}
				if !tm.auto {
					continue
				}
				for _, c := range ts[:i] {
					if !tm.at.Before(c.start) && tm.at.Before(c.end) {
						covering[c.end.UTC()]++
						if covering[c.end.UTC()] > 1 {
							bad.add("pool %s: a second automatic renewal at %s while the term ending %s runs", id,
								respooltest.FormatInstant(tm.at, loc), respooltest.FormatInstant(c.end, loc))
						}
					}
				}
			}
			// Charges: one per term bought, on limited balances only (R8).
			c := createdOf(evs)
			if c == nil || c.Billing != domain.Prepaid {
				continue
			}
			var charged []domain.Money
			for _, e := range o.AccountEvents(c.Account) {
				if ch, ok := e.(*domain.Charged); ok && ch.Pool == id {
					charged = append(charged, ch.Amount)
				}
				if rf, ok := e.(*domain.Refunded); ok && rf.Pool == id {
					bad.add("pool %s: a refund of %s (a compensation) in a run without failures", id, rf.Amount)
				}
			}
			if !limited(o.Timeline, c.Account) {
				if len(charged) > 0 {
					bad.add("pool %s: an unlimited balance was charged %v", id, charged)
				}
				continue
			}
			if len(charged) != len(ts) {
				bad.add("pool %s: %d terms bought, %d charges %v", id, len(ts), len(charged), charged)
				continue
			}
			for i := range ts {
				if !charged[i].Equal(ts[i].charge) {
					bad.add("pool %s: term %d costs %s but %s was charged", id, i, ts[i].charge, charged[i])
				}
			}
		}
		return bad.String()
	}))
}

// Property 9 (R8): a prepaid term costs nodes x monthly x months, except a
// 12-month training term, which costs nodes x the yearly price, 10 x
// monthly unless the flavor sets its own; the prices are the rate card's,
// captured at purchase; the list price is always nodes x monthly x months.
func TestProperty09_PrepaidPrice_R8(t *testing.T) {
	t.Run("prices", func(t *testing.T) {
		check(t, prop.ForAll(func(monthly, yearly domain.Money, ownYearly bool, nodes, months int, training bool) string {
			f := domain.Flavor{ID: "f", Kind: domain.GPU, Monthly: monthly, Regions: []string{"r"}}
			if ownYearly {
				f.Yearly = yearly
			}
			cat := respooltest.Catalog{Currency: "CNY", Flavors: []domain.Flavor{f}}
			rc, err := cat.RateCard()
			if err != nil {
				return err.Error()
			}
			typ := domain.Deployment
			if training {
				typ = domain.Training
			}
			charge, list := rc.PricesOf(f).TermPrice(typ, nodes, months)
			wantCharge, wantList, _ := refTermPrice(cat, "f", typ, nodes, months)
			if !charge.Decimal().Equal(wantCharge) || !list.Decimal().Equal(wantList) {
				return "TermPrice(" + string(typ) + ", " + itoa(nodes) + " nodes, " + itoa(months) + " months) = " +
					charge.String() + " (list " + list.String() + "), want " + wantCharge.String() + " (list " + wantList.String() + ")"
			}
			return ""
		}, respooltest.GenFlavorPrice(), respooltest.GenFlavorPrice(), gen.Bool(), gen.IntRange(1, 40), gen.OneConstOf(1, 2, 6, 11, 12, 24), gen.Bool()))
	})
	t.Run("service", func(t *testing.T) {
		check(t, forTimelines(prepaidHeavy, func(o *respooltest.Outcome) string {
			var bad problems
			for _, id := range o.PoolIDs() {
				evs := o.PoolEvents(id)
				c := createdOf(evs)
				if f, ok := o.Timeline.Catalog.Flavor(c.Flavor); ok {
					want := o.Catalog.PricesOf(f)
					if !c.Prices.Hourly.Equal(f.Hourly) || !c.Prices.Monthly.Equal(f.Monthly) || !c.Prices.Yearly.Equal(want.Yearly) {
						bad.add("pool %s captured prices %+v, the rate card says %+v", id, c.Prices, want)
					}
				}
				for i, tm := range termsOf(evs) {
					charge, list, _ := refTermPrice(o.Timeline.Catalog, c.Flavor, c.Type, tm.nodes, tm.months)
					if !tm.charge.Decimal().Equal(charge) || !tm.list.Decimal().Equal(list) {
						bad.add("pool %s (%s, %d nodes) term %d of %d months: charge %s list %s, want %s and %s", id, c.Type,
							tm.nodes, i, tm.months, tm.charge, tm.list, charge, list)
					}
				}
				for i, l := range o.Charges.Prepaid(id) {
					ts := termsOf(evs)
					if i >= len(ts) || !l.Charge.Equal(ts[i].charge) || !l.ListPrice.Equal(ts[i].list) || l.Nodes != ts[i].nodes {
						bad.add("pool %s: prepaid line %d %+v does not match the term bought", id, i, l)
					}
					if d := l.ListPrice.SubFloor(l.Charge); !l.Discount.Equal(d) {
						bad.add("pool %s: prepaid line %d discount %s, want %s", id, i, l.Discount, d)
					}
				}
			}
			return bad.String()
		}))
	})
}

// Property 11 (R26, R27): a pool's only life is running (or abnormal), then
// expired (grace), then frozen (retention), then deleted, with the
// policy's lengths: grace starts exactly at the term's end (or, for
// arrears, at a clock hour), retention exactly grace days later, the
// system's deletion exactly retention days after that; a renewal or paid
// arrears brings it back; nothing happens after deletion; and every
// transition that falls due before the end does happen.
func TestProperty11_Lifecycle_R26(t *testing.T) {
	lifecycle := func(o *respooltest.Outcome) string {
		var bad problems
		pol := o.Timeline.Policy
		loc := o.Timeline.Calendar().Location()
		for _, id := range o.PoolIDs() {
			checkLifecycle(&bad, id, o.PoolEvents(id), pol, loc, o.Timeline.End)
		}
		return bad.String()
	}
	t.Run("prepaid", func(t *testing.T) { check(t, forTimelines(prepaidHeavy, lifecycle)) })
	t.Run("arrears", func(t *testing.T) { check(t, forTimelines(arrearsTimelines, lifecycle)) })
	t.Run("any", func(t *testing.T) { check(t, forTimelines(respooltest.TimelineOptions{MaxPools: 3}, lifecycle)) })
}

func checkLifecycle(bad *problems, id domain.PoolID, evs []domain.Event, pol domain.Policy, loc *time.Location, end time.Time) {
	const (
		active = iota
		grace
		retention
		gone
	)
	phase, fault := active, false
	var since, termEnd time.Time
	cause := ""
	var billing domain.Billing
	status := func() domain.Status {
		switch phase {
		case grace:
			return domain.StatusExpired
		case retention:
			return domain.StatusFrozen
		case gone:
			return domain.StatusDeleted
		}
		if fault {
			return domain.StatusAbnormal
		}
		return domain.StatusRunning
	}
	// due is the next transition the rules make due, and its name.
	due := func() (time.Time, string) {
		switch {
		case phase == active && billing == domain.Prepaid:
			return termEnd, domain.ReasonExpired
		case phase == grace:
			return refAddDays(since, loc, pol.Grace()), domain.ReasonRetention
		case phase == retention:
			return refAddDays(since, loc, pol.Retention()), domain.ReasonRetentionUp
		}
		return time.Time{}, ""
	}
	f := func(t time.Time) string { return respooltest.FormatInstant(t, loc) }
	renewedAt := time.Time{}
	for _, e := range evs {
		at := e.EventMeta().At
		if phase == gone {
			bad.add("pool %s: %s at %s after its deletion", id, e.EventType(), f(at))
			return
		}
		reason := ""
		switch e := e.(type) {
		case *domain.StatusChanged:
			reason = e.Reason
		case *domain.Deleted:
			reason = e.Reason
		}
		if d, what := due(); what != "" && !at.Before(d) && reason != what {
			bad.add("pool %s: %s was due at %s, but %s (%s) came first at %s", id, what, f(d), e.EventType(), reason, f(at))
			return
		}
		switch e := e.(type) {
		case *domain.Created:
			billing, since = e.Billing, e.At
			termEnd = e.Term.End
		case *domain.Renewed:
			if billing != domain.Prepaid {
				bad.add("pool %s: a pay-per-use pool renewed", id)
			}
			termEnd, renewedAt = e.Term.End, e.At
		case *domain.StatusChanged:
			if e.From != status() {
				bad.add("pool %s at %s: status changes from %s, but it is %s", id, f(at), e.From, status())
			}
			switch e.Reason {
			case domain.ReasonFault:
				if phase != active || fault || e.To != domain.StatusAbnormal {
					bad.add("pool %s at %s: a fault %s -> %s while %s", id, f(at), e.From, e.To, status())
				}
				fault = true
			case domain.ReasonRectified:
				fault = false
				if e.To != status() {
					bad.add("pool %s at %s: rectified to %s, want %s", id, f(at), e.To, status())
				}
			case domain.ReasonExpired:
				if phase != active || billing != domain.Prepaid || !at.Equal(termEnd) || e.To != domain.StatusExpired {
					bad.add("pool %s: expired at %s (%s, term ends %s)", id, f(at), status(), f(termEnd))
				}
				phase, since, cause = grace, at, e.Reason
			case domain.ReasonArrears:
				if phase != active || billing != domain.PayPerUse || e.To != domain.StatusExpired || !isHourStart(at, loc) {
					bad.add("pool %s: arrears grace at %s while %s (%s)", id, f(at), status(), billing)
				}
				phase, since, cause = grace, at, e.Reason
			case domain.ReasonRetention:
				if phase != grace || e.To != domain.StatusFrozen {
					bad.add("pool %s: frozen at %s from %s", id, f(at), status())
				}
				phase, since = retention, at
			case domain.ReasonRenewed:
				if (phase != grace && phase != retention) || !renewedAt.Equal(at) {
					bad.add("pool %s: back to %s at %s by a renewal while %s", id, e.To, f(at), status())
				}
				phase, since, cause = active, at, ""
			case domain.ReasonArrearsPaid:
				if (phase != grace && phase != retention) || cause != domain.ReasonArrears {
					bad.add("pool %s: back at %s by paid arrears while %s (%s)", id, f(at), status(), cause)
				}
				phase, since, cause = active, at, ""
			default:
				bad.add("pool %s: status change for an unknown reason %q", id, e.Reason)
			}
			if want := status(); e.To != want && e.Reason != domain.ReasonRectified {
				bad.add("pool %s at %s: changed to %s, want %s", id, f(at), e.To, want)
			}
		case *domain.Deleted:
			switch e.Reason {
			case domain.ReasonUser:
				if billing != domain.PayPerUse {
					bad.add("pool %s: a prepaid pool deleted by its account at %s", id, f(at))
				}
			case domain.ReasonRetentionUp:
				if phase != retention {
					bad.add("pool %s: deleted by the system at %s while %s", id, f(at), status())
				}
			default:
				bad.add("pool %s: deleted for an unknown reason %q", id, e.Reason)
			}
			phase = gone
		}
	}
	if d, what := due(); what != "" && !d.After(end) {
		bad.add("pool %s: %s was due at %s, before the end %s, and never happened", id, what, f(d), f(end))
	}
}

// Property 12 (R24): auto-renewal is attempted only at 03:00 of the billing
// zone, from the policy's number of days before the expiry date until the
// expiry, then every day at 03:00 after a failed charge; or at once when it
// is turned on after the first attempt time. No attempt is missed, none
// happens outside the window, an unlimited balance never fails, and the
// renewal is as long as the current term unless another length was set
// (R21).
func TestProperty12_AutoRenewalAt0300_R24(t *testing.T) {
	t.Run("any", func(t *testing.T) { check(t, forTimelines(prepaidHeavy, autoRenewal)) })
	poor := prepaidHeavy
	poor.SmallBalances = true // attempts fail, and are tried again every day
	t.Run("failing", func(t *testing.T) { check(t, forTimelines(poor, autoRenewal)) })
}

func autoRenewal(o *respooltest.Outcome) string {
	{
		var bad problems
		pol := o.Timeline.Policy
		loc := o.Timeline.Calendar().Location()
		lead := pol.RenewLeadDays()
		f := func(t time.Time) string { return respooltest.FormatInstant(t, loc) }
		for _, id := range o.PoolIDs() {
			evs := o.PoolEvents(id)
			c := createdOf(evs)
			if c.Billing != domain.Prepaid {
				for _, e := range evs {
					switch e.(type) {
					case *domain.Renewed, *domain.RenewalFailed, *domain.AutoRenewalChanged:
						bad.add("pool %s: %s on a pay-per-use pool", id, e.EventType())
					}
				}
				continue
			}
			var (
				on          bool
				active      = true
				termEnd     time.Time
				termMonths  int
				renewMonths int
				next        time.Time
				turnedOn    time.Time
			)
			var schedCmd domain.CommandID // the command whose event set next
			// R24: the first attempt is at 03:00 of the window's first day;
			// auto-renewal turned on later attempts at once; any other
			// change later than that (a late manual renewal whose new term
			// is already inside its window) attempts at the next 03:00.
			schedule := func(t time.Time, turnOn bool) {
				next = time.Time{}
				if !on || !active {
					return
				}
				first := refFirstAttempt(termEnd, loc, lead)
				if t.After(first) {
					first = t
					if !turnOn {
						first = refNext0300(t, loc)
					}
				}
				if first.Before(termEnd) {
					next = first
				}
			}
			for _, e := range evs {
				at := e.EventMeta().At
				auto := false
				switch e := e.(type) {
				case *domain.Renewed:
					auto = e.Automatic
				case *domain.RenewalFailed:
					auto = true
				}
				// An attempt due at an instant comes before any later
				// command's events at that instant (Handle advances first),
				// but after the events of the command that made it due.
				sameCmd := e.EventMeta().Command == schedCmd
				if !next.IsZero() && (next.Before(at) || (next.Equal(at) && !auto && !sameCmd)) {
					bad.add("pool %s: an auto-renewal attempt was due at %s (term ends %s); next came %s at %s", id, f(next), f(termEnd), e.EventType(), f(at))
					break
				}
				if auto {
					switch {
					case next.IsZero() || !at.Equal(next):
						bad.add("pool %s: an auto-renewal attempt at %s, expected none then (next %s, term ends %s)", id, f(at), f(next), f(termEnd))
					case !at.Before(termEnd):
						bad.add("pool %s: an auto-renewal attempt at %s, after the term ended %s", id, f(at), f(termEnd))
					case isAt0300(at, loc):
						if at.Before(refFirstAttempt(termEnd, loc, lead)) {
							bad.add("pool %s: an auto-renewal attempt at %s, before the window opens %s", id, f(at), f(refFirstAttempt(termEnd, loc, lead)))
						}
					case !at.Equal(turnedOn):
						bad.add("pool %s: an auto-renewal attempt at %s, neither at 03:00 nor when auto-renewal was turned on", id, f(at))
					}
				}
				switch e := e.(type) {
				case *domain.Created:
					on, termEnd, termMonths = e.AutoRenew, e.Term.End, e.Term.Months
					schedule(at, false)
					schedCmd = e.Command
				case *domain.AutoRenewalChanged:
					on, renewMonths = e.On, e.Months
					if on {
						turnedOn = at
					}
					schedule(at, true)
					schedCmd = e.Command
				case *domain.Renewed:
					if e.Automatic {
						want := renewMonths
						if want == 0 {
							want = termMonths
						}
						if e.Term.Months != want {
							bad.add("pool %s: auto-renewed for %d months at %s, want %d (R21)", id, e.Term.Months, f(at), want)
						}
					}
					termEnd, termMonths, active = e.Term.End, e.Term.Months, true
					schedule(at, false)
					schedCmd = e.Command
				case *domain.RenewalFailed:
					if !limited(o.Timeline, c.Account) {
						bad.add("pool %s: an auto-renewal failed at %s with an unlimited balance (%s)", id, f(at), e.Reason)
					}
					next = refNext0300(at, loc)
					if !next.Before(termEnd) {
						next = time.Time{}
					}
					schedCmd = e.Command
				case *domain.StatusChanged:
					if e.To == domain.StatusExpired || e.To == domain.StatusFrozen {
						active, next = false, time.Time{}
					}
				case *domain.Deleted:
					active, next = false, time.Time{}
				}
			}
			if !next.IsZero() && !next.After(o.Timeline.End) {
				bad.add("pool %s: an auto-renewal attempt was due at %s, before the end %s, and never happened", id, f(next), f(o.Timeline.End))
			}
		}
		return bad.String()
	}
}

// actors are the accounts a timeline acts as.
func actors(tl respooltest.Timeline) []domain.AccountID {
	seen := map[domain.AccountID]bool{}
	var out []domain.AccountID
	add := func(a domain.AccountID) {
		if a != "" && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	for _, a := range tl.Accounts {
		add(a.Account)
	}
	for _, s := range tl.Steps {
		add(s.Cmd.Actor())
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }
