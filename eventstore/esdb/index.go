package esdb

import (
	"context"
	"sort"
	"sync"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/respool/respool/eventstore"
)

// index maps this store's gap-free positions to the server's $all positions,
// and each (stream, revision) to its position. The k-th event of this store's
// streams in $all order has position k. Every Store builds its index lazily
// from $all and extends it as it reads; it holds 24 bytes per event.
//
// Invariant: every event of this store's streams at or before scanned in
// $all is in the index, and none after it.
type index struct {
	mu      sync.Mutex
	all     []esdbclient.Position            // all[k-1]: $all position of position k
	streams map[string][]eventstore.Position // streams[s][rev]: position of s's revision rev
	scanned esdbclient.Position              // meaningful when started
	started bool

	token chan struct{} // held by the one extension running
}

func newIndex() *index {
	return &index{
		streams: make(map[string][]eventstore.Position),
		token:   make(chan struct{}, 1),
	}
}

// count returns the number of events indexed.
func (x *index) count() eventstore.Position {
	x.mu.Lock()
	defer x.mu.Unlock()
	return eventstore.Position(len(x.all))
}

// upTo returns the number of events indexed at or before $all position end
// (nil: none).
func (x *index) upTo(end *esdbclient.Position) eventstore.Position {
	if end == nil {
		return 0
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	return eventstore.Position(sort.Search(len(x.all), func(i int) bool { return after(x.all[i], *end) }))
}

// lookup returns the position of stream's revision rev, if indexed.
func (x *index) lookup(stream string, rev uint64) (eventstore.Position, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	revs := x.streams[stream]
	if rev >= uint64(len(revs)) || revs[rev] == 0 {
		return 0, false
	}
	return revs[rev], true
}

// start returns where a read of the events after position p starts in $all:
// the $all position to read after (nil: from the start) and the position of
// the last event before it. When p is beyond the index, the read starts at
// the scanned frontier and the returned position is below p.
func (x *index) start(p eventstore.Position) (from *esdbclient.Position, at eventstore.Position) {
	x.mu.Lock()
	defer x.mu.Unlock()
	switch {
	case p == 0 || !x.started:
		return nil, 0
	case p <= eventstore.Position(len(x.all)):
		pos := x.all[p-1]
		return &pos, p
	default:
		pos := x.scanned
		return &pos, eventstore.Position(len(x.all))
	}
}

// frontier returns the scanned frontier (nil: nothing scanned yet).
func (x *index) frontier() *esdbclient.Position {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.started {
		return nil
	}
	pos := x.scanned
	return &pos
}

// observe records that the event of stream's revision rev sits at pos in
// $all and has position p, as a reader that started from an indexed position
// counted it. It adds the event when it is the next one the index lacks.
func (x *index) observe(p eventstore.Position, pos esdbclient.Position, stream string, rev uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if p != eventstore.Position(len(x.all))+1 {
		return
	}
	x.add(pos, stream, rev)
}

// scan records an event seen by an extension, which reads $all without a gap
// from the frontier: events of this store's streams (mine) past the frontier
// are added, any event moves the frontier.
func (x *index) scan(pos esdbclient.Position, mine bool, stream string, rev uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.started && !after(pos, x.scanned) {
		return
	}
	if mine {
		x.add(pos, stream, rev)
		return
	}
	x.scanned, x.started = pos, true
}

func (x *index) add(pos esdbclient.Position, stream string, rev uint64) {
	x.all = append(x.all, pos)
	p := eventstore.Position(len(x.all))
	revs := x.streams[stream]
	for uint64(len(revs)) < rev {
		revs = append(revs, 0) // a revision missing from $all: never found
	}
	if uint64(len(revs)) == rev {
		revs = append(revs, p)
	} else {
		revs[rev] = p
	}
	x.streams[stream] = revs
	x.scanned, x.started = pos, true
}

// lock takes the right to extend the index, waiting at most until ctx is done.
func (x *index) lock(ctx context.Context) error {
	select {
	case x.token <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (x *index) unlock() { <-x.token }

// after reports whether $all position a comes after b.
func after(a, b esdbclient.Position) bool {
	return a.Commit > b.Commit || (a.Commit == b.Commit && a.Prepare > b.Prepare)
}
