package backendtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/respool/respool/eventstore"
)

// BenchEvent is an event of a realistic size for benchmarks: a 36-byte id,
// a 120-byte JSON payload and 60 bytes of JSON metadata.
func BenchEvent(i int) eventstore.Event {
	return eventstore.Event{
		ID:       fmt.Sprintf("0190f5d2-7c1e-7000-8000-%012d", i),
		Type:     "pool.nodes_added",
		Data:     fmt.Appendf(nil, `{"pool":"pool-%06d","nodes":[{"id":"n-%06d","az":"az1"}],"flavor":"modelarts.vm.gpu.t4u8"}`, i%1000, i),
		Metadata: fmt.Appendf(nil, `{"command":"cmd-%08d","account":"acct-42","v":1}`, i),
		Time:     time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
	}
}

// BenchAppend appends b.N batches of size events to streams of 10 appends
// each, from one goroutine, and reports events/s and appends/s.
func BenchAppend(b *testing.B, s eventstore.Store, size int) {
	ctx := context.Background()
	evs := make([]eventstore.Event, size)
	for i := range evs {
		evs[i] = BenchEvent(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		stream := fmt.Sprintf("bench-%d-%d", size, i/10)
		if _, err := s.Append(ctx, stream, eventstore.ExpectVersion(eventstore.Version(i%10*size)), evs...); err != nil {
			b.Fatal(err)
		}
	}
	el := time.Since(start).Seconds()
	b.ReportMetric(float64(b.N*size)/el, "events/s")
	b.ReportMetric(float64(b.N)/el, "appends/s")
}

// BenchAppendParallel is BenchAppend from GOMAXPROCS*p goroutines
// (b.SetParallelism(p)), each to its own streams.
func BenchAppendParallel(b *testing.B, s eventstore.Store, size, p int) {
	ctx := context.Background()
	evs := make([]eventstore.Event, size)
	for i := range evs {
		evs[i] = BenchEvent(i)
	}
	b.ReportAllocs()
	b.SetParallelism(p)
	var g int64
	var mu = make(chan struct{}, 1)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		mu <- struct{}{}
		g++
		me := g
		<-mu
		i := 0
		for pb.Next() {
			stream := fmt.Sprintf("benchp-%d-%d-%d", size, me, i/10)
			if _, err := s.Append(ctx, stream, eventstore.ExpectVersion(eventstore.Version(i%10*size)), evs...); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	el := time.Since(start).Seconds()
	b.ReportMetric(float64(b.N*size)/el, "events/s")
	b.ReportMetric(float64(b.N)/el, "appends/s")
}

// FillForRead appends n benchmark events in batches of 500 (once per store).
func FillForRead(b *testing.B, s eventstore.Store, n int) {
	ctx := context.Background()
	head, err := s.Head(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for i := int(head); i < n; i += 500 {
		evs := make([]eventstore.Event, min(500, n-i))
		for j := range evs {
			evs[j] = BenchEvent(i + j)
		}
		if _, err := s.Append(ctx, fmt.Sprintf("read-%d", i/5000), eventstore.Any, evs...); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchReadAll reads the whole global log (n events, see FillForRead) b.N
// times and reports events/s.
func BenchReadAll(b *testing.B, s eventstore.Store, n int) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		got := 0
		for _, err := range s.ReadAll(ctx, 0) {
			if err != nil {
				b.Fatal(err)
			}
			got++
		}
		if got != n {
			b.Fatalf("read %d events, want %d", got, n)
		}
	}
	b.ReportMetric(float64(b.N*n)/time.Since(start).Seconds(), "events/s")
}
