// Package storetest is the conformance kit of eventstore: one set of checks
// that every backend of eventstore.Store runs, so that they all keep the same
// promises (like watermill's pubsub/tests, testing/fstest.TestFS and
// testing/slogtest). A backend is done when Run passes against the real
// thing:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) eventstore.Store {
//			return openEmptyStore(t)
//		}, storetest.Features{PreservesMetadata: true})
//	}
//
// The checks are subtests named after the rule they check, in four groups:
//
//   - append: NoStream, ExpectVersion and Any; conflicts that change nothing;
//     appends of no events; invalid arguments; batches with consecutive
//     versions and positions, never seen in part by concurrent readers; one
//     winner per version among racing writers.
//   - read: round trip of every field, byte for byte; a gap-free global log
//     in the order of each stream's versions; ReadAll and ReadStream from any
//     point; positions that become visible in order under concurrent
//     writers; loops that break cleanly.
//   - subscribe: catch-up then live with no gap or repetition, from any
//     position, with several subscribers and concurrent writers; ends with
//     the context's error when it is done, with eventstore.ErrClosed on
//     Close, and releases everything when the loop breaks.
//   - store: Head and StreamVersion; every call after Close fails with
//     eventstore.ErrClosed.
//
// Every wait is bounded (see Features.Timeout): a kit that hangs is worse
// than one that fails. The checks of concurrency are stress tests: a backend
// that breaks a rule only in a narrow window may pass a run by luck, and
// running the kit with -count and -race makes that less likely.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/respool/respool/eventstore"
)

// Features says which optional behaviours a backend has, so the kit checks
// them only where they apply (like watermill's pubsub/tests.Features).
type Features struct {
	// PreservesMetadata: the backend gives Event.Metadata back byte for byte.
	// (Every backend must; the flag exists for drivers that re-encode it.)
	// When false, the kit only checks that JSON metadata comes back as equal
	// JSON, and does not look at other metadata.
	PreservesMetadata bool
	// TimePrecision is the precision the backend keeps Event.Time to; the kit
	// accepts a returned time that differs from the appended one by less than
	// it (so both truncating and rounding backends pass). Zero means
	// microseconds; use time.Nanosecond for a backend that keeps times exactly.
	TimePrecision time.Duration
	// Slow: the backend talks to a server; the kit runs fewer iterations of
	// its concurrency checks.
	Slow bool
	// Sequential runs the subtests one at a time instead of in parallel, for a
	// backend whose open cannot hand out several empty stores at once.
	Sequential bool
	// Timeout bounds every wait of the kit (a read, a subscription event, a
	// Close, a whole concurrency check): past it the subtest fails instead of
	// hanging. It is a guard against hangs, not a speed requirement. Zero
	// means 30 seconds, or 2 minutes when Slow.
	Timeout time.Duration
}

// Run checks that stores made by open keep every promise of
// eventstore.Store. open is called once per subtest and must return an empty
// store; Run closes it at the end of the subtest (and ignores what a second
// Close, after the kit's own, returns).
//
// The subtests are named after the rule they check, such as
// Run/append/expected_version_conflict, and run in parallel unless
// Features.Sequential is set. Every wait is bounded by Features.Timeout.
// One subtest, subscribe/break_releases_the_subscription, counts goroutines
// with runtime.NumGoroutine; it runs while no other subtest of Run does, but
// tests of the same package running in parallel with Run can disturb it.
func Run(t *testing.T, open func(t *testing.T) eventstore.Store, f Features) {
	t.Helper()
	if open == nil {
		t.Fatal("storetest.Run: open is nil")
	}
	k := &kit{open: open, f: f, token: uint64(time.Now().UnixNano())}
	for _, g := range groups() {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					if !tc.serial && !f.Sequential {
						t.Parallel()
					}
					tc.run(t, k)
				})
			}
		})
	}
}

type test struct {
	name string
	// serial: must not run beside other subtests (it counts goroutines).
	serial bool
	run    func(t *testing.T, k *kit)
}

type group struct {
	name  string
	tests []test
}

func groups() []group {
	return []group{
		{"append", []test{
			{name: "no_stream_creates_the_stream", run: testAppendNoStream},
			{name: "expect_version_appends_at_that_version", run: testAppendExpectVersion},
			{name: "any_appends_whatever_the_version", run: testAppendAny},
			{name: "expected_version_conflict", run: testAppendConflict},
			{name: "zero_events_checks_the_expected_version", run: testAppendZeroEvents},
			{name: "invalid_arguments", run: testAppendInvalid},
			{name: "batch_gets_consecutive_versions_and_positions", run: testAppendBatch},
			{name: "batch_is_atomic_for_concurrent_readers", run: testAppendBatchAtomic},
			{name: "one_winner_per_version_under_concurrency", run: testAppendOptimistic},
		}},
		{"read", []test{
			{name: "round_trip", run: testReadRoundTrip},
			{name: "append_keeps_no_caller_buffer", run: testAppendKeepsNoBuffer},
			{name: "global_log_is_gap_free_and_ordered", run: testReadGlobalLog},
			{name: "read_all_from_any_position", run: testReadAllFrom},
			{name: "read_stream_from_any_version", run: testReadStreamFrom},
			{name: "missing_stream_yields_nothing", run: testReadMissingStream},
			{name: "empty_stream_name_is_invalid", run: testReadEmptyStreamName},
			{name: "breaking_the_loop_stops_the_read", run: testReadBreak},
			{name: "positions_become_visible_in_order", run: testReadVisibleInOrder},
		}},
		{"subscribe", []test{
			// Serial first: it runs before the parallel subtests start.
			{name: "break_releases_the_subscription", serial: true, run: testSubscribeBreak},
			{name: "catch_up_then_live", run: testSubscribeCatchUpThenLive},
			{name: "from_a_middle_position", run: testSubscribeFromMiddle},
			{name: "several_subscribers_with_concurrent_writers", run: testSubscribeConcurrent},
			{name: "cancel_ends_with_the_context_error", run: testSubscribeCancel},
			{name: "close_ends_with_err_closed", run: testSubscribeClose},
		}},
		{"store", []test{
			{name: "head_and_stream_version", run: testHeadAndStreamVersion},
			{name: "calls_after_close_fail_with_err_closed", run: testAfterClose},
		}},
	}
}

// kit holds what every subtest shares. Its only mutable state is the event
// counter that keeps event ids unique.
type kit struct {
	open  func(t *testing.T) eventstore.Store
	f     Features
	token uint64
	seq   atomic.Uint64
}

func (k *kit) timeout() time.Duration {
	switch {
	case k.f.Timeout > 0:
		return k.f.Timeout
	case k.f.Slow:
		return 2 * time.Minute
	default:
		return 30 * time.Second
	}
}

func (k *kit) precision() time.Duration {
	if k.f.TimePrecision > 0 {
		return k.f.TimePrecision
	}
	return time.Microsecond
}

// n scales an iteration count down for slow backends.
func (k *kit) n(fast, slow int) int {
	if k.f.Slow {
		return slow
	}
	return fast
}

// store opens an empty store and closes it, within the timeout, when t ends.
func (k *kit) store(t *testing.T) eventstore.Store {
	t.Helper()
	s := k.open(t)
	if s == nil {
		t.Fatal("open returned a nil store")
	}
	t.Cleanup(func() { _ = k.close(t, s) })
	return s
}

// close closes s and fails t if Close does not return within the timeout.
func (k *kit) close(t *testing.T, s eventstore.Store) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		return err
	case <-time.After(k.timeout()):
		t.Errorf("Close did not return within %v", k.timeout())
		return nil
	}
}

// ctx returns a context that ends with the subtest or after the timeout.
func (k *kit) ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), k.timeout())
	t.Cleanup(cancel)
	return ctx
}

// id returns a new unique event id, formatted as a UUID (version 4 layout) so
// that backends which require UUIDs accept it.
func (k *kit) id() string {
	n := k.seq.Add(1)
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x",
		uint32(k.token>>32), uint16(k.token>>16), k.token&0xfff, 0x8000|(n>>48)&0x3fff, n&0xffffffffffff)
}

// baseTime is the time of the kit's events: not UTC and with nanoseconds, so
// that both the zone conversion and the precision are exercised.
func baseTime() time.Time {
	return time.Date(2025, time.March, 1, 8, 30, 0, 123456789, time.FixedZone("UTC+8", 8*60*60))
}

