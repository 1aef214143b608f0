package postgres

import (
	"context"
	"errors"
	"math"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/eventstore/internal/backend"
)

// The write path. Appends are queued to one writer goroutine per Store,
// which sends the appends waiting at that moment in one call of
// respool_append (group commit): one round trip, one turn of the schema's
// lock and one WAL flush for all of them, while each keeps its own
// expected-version check, its own consecutive positions and its own result.
// An append that waits alone is a group of one.

// pending is an append waiting for the writer.
type pending struct {
	ctx      context.Context
	stream   string
	expected eventstore.Expected
	events   []eventstore.Event
	state    atomic.Int32 // queued, taken or abandoned
	res      eventstore.AppendResult
	err      error
	done     chan struct{} // closed by the writer when res and err are set
}

const (
	queued int32 = iota
	taken
	abandoned
)

// A group holds at most this many appends and (unless one append is larger)
// this many events, and never two appends to the same stream.
const (
	maxGroupAppends = 128
	maxGroupEvents  = 8 << 10
)

// Append implements [eventstore.Store.Append]. It returns once the append
// is committed (with the server's synchronous_commit); appends of this
// Store that wait at the same time share one call, transaction and commit.
// If ctx ends while the append waits for its turn, Append returns ctx's
// error and the append is not made. If it ends while the append is with the
// server, Append waits for the call (cancelled once every append in it has
// been given up) and returns its outcome. If the call fails on its way (the
// connection breaks, or the cancel arrives as it commits), Append returns
// the error and the append may or may not have been made: find out by
// reading the stream.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.Expected, events ...eventstore.Event) (eventstore.AppendResult, error) {
	if err := backend.CheckAppend(stream, events); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := s.check(ctx); err != nil {
		return eventstore.AppendResult{}, err
	}
	p := &pending{ctx: ctx, stream: stream, expected: expected, events: events, done: make(chan struct{})}
	s.qmu.Lock()
	if s.shut.Load() {
		s.qmu.Unlock()
		return eventstore.AppendResult{}, eventstore.ErrClosed
	}
	s.queue = append(s.queue, p)
	s.qmu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default: // the writer has been kicked already
	}
	select {
	case <-p.done:
		return p.res, p.err
	case <-ctx.Done():
		if p.state.CompareAndSwap(queued, abandoned) {
			return eventstore.AppendResult{}, ctx.Err()
		}
		// It is with the server. The call is cancelled once every append in
		// it has been given up (see write), so this wait is short; and
		// waiting means Append keeps none of the caller's buffers after it
		// returns, and says whether the append was committed.
		<-p.done
		return p.res, p.err
	}
}

// writer runs until Close, sending the queued appends.
func (s *Store) writer() {
	defer close(s.writerDone)
	for {
		if batch := s.take(); len(batch) > 0 {
			s.write(batch)
			continue
		}
		select {
		case <-s.kick:
		case <-s.done:
			// Appends queued before Close are carried out; none can be
			// queued after it.
			for batch := s.take(); len(batch) > 0; batch = s.take() {
				s.write(batch)
			}
			return
		}
	}
}

// take removes the next group of appends from the queue, in order.
func (s *Store) take() []*pending {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	var batch []*pending
	streams := make(map[string]bool)
	events, i := 0, 0
	for ; i < len(s.queue) && len(batch) < maxGroupAppends; i++ {
		p := s.queue[i]
		if p.state.Load() == abandoned {
			continue
		}
		if streams[p.stream] || (len(batch) > 0 && events+len(p.events) > maxGroupEvents) {
			break // the next group starts with it
		}
		if !p.state.CompareAndSwap(queued, taken) {
			continue // abandoned meanwhile
		}
		batch = append(batch, p)
		streams[p.stream] = true
		events += len(p.events)
	}
	n := copy(s.queue, s.queue[i:])
	clear(s.queue[n:])
	s.queue = s.queue[:n]
	return batch
}

// write sends batch and tells each append its result.
func (s *Store) write(batch []*pending) {
	// The call goes on while anyone waits for it, and ends when all of them
	// have gone (their ctx is done) or the Store is closed... after the
	// appends queued before Close are done.
	ctx, cancel := context.WithCancel(context.Background())
	left := atomic.Int32{}
	left.Store(int32(len(batch)))
	for _, p := range batch {
		stop := context.AfterFunc(p.ctx, func() {
			if left.Add(-1) == 0 {
				cancel()
			}
		})
		defer stop()
	}
	defer cancel()

	if err := s.send(ctx, batch); err != nil && len(batch) > 1 && oneAppendsFault(err) {
		// The call failed because of one of its appends (text PostgreSQL
		// cannot store, say); find out which by sending each alone.
		// Errors of the connection or the server fail them all.
		for _, p := range batch {
			s.send(ctx, []*pending{p})
		}
	}
	for _, p := range batch {
		close(p.done)
	}
}

