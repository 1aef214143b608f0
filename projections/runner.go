package projections

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/respool/respool/eventstore"
)

// Runner feeds projections from a store's global log: once (CatchUp, a
// rebuild) or for as long as its context lives (Run, an ordered catch-up
// subscription). Each record is decoded once and given to every projection
// that has not seen it. It stops with a *DecodeError at the first record
// it cannot decode, before any projection has been given it: an event
// skipped would make every figure after it silently wrong.
//
// A Runner is not safe for concurrent use: one goroutine runs it, while
// other goroutines query its projections.
type Runner struct {
	store eventstore.Store
	ps    []Projection
}

// NewRunner returns a runner that feeds ps from store.
func NewRunner(store eventstore.Store, ps ...Projection) *Runner {
	return &Runner{store: store, ps: append([]Projection(nil), ps...)}
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
// it. A record every projection has seen is not even decoded. Errors are a
// *DecodeError, or a projection's error wrapped with its name and the
// record's position.
func (r *Runner) Apply(rec eventstore.Record) error {
	if r.Position() >= rec.Position {
		return nil
	}
	e, err := Decode(rec)
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
// it is a rebuild from zero. Records are decoded by GOMAXPROCS goroutines,
// in batches, while the calling goroutine applies them in position order:
// the result is the same as applying them one by one. On an undecodable
// record it returns a *DecodeError with everything before it applied.
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
	work := make(chan *batch, workers)
	ordered := make(chan *batch, 2*workers)
	free := make(chan *batch, 3*workers+1) // applied batches, for the reader to fill again
	go r.read(ctx, work, ordered, free)
	for range workers {
		go func() {
			for b := range work {
				b.decode()
				close(b.ready)
			}
		}()
	}
	batches := make([]BatchProjection, 0, len(r.ps))
	for _, p := range r.ps {
		if bp, ok := p.(BatchProjection); ok {
			batches = append(batches, bp)
		}
	}
	for b := range ordered {
		<-b.ready // every batch in ordered was handed to a decoder first
		if err := r.applyBatch(b.envs, batches); err != nil {
			return err
		}
		if b.err != nil {
			return b.err
		}
		clear(b.recs)
		clear(b.envs)
		b.recs, b.envs, b.ready = b.recs[:0], b.envs[:0], make(chan struct{})
		select {
		case free <- b:
		default:
		}
	}
	return ctx.Err()
}

// applyBatch applies envs to every projection: through ApplyBatch if all of
// them have it (bps), one by one if not.
func (r *Runner) applyBatch(envs []Envelope, bps []BatchProjection) error {
	if len(envs) == 0 {
		return nil
	}
	if len(bps) < len(r.ps) {
		for i := range envs {
			if err := r.ApplyEnvelope(envs[i]); err != nil {
				return err
			}
		}
		return nil
	}
	for _, p := range bps {
		if err := p.ApplyBatch(envs); err != nil {
			last := envs[len(envs)-1]
			return fmt.Errorf("projections: %s at positions %d to %d: %w", p.Name(), envs[0].Position, last.Position, err)
		}
	}
	return nil
}

// batchSize is the number of records decoded together in CatchUp.
const batchSize = 512

// batch is records read in order, decoded by one goroutine.
type batch struct {
	recs  []eventstore.Record
	envs  []Envelope    // decoded, up to the first undecodable record
	err   error         // a *DecodeError, or the read error that ended the log
	ready chan struct{} // closed once decoded
}

func (b *batch) decode() {
	if cap(b.envs) < len(b.recs) {
		b.envs = make([]Envelope, 0, len(b.recs))
	}
	var d Decoder
	for _, rec := range b.recs {
		e, err := d.Decode(rec)
		if err != nil {
			b.err = err
			return
		}
		b.envs = append(b.envs, e)
	}
}

// read reads the log after Position into batches, each sent to the
// decoders and then, in order, to the applier. It closes both channels. It
// fills the batches the applier is done with again (free) rather than
// allocate new ones.
func (r *Runner) read(ctx context.Context, work, ordered chan<- *batch, free <-chan *batch) {
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
			return &batch{recs: make([]eventstore.Record, 0, batchSize), ready: make(chan struct{})}
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