// event returns an event of type typ with JSON data and metadata naming it.
func (k *kit) event(typ string) eventstore.Event {
	id := k.id()
	return eventstore.Event{
		ID:       id,
		Type:     typ,
		Data:     []byte(`{"type":"` + typ + `","id":"` + id + `"}`),
		Metadata: []byte(`{"id":"` + id + `"}`),
		Time:     baseTime().Add(time.Duration(k.seq.Load()) * time.Second),
	}
}

// events returns n events of type typ.
func (k *kit) events(typ string, n int) []eventstore.Event {
	evs := make([]eventstore.Event, n)
	for i := range evs {
		evs[i] = k.event(typ)
	}
	return evs
}

// payload is the data of the events of the concurrency checks.
type payload struct {
	W    int    `json:"w"`              // writer
	B    int    `json:"b"`              // batch of that writer
	I    int    `json:"i"`              // index in the batch
	N    int    `json:"n"`              // batch size
	Prev uint64 `json:"prev,omitempty"` // version the writer expected
}

func (k *kit) payloadEvent(p payload) eventstore.Event {
	ev := k.event("test.payload")
	ev.Data, _ = json.Marshal(p)
	return ev
}

func decode(r eventstore.Record) (payload, error) {
	var p payload
	if err := json.Unmarshal(r.Data, &p); err != nil {
		return p, fmt.Errorf("record at position %d: data %q: %v", r.Position, r.Data, err)
	}
	return p, nil
}

func expString(e eventstore.Expected) string {
	if e.IsAny() {
		return "Any"
	}
	if e.Version() == 0 {
		return "NoStream"
	}
	return "ExpectVersion(" + strconv.FormatUint(uint64(e.Version()), 10) + ")"
}

func mustAppend(t *testing.T, ctx context.Context, s eventstore.Store, stream string, exp eventstore.Expected, evs ...eventstore.Event) eventstore.AppendResult {
	t.Helper()
	res, err := s.Append(ctx, stream, exp, evs...)
	if err != nil {
		t.Fatalf("Append(%q, %s, %d events): %v", stream, expString(exp), len(evs), err)
	}
	return res
}

func mustHead(t *testing.T, ctx context.Context, s eventstore.Store) eventstore.Position {
	t.Helper()
	p, err := s.Head(ctx)
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	return p
}

func mustVersion(t *testing.T, ctx context.Context, s eventstore.Store, stream string) eventstore.Version {
	t.Helper()
	v, err := s.StreamVersion(ctx, stream)
	if err != nil {
		t.Fatalf("StreamVersion(%q): %v", stream, err)
	}
	return v
}

// collect runs seq to its end in another goroutine and returns what it
// yielded and the error that ended it, failing t if it does not end within
// the timeout or if it yields after the loop broke.
func (k *kit) collect(t *testing.T, what string, seq iter.Seq2[eventstore.Record, error]) ([]eventstore.Record, error) {
	t.Helper()
	type result struct {
		recs  []eventstore.Record
		err   error
		panic any
	}
	ch := make(chan result, 1)
	go func() {
		var r result
		defer func() {
			r.panic = recover()
			ch <- r
		}()
		for rec, err := range seq {
			if err != nil {
				r.err = err
				break
			}
			r.recs = append(r.recs, rec)
		}
	}()
	select {
	case r := <-ch:
		if r.panic != nil {
			t.Fatalf("%s panicked (an iterator must stop when yield returns false): %v", what, r.panic)
		}
		return r.recs, r.err
	case <-time.After(k.timeout()):
		t.Fatalf("%s did not end within %v", what, k.timeout())
		return nil, nil
	}
}

func (k *kit) readAll(t *testing.T, ctx context.Context, s eventstore.Store, after eventstore.Position) []eventstore.Record {
	t.Helper()
	what := fmt.Sprintf("ReadAll(after %d)", after)
	recs, err := k.collect(t, what, s.ReadAll(ctx, after))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return recs
}

func (k *kit) readStream(t *testing.T, ctx context.Context, s eventstore.Store, stream string, after eventstore.Version) []eventstore.Record {
	t.Helper()
	what := fmt.Sprintf("ReadStream(%q, after %d)", stream, after)
	recs, err := k.collect(t, what, s.ReadStream(ctx, stream, after))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return recs
}

// diff describes how got differs from want, or returns "" if it does not.
func (k *kit) diff(got, want eventstore.Record) string {
	var b bytes.Buffer
	if got.Stream != want.Stream {
		fmt.Fprintf(&b, " Stream %q, want %q;", got.Stream, want.Stream)
	}
	if got.Version != want.Version {
		fmt.Fprintf(&b, " Version %d, want %d;", got.Version, want.Version)
	}
	if got.Position != want.Position {
		fmt.Fprintf(&b, " Position %d, want %d;", got.Position, want.Position)
	}
	if got.ID != want.ID {
		fmt.Fprintf(&b, " ID %q, want %q;", got.ID, want.ID)
	}
	if got.Type != want.Type {
		fmt.Fprintf(&b, " Type %q, want %q;", got.Type, want.Type)
	}
	if !bytes.Equal(got.Data, want.Data) {
		fmt.Fprintf(&b, " Data %s, want %s;", short(got.Data), short(want.Data))
	}
	if !k.sameMetadata(got.Metadata, want.Metadata) {
		fmt.Fprintf(&b, " Metadata %s, want %s;", short(got.Metadata), short(want.Metadata))
	}
	if d := got.Time.Sub(want.Time).Abs(); d >= k.precision() {
		fmt.Fprintf(&b, " Time %v, want %v (off by %v, precision %v);", got.Time, want.Time, d, k.precision())
	}
	if loc := got.Time.Location(); loc != time.UTC {
		fmt.Fprintf(&b, " Time in %v, want UTC;", loc)
	}
	return b.String()
}

func (k *kit) sameMetadata(got, want []byte) bool {
	if k.f.PreservesMetadata {
		return bytes.Equal(got, want)
	}
	var w any
	if len(want) == 0 || json.Unmarshal(want, &w) != nil {
		return true // only JSON metadata is checked
	}
	var g any
	return json.Unmarshal(got, &g) == nil && reflect.DeepEqual(g, w)
}

func short(b []byte) string {
	if b == nil {
		return "nil"
	}
	if len(b) > 64 {
		return fmt.Sprintf("%q...(%d bytes)", b[:64], len(b))
	}
	return fmt.Sprintf("%q", b)
}

// record is the record that appending ev to stream at version v and position
// p should give back.
func record(stream string, v eventstore.Version, p eventstore.Position, ev eventstore.Event) eventstore.Record {
	return eventstore.Record{Stream: stream, Version: v, Position: p, Event: ev}
}

// sameRecords fails t unless got and want are the same records in the same
// order.
func (k *kit) sameRecords(t *testing.T, what string, got, want []eventstore.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d records %s, want %d %s", what, len(got), summary(got), len(want), summary(want))
		return
	}
	for i := range got {
		if d := k.diff(got[i], want[i]); d != "" {
			t.Errorf("%s: record %d:%s", what, i, d)
		}
	}
}

