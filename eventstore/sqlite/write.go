package sqlite

import (
	"context"
	"fmt"
	"sync/atomic"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/eventstore/internal/backend"
)

// The write path. Appends are queued to one writer goroutine, which commits
// the appends waiting at that moment in one transaction (group commit): one
// fsync for all of them instead of one each, while each keeps its own
// expected-version check, its own contiguous positions and its own result.
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
// this many events.
const (
	maxGroupAppends = 256
	maxGroupEvents  = 16 << 10
)

// Append implements [eventstore.Store.Append]. Each append is atomic and
// committed, with the configured [Sync], before Append returns; appends that
// wait at the same time share a transaction, and so an fsync. If ctx ends
// while the append waits for its turn, Append returns ctx's error and the
// append is not made; once its transaction has started it is carried out.
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
	case <-ctx.Done():
		if p.state.CompareAndSwap(queued, abandoned) {
			return eventstore.AppendResult{}, ctx.Err()
		}
		<-p.done // the writer has it: it is quick
	}
	return p.res, p.err
}

// writer runs until Close, committing the queued appends.
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

// take removes the next group of appends from the queue.
func (s *Store) take() []*pending {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	var batch []*pending
	events, i := 0, 0
	for ; i < len(s.queue) && len(batch) < maxGroupAppends; i++ {
		p := s.queue[i]
		if len(batch) > 0 && events+len(p.events) > maxGroupEvents {
			break
		}
		if !p.state.CompareAndSwap(queued, taken) {
			continue // abandoned: its Append has returned
		}
		batch = append(batch, p)
		events += len(p.events)
	}
	n := copy(s.queue, s.queue[i:])
	clear(s.queue[n:])
	s.queue = s.queue[:n]
	return batch
}

// write commits batch and tells each append its result.
func (s *Store) write(batch []*pending) {
	s.mu.Lock()
	if err := s.commitGroup(batch); err != nil && len(batch) > 1 && oneAppendsFault(err) {
		// The group failed because of one of its appends (a value too big,
		// say); find out which by giving each its own transaction. Errors
		// of the file or the lock (disk full, busy) fail them all: trying
		// again one by one would only multiply the wait.
		for _, p := range batch {
			s.commitGroup([]*pending{p})
		}
	}
	s.mu.Unlock()
	wrote := false
	for _, p := range batch {
		wrote = wrote || (p.err == nil && len(p.events) > 0)
	}
	if wrote {
		s.sig.Broadcast()
	}
	for _, p := range batch {
		close(p.done)
	}
}

// commitGroup appends every append of batch in one transaction, and sets
// their results. An append whose expected version does not match gets its
// conflict and changes nothing. If anything else fails, nothing of the
// group is written, every append gets the error, and commitGroup returns
// it. s.mu is held.
func (s *Store) commitGroup(batch []*pending) error {
	ctx := context.Background() // one append's ctx must not cancel the others
	failAll := func(op string, err error) error {
		for _, p := range batch {
			p.res, p.err = eventstore.AppendResult{}, s.fail(p.ctx, op, err)
			if sqliteCode(err) == sqlite3.SQLITE_TOOBIG {
				p.err = fmt.Errorf("%w: %w", eventstore.ErrInvalid, p.err)
			}
		}
		return err
	}
	// Prepare the INSERTs before the transaction takes the only writer
	// connection (preparing on s.w during it would wait for it forever).
	for _, p := range batch {
		for rest := len(p.events); rest > 0; rest -= insertChunk {
			if _, err := s.insertStmt(ctx, min(rest, insertChunk)); err != nil {
				return failAll("append: prepare", err)
			}
		}
	}

	tx, err := s.w.BeginTx(ctx, nil) // BEGIN IMMEDIATE (see the DSN)
	if err != nil {
		return failAll("append", err)
	}
	defer tx.Rollback()
	state := tx.Stmt(s.state)
	var args []any
	for _, p := range batch {
		p.res, p.err = eventstore.AppendResult{}, nil
		if err := p.ctx.Err(); err != nil {
			p.err = err // it ended while queued: skip it
			continue
		}
		// The stream's version, the position of its last event, and the
		// head of the log, read inside the write transaction: appends are
		// serialised, so positions are gap-free and commit order is
		// position order. Earlier appends of the group are seen.
		var cur, last, head int64
		if err := state.QueryRowContext(ctx, p.stream).Scan(&cur, &last, &head); err != nil {
			return failAll("append", err)
		}
		if !p.expected.Matches(eventstore.Version(cur)) {
			p.err = &eventstore.ConflictError{Stream: p.stream, Expected: p.expected, Actual: eventstore.Version(cur)}
			continue
		}
		if len(p.events) == 0 {
			p.res = eventstore.AppendResult{Version: eventstore.Version(cur), Position: eventstore.Position(last)}
			continue
		}
		for i := 0; i < len(p.events); i += insertChunk {
			chunk := p.events[i:min(len(p.events), i+insertChunk)]
			args = args[:0]
			for j := range chunk {
				n := int64(i + j + 1)
				e := &chunk[j]
				args = append(args, head+n, p.stream, cur+n, e.ID, e.Type, e.Data, e.Metadata, e.Time.UnixMicro())
			}
			if _, err := tx.Stmt(s.stmts[len(chunk)]).ExecContext(ctx, args...); err != nil {
				return failAll("append", err)
			}
		}
		n := int64(len(p.events))
		p.res = eventstore.AppendResult{Version: eventstore.Version(cur + n), Position: eventstore.Position(head + n)}
	}
	if err := tx.Commit(); err != nil {
		return failAll("append: commit", err)
	}
	return nil
}

// oneAppendsFault reports whether err, failing a group, may come from one of
// its appends rather than from the file or the lock.
func oneAppendsFault(err error) bool {
	switch sqliteCode(err) {
	case sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_MISMATCH, sqlite3.SQLITE_RANGE:
		return true
	}
	return false
}
