package simulator_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/respool/respool/domain"
	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/eventstore/sqlite"
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

// BenchmarkRun10kPoolsYearStore is what keeping the log costs: the run of
// BenchmarkRun10kPoolsYear with its events in memory and dropped (the
// default), kept in an in-memory store (Options.Log), and kept in an
// SQLite file as poolsim run --store sqlite:FILE keeps it (SyncNormal, the
// file closed at the end), or with every append synced (SyncFull). Each
// iteration writes a new file; the figures include opening and closing it.
func BenchmarkRun10kPoolsYearStore(b *testing.B) {
	sc := benchScenario(b, 10_000, time.Hour)
	b.Run("store=memory", func(b *testing.B) { benchRun(b, sc, simulator.Options{}) })
	b.Run("store=memory-log", func(b *testing.B) {
		benchLog(b, sc, func(b *testing.B, _ int) eventstore.Store { return eventstore.NewMemory() })
	})
	for _, c := range []struct {
		name string
		sync sqlite.Sync
	}{{"sqlite", sqlite.SyncNormal}, {"sqlite-syncfull", sqlite.SyncFull}} {
		b.Run("store="+c.name, func(b *testing.B) {
			dir := b.TempDir()
			benchLog(b, sc, func(b *testing.B, i int) eventstore.Store {
				s, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(dir, fmt.Sprintf("run%d.db", i)), Sync: c.sync})
				if err != nil {
					b.Fatal(err)
				}
				return s
			})
		})
	}
}

func benchLog(b *testing.B, sc *simulator.Scenario, open func(*testing.B, int) eventstore.Store) {
	b.ReportAllocs()
	var events, i int
	for b.Loop() {
		s := open(b, i)
		i++
		rep, err := simulator.Run(context.Background(), sc, simulator.Options{Log: s})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		events = rep.Variants[0].Events
	}
	b.ReportMetric(float64(events), "events/op")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(events), "ns/event")
}

// BenchmarkReplay10kPoolsYear rebuilds the report of
// BenchmarkRun10kPoolsYear from its log in an SQLite file (poolsim replay).
func BenchmarkReplay10kPoolsYear(b *testing.B) {
	ctx := context.Background()
	sc := benchScenario(b, 10_000, time.Hour)
	path := filepath.Join(b.TempDir(), "run.db")
	s, err := sqlite.Open(ctx, sqlite.Config{Path: path, Sync: sqlite.SyncNormal})
	if err != nil {
		b.Fatal(err)
	}
	want, err := simulator.Run(ctx, sc, simulator.Options{Log: s})
	if err != nil {
		b.Fatal(err)
	}
	s.Close()
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	replay := func() *simulator.Report {
		s, err := sqlite.Open(ctx, sqlite.Config{Path: path})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		rep, err := simulator.Replay(ctx, s)
		if err != nil {
			b.Fatal(err)
		}
		return rep
	}
	var w, g bytes.Buffer
	if err := want.WriteJSON(&w); err != nil {
		b.Fatal(err)
	}
	if err := replay().WriteJSON(&g); err != nil {
		b.Fatal(err)
	}
	if !bytes.Equal(w.Bytes(), g.Bytes()) {
		b.Fatal("the replayed report differs from the run's")
	}
	b.ReportAllocs()
	for b.Loop() {
		replay()
	}
	b.ReportMetric(float64(st.Size())/float64(want.Variants[0].Events), "file-bytes/event")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(want.Variants[0].Events), "ns/event")
}