// summary lists records as stream@version#position, for failure messages.
func summary(recs []eventstore.Record) string {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, r := range recs {
		if i == 8 && len(recs) > 10 {
			fmt.Fprintf(&b, " ... %d more", len(recs)-i)
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s@%d#%d", r.Stream, r.Version, r.Position)
	}
	b.WriteByte(']')
	return b.String()
}

// state is what a failed call must leave unchanged.
type state struct {
	head    eventstore.Position
	records int
	streams map[string]eventstore.Version
}

func (k *kit) state(t *testing.T, ctx context.Context, s eventstore.Store, streams ...string) state {
	t.Helper()
	st := state{head: mustHead(t, ctx, s), records: len(k.readAll(t, ctx, s, 0)), streams: map[string]eventstore.Version{}}
	for _, name := range streams {
		st.streams[name] = mustVersion(t, ctx, s, name)
	}
	return st
}

func (k *kit) unchanged(t *testing.T, ctx context.Context, s eventstore.Store, before state, what string) {
	t.Helper()
	names := make([]string, 0, len(before.streams))
	for name := range before.streams {
		names = append(names, name)
	}
	after := k.state(t, ctx, s, names...)
	if !reflect.DeepEqual(after, before) {
		t.Errorf("%s changed the store: before %+v, after %+v", what, before, after)
	}
}

// ---- append ----

func testAppendNoStream(t *testing.T, k *kit) {
	s, ctx := k.store(t), k.ctx(t)
	e1, e2, e3 := k.event("test.one"), k.event("test.two"), k.event("test.three")

	if res := mustAppend(t, ctx, s, "a", eventstore.NoStream, e1); res != (eventstore.AppendResult{Version: 1, Position: 1}) {
		t.Errorf("first append: result %+v, want version 1 position 1", res)
	}
	if res := mustAppend(t, ctx, s, "b", eventstore.NoStream, e2, e3); res != (eventstore.AppendResult{Version: 2, Position: 3}) {
		t.Errorf("append of two events to a new stream: result %+v, want version 2 position 3", res)
	}
	if res := mustAppend(t, ctx, s, "c", eventstore.ExpectVersion(0), k.event("test.four")); res != (eventstore.AppendResult{Version: 1, Position: 4}) {
		t.Errorf("ExpectVersion(0) on a new stream: result %+v, want version 1 position 4", res)
	}
	if v := mustVersion(t, ctx, s, "a"); v != 1 {
		t.Errorf("StreamVersion(a) = %d, want 1", v)
	}
	if v := mustVersion(t, ctx, s, "b"); v != 2 {
		t.Errorf("StreamVersion(b) = %d, want 2", v)
	}
	k.sameRecords(t, "ReadStream(b)", k.readStream(t, ctx, s, "b", 0), []eventstore.Record{record("b", 1, 2, e2), record("b", 2, 3, e3)})
	k.sameRecords(t, "ReadStream(a)", k.readStream(t, ctx, s, "a", 0), []eventstore.Record{record("a", 1, 1, e1)})
}

func testAppendExpectVersion(t *testing.T, k *kit) {
	s, ctx := k.store(t), k.ctx(t)
	evs := k.events("test.ev", 4)
	mustAppend(t, ctx, s, "a", eventstore.NoStream, evs[0])
	if res := mustAppend(t, ctx, s, "a", eventstore.ExpectVersion(1), evs[1], evs[2]); res != (eventstore.AppendResult{Version: 3, Position: 3}) {
		t.Errorf("ExpectVersion(1): result %+v, want version 3 position 3", res)
	}
	if res := mustAppend(t, ctx, s, "a", eventstore.ExpectVersion(3), evs[3]); res != (eventstore.AppendResult{Version: 4, Position: 4}) {
		t.Errorf("ExpectVersion(3): result %+v, want version 4 position 4", res)
	}
	var want []eventstore.Record
	for i, ev := range evs {
		want = append(want, record("a", eventstore.Version(i+1), eventstore.Position(i+1), ev))
	}
	k.sameRecords(t, "ReadStream(a)", k.readStream(t, ctx, s, "a", 0), want)
}

func testAppendAny(t *testing.T, k *kit) {
	s, ctx := k.store(t), k.ctx(t)
	e1, e2, e3 := k.event("test.one"), k.event("test.two"), k.event("test.three")
	if res := mustAppend(t, ctx, s, "a", eventstore.Any, e1); res != (eventstore.AppendResult{Version: 1, Position: 1}) {
		t.Errorf("Any on a new stream: result %+v, want version 1 position 1", res)
	}
	if res := mustAppend(t, ctx, s, "a", eventstore.Any, e2, e3); res != (eventstore.AppendResult{Version: 3, Position: 3}) {
		t.Errorf("Any on a stream at version 1: result %+v, want version 3 position 3", res)
	}
	k.sameRecords(t, "ReadStream(a)", k.readStream(t, ctx, s, "a", 0),
		[]eventstore.Record{record("a", 1, 1, e1), record("a", 2, 2, e2), record("a", 3, 3, e3)})
}

func testAppendConflict(t *testing.T, k *kit) {
	s, ctx := k.store(t), k.ctx(t)
	mustAppend(t, ctx, s, "a", eventstore.NoStream, k.events("test.setup", 2)...)
	mustAppend(t, ctx, s, "other", eventstore.NoStream, k.event("test.setup"))

	for _, tc := range []struct {
		name     string
		stream   string
		expected eventstore.Expected
		actual   eventstore.Version
	}{
		{"no_stream_on_an_existing_stream", "a", eventstore.NoStream, 2},
		{"version_too_low", "a", eventstore.ExpectVersion(1), 2},
		{"version_too_high", "a", eventstore.ExpectVersion(3), 2},
		{"version_on_a_missing_stream", "missing", eventstore.ExpectVersion(1), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := k.state(t, ctx, s, "a", "other", "missing")
			_, err := s.Append(ctx, tc.stream, tc.expected, k.events("test.rejected", 2)...)
			if !errors.Is(err, eventstore.ErrConflict) {
				t.Fatalf("Append(%q, %s) on a stream at version %d: error %v, want one matching ErrConflict",
					tc.stream, expString(tc.expected), tc.actual, err)
			}
			var ce *eventstore.ConflictError
			if errors.As(err, &ce) {
				if ce.Stream != tc.stream || ce.Expected != tc.expected || ce.Actual != tc.actual {
					t.Errorf("ConflictError %+v, want stream %q, expected %s, actual %d", *ce, tc.stream, expString(tc.expected), tc.actual)
				}
			}
			k.unchanged(t, ctx, s, before, "a conflicting Append")
			if recs := k.readStream(t, ctx, s, "missing", 0); len(recs) != 0 {
				t.Errorf("a conflicting append to a missing stream left records %s", summary(recs))
			}
		})
	}
}

func testAppendZeroEvents(t *testing.T, k *kit) {
	s, ctx := k.store(t), k.ctx(t)
	mustAppend(t, ctx, s, "a", eventstore.NoStream, k.events("test.setup", 2)...)
	mustAppend(t, ctx, s, "b", eventstore.NoStream, k.event("test.setup"))

	for _, tc := range []struct {
		name     string
		stream   string
		expected eventstore.Expected
		want     eventstore.AppendResult // the stream's version and last position
		conflict bool
	}{
		{"no_stream_on_a_missing_stream", "missing", eventstore.NoStream, eventstore.AppendResult{}, false},
		{"any_on_a_missing_stream", "missing", eventstore.Any, eventstore.AppendResult{}, false},
		{"matching_version", "a", eventstore.ExpectVersion(2), eventstore.AppendResult{Version: 2, Position: 2}, false},
		{"any_on_an_existing_stream", "a", eventstore.Any, eventstore.AppendResult{Version: 2, Position: 2}, false},
		{"wrong_version_conflicts", "a", eventstore.ExpectVersion(1), eventstore.AppendResult{}, true},
		{"no_stream_on_an_existing_stream_conflicts", "a", eventstore.NoStream, eventstore.AppendResult{}, true},
		{"version_on_a_missing_stream_conflicts", "missing", eventstore.ExpectVersion(3), eventstore.AppendResult{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := k.state(t, ctx, s, "a", "b", "missing")
			res, err := s.Append(ctx, tc.stream, tc.expected)
			switch {
			case tc.conflict && !errors.Is(err, eventstore.ErrConflict):
				t.Errorf("Append(%q, %s) with no events: error %v, want one matching ErrConflict", tc.stream, expString(tc.expected), err)
			case !tc.conflict && err != nil:
				t.Errorf("Append(%q, %s) with no events: %v", tc.stream, expString(tc.expected), err)
			case !tc.conflict && res != tc.want:
				t.Errorf("Append(%q, %s) with no events: result %+v, want the stream's version and last position %+v", tc.stream, expString(tc.expected), res, tc.want)
			}
			k.unchanged(t, ctx, s, before, "an Append of no events")
		})
	}
}

func testAppendInvalid(t *testing.T, k *kit) {
	s, ctx := k.store(t), k.ctx(t)
	mustAppend(t, ctx, s, "a", eventstore.NoStream, k.event("test.setup"))
	untyped := func() eventstore.Event { ev := k.event("test.x"); ev.Type = ""; return ev }

	for _, tc := range []struct {
		name     string
		stream   string
		expected eventstore.Expected
		events   []eventstore.Event
	}{
		{"empty_stream_name", "", eventstore.Any, []eventstore.Event{k.event("test.x")}},
		{"empty_stream_name_no_events", "", eventstore.Any, nil},
		{"empty_stream_name_no_stream", "", eventstore.NoStream, []eventstore.Event{k.event("test.x")}},
		{"event_without_type", "b", eventstore.NoStream, []eventstore.Event{untyped()}},
		{"middle_event_without_type", "a", eventstore.ExpectVersion(1), []eventstore.Event{k.event("test.x"), untyped(), k.event("test.x")}},
		{"last_event_without_type", "a", eventstore.Any, []eventstore.Event{k.event("test.x"), untyped()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := k.state(t, ctx, s, "a", "b")
			_, err := s.Append(ctx, tc.stream, tc.expected, tc.events...)
			if !errors.Is(err, eventstore.ErrInvalid) {
				t.Errorf("Append(%q, %s, %d events): error %v, want one matching ErrInvalid", tc.stream, expString(tc.expected), len(tc.events), err)
			}
			k.unchanged(t, ctx, s, before, "an invalid Append")
		})
	}
}

