package properties_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/leanovate/gopter/gen"
	"github.com/leanovate/gopter/prop"

	"github.com/respool/respool"
	"github.com/respool/respool/domain"
	"github.com/respool/respool/respooltest"
)

// Property 19 (R27, R28): what settlement takes from a balance is what the
// bill says was accrued: at every instant, an account's pay-per-use
// accrual as its balance sees it (Account.AccruedUntil, folded from its
// stream up to that instant) equals the sum of its pools' accrual as the
// charges projection sees it.
func TestProperty19_SettlementMatchesBill_R27(t *testing.T) {
	check(t, forTimelines(respooltest.TimelineOptions{Billing: domain.PayPerUse, MaxPools: 3}, func(o *respooltest.Outcome) string {
		var bad problems
		loc := o.Timeline.Calendar().Location()
		for _, acct := range o.AccountIDs() {
			if !limited(o.Timeline, acct) {
				continue
			}
			evs := o.AccountEvents(acct)
			var at []time.Time
			for _, id := range o.PoolIDs() {
				if createdOf(o.PoolEvents(id)).Account == acct {
					at = append(at, samples(o, o.PoolEvents(id))...)
				}
			}
			for _, t := range at {
				t = t.Truncate(time.Second) // the bill counts whole seconds; compare where both can agree
				a := domain.Account{ID: acct}
				for _, e := range evs {
					if !e.EventMeta().At.After(t) {
						a.Evolve(e)
					}
				}
				settled := a.AccruedUntil(t)
				billed := o.Charges.AccountAsOf(acct, t).PayPerUse
				if settled.CmpAccrual(billed) != 0 {
					bad.add("account %s as of %s: settlement counts %s, the bill %s", acct, respooltest.FormatInstant(t, loc), settled.Exact(), billed.Exact())
					break
				}
			}
		}
		return bad.String()
	}))
}

// Property 21 (R27): settlement is computed in closed form for any balance
// and burn rate: Handle returns at once, also when the balance would last
// for centuries (it once overflowed time.Duration and looped an hour at a
// time), and the clock hour at which arrears are due is exactly the first
// at which the accrual exceeds the credit.
func TestProperty21_SettlementForAnyBalance_R27(t *testing.T) {
	check(t, prop.ForAllNoShrink(func(hourly domain.Money, nodes int, balance int64, minute int) string {
		ctx := context.Background()
		rc, err := domain.NewRateCard("CNY", domain.Flavor{ID: "f", Kind: domain.CPU, Hourly: hourly, Monthly: domain.MustMoney("1"), Regions: []string{"r"}})
		if err != nil {
			return err.Error()
		}
		svc, err := respool.New(ctx, respool.Config{Catalog: rc})
		if err != nil {
			return err.Error()
		}
		t0 := time.Date(2026, 1, 1, 0, minute, 0, 0, domain.DefaultZone())
		bal := domain.MustMoney(fmt.Sprint(balance))
		if _, err := svc.Handle(ctx, t0, domain.OpenAccount{Cmd: domain.Cmd{ID: "open", Account: "acme"}, Balance: &bal}); err != nil {
			return err.Error()
		}
		done := make(chan error, 1)
		go func() {
			_, err := svc.Handle(ctx, t0, domain.CreatePool{Cmd: domain.Cmd{ID: "c", Account: "acme"}, Pool: "p", Name: "p",
				Type: domain.Training, Billing: domain.PayPerUse, Flavor: "f", Region: "r", Nodes: nodes})
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				return err.Error()
			}
		case <-time.After(3 * time.Second):
			return fmt.Sprintf("CreatePool of %d nodes at %s/h with a balance of %d did not return in 3 s", nodes, hourly, balance)
		}
		a, err := svc.Account(ctx, "acme")
		if err != nil {
			return err.Error()
		}
		h, ok := a.ArrearsDue(domain.NewCalendar(nil))
		if !ok {
			return ""
		}
		over := func(t time.Time) bool { return a.AccruedUntil(t).Cmp(a.Credit) > 0 }
		if !isHourStart(h, domain.DefaultZone()) || !over(h) || (h.Add(-time.Hour).After(t0) && over(h.Add(-time.Hour))) {
			return fmt.Sprintf("arrears due at %s: not the first clock hour the accrual exceeds %s", h, a.Credit)
		}
		return ""
	}, respooltest.GenFlavorPrice(), gen.IntRange(1, 4), gen.OneGenOf(gen.Int64Range(0, 1000), gen.Int64Range(1, 1_000_000_000_000)), gen.IntRange(0, 59)))
}

// TestR24_AutoRenewalOnAtAFailedAttempt guards a bug it found: turning
// auto-renewal on (again) at the very instant of an auto-renewal attempt
// that failed makes the attempt due "at once" (R24) at that same instant;
// the Service carried out time-driven transitions under a command id made
// of the kind, the pool and the instant, found it already applied, decided
// nothing, and scheduled the same attempt again: Advance never returned.
// System command ids now also name the pool's version. The hang watchdog
// turns a regression into a failure naming the seed.
func TestR24_AutoRenewalOnAtAFailedAttempt(t *testing.T) {
	check(t, prop.ForAllNoShrink(func(lead, day int, again bool) string {
		ctx := context.Background()
		z := domain.DefaultZone()
		rc, _ := domain.NewRateCard("CNY", domain.Flavor{ID: "cpu", Kind: domain.CPU, Hourly: domain.MustMoney("1"), Monthly: domain.MustMoney("100"), Regions: []string{"cn-north-4"}})
		svc, err := respool.New(ctx, respool.Config{Catalog: rc, Policy: domain.Policy{RenewDaysBefore: domain.Int(lead)}})
		if err != nil {
			return err.Error()
		}
		bal := domain.MustMoney("100") // the first month only
		t0 := time.Date(2026, 1, 10, 12, 0, 0, 0, z)
		if _, err := svc.Handle(ctx, t0, domain.OpenAccount{Cmd: domain.Cmd{ID: "open", Account: "acme"}, Balance: &bal}); err != nil {
			return err.Error()
		}
		if _, err := svc.Handle(ctx, t0, domain.CreatePool{Cmd: domain.Cmd{ID: "c1", Account: "acme"}, Pool: "p1", Name: "p1",
			Type: domain.Training, Billing: domain.Prepaid, Months: 1, AutoRenew: true, Flavor: "cpu", Region: "cn-north-4", Nodes: 1}); err != nil {
			return err.Error()
		}
		// 03:00 on a day of the renewal window (the term's expiry date is 10 Feb).
		at := time.Date(2026, 2, 10-min(day, lead), 3, 0, 0, 0, z)
		done := make(chan error, 1)
		go func() {
			_, err := svc.Handle(ctx, at, domain.SetAutoRenew{Cmd: domain.Cmd{ID: "c2", Account: "acme"}, Pool: "p1", On: again})
			if err == nil {
				err = svc.Advance(ctx, at.Add(time.Hour))
			}
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				return err.Error()
			}
			return ""
		case <-time.After(3 * time.Second):
			return fmt.Sprintf("SetAutoRenew on=%v at %s, the instant of a failed attempt, then Advance: no return in 3 s", again, at)
		}
	}, gen.IntRange(0, 7), gen.IntRange(0, 7), gen.Bool()), config{scale: 0.05})
}
