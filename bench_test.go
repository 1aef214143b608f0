package respool_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/respool/respool/domain"
	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/internal/cputime"
)

// BenchmarkServiceAppend measures appending through the Service: each
// iteration creates one pay-per-use pool with 9 nodes, so the pool ends with
// 10 events (Created and 9 NodeAdded) beside its stock and quota
// reservations. ns/event is per pool event.
func BenchmarkServiceAppend(b *testing.B) {
	ctx := context.Background()
	s := newService(b, eventstore.NewMemory(), 1<<30)
	// The pool ids are made ahead, each a string of its own, as the Service
	// keeps them; the rest of each command is made in the loop, as a server
	// makes it from a request and drops it, rather than b.N commands held
	// live (and scanned by every GC cycle) through the run.
	ids := make([]string, b.N)
	for i := range ids {
		ids[i] = fmt.Sprintf("p%d", i)
	}
	var accts [100]domain.AccountID
	for i := range accts {
		accts[i] = domain.AccountID(fmt.Sprintf("a%d", i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cputime.Start()
	for i, id := range ids {
		if _, err := s.Handle(ctx, t0, create(id, accts[i%100], 9)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cpu.Report(b, 10, "event")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(10*b.N), "ns/event")
}

// BenchmarkRebuildPool1000 measures rebuilding one pool's state from its
// 1,000 stored events: read the stream, decode, evolve.
func BenchmarkRebuildPool1000(b *testing.B) {
	ctx := context.Background()
	store := eventstore.NewMemory()
	s := newService(b, store, 1<<30)
	if _, err := s.Handle(ctx, t0, create("big", "acme", 1)); err != nil {
		b.Fatal(err)
	}
	for v := 2; v < 1000; {
		n := min(1000-v, 50)
		id := domain.CommandID(fmt.Sprintf("s%d", v))
		if _, err := s.Handle(ctx, t0.Add(time.Duration(v)*time.Second), domain.ScaleOut{Cmd: domain.Cmd{ID: id, Account: "acme"}, Pool: "big", Nodes: n}); err != nil {
			b.Fatal(err)
		}
		v += n
	}
	if v, _ := store.StreamVersion(ctx, domain.PoolStream("big")); v != 1000 {
		b.Fatalf("stream has %d events", v)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cputime.Start()
	defer cpu.Report(b, 1, "")
	for i := 0; i < b.N; i++ {
		var p domain.Pool
		var dec domain.Decoder
		for rec, err := range store.ReadStream(ctx, domain.PoolStream("big"), 0) {
			if err != nil {
				b.Fatal(err)
			}
			e, err := dec.DecodeTransient(rec.Type, rec.Data)
			if err != nil {
				b.Fatal(err)
			}
			p.Evolve(e, domain.Policy{})
		}
		if p.Version != 1000 {
			b.Fatal(p.Version)
		}
	}
}