func testAppendBatch(t *testing.T, k *kit) {
	s, ctx := k.store(t), k.ctx(t)
	a1 := k.event("test.a")
	bs := k.events("test.b", 5)
	as := k.events("test.a", 3)
	mustAppend(t, ctx, s, "a", eventstore.NoStream, a1)
	if res := mustAppend(t, ctx, s, "b", eventstore.NoStream, bs...); res != (eventstore.AppendResult{Version: 5, Position: 6}) {
		t.Errorf("batch of 5 to a new stream after 1 event: result %+v, want version 5 position 6", res)
	}
	if res := mustAppend(t, ctx, s, "a", eventstore.ExpectVersion(1), as...); res != (eventstore.AppendResult{Version: 4, Position: 9}) {
		t.Errorf("batch of 3 to a stream at version 1: result %+v, want version 4 position 9", res)
	}
	want := []eventstore.Record{record("a", 1, 1, a1)}
	for i, ev := range bs {
		want = append(want, record("b", eventstore.Version(i+1), eventstore.Position(i+2), ev))
	}
	for i, ev := range as {
		want = append(want, record("a", eventstore.Version(i+2), eventstore.Position(i+7), ev))
	}
	k.sameRecords(t, "ReadAll", k.readAll(t, ctx, s, 0), want)
	if h := mustHead(t, ctx, s); h != 9 {
		t.Errorf("Head = %d, want 9", h)
	}
}

// batchChecker follows a log (or a stream) read in passes and checks that
// every pass holds whole batches of payload events, with consecutive
// positions and versions inside each batch.
type batchChecker struct {
	whole   int                 // batches seen whole
	last    eventstore.Position // last position seen
	lastVer eventstore.Version  // last version seen (for one stream)
	inBatch bool
	cur     payload
	prev    eventstore.Record
	stream  string // "" when following the global log
}

func (c *batchChecker) add(r eventstore.Record) error {
	p, err := decode(r)
	if err != nil {
		return err
	}
	if c.stream == "" {
		if r.Position != c.last+1 {
			return fmt.Errorf("position %d follows position %d: the global log has a gap or went back", r.Position, c.last)
		}
	} else {
		if r.Version != c.lastVer+1 {
			return fmt.Errorf("stream %q: version %d follows version %d", c.stream, r.Version, c.lastVer)
		}
		if r.Position <= c.last {
			return fmt.Errorf("stream %q: position %d follows position %d", c.stream, r.Position, c.last)
		}
	}
	if c.inBatch {
		if p.W != c.cur.W || p.B != c.cur.B || p.I != c.cur.I+1 {
			return fmt.Errorf("event %d of batch %d of writer %d (position %d) follows event %d of batch %d of writer %d: batches interleave",
				p.I, p.B, p.W, r.Position, c.cur.I, c.cur.B, c.cur.W)
		}
		if r.Position != c.prev.Position+1 || r.Version != c.prev.Version+1 || r.Stream != c.prev.Stream {
			return fmt.Errorf("batch %d of writer %d: %s@%d#%d follows %s@%d#%d: versions and positions of a batch must be consecutive",
				p.B, p.W, r.Stream, r.Version, r.Position, c.prev.Stream, c.prev.Version, c.prev.Position)
		}
	} else if p.I != 0 {
		return fmt.Errorf("position %d is event %d of batch %d of writer %d, but its first event was not seen just before", r.Position, p.I, p.B, p.W)
	}
	c.last, c.lastVer, c.prev = r.Position, r.Version, r
	c.inBatch, c.cur = p.I+1 < p.N, p
	if !c.inBatch {
		c.whole++
	}
	return nil
}

// endPass reports a batch of which the pass saw only a part.
func (c *batchChecker) endPass() error {
	if c.inBatch {
		return fmt.Errorf("a read ended after event %d of %d of batch %d of writer %d (position %d): a reader saw part of a batch",
			c.cur.I+1, c.cur.N, c.cur.B, c.cur.W, c.last)
	}
	return nil
}

func testAppendBatchAtomic(t *testing.T, k *kit) {
	s, ctx, rep := k.store(t), k.ctx(t), newReporter(t)
	const writers, size = 4, 10
	// A torn batch shows only when a reader looks at the wrong moment, so the
	// writers go on for a while: at least minBatches each, then until
	// minTime has passed, but no more than maxBatches.
	minBatches, maxBatches := k.n(60, 15), k.n(1000, 15)
	minTime := time.Duration(k.n(300, 0)) * time.Millisecond
	streamOf := func(w int) string { return "batch-" + strconv.Itoa(w%2) } // two writers per stream
	var appended [2]atomic.Int64                                           // batches per stream

	var writing, reading sync.WaitGroup
	done := make(chan struct{})
	start := time.Now()
	for w := range writers {
		writing.Go(func() {
			for b := 0; b < maxBatches && (b < minBatches || time.Since(start) < minTime); b++ {
				if rep.stopped() {
					return
				}
				evs := make([]eventstore.Event, size)
				for i := range evs {
					evs[i] = k.payloadEvent(payload{W: w, B: b, I: i, N: size})
				}
				res, err := s.Append(ctx, streamOf(w), eventstore.Any, evs...)
				if err != nil {
					rep.errorf("writer %d: Append: %v", w, err)
					return
				}
				if res.Version%size != 0 || res.Position%size != 0 {
					rep.errorf("writer %d: Append of %d events to streams that only get batches of %d: result %+v: the batch is not contiguous", w, size, size, res)
					return
				}
				appended[w%2].Add(1)
			}
		})
	}
	reading.Go(func() { writing.Wait(); close(done) })

	// follow reads in passes with read (each from where the last ended) until
	// the writers are done, then once more, and checks every pass with c.
	follow := func(name string, c *batchChecker, read func() iter.Seq2[eventstore.Record, error], want func() int64) {
		for finished := false; !finished; {
			select {
			case <-done:
				finished = true
			default:
			}
			if rep.stopped() {
				return
			}
			before := c.last
			for rec, err := range read() {
				if err == nil {
					err = c.add(rec)
				}
				if err != nil {
					rep.errorf("%s: %v", name, err)
					return
				}
			}
			if c.last == before {
				runtime.Gosched() // nothing new: leave the CPU to the writers
			}
			if err := c.endPass(); err != nil {
				rep.errorf("%s: %v", name, err)
				return
			}
		}
		if w := want(); int64(c.whole) != w {
			rep.errorf("%s: saw %d whole batches, want %d", name, c.whole, w)
		}
	}
	for r := range 2 {
		reading.Go(func() {
			c := &batchChecker{}
			follow(fmt.Sprintf("log reader %d: ReadAll", r), c, func() iter.Seq2[eventstore.Record, error] { return s.ReadAll(ctx, c.last) }, func() int64 { return appended[0].Load() + appended[1].Load() })
		})
	}
	reading.Go(func() {
		c := &batchChecker{stream: streamOf(0)}
		follow("stream reader: ReadStream", c, func() iter.Seq2[eventstore.Record, error] { return s.ReadStream(ctx, c.stream, c.lastVer) }, appended[0].Load)
	})
	// A prober: Head and StreamVersion must never count part of a batch.
	reading.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			if rep.stopped() {
				return
			}
			h, err := s.Head(ctx)
			if err != nil {
				rep.errorf("Head: %v", err)
				return
			}
			if h%size != 0 {
				rep.errorf("Head = %d while only batches of %d were appended: part of a batch was visible", h, size)
				return
			}
			v, err := s.StreamVersion(ctx, streamOf(1))
			if err != nil {
				rep.errorf("StreamVersion: %v", err)
				return
			}
			if v%size != 0 {
				rep.errorf("StreamVersion = %d while only batches of %d were appended: part of a batch was visible", v, size)
				return
			}
			runtime.Gosched()
		}
	})
	waitGroup(t, k, &reading, "the batch writers and readers")
}

// waitGroup waits for wg, failing t after the timeout.
func waitGroup(t *testing.T, k *kit, wg *sync.WaitGroup, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(k.timeout()):
		t.Fatalf("%s did not finish within %v", what, k.timeout())
	}
}

