package projections

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/respool/respool/domain"
	"github.com/respool/respool/eventstore"
)

// Runner feeds projections from a store's global log: once (CatchUp, a
// rebuild) or for as long as its context lives (Run, an ordered catch-up
// subscription). Each record is decoded once and given to every projection
// that has not seen it. It stops with a *DecodeError at the first record
// it cannot decode, before any projection has been given it: an event
// skipped would make every figure after it silently wrong. (A record of a
// known type that none of its projections reads is not decoded at all; see
// Selective.)
//
// A Runner is not safe for concurrent use: one goroutine runs it, while
// other goroutines query its projections.
type Runner struct {
	store eventstore.Store
	ps    []Projection
	skip  map[string]bool // types not decoded (see Selective); nil: none
}

// NewRunner returns a runner that feeds ps from store.
func NewRunner(store eventstore.Store, ps ...Projection) *Runner {
	ps = append([]Projection(nil), ps...)
	return &Runner{store: store, ps: ps, skip: unread(ps)}
}

// unread returns the known event types none of ps reads, if all of them are
// Selective, and nil if not or if there are none.
func unread(ps []Projection) map[string]bool {
	sel := make([]Selective, 0, len(ps))
	for _, p := range ps {
		s, ok := p.(Selective)
		if !ok {
			return nil
		}
		sel = append(sel, s)
	}
	skip := map[string]bool{}
	for _, typ := range domain.EventTypes() {
		if !slices.ContainsFunc(sel, func(s Selective) bool { return s.Reads(typ) }) {
			skip[typ] = true
		}
	}
	if len(skip) == 0 {
		return nil // no lookup per record
	}
	return skip
}

// decode is d.Decode, but for a record of a type no projection reads,
// which is not decoded (see Selective).
func (r *Runner) decode(d *Decoder, rec *eventstore.Record) (Envelope, error) {
	if r.skip[rec.Type] {
		return Envelope{Stream: rec.Stream, Version: rec.Version, Position: rec.Position, ID: rec.ID}, nil
	}
	return d.Decode(*rec)
}

// Position returns the lowest position among the projections: the runner
// reads the log after it.
func (r *Runner) Position() eventstore.Position {
	if len(r.ps) == 0 {
		return 0
	}
	low := r.ps[0].Position()
	for _, p := range r.ps[1:] {
		low = min(low, p.Position())
	}
	return low
}

// Apply decodes rec and applies it to every projection that has not seen
// it. A record every projection has seen is not even decoded, nor is one
// of a type none of them reads (see Selective). Errors are a *DecodeError,
// or a projection's error wrapped with its name and the record's position.
func (r *Runner) Apply(rec eventstore.Record) error {
	if r.Position() >= rec.Position {
		return nil
	}
	var d Decoder
	e, err := r.decode(&d, &rec)
	if err != nil {
		return err
	}
	return r.ApplyEnvelope(e)
}

// ApplyEnvelope applies a decoded event to every projection that has not
// seen it.
func (r *Runner) ApplyEnvelope(e Envelope) error {
	for _, p := range r.ps {
		if err := p.Apply(e); err != nil {
			return fmt.Errorf("projections: %s at position %d (stream %s, version %d): %w", p.Name(), e.Position, e.Stream, e.Version, err)
		}
	}
	return nil
}

