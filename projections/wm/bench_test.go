package wm_test

import (
	"testing"
	"time"

	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/projections/internal/gen"
	"github.com/respool/respool/projections/wm"
)

// BenchmarkJetStream measures events per second through a real JetStream:
// the dispatcher publishing a log (each Publish waits for the broker's
// acknowledgement), then a consumer applying it to node lists, charges and
// the inventory (MaxAckPending 1: one message in flight, each acknowledged
// synchronously before the next is delivered).
func BenchmarkJetStream(b *testing.B) {
	const events = 2000
	st := eventstore.NewMemory()
	gen.New(st).Random(9, events)
	h := head(b, st)
	for b.Loop() {
		b.StopTimer()
		url := startNATS(b)
		js := wm.JetStream{Durable: "bench"}.WithDefaults()
		provision(b, url, js)
		b.StartTimer()

		t0 := time.Now()
		d := startDispatcher(b, url, js, st, nil)
		waitFor(b, "the dispatcher", 5*time.Minute, func() bool { return d.d.Position() == h })
		pub := time.Since(t0)
		d.stop(b)

		t1 := time.Now()
		m := newModels()
		c := startConsumer(b, url, js, wm.ConsumerConfig{Projections: m.all()})
		waitFor(b, "the consumer", 5*time.Minute, func() bool { return c.c.Position() == h })
		con := time.Since(t1)
		c.stop(b)
		b.ReportMetric(float64(h)/pub.Seconds(), "published/s")
		b.ReportMetric(float64(h)/con.Seconds(), "consumed/s")
	}
}