// reporter lets the goroutines of a concurrency check report failures. The
// first failure closes stop, so that the others give up early; only the
// first few failures are shown (the rest are counted), and failures that come
// after the subtest has ended (when it gave up waiting for a goroutine) are
// dropped instead of panicking.
type reporter struct {
	t      *testing.T
	stop   chan struct{}
	mu     sync.Mutex
	over   bool
	failed int
}

// shown is how many failures a reporter shows.
const shown = 3

func newReporter(t *testing.T) *reporter {
	r := &reporter{t: t, stop: make(chan struct{})}
	t.Cleanup(func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.failed > shown {
			r.t.Errorf("... and %d more failures", r.failed-shown)
		}
		r.over = true
	})
	return r
}

func (r *reporter) errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	if r.failed++; !r.over && r.failed <= shown {
		r.t.Errorf(format, args...)
	}
}

// stopped reports whether a goroutine has failed.
func (r *reporter) stopped() bool {
	select {
	case <-r.stop:
		return true
	default:
		return false
	}
}

func testAppendOptimistic(t *testing.T, k *kit) {
	s, ctx, rep := k.store(t), k.ctx(t), newReporter(t)
	racers := k.n(32, 8)

	// Everyone races to create the stream: exactly one wins.
	start := make(chan struct{})
	var wins atomic.Int64
	var wg sync.WaitGroup
	for g := range racers {
		wg.Go(func() {
			<-start
			_, err := s.Append(ctx, "race", eventstore.NoStream, k.payloadEvent(payload{W: g, N: 1}))
			switch {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, eventstore.ErrConflict):
				rep.errorf("racer %d: Append(NoStream): error %v, want nil or one matching ErrConflict", g, err)
			}
		})
	}
	close(start)
	waitGroup(t, k, &wg, "the NoStream racers")
	if n := wins.Load(); n != 1 {
		t.Fatalf("%d of %d concurrent Append(NoStream) to one stream succeeded, want exactly 1", n, racers)
	}
	if rep.stopped() {
		return
	}

	// Then everyone appends with the version it read until the stream holds
	// target events: each version is won once, by an append that expected
	// the version before it.
	target := eventstore.Version(k.n(racers*2, racers*2))
	var mu sync.Mutex
	winner := map[eventstore.Version]int{1: -1}
	for g := range racers {
		wg.Go(func() {
			for !rep.stopped() {
				v, err := s.StreamVersion(ctx, "race")
				if err != nil {
					rep.errorf("racer %d: StreamVersion: %v", g, err)
					return
				}
				if v >= target {
					return
				}
				res, err := s.Append(ctx, "race", eventstore.ExpectVersion(v), k.payloadEvent(payload{W: g, N: 1, Prev: uint64(v)}))
				if errors.Is(err, eventstore.ErrConflict) {
					continue
				}
				if err != nil {
					rep.errorf("racer %d: Append(ExpectVersion(%d)): %v", g, v, err)
					return
				}
				if res.Version != v+1 {
					rep.errorf("racer %d: Append(ExpectVersion(%d)) gave version %d, want %d", g, v, res.Version, v+1)
				}
				mu.Lock()
				if w, ok := winner[res.Version]; ok {
					rep.errorf("version %d won by racer %d and by racer %d", res.Version, w, g)
				}
				winner[res.Version] = g
				mu.Unlock()
			}
		})
	}
	waitGroup(t, k, &wg, "the ExpectVersion racers")

	recs := k.readStream(t, ctx, s, "race", 0)
	if eventstore.Version(len(recs)) != target {
		t.Errorf("stream holds %d events, want %d", len(recs), target)
	}
	for i, r := range recs {
		p, err := decode(r)
		if err != nil {
			t.Fatal(err)
		}
		if want := eventstore.Version(i + 1); r.Version != want {
			t.Errorf("record %d has version %d, want %d", i, r.Version, want)
		}
		if i > 0 && eventstore.Version(p.Prev) != r.Version-1 {
			t.Errorf("version %d was appended by racer %d expecting version %d", r.Version, p.W, p.Prev)
		}
	}
	if len(winner) != int(target) {
		t.Errorf("%d versions were won, want %d", len(winner), target)
	}
}

// ---- read ----

func testReadRoundTrip(t *testing.T, k *kit) {
	s, ctx := k.store(t), k.ctx(t)
	large := make([]byte, 64<<10)
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range large {
		large[i] = byte(rnd.Uint32())
	}
	ev := func(typ string, data, meta []byte, when time.Time) eventstore.Event {
		e := k.event(typ)
		e.Data, e.Metadata, e.Time = data, meta, when
		return e
	}
	const plain, odd = "round-trip", "round trip/ünïcödé-1"
	cases := []struct {
		stream string
		ev     eventstore.Event
	}{
		{plain, ev("pool.created", []byte(`{"name":"train-a","nodes":4}`), []byte(`{"command":"c-1"}`), baseTime())},
		{plain, ev("test.empty", []byte{}, []byte{}, baseTime())},
		{plain, ev("test.nil", nil, nil, baseTime())},
		{odd, ev("test.binary", []byte{0x00, 0xff, 0xfe, 0x80, 0xc3, 0x28, '\n', 0x00}, []byte{0xff, 0x00, 0x01, 0xc0}, baseTime())},
		{odd, ev("test.ünïcödé/type", []byte(`"日本語 ✓"`), []byte(`{"k":"ü"}`), baseTime())},
		{plain, ev("test.large", large, []byte(`{"size":65536}`), baseTime())},
		{plain, ev("test.nanoseconds", []byte(`{}`), nil, time.Date(2024, time.February, 29, 23, 59, 59, 999999999, time.FixedZone("UTC-7", -7*60*60)))},
		{odd, ev("test.before-1970", []byte(`{}`), nil, time.Date(1969, time.July, 20, 20, 17, 40, 500000000, time.UTC))},
		{plain, ev("test.local", []byte(`{}`), nil, time.Date(2031, time.December, 31, 12, 0, 0, 1000, time.Local))},
	}
	// The first half one by one, the rest in one batch per stream.
	var want []eventstore.Record
	versions := map[string]eventstore.Version{}
	half := len(cases) / 2
	for i, c := range cases[:half] {
		mustAppend(t, ctx, s, c.stream, eventstore.Any, c.ev)
		versions[c.stream]++
		want = append(want, record(c.stream, versions[c.stream], eventstore.Position(i+1), c.ev))
	}
	for _, stream := range []string{plain, odd} {
		var batch []eventstore.Event
		for _, c := range cases[half:] {
			if c.stream == stream {
				batch = append(batch, c.ev)
			}
		}
		mustAppend(t, ctx, s, stream, eventstore.Any, batch...)
		for _, ev := range batch {
			versions[stream]++
			want = append(want, record(stream, versions[stream], eventstore.Position(len(want)+1), ev))
		}
	}

	k.sameRecords(t, "ReadAll", k.readAll(t, ctx, s, 0), want)
	for _, stream := range []string{plain, odd} {
		var wantStream []eventstore.Record
		for _, r := range want {
			if r.Stream == stream {
				wantStream = append(wantStream, r)
			}
		}
		k.sameRecords(t, "ReadStream("+stream+")", k.readStream(t, ctx, s, stream, 0), wantStream)
	}
	sub := k.subscribe(t, ctx, s, 0)
	k.sameRecords(t, "Subscribe", sub.take(t, len(want)), want)
}

// testAppendKeepsNoBuffer: once Append returns, the caller may reuse the
// events slice and the Data and Metadata buffers; what was stored does not
// change.
func testAppendKeepsNoBuffer(t *testing.T, k *kit) {
	s, ctx := k.store(t), k.ctx(t)
	buf := []byte(`{"n":1}{"m":1}`)
	evs := []eventstore.Event{k.event("test.reused"), k.event("test.reused")}
	for i := range evs {
		evs[i].Data, evs[i].Metadata = buf[:7:7], buf[7:]
	}
	var want []eventstore.Record
	for i, e := range evs {
		c := e
		c.Data, c.Metadata = []byte(`{"n":1}`), []byte(`{"m":1}`)
		want = append(want, record("reused", eventstore.Version(i+1), eventstore.Position(i+1), c))
	}
	mustAppend(t, ctx, s, "reused", eventstore.NoStream, evs...)
	copy(buf, `{"n":2}{"m":2}`)
	evs[0], evs[1] = eventstore.Event{}, eventstore.Event{}
	k.sameRecords(t, "ReadStream after the caller reused its buffers", k.readStream(t, ctx, s, "reused", 0), want)
}

