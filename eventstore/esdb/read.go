package esdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/respool/respool/eventstore"
)

// ReadStream implements [eventstore.Store] with forward reads of the server
// stream from revision after (version after+1), a page at a time.
func (s *Store) ReadStream(ctx context.Context, stream string, after eventstore.Version) iter.Seq2[eventstore.Record, error] {
	return func(yield func(eventstore.Record, error) bool) {
		const op = "read stream"
		if stream == "" {
			yield(eventstore.Record{}, fmt.Errorf("esdb: %s: %w: empty stream name", op, eventstore.ErrInvalid))
			return
		}
		ctx, c, end, err := s.begin(ctx, op)
		if err != nil {
			yield(eventstore.Record{}, err)
			return
		}
		defer end()
		name := s.prefix + stream
		from := uint64(after)
		for {
			rs, err := c.ReadStream(ctx, name, esdbclient.ReadStreamOptions{From: esdbclient.Revision(from)}, uint64(s.cfg.PageSize))
			if err != nil {
				yield(eventstore.Record{}, s.fail(ctx, c, op, err))
				return
			}
			n, more := 0, true
			for more {
				ev, err := rs.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					rs.Close()
					if code, ok := errorCode(err); ok && code == esdbclient.ErrorCodeResourceNotFound {
						return // no such stream: nothing to yield
					}
					yield(eventstore.Record{}, s.fail(ctx, c, op, err))
					return
				}
				n++
				r := ev.OriginalEvent()
				p, err := s.positionOf(ctx, c, stream, r.EventNumber)
				if err != nil {
					rs.Close()
					yield(eventstore.Record{}, s.fail(ctx, c, op, err))
					return
				}
				more = yield(s.record(stream, r, p), nil)
			}
			rs.Close()
			if !more || n < s.cfg.PageSize {
				return
			}
			from += uint64(n)
		}
	}
}

// record builds what a reader gets from a recorded event of stream (the name
// without the prefix) at position p.
func (s *Store) record(stream string, r *esdbclient.RecordedEvent, p eventstore.Position) eventstore.Record {
	return eventstore.Record{
		Stream:   stream,
		Version:  eventstore.Version(r.EventNumber + 1),
		Position: p,
		Event:    decodeEvent(r),
	}
}

// ReadAll implements [eventstore.Store]. It reads $all from the server
// position of position after, which the store's index gives without a scan
// once known, and counts this store's events from there; see the package doc.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position) iter.Seq2[eventstore.Record, error] {
	return func(yield func(eventstore.Record, error) bool) {
		const op = "read all"
		ctx, c, end, err := s.begin(ctx, op)
		if err != nil {
			yield(eventstore.Record{}, err)
			return
		}
		defer end()
		from, at, err := s.startAfter(ctx, c, after)
		if err != nil {
			yield(eventstore.Record{}, s.fail(ctx, c, op, err))
			return
		}
		var stopped bool
		err = s.pages(ctx, c, from, func(r *esdbclient.RecordedEvent) bool {
			stream, ok := strings.CutPrefix(r.StreamID, s.prefix)
			if !ok {
				return true
			}
			at++
			s.idx.observe(at, r.Position, r.StreamID, r.EventNumber)
			if at <= after {
				return true
			}
			if !yield(s.record(stream, r, at), nil) {
				stopped = true
				return false
			}
			return true
		})
		if err != nil && !stopped {
			yield(eventstore.Record{}, s.fail(ctx, c, op, err))
		}
	}
}

// startAfter returns where to read $all from to get the events after
// position p: the server position to read after (nil: from the start) and
// the position of the last event before it, which is p unless p is beyond
// the last event.
func (s *Store) startAfter(ctx context.Context, c *esdbclient.Client, p eventstore.Position) (*esdbclient.Position, eventstore.Position, error) {
	if p > s.idx.count() {
		if _, err := s.extend(ctx, c); err != nil {
			return nil, 0, err
		}
	}
	from, at := s.idx.start(p)
	return from, at, nil
}

