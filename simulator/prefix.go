package simulator

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"

	"github.com/respool/respool/eventstore"
)

// prefixStore is one variant's own eventstore.Store inside a store shared
// by the variants of a run (Options.Log). It writes its streams to the
// shared store under its prefix ("v1/pool-train-a"), and its event ids
// with the same prefix (ids stay unique in the shared store, which matters
// to a backend that deduplicates by id). It passes eventstore/storetest.
//
// The shared store judges every append: an append is made there first,
// with the caller's expected version, and a conflict there is the
// caller's conflict. Once it has committed, the view keeps a copy of the
// events, without the prefix, in an in-memory store that serves every
// read: the view's own global log (positions from 1, gap-free, while the
// shared log interleaves the variants), its streams, its subscriptions.
// So a run reads nothing back from the shared store (an SQLite file would
// cost a query per decision of the Service), and holds the same events in
// memory as a run without a log. Replay reads the shared store.
//
// The view must be the only writer of its prefix, which must hold no
// events when the view is made (Run checks that the shared store is
// empty). Appends are serialised, so that the copy's order is the shared
// store's order.
type prefixStore struct {
	under  eventstore.Store
	prefix string
	local  *eventstore.Memory

	mu     sync.Mutex // serialises appends and Close
	closed atomic.Bool
}

var _ eventstore.Store = (*prefixStore)(nil)

func newPrefixStore(under eventstore.Store, prefix string) *prefixStore {
	return &prefixStore{under: under, prefix: prefix, local: eventstore.NewMemory()}
}

// Append implements eventstore.Store.
func (s *prefixStore) Append(ctx context.Context, stream string, expected eventstore.Expected, events ...eventstore.Event) (eventstore.AppendResult, error) {
	if s.closed.Load() {
		return eventstore.AppendResult{}, eventstore.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	if stream == "" {
		return eventstore.AppendResult{}, fmt.Errorf("%w: empty stream name", eventstore.ErrInvalid)
	}
	if len(events) == 0 { // a check: the copy is exact
		return s.local.Append(ctx, stream, expected)
	}
	evs := make([]eventstore.Event, len(events))
	for i, e := range events {
		if e.Type == "" {
			return eventstore.AppendResult{}, fmt.Errorf("%w: event %d of %d for stream %q has an empty type", eventstore.ErrInvalid, i, len(events), stream)
		}
		e.ID = s.prefix + e.ID
		evs[i] = e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return eventstore.AppendResult{}, eventstore.ErrClosed
	}
	res, err := s.under.Append(ctx, s.prefix+stream, expected, evs...)
	if err != nil {
		var ce *eventstore.ConflictError
		if errors.As(err, &ce) {
			return eventstore.AppendResult{}, &eventstore.ConflictError{Stream: stream, Expected: ce.Expected, Actual: ce.Actual}
		}
		return eventstore.AppendResult{}, err
	}
	// Committed: the copy must follow, whatever becomes of ctx.
	from := res.Version - eventstore.Version(len(events))
	lres, err := s.local.Append(context.WithoutCancel(ctx), stream, eventstore.ExpectVersion(from), events...)
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("simulator: stream %s%s: the shared store took events %d to %d, which the variant's copy cannot follow (does another writer use prefix %q?): %v",
			s.prefix, stream, from+1, res.Version, s.prefix, err)
	}
	return lres, nil
}

// ReadStream implements eventstore.Store, from the copy.
func (s *prefixStore) ReadStream(ctx context.Context, stream string, after eventstore.Version) iter.Seq2[eventstore.Record, error] {
	return s.local.ReadStream(ctx, stream, after)
}

// ReadAll implements eventstore.Store, from the copy.
func (s *prefixStore) ReadAll(ctx context.Context, after eventstore.Position) iter.Seq2[eventstore.Record, error] {
	return s.local.ReadAll(ctx, after)
}

// Subscribe implements eventstore.Store, from the copy.
func (s *prefixStore) Subscribe(ctx context.Context, after eventstore.Position) iter.Seq2[eventstore.Record, error] {
	return s.local.Subscribe(ctx, after)
}

// StreamVersion implements eventstore.Store, from the copy.
func (s *prefixStore) StreamVersion(ctx context.Context, stream string) (eventstore.Version, error) {
	return s.local.StreamVersion(ctx, stream)
}

// Head implements eventstore.Store, from the copy.
func (s *prefixStore) Head(ctx context.Context) (eventstore.Position, error) {
	return s.local.Head(ctx)
}

// Close implements eventstore.Store. It drops the copy and ends the
// view's subscriptions; the shared store, and the events in it, stay. It
// waits for a running append.
func (s *prefixStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed.CompareAndSwap(false, true) {
		return eventstore.ErrClosed
	}
	return s.local.Close()
}