// fillLog appends events to a few streams in batches of varied sizes and
// returns the records they should give back, in position order.
func (k *kit) fillLog(t *testing.T, ctx context.Context, s eventstore.Store, appends int) []eventstore.Record {
	t.Helper()
	rnd := rand.New(rand.NewPCG(3, 4))
	streams := []string{"s-0", "s-1", "s-2", "s-3", "s-4"}
	versions := map[string]eventstore.Version{}
	var want []eventstore.Record
	for range appends {
		stream := streams[rnd.IntN(len(streams))]
		evs := k.events("test.fill", 1+rnd.IntN(4))
		res := mustAppend(t, ctx, s, stream, eventstore.ExpectVersion(versions[stream]), evs...)
		for _, ev := range evs {
			versions[stream]++
			want = append(want, record(stream, versions[stream], eventstore.Position(len(want)+1), ev))
		}
		if exp := (eventstore.AppendResult{Version: versions[stream], Position: eventstore.Position(len(want))}); res != exp {
			t.Errorf("Append of %d events to %q: result %+v, want %+v", len(evs), stream, res, exp)
		}
	}
	return want
}

func testReadGlobalLog(t *testing.T, k *kit) {
	s, ctx := k.store(t), k.ctx(t)
	want := k.fillLog(t, ctx, s, k.n(60, 20))
	got := k.readAll(t, ctx, s, 0)
	k.sameRecords(t, "ReadAll", got, want)

	last := map[string]eventstore.Record{}
	for i, r := range got {
		if r.Position != eventstore.Position(i+1) {
			t.Errorf("record %d has position %d: positions must run 1, 2, 3... with no gap", i, r.Position)
		}
		if p, ok := last[r.Stream]; ok && r.Version != p.Version+1 {
			t.Errorf("in position order, %s@%d#%d follows %s@%d#%d", r.Stream, r.Version, r.Position, p.Stream, p.Version, p.Position)
		}
		last[r.Stream] = r
	}
	for stream, r := range last {
		var wantStream []eventstore.Record
		for _, w := range want {
			if w.Stream == stream {
				wantStream = append(wantStream, w)
			}
		}
		k.sameRecords(t, "ReadStream("+stream+")", k.readStream(t, ctx, s, stream, 0), wantStream)
		if v := mustVersion(t, ctx, s, stream); v != r.Version {
			t.Errorf("StreamVersion(%q) = %d, want %d", stream, v, r.Version)
		}
	}
	if h := mustHead(t, ctx, s); h != eventstore.Position(len(want)) {
		t.Errorf("Head = %d, want %d", h, len(want))
	}
}

func testReadAllFrom(t *testing.T, k *kit) {
	s, ctx := k.store(t), k.ctx(t)
	want := k.fillLog(t, ctx, s, 12)
	n := eventstore.Position(len(want))
	for _, tc := range []struct {
		name  string
		after eventstore.Position
	}{
		{"start", 0},
		{"first", 1},
		{"middle", n / 2},
		{"before_last", n - 1},
		{"last", n},
		{"beyond_head", n + 1},
		{"far_beyond_head", n + 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := k.readAll(t, ctx, s, tc.after)
			k.sameRecords(t, fmt.Sprintf("ReadAll(after %d)", tc.after), got, want[min(tc.after, n):])
		})
	}
}

func testReadStreamFrom(t *testing.T, k *kit) {
	s, ctx := k.store(t), k.ctx(t)
	var want []eventstore.Record
	for i := range 10 {
		ev := k.event("test.ev")
		res := mustAppend(t, ctx, s, "target", eventstore.ExpectVersion(eventstore.Version(i)), ev)
		want = append(want, record("target", res.Version, res.Position, ev))
		mustAppend(t, ctx, s, "noise", eventstore.Any, k.event("test.noise"))
	}
	for _, tc := range []struct {
		name  string
		after eventstore.Version
	}{
		{"start", 0},
		{"first", 1},
		{"middle", 5},
		{"before_last", 9},
		{"last", 10},
		{"beyond_last", 11},
		{"far_beyond_last", 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := k.readStream(t, ctx, s, "target", tc.after)
			k.sameRecords(t, fmt.Sprintf("ReadStream(after %d)", tc.after), got, want[min(tc.after, 10):])
		})
	}
}

func testReadMissingStream(t *testing.T, k *kit) {
	s, ctx := k.store(t), k.ctx(t)
	if recs := k.readStream(t, ctx, s, "missing", 0); len(recs) != 0 {
		t.Errorf("ReadStream of a missing stream in an empty store yielded %s", summary(recs))
	}
	mustAppend(t, ctx, s, "present", eventstore.NoStream, k.event("test.ev"))
	if recs := k.readStream(t, ctx, s, "missing", 0); len(recs) != 0 {
		t.Errorf("ReadStream of a missing stream yielded %s", summary(recs))
	}
	if recs := k.readStream(t, ctx, s, "present-2", 0); len(recs) != 0 {
		t.Errorf("ReadStream of a missing stream whose name starts with an existing one yielded %s", summary(recs))
	}
	if v := mustVersion(t, ctx, s, "missing"); v != 0 {
		t.Errorf("StreamVersion of a missing stream = %d, want 0", v)
	}
}

func testReadEmptyStreamName(t *testing.T, k *kit) {
	s, ctx := k.store(t), k.ctx(t)
	mustAppend(t, ctx, s, "a", eventstore.NoStream, k.event("test.ev"))
	if recs, err := k.collect(t, `ReadStream("")`, s.ReadStream(ctx, "", 0)); !errors.Is(err, eventstore.ErrInvalid) || len(recs) != 0 {
		t.Errorf(`ReadStream(""): records %s, error %v, want no records and an error matching ErrInvalid`, summary(recs), err)
	}
	if _, err := s.StreamVersion(ctx, ""); !errors.Is(err, eventstore.ErrInvalid) {
		t.Errorf(`StreamVersion(""): error %v, want one matching ErrInvalid`, err)
	}
}

func testReadBreak(t *testing.T, k *kit) {
	s, ctx := k.store(t), k.ctx(t)
	n := k.n(600, 60)
	for range n / 10 {
		mustAppend(t, ctx, s, "a", eventstore.Any, k.events("test.ev", 10)...)
	}
	reads := map[string]iter.Seq2[eventstore.Record, error]{
		"ReadAll":    s.ReadAll(ctx, 0),
		"ReadStream": s.ReadStream(ctx, "a", 0),
		"Subscribe":  s.Subscribe(ctx, 0),
	}
	for name, seq := range reads {
		took := 0
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("%s went on after the loop broke: %v", name, p)
				}
			}()
			for _, err := range seq {
				if err != nil {
					t.Errorf("%s: %v", name, err)
					return
				}
				if took++; took == 3 {
					break
				}
			}
		}()
		if took != 3 {
			t.Errorf("%s yielded %d records, want at least 3", name, took)
		}
		// The store must still work: a read that kept a lock would block this.
		done := make(chan error, 1)
		go func() {
			_, err := s.Append(ctx, "a", eventstore.Any, k.event("test.after-break"))
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Append after breaking out of %s: %v", name, err)
			}
		case <-time.After(k.timeout()):
			t.Fatalf("Append after breaking out of %s did not return within %v", name, k.timeout())
		}
	}
}

