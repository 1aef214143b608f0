// Package backend holds the small pieces that the durable event stores
// (eventstore/sqlite and eventstore/postgres) share: argument checks that
// match the in-memory store's, and the wake-up signal their subscriptions
// wait on. It is internal: nothing here is part of the public API.
package backend

import (
	"context"
	"fmt"
	"sync"

	"github.com/respool/respool/eventstore"
)

// CheckAppend checks an append's arguments as [eventstore.Memory] does: the
// stream name must not be empty and every event needs a type. The error
// matches [eventstore.ErrInvalid].
func CheckAppend(stream string, events []eventstore.Event) error {
	if err := CheckStream(stream); err != nil {
		return err
	}
	for i := range events {
		if events[i].Type == "" {
			return fmt.Errorf("%w: event %d of %d for stream %q has an empty type", eventstore.ErrInvalid, i, len(events), stream)
		}
	}
	return nil
}

// CheckStream reports an empty stream name as [eventstore.ErrInvalid].
func CheckStream(stream string) error {
	if stream == "" {
		return fmt.Errorf("%w: empty stream name", eventstore.ErrInvalid)
	}
	return nil
}

// Signal wakes every waiter at once: Wait returns a channel that the next
// Broadcast closes. A waiter takes the channel BEFORE it looks for new data
// and waits on it only if it found none, so a broadcast between the look and
// the wait is never lost. The zero value is ready to use.
type Signal struct {
	mu sync.Mutex
	ch chan struct{}
}

// Wait returns the channel that the next Broadcast closes.
func (s *Signal) Wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

// Broadcast wakes every goroutine waiting on a channel from Wait. It
// allocates nothing when nobody waits.
func (s *Signal) Broadcast() {
	s.mu.Lock()
	ch := s.ch
	s.ch = nil
	s.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}

// CheckEvery is how many records a read yields between two checks of ctx and
// Close, as in the in-memory store.
const CheckEvery = 256

// YieldPage yields recs, checking with check (the store's ctx and Close
// check) every CheckEvery records; it reports false once the reader stops
// or a check fails, whose error it yields.
func YieldPage(ctx context.Context, check func(context.Context) error, recs []eventstore.Record, yield func(eventstore.Record, error) bool) bool {
	for i := range recs {
		if i%CheckEvery == CheckEvery-1 {
			if err := check(ctx); err != nil {
				yield(eventstore.Record{}, err)
				return false
			}
		}
		if !yield(recs[i], nil) {
			return false
		}
	}
	return true
}