// CatchUp applies every event of the log after Position, up to the last
// one visible when the read gets there, and returns. With new projections
// it is a rebuild from zero. Records are read in batches and decoded by
// GOMAXPROCS goroutines; if every projection is a BatchProjection, each has
// a goroutine of its own that applies the decoded batches in position
// order (otherwise the calling goroutine applies them, in order, one event
// at a time). Either way each projection sees exactly the sequence it would
// see one event at a time, so the result is the same. CatchUp returns once
// every projection has applied all it was given. On an undecodable record
// it returns a *DecodeError with everything before it applied; if a
// projection fails (its checkpoint), it returns that error, and the other
// projections stop wherever they got to, each consistent with its own
// Position.
func (r *Runner) CatchUp(ctx context.Context) error {
	workers := runtime.GOMAXPROCS(0)
	if workers < 2 {
		for rec, err := range r.store.ReadAll(ctx, r.Position()) {
			if err != nil {
				return fmt.Errorf("projections: reading the log: %w", err)
			}
			if err := r.Apply(rec); err != nil {
				return err
			}
		}
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the reader and the decoders when we return early
	bps := make([]BatchProjection, 0, len(r.ps))
	for _, p := range r.ps {
		if bp, ok := p.(BatchProjection); ok {
			bps = append(bps, bp)
		}
	}
	parallel := len(bps) == len(r.ps)
	work := make(chan *batch, workers)
	ordered := make(chan *batch, 2*workers)
	// free holds applied batches, for the reader to fill again: room for
	// every batch that can be in flight at once.
	free := make(chan *batch, 3*workers+len(bps)*2*workers+2)
	reuse := true
	for _, p := range r.ps {
		if _, ok := p.(eventCopier); !ok {
			reuse = false
		}
	}
	go r.read(ctx, reuse, work, ordered, free)
	for range workers {
		go func() {
			for b := range work {
				b.decode(r)
				close(b.ready)
			}
		}()
	}
	if !parallel {
		for b := range ordered {
			<-b.ready // every batch in ordered was handed to a decoder first
			for i := range b.envs {
				if err := r.ApplyEnvelope(b.envs[i]); err != nil {
					return err
				}
			}
			if b.err != nil {
				return b.err
			}
			b.recycle(free)
		}
		return ctx.Err()
	}
	appliers := make([]*applier, len(bps))
	var wg sync.WaitGroup
	for i, p := range bps {
		a := &applier{p: p, in: make(chan *batch, 2*workers)}
		appliers[i] = a
		wg.Go(func() { a.run(cancel, free) })
	}
	var stop error // the *DecodeError or read error that ended the log
	for b := range ordered {
		<-b.ready
		stop = b.err // read before the appliers have it: the last recycles it
		b.pending.Store(int32(len(appliers)))
		for _, a := range appliers {
			a.in <- b // an applier takes every batch, even after failing
		}
		if stop != nil {
			break
		}
	}
	for _, a := range appliers {
		close(a.in)
	}
	wg.Wait()
	for _, a := range appliers {
		if a.err != nil {
			return a.err // at or before the position of stop
		}
	}
	if stop != nil {
		return stop
	}
	return ctx.Err()
}

// eventCopier is implemented by this package's projections: once Apply or
// ApplyBatch returns, they keep nothing of an Envelope's Event but copies
// (and strings, whose bytes a Decoder never rewrites), so that CatchUp may
// decode each batch into the events of an earlier one.
type eventCopier interface{ copiesEvents() }

var (
	_ Selective = (*NodeList)(nil)
	_ Selective = (*Charges)(nil)
	_ Selective = (*Inventory)(nil)
)

func (*NodeList) copiesEvents()  {}
func (*Charges) copiesEvents()   {}
func (*Inventory) copiesEvents() {}

// applier applies decoded batches to one projection, on a goroutine of its
// own, in the order it is given them.
type applier struct {
	p   BatchProjection
	in  chan *batch
	err error // the first failure; read once in is closed and run returned
}

// run applies every batch of a.in until it is closed. After a failure it
// cancels the catch-up and only gives the batches back.
func (a *applier) run(cancel func(), free chan<- *batch) {
	for b := range a.in {
		if a.err == nil && len(b.envs) > 0 {
			if err := a.p.ApplyBatch(b.envs); err != nil {
				first, last := b.envs[0].Position, b.envs[len(b.envs)-1].Position
				a.err = fmt.Errorf("projections: %s at positions %d to %d: %w", a.p.Name(), first, last, err)
				cancel()
			}
		}
		if b.pending.Add(-1) == 0 {
			b.recycle(free)
		}
	}
}

// batchSize is the number of records decoded together in CatchUp.
const batchSize = 512

// batch is records read in order, decoded by one goroutine.
type batch struct {
	recs  []eventstore.Record
	envs  []Envelope    // decoded, up to the first undecodable record
	err   error         // a *DecodeError, or the read error that ended the log
	ready chan struct{} // closed once decoded
	// dec decodes every filling of the batch, so that its caches carry
	// over; with reuse (every projection fed copies what it keeps of an
	// event), each filling decodes into the events of the one before.
	dec   Decoder
	reuse bool
	// pending counts the appliers that have yet to apply it; the last one
	// recycles it.
	pending atomic.Int32
}

// recycle empties b and offers it to the reader to fill again.
func (b *batch) recycle(free chan<- *batch) {
	clear(b.recs)
	clear(b.envs)
	if b.reuse {
		b.dec.d.Rewind() // every applier is done with the events
	}
	b.recs, b.envs, b.err, b.ready = b.recs[:0], b.envs[:0], nil, make(chan struct{})
	select {
	case free <- b:
	default:
	}
}

func (b *batch) decode(r *Runner) {
	if cap(b.envs) < len(b.recs) {
		b.envs = make([]Envelope, 0, len(b.recs))
	}
	d := &b.dec
	for i := range b.recs {
		e, err := r.decode(d, &b.recs[i])
		if err != nil {
			b.err = err
			return
		}
		b.envs = append(b.envs, e)
	}
}

// read reads the log after Position into batches, each sent to the
// decoders and then, in order, to the appliers. It closes both channels.
// It fills the batches the appliers are done with again (free) rather than
// allocate new ones; reuse is given to the batches it makes.
func (r *Runner) read(ctx context.Context, reuse bool, work, ordered chan<- *batch, free <-chan *batch) {
	defer close(ordered)
	defer close(work)
	send := func(b *batch) bool {
		for _, ch := range []chan<- *batch{work, ordered} {
			select {
			case ch <- b:
			case <-ctx.Done():
				return false
			}
		}
		return true
	}
	next := func() *batch {
		select {
		case b := <-free:
			return b
		default:
			return &batch{recs: make([]eventstore.Record, 0, batchSize), ready: make(chan struct{}), reuse: reuse}
		}
	}
	b := next()
	for rec, err := range r.store.ReadAll(ctx, r.Position()) {
		if err != nil {
			b.err = fmt.Errorf("projections: reading the log: %w", err)
			break
		}
		b.recs = append(b.recs, rec)
		if len(b.recs) == batchSize {
			if !send(b) {
				return
			}
			b = next()
		}
	}
	if len(b.recs) > 0 || b.err != nil {
		send(b)
	}
}

// Run follows the log after Position (catch-up, then live) and applies each
// event as it is committed, until ctx is done (it then returns ctx's error)
// or an event cannot be decoded or applied (it returns that error; the
// projections hold everything before the event).
func (r *Runner) Run(ctx context.Context) error {
	for rec, err := range r.store.Subscribe(ctx, r.Position()) {
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
				return ctxErr
			}
			return fmt.Errorf("projections: following the log: %w", err)
		}
		if err := r.Apply(rec); err != nil {
			return err
		}
	}
	return ctx.Err()
}