func testReadVisibleInOrder(t *testing.T, k *kit) {
	s, ctx, rep := k.store(t), k.ctx(t), newReporter(t)
	writers, appends := 8, k.n(100, 20)
	total := writers * appends * 2 // every append is of 1 or 3 events: 2 on average

	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range appends {
				n := 1 + 2*(i%2)
				evs := make([]eventstore.Event, n)
				for j := range evs {
					evs[j] = k.payloadEvent(payload{W: w, B: i, I: j, N: n})
				}
				if _, err := s.Append(ctx, "w-"+strconv.Itoa(w), eventstore.Any, evs...); err != nil {
					rep.errorf("writer %d: %v", w, err)
					return
				}
			}
		})
	}

	// The follower reads from its last position again and again, and checks
	// that it never skips a position: in a log whose positions became visible
	// out of order, it would see p+1 before p and never come back for p.
	var last eventstore.Position
	versions := map[string]eventstore.Version{}
	seen := 0
	for seen < total && !rep.stopped() {
		head, err := s.Head(ctx)
		if err != nil {
			t.Fatalf("Head: %v", err)
		}
		for r, err := range s.ReadAll(ctx, last) {
			if err != nil {
				t.Fatalf("ReadAll(after %d) after seeing %d of %d events: %v", last, seen, total, err)
			}
			if r.Position != last+1 {
				t.Fatalf("ReadAll(after %d) yielded position %d next: a reader following the log would skip or repeat events", last, r.Position)
			}
			if r.Version != versions[r.Stream]+1 {
				t.Fatalf("%s@%d#%d follows version %d of that stream", r.Stream, r.Version, r.Position, versions[r.Stream])
			}
			last, versions[r.Stream] = r.Position, r.Version
			seen++
		}
		if last < head {
			t.Fatalf("Head said %d, then ReadAll stopped at %d: Head must only count visible events", head, last)
		}
		if seen < total {
			time.Sleep(time.Duration(k.n(0, 1)) * time.Millisecond)
			runtime.Gosched()
		}
	}
	waitGroup(t, k, &wg, "the writers")
	for w := range writers {
		if v := versions["w-"+strconv.Itoa(w)]; v != eventstore.Version(appends*2) {
			t.Errorf("the follower saw %d events of writer %d, want %d", v, w, appends*2)
		}
	}
	if seen != total && !rep.stopped() {
		t.Errorf("the follower saw %d events, want %d", seen, total)
	}
}

// ---- subscribe ----

// errNoError is what a subscription that ended without an error reports:
// a Subscribe loop must only end when the consumer breaks or with an error.
var errNoError = errors.New("the subscription ended without an error")

// subscription consumes a Subscribe loop in its own goroutine.
type subscription struct {
	k      *kit
	after  eventstore.Position
	recs   chan eventstore.Record
	end    chan error
	cancel context.CancelFunc
}

func (k *kit) subscribe(t *testing.T, ctx context.Context, s eventstore.Store, after eventstore.Position) *subscription {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	sub := &subscription{k: k, after: after, recs: make(chan eventstore.Record, 1<<12), end: make(chan error, 1), cancel: cancel}
	go func() {
		final := errNoError
		defer func() {
			if p := recover(); p != nil {
				final = fmt.Errorf("the subscription panicked (an iterator must stop when yield returns false): %v", p)
			}
			sub.end <- final
		}()
		for r, err := range s.Subscribe(ctx, after) {
			if err != nil {
				final = err
				break
			}
			select {
			case sub.recs <- r:
			case <-ctx.Done():
				// The consumer is gone; go on until Subscribe reports it.
			}
		}
	}()
	return sub
}

// next returns the subscription's next record, failing t if none comes
// within the timeout or the subscription ends.
func (sub *subscription) next(t *testing.T) eventstore.Record {
	t.Helper()
	timer := time.NewTimer(sub.k.timeout())
	defer timer.Stop()
	select {
	case r := <-sub.recs:
		return r
	case <-timer.C:
		t.Fatalf("Subscribe(after %d): no event within %v", sub.after, sub.k.timeout())
	case err := <-sub.end:
		// It may have delivered records before ending.
		select {
		case r := <-sub.recs:
			sub.end <- err
			return r
		default:
		}
		t.Fatalf("Subscribe(after %d) ended early: %v", sub.after, err)
	}
	return eventstore.Record{}
}

// take returns the subscription's next n records.
func (sub *subscription) take(t *testing.T, n int) []eventstore.Record {
	t.Helper()
	recs := make([]eventstore.Record, 0, n)
	for range n {
		recs = append(recs, sub.next(t))
	}
	return recs
}

// wait waits for the subscription to end and returns the error that ended
// it and the records it delivered that were not taken.
func (sub *subscription) wait(t *testing.T) ([]eventstore.Record, error) {
	t.Helper()
	timer := time.NewTimer(sub.k.timeout())
	defer timer.Stop()
	var rest []eventstore.Record
	for {
		select {
		case r := <-sub.recs:
			rest = append(rest, r)
		case err := <-sub.end:
			for {
				select {
				case r := <-sub.recs:
					rest = append(rest, r)
				default:
					return rest, err
				}
			}
		case <-timer.C:
			t.Fatalf("Subscribe(after %d) did not end within %v", sub.after, sub.k.timeout())
			return nil, nil
		}
	}
}

func testSubscribeCatchUpThenLive(t *testing.T, k *kit) {
	s, ctx := k.store(t), k.ctx(t)
	mustAppend(t, ctx, s, "a", eventstore.NoStream, k.events("test.before", 2)...)
	mustAppend(t, ctx, s, "b", eventstore.NoStream, k.event("test.before"))
	sub := k.subscribe(t, ctx, s, 0)
	got := sub.take(t, 3)

	mustAppend(t, ctx, s, "a", eventstore.ExpectVersion(2), k.event("test.after"))
	mustAppend(t, ctx, s, "c", eventstore.NoStream, k.events("test.after", 2)...)
	got = append(got, sub.take(t, 3)...)
	k.sameRecords(t, "Subscribe", got, k.readAll(t, ctx, s, 0))

	// A sentinel: if the subscription repeated anything, the sentinel would
	// not be the next record.
	res := mustAppend(t, ctx, s, "b", eventstore.Any, k.event("test.sentinel"))
	if r := sub.next(t); r.Position != res.Position || r.Type != "test.sentinel" {
		t.Errorf("after 6 events, the subscription yielded %s@%d#%d (%s), want the sentinel at position %d",
			r.Stream, r.Version, r.Position, r.Type, res.Position)
	}
}

func testSubscribeFromMiddle(t *testing.T, k *kit) {
	s, ctx := k.store(t), k.ctx(t)
	want := k.fillLog(t, ctx, s, 8)
	n := eventstore.Position(len(want))
	for _, tc := range []struct {
		name  string
		after eventstore.Position
	}{
		{"middle", n / 2},
		{"last", n},
		{"beyond_head", n + 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub := k.subscribe(t, ctx, s, tc.after)
			k.sameRecords(t, fmt.Sprintf("Subscribe(after %d) catch-up", tc.after), sub.take(t, int(n-min(tc.after, n))), want[min(tc.after, n):])
		})
	}
	// Now the live part: append until every subscription has something new.
	subs := []*subscription{k.subscribe(t, ctx, s, n/2), k.subscribe(t, ctx, s, n), k.subscribe(t, ctx, s, n+2)}
	for _, sub := range subs {
		sub.take(t, int(n-min(sub.after, n)))
	}
	var live []eventstore.Record
	for range 3 {
		ev := k.event("test.live")
		res := mustAppend(t, ctx, s, "live", eventstore.Any, ev)
		live = append(live, record("live", res.Version, res.Position, ev))
	}
	for _, sub := range subs {
		from := max(sub.after, n) - n
		k.sameRecords(t, fmt.Sprintf("Subscribe(after %d) live", sub.after), sub.take(t, len(live)-int(from)), live[from:])
	}
}

func testSubscribeConcurrent(t *testing.T, k *kit) {
	s, ctx, rep := k.store(t), k.ctx(t), newReporter(t)
	mustAppend(t, ctx, s, "setup", eventstore.NoStream, k.events("test.setup", 5)...)
	early := []*subscription{k.subscribe(t, ctx, s, 0), k.subscribe(t, ctx, s, 0), k.subscribe(t, ctx, s, 3)}

	writers, appends := 4, k.n(60, 16) // even: appends alternate 1 and 3 events, 2 on average
	total := 5 + writers*appends*2
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range appends {
				if _, err := s.Append(ctx, "w-"+strconv.Itoa(w), eventstore.Any, k.events("test.live", 1+2*(i%2))...); err != nil {
					rep.errorf("writer %d: %v", w, err)
					return
				}
			}
		})
	}
	// Subscriptions that start while the writers write: their catch-up ends
	// and their live part starts in the middle of the writes.
	var late []*subscription
	for len(late) < 2 && !rep.stopped() {
		if h := mustHead(t, ctx, s); h > 5+eventstore.Position(total/4)*eventstore.Position(len(late)) || len(late) == 0 {
			late = append(late, k.subscribe(t, ctx, s, 0))
		}
		runtime.Gosched()
	}
	waitGroup(t, k, &wg, "the writers")
	if rep.stopped() {
		return
	}

	want := k.readAll(t, ctx, s, 0)
	if len(want) != total {
		t.Fatalf("the log holds %d events, want %d", len(want), total)
	}
	sentinel := k.event("test.sentinel")
	res := mustAppend(t, ctx, s, "setup", eventstore.Any, sentinel)
	want = append(want, record("setup", res.Version, res.Position, sentinel))
	for i, sub := range append(early, late...) {
		k.sameRecords(t, fmt.Sprintf("subscriber %d (after %d)", i, sub.after), sub.take(t, len(want)-int(sub.after)), want[sub.after:])
	}
}

