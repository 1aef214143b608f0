package projections_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/respool/respool/domain"
	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/internal/cputime"
	"github.com/respool/respool/projections"
	"github.com/respool/respool/projections/internal/gen"
)

// million is a store holding a plausible history of 1,000,000 events, built
// once for all benchmarks.
var million = sync.OnceValue(func() *eventstore.Memory {
	st := eventstore.NewMemory()
	gen.New(st).Random(42, 1_000_000)
	return st
})

// decoded returns the events of st, decoded.
func decoded(b *testing.B, st eventstore.Store) []projections.Envelope {
	var envs []projections.Envelope
	for rec, err := range st.ReadAll(context.Background(), 0) {
		if err != nil {
			b.Fatal(err)
		}
		e, err := projections.Decode(rec)
		if err != nil {
			b.Fatal(err)
		}
		envs = append(envs, e)
	}
	return envs
}

func newSet() (*projections.NodeList, *projections.Charges, *projections.Inventory) {
	return projections.NewNodeList(projections.Options{}),
		projections.NewCharges(domain.Policy{}, projections.Options{}),
		projections.NewInventory(gen.RateCard(0), projections.Options{})
}

// BenchmarkRebuild rebuilds node lists, charges and the inventory from
// 1,000,000 events of the memory store. "store" reads and decodes them
// (Runner.CatchUp); "nodes-charges" rebuilds what issue 3's goal names,
// node lists and charges, so that the stock and account events (which
// neither reads) are not decoded; "decoded" applies events decoded
// beforehand, to show what the projections cost on their own.
func BenchmarkRebuild(b *testing.B) {
	st := million()
	n, _ := st.Head(context.Background())
	b.Run("nodes-charges", func(b *testing.B) {
		b.ReportAllocs()
		cpu := cputime.Start()
		for b.Loop() {
			nl, ch, _ := newSet()
			if err := projections.NewRunner(st, nl, ch).CatchUp(context.Background()); err != nil {
				b.Fatal(err)
			}
			if nl.Position() != n || ch.Position() != n {
				b.Fatalf("positions %d and %d, want %d", nl.Position(), ch.Position(), n)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		cpu.Report(b, int(n), "event")
	})
	b.Run("store", func(b *testing.B) {
		b.ReportAllocs()
		cpu := cputime.Start()
		for b.Loop() {
			nl, ch, inv := newSet()
			if err := projections.NewRunner(st, nl, ch, inv).CatchUp(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		cpu.Report(b, int(n), "event")
	})
	b.Run("decoded", func(b *testing.B) {
		envs := decoded(b, st)
		b.ResetTimer()
		b.ReportAllocs()
		cpu := cputime.Start()
		for b.Loop() {
			nl, ch, inv := newSet()
			r := projections.NewRunner(nil, nl, ch, inv)
			for _, e := range envs {
				if err := r.ApplyEnvelope(e); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		cpu.Report(b, int(n), "event")
	})
	b.Run("decode-only", func(b *testing.B) {
		b.ReportAllocs()
		cpu := cputime.Start()
		for b.Loop() {
			var d projections.Decoder
			for rec, err := range st.ReadAll(context.Background(), 0) {
				if err != nil {
					b.Fatal(err)
				}
				if _, err := d.Decode(rec); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		cpu.Report(b, int(n), "event")
	})
}

// BenchmarkAsOf asks what one pool has accrued as of an instant, in a
// projection holding 1,000,000 events.
func BenchmarkAsOf(b *testing.B) {
	st := million()
	_, ch, _ := newSet()
	if err := projections.NewRunner(st, ch).CatchUp(context.Background()); err != nil {
		b.Fatal(err)
	}
	pool := busiest(b, st)
	t := gen.Start.Add(200 * 24 * time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := ch.AsOf(pool, t); !ok {
			b.Fatal("no pool")
		}
	}
}

// busiest returns the pool with the most events.
func busiest(b *testing.B, st *eventstore.Memory) domain.PoolID {
	counts := map[domain.PoolID]int{}
	var best domain.PoolID
	for rec, err := range st.ReadAll(context.Background(), 0) {
		if err != nil {
			b.Fatal(err)
		}
		if len(rec.Stream) > 5 && rec.Stream[:5] == "pool-" {
			id := domain.PoolID(rec.Stream[5:])
			counts[id]++
			if counts[id] > counts[best] {
				best = id
			}
		}
	}
	return best
}

// BenchmarkQueries measures the other queries on one busy pool of a
// projection holding 1,000,000 events: its bill months from creation, a
// day of hourly records, its nodes at an instant, and its account's amount.
func BenchmarkQueries(b *testing.B) {
	st := million()
	nl, ch, _ := newSet()
	if err := projections.NewRunner(st, nl, ch).CatchUp(context.Background()); err != nil {
		b.Fatal(err)
	}
	pool := busiest(b, st)
	info, _ := nl.Pool(pool)
	t := info.Created.Add(90 * 24 * time.Hour)
	b.Run("months", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ch.Months(pool, t)
		}
	})
	b.Run("records-day", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ch.Records(pool, t.Add(-24*time.Hour), t)
		}
	})
	b.Run("nodes-at", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			nl.NodesAt(pool, t)
		}
	})
	b.Run("account-as-of", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ch.AccountAsOf(info.Account, t)
		}
	})
	b.Logf("pool %s of %s: %d pools in the account, %d months", pool, info.Account, len(ch.Pools(info.Account)), len(ch.Months(pool, t)))
}
