package projections_test

import (
	"testing"

	"github.com/respool/respool/domain"
	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/projections"
)

// BenchmarkApply applies the 1,000,000 events of BenchmarkRebuild, decoded
// beforehand, to each projection on its own through Apply (as
// Runner.ApplyEnvelope does), to show which one costs what. "floor" feeds
// all three, through a Runner, 1,000,000 events that none of them uses:
// what locking and checkpointing cost before any projection does anything.
func BenchmarkApply(b *testing.B) {
	envs := decoded(b, million())
	for _, bc := range []struct {
		name string
		new  func() projections.Projection
	}{
		{"nodelist", func() projections.Projection {
			nl, _, _ := newSet()
			return nl
		}},
		{"charges", func() projections.Projection {
			_, ch, _ := newSet()
			return ch
		}},
		{"inventory", func() projections.Projection {
			_, _, inv := newSet()
			return inv
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p := bc.new()
				for _, e := range envs {
					if err := p.Apply(e); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(len(envs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
	b.Run("floor", func(b *testing.B) {
		ignored := make([]projections.Envelope, len(envs))
		ev := &domain.ArrearsCleared{}
		for i := range ignored {
			pos := eventstore.Position(i + 1)
			ignored[i] = projections.Envelope{Stream: "account-a", Version: eventstore.Version(pos), Position: pos, Event: ev}
		}
		b.ReportAllocs()
		for b.Loop() {
			nl, ch, inv := newSet()
			r := projections.NewRunner(nil, nl, ch, inv)
			for _, e := range ignored {
				if err := r.ApplyEnvelope(e); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(len(ignored))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
