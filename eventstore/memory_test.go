package eventstore_test

import (
	"context"
	"strconv"
	"strings"
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

// TestMemoryIndexesManyStreamsAndLongOnes drives the store's index of streams
// past the sizes at which it grows: the hash table of names (many streams,
// names that are prefixes of one another), regions of positions that move as
// a stream grows, and streams long enough to get a chunk of positions of
// their own, interleaved with short ones. Every stream must read back its
// own events, in order, from any version, with its name.
func TestMemoryIndexesManyStreamsAndLongOnes(t *testing.T) {
	ctx := context.Background()
	m := eventstore.NewMemory()
	const short, long = 30000, 2
	lengths := map[string]int{}
	appendTo := func(stream string, n int) {
		t.Helper()
		evs := make([]eventstore.Event, n)
		for i := range evs {
			evs[i] = eventstore.Event{ID: stream + "/" + strconv.Itoa(lengths[stream]+i+1), Type: "t"}
		}
		v := eventstore.Version(lengths[stream])
		if _, err := m.Append(ctx, stream, eventstore.ExpectVersion(v), evs...); err != nil {
			t.Fatal(err)
		}
		lengths[stream] += n
	}
	// A view of a long stream taken early must stay true while it moves.
	appendTo("long-0", 3)
	early := m.ReadStream(ctx, "long-0", 0)
	for i := 0; i < short; i++ {
		appendTo("s"+strconv.Itoa(i), 1+i%3)
		for l := 0; l < long; l++ {
			appendTo("long-"+strconv.Itoa(l), 1+i%2)
		}
	}
	if lengths["long-0"] <= 32768 { // posChunk/2: moved to a chunk of its own twice
		t.Fatalf("long-0 has %d events: too few to need a chunk of positions of its own twice", lengths["long-0"])
	}
	n := 0
	for r, err := range early {
		if err != nil {
			t.Fatal(err)
		}
		if n++; r.Version != eventstore.Version(n) || r.ID != "long-0/"+strconv.Itoa(n) {
			t.Fatalf("early read of long-0: record %d is version %d, id %q", n, r.Version, r.ID)
		}
	}
	if n != lengths["long-0"] {
		t.Fatalf("early read of long-0 gave %d events, want %d (it goes on to what is visible at its end)", n, lengths["long-0"])
	}
	for stream, want := range lengths {
		v, err := m.StreamVersion(ctx, stream)
		if err != nil || v != eventstore.Version(want) {
			t.Fatalf("StreamVersion(%s) = %d, %v; want %d", stream, v, err, want)
		}
	}
	for _, stream := range []string{"s0", "s1", "s10", "s100", "s29999", "long-0", "long-1"} {
		for _, after := range []int{0, 1, lengths[stream] / 2, lengths[stream] - 1, lengths[stream]} {
			next := after
			for r, err := range m.ReadStream(ctx, stream, eventstore.Version(after)) {
				if err != nil {
					t.Fatal(err)
				}
				next++
				if r.Stream != stream || r.Version != eventstore.Version(next) || r.ID != stream+"/"+strconv.Itoa(next) {
					t.Fatalf("%s after %d: got %s version %d id %q, want version %d", stream, after, r.Stream, r.Version, r.ID, next)
				}
			}
			if next != lengths[stream] {
				t.Fatalf("%s after %d: read up to version %d, want %d", stream, after, next, lengths[stream])
			}
		}
	}
	for _, stream := range []string{"s", "s30000", "long-2", "long-"} {
		if v, err := m.StreamVersion(ctx, stream); err != nil || v != 0 {
			t.Fatalf("StreamVersion(%s) of a stream never written = %d, %v", stream, v, err)
		}
	}
	seen := 0
	for r, err := range m.ReadAll(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(r.ID, r.Stream+"/") {
			t.Fatalf("record %d of the log: stream %q, id %q", r.Position, r.Stream, r.ID)
		}
		seen++
	}
	total := 0
	for _, n := range lengths {
		total += n
	}
	if seen != total {
		t.Fatalf("the log has %d records, want %d", seen, total)
	}
}

// Memory stores a run of equal Metadata once, across appends too: what each
// record reads back must still be its own append's bytes, whether the
// caller reuses one buffer with new bytes of the same length or gives equal
// bytes in another slice.
func TestMemoryMetadataRunsAcrossAppends(t *testing.T) {
	ctx := context.Background()
	m := eventstore.NewMemory()
	buf := []byte(`{"command":"c-1"}`)
	appends := []struct {
		stream, md string
		n          int
	}{
		{"a", `{"command":"c-1"}`, 2},
		{"b", `{"command":"c-1"}`, 1}, // the same bytes, the same buffer
		{"c", `{"command":"c-2"}`, 1}, // new bytes of the same length, the same buffer
		{"a", `{"command":"c-2"}`, 3}, // equal bytes in another slice
		{"b", ``, 1},
		{"c", `{"command":"c-2"}`, 1},
		{"c", `{"command":"c-22"}`, 1},
	}
	var want []string
	for _, a := range appends {
		md := buf
		if len(a.md) == len(buf) {
			copy(buf, a.md)
		} else {
			md = []byte(a.md)
		}
		evs := make([]eventstore.Event, a.n)
		for i := range evs {
			evs[i] = eventstore.Event{Type: "t", Metadata: md}
			want = append(want, a.md)
		}
		if _, err := m.Append(ctx, a.stream, eventstore.Any, evs...); err != nil {
			t.Fatal(err)
		}
	}
	copy(buf, `{"command":"c-9"}`) // the store keeps nothing of the caller's
	i := 0
	for r, err := range m.ReadAll(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		if string(r.Metadata) != want[i] {
			t.Fatalf("record %d (%s): metadata %q, want %q", r.Position, r.Stream, r.Metadata, want[i])
		}
		i++
	}
	if i != len(want) {
		t.Fatalf("read %d records, want %d", i, len(want))
	}
}
