package eventstore

import (
	"context"
	"errors"
	"iter"
	"time"
)

// Version is the number of events a stream holds. The first event of a stream
// has version 1; a stream that does not exist has version 0.
type Version uint64

// Position is an event's place in the store's global log. The first event ever
// appended has position 1; positions grow by one per event, with no gaps, in
// the order in which events become visible to readers. Position 0 means
// "before the first event".
type Position uint64

// Expected says what an append expects the stream's version to be.
//
// Use [ExpectVersion] for an exact version (0 for a stream that must not exist
// yet, which is the same as [NoStream]) or [Any] to skip the check.
type Expected struct {
	v   Version
	any bool
}

// NoStream expects the stream not to exist yet (version 0).
var NoStream = Expected{}

// Any appends whatever the stream's version is.
var Any = Expected{any: true}

// ExpectVersion expects the stream to hold exactly v events.
func ExpectVersion(v Version) Expected { return Expected{v: v} }

// IsAny reports whether e skips the version check.
func (e Expected) IsAny() bool { return e.any }

// Version returns the exact version expected; it is meaningless when IsAny.
func (e Expected) Version() Version { return e.v }

// Matches reports whether a stream at version current satisfies e.
func (e Expected) Matches(current Version) bool { return e.any || e.v == current }

// Event is one event to append. The store does not interpret Type, Data or
// Metadata: it keeps the bytes and gives them back as they were.
type Event struct {
	// ID identifies the event for its whole life (a UUID-like string, unique
	// in the store). Backends that deduplicate by id (EventStoreDB) use it; a
	// watermill dispatcher uses it as the message id.
	ID string
	// Type is the event's stable type name, such as "pool.created".
	Type string
	// Data is the event's payload (JSON for this library's events).
	Data []byte
	// Metadata is opaque bytes kept beside the payload (JSON for this library).
	Metadata []byte
	// Time is when the event happened (domain time, not append time). Backends
	// keep it to microsecond precision at least, and give it back in UTC.
	Time time.Time
}

// Record is a stored event as a reader sees it.
type Record struct {
	Stream   string
	Version  Version  // the event's version within Stream, from 1
	Position Position // the event's place in the global log, from 1
	Event
}

// AppendResult says where an append's events landed.
type AppendResult struct {
	// Version is the stream's version after the append (its last event's).
	Version Version
	// Position is the global position of the append's last event.
	Position Position
}

// Store is an append-only event store with per-stream optimistic concurrency
// and one global, gap-free, ordered log. Every method is safe for concurrent
// use. Implementations live in sub-packages (sqlite, postgres, esdb) and in
// this package ([Memory]); all of them pass eventstore/storetest.
type Store interface {
	// Append adds events to the end of stream, atomically: either all of them
	// become visible, in order, with consecutive versions and positions, or
	// none does. If the stream's version does not match expected, Append
	// changes nothing and returns an error matching [ErrConflict] (a
	// [*ConflictError]). Appending no events checks expected and returns the
	// stream's current version and the position of its last event (0 and 0
	// for a stream that does not exist); it creates nothing. An empty stream
	// name or an event with an empty Type is [ErrInvalid], and nothing is
	// appended.
	//
	// Append keeps nothing of what it is given once it returns, whatever it
	// returns: callers may reuse the events slice and the Data and Metadata
	// buffers at once (a Service encodes every append into one reused
	// buffer).
	Append(ctx context.Context, stream string, expected Expected, events ...Event) (AppendResult, error)

	// ReadStream yields the events of stream whose version is greater than
	// after, in version order. A stream that does not exist yields nothing
	// (and no error); an empty stream name is [ErrInvalid]. Iteration stops
	// at the first error, which is yielded with a zero Record.
	ReadStream(ctx context.Context, stream string, after Version) iter.Seq2[Record, error]

	// ReadAll yields the events of the global log whose position is greater
	// than after, in position order, up to the last event visible when the
	// read reached it, then stops. A reader that saw position p has already
	// seen every event with a smaller position: positions become visible in
	// order, never with a gap filled in later.
	ReadAll(ctx context.Context, after Position) iter.Seq2[Record, error]

	// Subscribe yields the events of the global log whose position is greater
	// than after, in position order: first those already stored (catch-up),
	// then new ones as they are committed (live), with no gap and no
	// repetition between the two. It runs until ctx is done, then yields
	// ctx's error once and stops; it stops with other errors the same way.
	// Breaking out of the loop ends the subscription.
	Subscribe(ctx context.Context, after Position) iter.Seq2[Record, error]

	// StreamVersion returns the current version of stream (0 if it does not
	// exist). An empty stream name is [ErrInvalid].
	StreamVersion(ctx context.Context, stream string) (Version, error)

	// Head returns the position of the last visible event (0 if none).
	Head(ctx context.Context) (Position, error)

	// Close releases the store's resources. Calls after Close, a second Close
	// included, fail with [ErrClosed]; running subscriptions end with it.
	Close() error
}

// The errors every backend returns, matched with errors.Is. Backends wrap them
// with details (the stream, the versions) and translate driver errors into
// them.
var (
	// ErrConflict: the stream's version was not the one expected; a concurrent
	// writer won. Re-read and try again.
	ErrConflict = errors.New("eventstore: conflict: stream version is not the one expected")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("eventstore: store is closed")
	// ErrInvalid: the call's arguments are not valid (empty stream name, an
	// event without a type).
	ErrInvalid = errors.New("eventstore: invalid argument")
)

// ConflictError carries the details of a conflict. It matches ErrConflict.
type ConflictError struct {
	Stream   string
	Expected Expected
	Actual   Version
}

func (e *ConflictError) Error() string {
	exp := "any"
	if !e.Expected.IsAny() {
		exp = itoa(uint64(e.Expected.Version()))
	}
	return "eventstore: conflict on stream " + e.Stream + ": expected version " + exp + ", actual " + itoa(uint64(e.Actual))
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

func itoa(v uint64) string {
	if v == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[i:])
}