// send appends every append of batch in one call, and sets their results.
// An append whose expected version does not match gets its conflict and
// changes nothing. If the call fails, nothing of it is written, every
// append gets the error, and send returns it.
func (s *Store) send(ctx context.Context, batch []*pending) error {
	total := 0
	for _, p := range batch {
		total += len(p.events)
	}
	var (
		streams  = make([]string, len(batch))
		expected = make([]int64, len(batch))
		counts   = make([]int32, len(batch))
		ks       = make([]int32, 0, total)
		js       = make([]int32, 0, total)
		ids      = make([]string, 0, total)
		types    = make([]string, 0, total)
		data     = make([][]byte, 0, total)
		meta     = make([][]byte, 0, total)
		times    = make([]time.Time, 0, total)
	)
	for k, p := range batch {
		streams[k] = p.stream
		expected[k] = -1
		if !p.expected.IsAny() {
			expected[k] = int64(min(uint64(p.expected.Version()), math.MaxInt64))
		}
		counts[k] = int32(len(p.events))
		for j := range p.events {
			e := &p.events[j]
			ks, js = append(ks, int32(k+1)), append(js, int32(j+1))
			ids, types, data, meta, times = append(ids, e.ID), append(types, e.Type), append(data, e.Data), append(meta, e.Metadata), append(times, e.Time)
		}
	}
	var err error
	for try := 0; try < 3; try++ {
		err = s.call(ctx, batch, streams, expected, counts, ks, js, ids, types, data, meta, times)
		if !pgconn.SafeToRetry(err) {
			break // retry only what surely never reached the server
		}
	}
	if err == nil {
		return nil
	}
	for _, p := range batch {
		p.res, p.err = eventstore.AppendResult{}, s.appendError(p, err)
	}
	return err
}

// call makes one call of respool_append and sets the appends' results.
func (s *Store) call(ctx context.Context, batch []*pending, args ...any) error {
	rows, err := s.pool.Query(ctx, s.q.append, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var (
		v, pos   int64
		conflict bool
		k        int
	)
	results := make([]eventstore.AppendResult, len(batch))
	conflicts := make([]bool, len(batch))
	for rows.Next() {
		if k >= len(batch) {
			return errors.New("eventstore/postgres: respool_append returned more rows than appends")
		}
		if err := rows.Scan(&v, &pos, &conflict); err != nil {
			return err
		}
		results[k] = eventstore.AppendResult{Version: eventstore.Version(v), Position: eventstore.Position(pos)}
		conflicts[k] = conflict
		k++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if k != len(batch) {
		return errors.New("eventstore/postgres: respool_append returned fewer rows than appends")
	}
	// Only now, after the commit: results of a call that failed are not set.
	for k, p := range batch {
		p.res, p.err = results[k], nil
		if conflicts[k] {
			p.res, p.err = eventstore.AppendResult{}, &eventstore.ConflictError{Stream: p.stream, Expected: p.expected, Actual: results[k].Version}
		}
	}
	s.sig.Broadcast()
	return nil
}

// appendError translates the error of a failed call for one of its appends.
func (s *Store) appendError(p *pending, err error) error {
	if versionTaken(err) {
		// (stream, version) is taken: a writer that does not take the
		// schema's lock (another version of this package?) won.
		actual, verr := s.StreamVersion(context.WithoutCancel(p.ctx), p.stream)
		if verr == nil {
			return &eventstore.ConflictError{Stream: p.stream, Expected: p.expected, Actual: actual}
		}
		err = errors.Join(err, verr)
	}
	return s.fail(p.ctx, "append to "+strconv.Quote(p.stream), err)
}

// oneAppendsFault reports whether err, failing a call, may come from one of
// its appends rather than from the connection or the server.
func oneAppendsFault(err error) bool {
	switch code := sqlState(err); {
	case invalidInput(err), versionTaken(err), code == "54000": // program_limit_exceeded
		return true
	}
	return false
}
