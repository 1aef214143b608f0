package projections

import (
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/respool/respool/domain"
	"github.com/respool/respool/eventstore"
)

// Source names the events a figure comes from: versions From to To of
// Stream, which sit at global positions FromPosition to ToPosition of the
// log. A single event has From == To. Every charge line and every node
// carries one, so that "why was I charged this?" has an answer that can be
// looked up in the store (Store.ReadStream(Stream, From-1)).
type Source struct {
	Stream       string
	From, To     eventstore.Version
	FromPosition eventstore.Position
	ToPosition   eventstore.Position
}

// String is "pool-p1 v3" for one event or "pool-p1 v3..v6" for several,
// followed by the global positions: "pool-p1 v3..v6 @12..15".
func (s Source) String() string {
	if s.Stream == "" {
		return "none"
	}
	b := make([]byte, 0, len(s.Stream)+32)
	b = append(b, s.Stream...)
	b = append(b, " v"...)
	b = strconv.AppendUint(b, uint64(s.From), 10)
	if s.To != s.From {
		b = append(b, "..v"...)
		b = strconv.AppendUint(b, uint64(s.To), 10)
	}
	b = append(b, " @"...)
	b = strconv.AppendUint(b, uint64(s.FromPosition), 10)
	if s.ToPosition != s.FromPosition {
		b = append(b, ".."...)
		b = strconv.AppendUint(b, uint64(s.ToPosition), 10)
	}
	return string(b)
}

// Envelope is a decoded event with its place in the store: what every
// projection is fed. Build one from a record with Decode.
type Envelope struct {
	Stream   string
	Version  eventstore.Version
	Position eventstore.Position
	// ID is the event's stable id (eventstore.Event.ID).
	ID string
	// Event is the decoded event; nil for a record a Runner did not decode
	// because no projection it feeds reads its type (see Selective).
	Event domain.Event
}

// Source returns the Source naming this one event.
func (e *Envelope) Source() Source {
	return Source{Stream: e.Stream, From: e.Version, To: e.Version, FromPosition: e.Position, ToPosition: e.Position}
}

// DecodeError is returned when a record of the log is not an event this
// version of the library can read. It names the record and wraps the
// codec's error (which wraps domain.ErrDecode). A Runner stops on it: a
// projection that skipped an event would silently diverge.
type DecodeError struct {
	Stream   string
	Version  eventstore.Version
	Position eventstore.Position
	Type     string
	Err      error
}

// Error names the record and the codec's complaint.
func (e *DecodeError) Error() string {
	return fmt.Sprintf("projections: event at position %d (stream %s, version %d, type %q) cannot be decoded: %v",
		e.Position, e.Stream, e.Version, e.Type, e.Err)
}

// Unwrap returns the codec's error, which wraps domain.ErrDecode.
func (e *DecodeError) Unwrap() error { return e.Err }

// Decode decodes a record of the store into an Envelope. An undecodable
// record is a *DecodeError wrapping domain.ErrDecode.
func Decode(rec eventstore.Record) (Envelope, error) {
	var d Decoder
	return d.Decode(rec)
}

// Decoder decodes records one after another, reusing what repeats from one
// event to the next (see domain.Decoder): use one per goroutine for a run of
// records, rather than the function Decode, which starts afresh each time.
// The zero value is ready; a Decoder is not safe for concurrent use.
type Decoder struct{ d domain.Decoder }

// Decode is the function Decode, with d's reuse.
func (d *Decoder) Decode(rec eventstore.Record) (Envelope, error) {
	ev, err := d.d.Decode(rec.Type, rec.Data)
	if err != nil {
		return Envelope{}, &DecodeError{Stream: rec.Stream, Version: rec.Version, Position: rec.Position, Type: rec.Type, Err: err}
	}
	return Envelope{Stream: rec.Stream, Version: rec.Version, Position: rec.Position, ID: rec.ID, Event: ev}, nil
}

// Projection is a read model folded from the store's global log, in
// position order. Implementations are idempotent by position: Apply of an
// event at or below Position changes nothing and returns nil, so a replayed
// or redelivered event is harmless. Apply of a later event folds it in and
// moves Position to it; events may skip positions (a projection fed a subset
// of the log), but never go back. Every projection of this package is safe
// for concurrent use: queries may run while another goroutine applies.
type Projection interface {
	// Name identifies the projection in errors and logs.
	Name() string
	// Position is the global position of the last event applied and saved
	// to the checkpoint (0: none). A reader resumes after it.
	Position() eventstore.Position
	// Apply folds one event in. It fails only if the checkpoint cannot be
	// saved; the projection's state then holds the event but Position does
	// not move, so the reader offers the event again, and Apply of it then
	// retries the save without applying the event twice.
	Apply(e Envelope) error
}