func testSubscribeCancel(t *testing.T, k *kit) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, s eventstore.Store, ctx context.Context) (*subscription, error)
	}{
		{"while_waiting", func(t *testing.T, s eventstore.Store, ctx context.Context) (*subscription, error) {
			mustAppend(t, ctx, s, "a", eventstore.NoStream, k.events("test.ev", 2)...)
			sub := k.subscribe(t, ctx, s, 0)
			sub.take(t, 2)
			sub.cancel()
			return sub, context.Canceled
		}},
		{"during_catch_up", func(t *testing.T, s eventstore.Store, ctx context.Context) (*subscription, error) {
			for range k.n(100, 20) {
				mustAppend(t, ctx, s, "a", eventstore.Any, k.events("test.ev", 10)...)
			}
			sub := k.subscribe(t, ctx, s, 0)
			sub.take(t, 5)
			sub.cancel()
			return sub, context.Canceled
		}},
		{"already_cancelled", func(t *testing.T, s eventstore.Store, ctx context.Context) (*subscription, error) {
			mustAppend(t, ctx, s, "a", eventstore.NoStream, k.event("test.ev"))
			ctx, cancel := context.WithCancel(ctx)
			cancel()
			return k.subscribe(t, ctx, s, 0), context.Canceled
		}},
		{"deadline", func(t *testing.T, s eventstore.Store, ctx context.Context) (*subscription, error) {
			ctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			t.Cleanup(cancel)
			return k.subscribe(t, ctx, s, 0), context.DeadlineExceeded
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ctx := k.store(t), k.ctx(t)
			sub, want := tc.run(t, s, ctx)
			rest, err := sub.wait(t)
			if !errors.Is(err, want) {
				t.Errorf("the subscription ended with %v, want an error matching %v", err, want)
			}
			for i := 1; i < len(rest); i++ {
				if rest[i].Position <= rest[i-1].Position {
					t.Errorf("position %d follows position %d", rest[i].Position, rest[i-1].Position)
				}
			}
			// The store still works.
			mustAppend(t, ctx, s, "after", eventstore.Any, k.event("test.after"))
		})
	}
}

func testSubscribeBreak(t *testing.T, k *kit) {
	s, ctx := k.store(t), k.ctx(t)
	mustAppend(t, ctx, s, "a", eventstore.NoStream, k.event("test.ev"))
	breakOnFirst := func(after eventstore.Position) {
		for range s.Subscribe(ctx, after) {
			break
		}
	}
	breakOnFirst(0) // let the backend start whatever it starts once
	time.Sleep(20 * time.Millisecond)
	before := runtime.NumGoroutine()

	n := k.n(32, 8)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { breakOnFirst(0) }) // breaks during catch-up
	}
	waitGroup(t, k, &wg, "the catch-up subscriptions")
	for range n {
		wg.Go(func() { breakOnFirst(1) }) // breaks on a live event
	}
	time.Sleep(20 * time.Millisecond)
	mustAppend(t, ctx, s, "a", eventstore.Any, k.event("test.live"))
	waitGroup(t, k, &wg, "the live subscriptions")

	// 2n subscriptions came and went; a backend that leaks a goroutine per
	// subscription would leave 2n more goroutines than before.
	deadline := time.Now().Add(min(k.timeout(), 5*time.Second))
	for {
		now := runtime.NumGoroutine()
		if now <= before+n/2 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%d goroutines before %d subscriptions that broke out of their loop, %d after: breaking the loop must end the subscription",
				before, 2*n, now)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := k.close(t, s); err != nil {
		t.Errorf("Close after the subscriptions ended: %v", err)
	}
}

func testSubscribeClose(t *testing.T, k *kit) {
	s, ctx := k.store(t), k.ctx(t)
	mustAppend(t, ctx, s, "a", eventstore.NoStream, k.events("test.ev", 3)...)
	waiting := k.subscribe(t, ctx, s, 0)
	waiting.take(t, 3)
	ahead := k.subscribe(t, ctx, s, 10)
	time.Sleep(20 * time.Millisecond) // let both reach their wait

	if err := k.close(t, s); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for name, sub := range map[string]*subscription{"caught-up subscription": waiting, "subscription beyond the head": ahead} {
		rest, err := sub.wait(t)
		if !errors.Is(err, eventstore.ErrClosed) {
			t.Errorf("a %s ended with %v, want an error matching ErrClosed", name, err)
		}
		if len(rest) > 0 {
			t.Errorf("a %s yielded %s after Close", name, summary(rest))
		}
	}
	// A subscription started after Close ends at once.
	if rest, err := k.subscribe(t, ctx, s, 0).wait(t); !errors.Is(err, eventstore.ErrClosed) || len(rest) > 0 {
		t.Errorf("Subscribe after Close: records %s, error %v, want none and an error matching ErrClosed", summary(rest), err)
	}
}

// ---- store ----

func testHeadAndStreamVersion(t *testing.T, k *kit) {
	s, ctx := k.store(t), k.ctx(t)
	if h := mustHead(t, ctx, s); h != 0 {
		t.Errorf("Head of an empty store = %d, want 0", h)
	}
	if v := mustVersion(t, ctx, s, "a"); v != 0 {
		t.Errorf("StreamVersion in an empty store = %d, want 0", v)
	}
	mustAppend(t, ctx, s, "a", eventstore.NoStream, k.events("test.ev", 3)...)
	mustAppend(t, ctx, s, "b", eventstore.NoStream, k.event("test.ev"))
	mustAppend(t, ctx, s, "a", eventstore.ExpectVersion(3), k.event("test.ev"))
	for _, c := range []struct {
		stream string
		want   eventstore.Version
	}{{"a", 4}, {"b", 1}, {"c", 0}} {
		if v := mustVersion(t, ctx, s, c.stream); v != c.want {
			t.Errorf("StreamVersion(%q) = %d, want %d", c.stream, v, c.want)
		}
	}
	if h := mustHead(t, ctx, s); h != 5 {
		t.Errorf("Head = %d, want 5", h)
	}
	// A failed append moves neither.
	if _, err := s.Append(ctx, "a", eventstore.NoStream, k.event("test.ev")); !errors.Is(err, eventstore.ErrConflict) {
		t.Errorf("Append(NoStream) to an existing stream: %v, want ErrConflict", err)
	}
	if h, v := mustHead(t, ctx, s), mustVersion(t, ctx, s, "a"); h != 5 || v != 4 {
		t.Errorf("after a conflict: Head = %d, StreamVersion(a) = %d, want 5 and 4", h, v)
	}
}

func testAfterClose(t *testing.T, k *kit) {
	s, ctx := k.store(t), k.ctx(t)
	mustAppend(t, ctx, s, "a", eventstore.NoStream, k.events("test.ev", 2)...)
	if err := k.close(t, s); err != nil {
		t.Fatalf("Close: %v", err)
	}
	check := func(call string, err error) {
		t.Helper()
		if !errors.Is(err, eventstore.ErrClosed) {
			t.Errorf("%s after Close: error %v, want one matching ErrClosed", call, err)
		}
	}
	_, err := s.Append(ctx, "a", eventstore.Any, k.event("test.ev"))
	check("Append", err)
	_, err = s.Append(ctx, "a", eventstore.Any)
	check("Append of no events", err)
	_, err = s.StreamVersion(ctx, "a")
	check("StreamVersion", err)
	_, err = s.Head(ctx)
	check("Head", err)
	recs, err := k.collect(t, "ReadAll after Close", s.ReadAll(ctx, 0))
	check("ReadAll", err)
	if len(recs) > 0 {
		t.Errorf("ReadAll after Close yielded %s", summary(recs))
	}
	recs, err = k.collect(t, "ReadStream after Close", s.ReadStream(ctx, "a", 0))
	check("ReadStream", err)
	if len(recs) > 0 {
		t.Errorf("ReadStream after Close yielded %s", summary(recs))
	}
	rest, err := k.subscribe(t, ctx, s, 0).wait(t)
	check("Subscribe", err)
	if len(rest) > 0 {
		t.Errorf("Subscribe after Close yielded %s", summary(rest))
	}
	check("A second Close", k.close(t, s))
}
