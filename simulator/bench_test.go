package simulator_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/respool/respool/domain"
	"github.com/respool/respool/simulator"
)

// benchScenario is n pools over one year: half pay-per-use (4 nodes, one
// scale-out and one scale-in each), a quarter prepaid for a year, a quarter
// prepaid a month at a time with auto-renewal (12 renewals each), bought
// over the first month, for 100 accounts with unlimited balances.
func benchScenario(tb testing.TB, n int, tick time.Duration) *simulator.Scenario {
	tb.Helper()
	zone := domain.DefaultZone()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, zone)
	end := start.AddDate(1, 0, 0)
	rc, err := domain.NewRateCard("CNY", domain.Flavor{
		ID: "modelarts.vm.gpu.t4u8", Kind: domain.GPU, Hourly: domain.MustMoney("12.50"), Monthly: domain.MustMoney("6200"),
		Regions: []string{"cn-north-4"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	sc := &simulator.Scenario{Name: fmt.Sprintf("%d pools", n), File: "bench", Start: start, End: end, Tick: tick,
		Policy: domain.Policy{Zone: zone}, Catalog: rc}
	for a := 0; a < 100; a++ {
		sc.Accounts = append(sc.Accounts, simulator.Account{ID: domain.AccountID(fmt.Sprintf("acct-%03d", a))})
	}
	for i := 0; i < n; i++ {
		p := simulator.Pool{
			ID: domain.PoolID(fmt.Sprintf("pool-%06d", i)), Account: sc.Accounts[i%100].ID, Name: fmt.Sprintf("p%d", i),
			Type: domain.Training, Billing: domain.PayPerUse, Flavor: "modelarts.vm.gpu.t4u8", Region: "cn-north-4", Nodes: 4,
			At: start.Add(time.Duration(i%(30*24)) * time.Hour),
		}
		switch i % 4 {
		case 2:
			p.Billing, p.Months = domain.Prepaid, 12
		case 3:
			p.Billing, p.Months, p.AutoRenew = domain.Prepaid, 1, true
		default:
			at := p.At.AddDate(0, 2, 0).Add(time.Duration(i%97) * time.Hour)
			sc.Actions = append(sc.Actions,
				simulator.Action{At: at, Account: p.Account, Pool: p.ID, Verb: simulator.VerbScaleOut, Count: 2, Index: len(sc.Actions)},
				simulator.Action{At: at.AddDate(0, 3, 0), Account: p.Account, Pool: p.ID, Verb: simulator.VerbScaleIn, Count: 1, Index: len(sc.Actions) + 1})
		}
		sc.Pools = append(sc.Pools, p)
	}
	sc.Variants = []simulator.Variant{{Name: "base", Pools: sc.Pools}}
	return sc
}

func benchRun(b *testing.B, sc *simulator.Scenario, opt simulator.Options) {
	b.ReportAllocs()
	var events int
	for b.Loop() {
		rep, err := simulator.Run(context.Background(), sc, opt)
		if err != nil {
			b.Fatal(err)
		}
		events = rep.Variants[0].Events
		if len(rep.Variants[0].Rejected) != 0 {
			b.Fatalf("rejected: %v", rep.Variants[0].Rejected[0])
		}
	}
	b.ReportMetric(float64(events), "events/op")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(events), "ns/event")
}

// BenchmarkRun10kPoolsYear is the target of issue 4: 10,000 pools over one
// simulated year with 1h ticks.
func BenchmarkRun10kPoolsYear(b *testing.B) {
	benchRun(b, benchScenario(b, 10_000, time.Hour), simulator.Options{})
}

// BenchmarkRunScale shows that a run costs what its events cost: ten times
// the pools is ten times the events and the time, and sampling every tick
// (8,761 samples instead of 731) or every minute costs no more.
func BenchmarkRunScale(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("pools=%d", n), func(b *testing.B) {
			benchRun(b, benchScenario(b, n, time.Hour), simulator.Options{})
		})
	}
	b.Run("pools=10000/every-1h-tick-sampled", func(b *testing.B) {
		benchRun(b, benchScenario(b, 10_000, time.Hour), simulator.Options{MaxPoints: 1 << 30})
	})
	b.Run("pools=10000/tick=1m", func(b *testing.B) {
		benchRun(b, benchScenario(b, 10_000, time.Minute), simulator.Options{})
	})
}
