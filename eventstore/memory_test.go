package eventstore_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/eventstore/storetest"
)

func TestMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) eventstore.Store { return eventstore.NewMemory() }, storetest.Features{
		PreservesMetadata: true,
		TimePrecision:     time.Nanosecond,
	})
}

func TestMemoryZeroValue(t *testing.T) {
	storetest.Run(t, func(t *testing.T) eventstore.Store { return new(eventstore.Memory) }, storetest.Features{
		PreservesMetadata: true,
		TimePrecision:     time.Nanosecond,
	})
}

// benchEvent is a typical small domain event.
func benchEvent(i int) eventstore.Event {
	return eventstore.Event{
		ID:       "0195a3c0-0000-4000-8000-" + strconv.Itoa(100000000000+i),
		Type:     "pool.node_added",
		Data:     []byte(`{"pool":"train-a","node":"n-1","az":"az-1"}`),
		Metadata: []byte(`{"command":"c-1"}`),
		Time:     time.Date(2025, time.March, 1, 8, 0, 0, 0, time.UTC),
	}
}

// benchStoreCap bounds how many events a write benchmark puts in one store,
// so that a long run measures appends to a store of up to a million events
// instead of filling the machine's memory.
const benchStoreCap = 1 << 20

func BenchmarkMemoryAppend(b *testing.B) {
	ctx := context.Background()
	ev := benchEvent(0)
	var m *eventstore.Memory
	var v eventstore.Version
	fresh := func() {
		m = eventstore.NewMemory()
		res, err := m.Append(ctx, "pool-1", eventstore.NoStream, ev)
		if err != nil {
			b.Fatal(err)
		}
		v = res.Version
	}
	fresh()
	b.ReportAllocs()
	for b.Loop() {
		if v == benchStoreCap {
			b.StopTimer()
			fresh()
			b.StartTimer()
		}
		res, err := m.Append(ctx, "pool-1", eventstore.ExpectVersion(v), ev)
		if err != nil {
			b.Fatal(err)
		}
		v = res.Version
	}
}

func BenchmarkMemoryAppendBatch100(b *testing.B) {
	ctx := context.Background()
	evs := make([]eventstore.Event, 100)
	for i := range evs {
		evs[i] = benchEvent(i)
	}
	var m *eventstore.Memory
	var v eventstore.Version
	fresh := func() {
		m = eventstore.NewMemory()
		res, err := m.Append(ctx, "pool-1", eventstore.NoStream, evs...)
		if err != nil {
			b.Fatal(err)
		}
		v = res.Version
	}
	fresh()
	b.ReportAllocs()
	for b.Loop() {
		if v >= benchStoreCap {
			b.StopTimer()
			fresh()
			b.StartTimer()
		}
		res, err := m.Append(ctx, "pool-1", eventstore.ExpectVersion(v), evs...)
		if err != nil {
			b.Fatal(err)
		}
		v = res.Version
	}
	b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkMemoryReadAll(b *testing.B) {
	const n = 1_000_000
	ctx := context.Background()
	m := eventstore.NewMemory()
	batch := make([]eventstore.Event, 100)
	for i := range batch {
		batch[i] = benchEvent(i)
	}
	for i := range n / len(batch) {
		if _, err := m.Append(ctx, "pool-"+strconv.Itoa(i%1000), eventstore.Any, batch...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		count := 0
		for r, err := range m.ReadAll(ctx, 0) {
			if err != nil {
				b.Fatal(err)
			}
			count += len(r.Data) & 1
			count++ // so the loop body does a little work on each record
		}
		if count < n {
			b.Fatalf("read %d events, want %d", count, n)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkMemoryReadStream1000(b *testing.B) {
	ctx := context.Background()
	m := eventstore.NewMemory()
	// The stream's events are spread over a log of 100,000 events.
	for i := range 100_000 {
		stream := "noise-" + strconv.Itoa(i%97)
		if i%100 == 0 {
			stream = "pool-1"
		}
		if _, err := m.Append(ctx, stream, eventstore.Any, benchEvent(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		count := 0
		for _, err := range m.ReadStream(ctx, "pool-1", 0) {
			if err != nil {
				b.Fatal(err)
			}
			count++
		}
		if count != 1000 {
			b.Fatalf("read %d events, want 1000", count)
		}
	}
}