// Subscribe implements [eventstore.Store] with a catch-up subscription to
// $all, filtered on the server by the store's stream prefix. When the
// subscription drops (the connection breaks, the node restarts, the server
// gives up on it), Subscribe subscribes again after the last event it yielded,
// waiting Config.ResubscribeDelay, doubled after each failure up to
// MaxResubscribeDelay, and never yields an event twice or skips one. It ends
// only when ctx is done, the store closes, the loop breaks, or the server
// refuses the subscription for good (authentication, access rights).
func (s *Store) Subscribe(ctx context.Context, after eventstore.Position) iter.Seq2[eventstore.Record, error] {
	return func(yield func(eventstore.Record, error) bool) {
		const op = "subscribe"
		outer := ctx
		ctx, c, end, err := s.begin(ctx, op)
		if err != nil {
			yield(eventstore.Record{}, err)
			return
		}
		defer end()
		stop := func(err error) {
			switch {
			case s.base.Err() != nil:
				yield(eventstore.Record{}, fmt.Errorf("esdb: %s: %w", op, eventstore.ErrClosed))
			case outer.Err() != nil:
				yield(eventstore.Record{}, outer.Err())
			default:
				yield(eventstore.Record{}, s.fail(ctx, c, op, err))
			}
		}
		from, at, err := s.startAfter(ctx, c, after)
		if err != nil {
			stop(err)
			return
		}
		filter := &esdbclient.SubscriptionFilter{Type: esdbclient.StreamFilterType, Prefixes: []string{s.prefix}}
		delay := s.cfg.ResubscribeDelay
		for {
			var start esdbclient.AllPosition = esdbclient.Start{}
			if from != nil {
				start = *from
			}
			c = s.current()
			sub, err := c.SubscribeToAll(ctx, esdbclient.SubscribeToAllOptions{From: start, Filter: filter})
			if err == nil {
				var done bool
				done, err = s.follow(sub, &from, &at, after, yield)
				_ = sub.Close()
				if done {
					return
				}
				delay = s.cfg.ResubscribeDelay // it was up: start the backoff again
			}
			if ctx.Err() != nil || permanent(err) {
				stop(err)
				return
			}
			if code, ok := errorCode(err); ok && code == esdbclient.ErrorCodeConnectionClosed {
				s.renew(c)
			}
			if sleep(ctx, delay) != nil {
				stop(err)
				return
			}
			delay = min(2*delay, s.cfg.MaxResubscribeDelay)
		}
	}
}

// follow yields a subscription's events until it drops (it returns the
// reason) or the consumer stops (done). It moves from and at past every
// event it sees, so a resubscription starts after the last one.
func (s *Store) follow(sub *esdbclient.Subscription, from **esdbclient.Position, at *eventstore.Position, skip eventstore.Position, yield func(eventstore.Record, error) bool) (done bool, err error) {
	for {
		ev := sub.Recv()
		switch {
		case ev.SubscriptionDropped != nil:
			return false, ev.SubscriptionDropped.Error
		case ev.EventAppeared == nil:
			continue // checkpoints, caught up, fell behind
		}
		r := ev.EventAppeared.OriginalEvent()
		stream, ok := strings.CutPrefix(r.StreamID, s.prefix)
		if !ok || (*from != nil && !after(r.Position, **from)) {
			continue // the server's filter let it through, or a repeat
		}
		pos := r.Position
		*from = &pos
		*at++
		s.idx.observe(*at, r.Position, r.StreamID, r.EventNumber)
		if *at <= skip {
			continue
		}
		if !yield(s.record(stream, r, *at), nil) {
			return true, nil
		}
	}
}

// permanent reports whether a subscription error will not go away by
// subscribing again.
func permanent(err error) bool {
	if code, ok := errorCode(err); ok {
		switch code {
		case esdbclient.ErrorCodeUnauthenticated, esdbclient.ErrorCodeAccessDenied, esdbclient.ErrorCodeUnsupportedFeature:
			return true
		}
	}
	switch status.Code(err) {
	case codes.Unauthenticated, codes.PermissionDenied, codes.Unimplemented, codes.InvalidArgument:
		return true
	}
	return false
}