// BatchProjection is a Projection that can also apply a run of events at
// once, with the same result as Apply of each in turn, but with one lock
// and one checkpoint save for the run rather than one per event: a Runner's
// CatchUp uses it when every projection it feeds has it. Every projection
// of this package does.
type BatchProjection interface {
	Projection
	// ApplyBatch applies es, in order, as Apply would one by one, and
	// saves the checkpoint once, at the last. If that save fails, the state
	// holds the events but Position does not move, as with Apply.
	ApplyBatch(es []Envelope) error
}

// Selective is a Projection that only some types of event can change.
// When every projection a Runner feeds is Selective, the Runner does not
// decode a record of a type none of them reads: it gives them an Envelope
// with a nil Event instead, so that their positions still move. Only types
// the library knows (domain.EventTypes) are skipped so: a record of an
// unknown type still stops the Runner with a *DecodeError. A record that is
// skipped is not read at all, so a damaged one does not stop the Runner
// either; it could not have changed these projections. Every projection of
// this package is Selective.
type Selective interface {
	Projection
	// Reads reports whether events of type typ (domain.TypeCreated, ...)
	// can change the projection. Apply must take an Envelope with a nil
	// Event as one that changes nothing but the position.
	Reads(typ string) bool
}

// Checkpoint keeps the global position a reader has reached. Projections of
// this package write every position they apply through to their checkpoint,
// so that others (an operator, a health check, the watermill consumer) can
// see how far they got; the watermill dispatcher (projections/wm) also reads
// its checkpoint back to resume where it stopped. Implementations must be
// safe for concurrent use.
//
// The projections of this package keep their state in memory, so they never
// read a checkpoint back: a new projection starts empty, at position 0,
// whatever its checkpoint says, and overwrites it as it goes. (A durable
// checkpoint saying 500 in front of a fresh, empty projection would make it
// skip events 1 to 500.)
type Checkpoint interface {
	// Load returns the saved position (0 if none).
	Load() (eventstore.Position, error)
	// Save records pos. Saving a lower position than the last is allowed
	// (it rewinds the reader) and implementations must keep it.
	Save(pos eventstore.Position) error
}

// MemCheckpoint is a Checkpoint in memory, the default. Its zero value is
// position 0 and ready to use; it never fails.
type MemCheckpoint struct{ pos atomic.Uint64 }

var _ Checkpoint = (*MemCheckpoint)(nil)

// Load implements Checkpoint.
func (c *MemCheckpoint) Load() (eventstore.Position, error) {
	return eventstore.Position(c.pos.Load()), nil
}

// Save implements Checkpoint.
func (c *MemCheckpoint) Save(pos eventstore.Position) error {
	c.pos.Store(uint64(pos))
	return nil
}

// Options configures a projection. The zero value means the defaults.
type Options struct {
	// Checkpoint receives the position of every event applied. nil: a new
	// MemCheckpoint. It is written, never read back (see Checkpoint).
	Checkpoint Checkpoint
}

// ErrCheckpoint is wrapped by the errors of Apply when the checkpoint cannot
// be saved.
var ErrCheckpoint = errors.New("projections: checkpoint")

// tracker is the position bookkeeping every projection of this package
// shares: the position lives in memory, beside the state, and is written
// through to the checkpoint. The caller holds the projection's write lock
// for seen and done.
type tracker struct {
	name string
	cp   Checkpoint
	// applied is the last position folded into the state; pos the last one
	// also saved to the checkpoint, which Position reports. They differ
	// only after a failed Save: a reader then offers the event again, and
	// seen retries the save instead of applying it twice.
	applied eventstore.Position
	pos     atomic.Uint64
}

func (t *tracker) init(name string, o Options) {
	t.name, t.cp = name, o.Checkpoint
	if t.cp == nil {
		t.cp = new(MemCheckpoint)
	}
}

func (t *tracker) position() eventstore.Position { return eventstore.Position(t.pos.Load()) }

// seen reports whether the event at pos is already in the state; if it is
// the last one and its checkpoint save failed before, it retries the save.
func (t *tracker) seen(pos eventstore.Position) (bool, error) {
	if pos > t.applied {
		return false, nil
	}
	if pos == t.applied && t.position() != pos {
		return true, t.save(pos)
	}
	return true, nil
}

// done records that the event at pos is in the state and saves it.
func (t *tracker) done(pos eventstore.Position) error {
	t.applied = pos
	return t.save(pos)
}

// batch applies the events of es it has not seen, then saves the last
// position applied (or retries a save that failed before).
func (t *tracker) batch(es []Envelope, apply func(*Envelope)) error {
	for i := range es {
		if e := &es[i]; e.Position > t.applied {
			apply(e)
			t.applied = e.Position
		}
	}
	if t.applied != t.position() {
		return t.save(t.applied)
	}
	return nil
}

func (t *tracker) save(pos eventstore.Position) error {
	if err := t.cp.Save(pos); err != nil {
		return fmt.Errorf("%w: %s: save position %d: %v", ErrCheckpoint, t.name, pos, err)
	}
	t.pos.Store(uint64(pos))
	return nil
}
