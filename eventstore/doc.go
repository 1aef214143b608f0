// Package eventstore keeps events: the one source of truth of respool. Every
// change to a resource pool, an account or the stock is an event appended to
// a stream (one stream per aggregate, such as a pool), and every event also
// gets a place in one global log that projections follow to build their views.
//
// The package defines the [Store] interface that every backend implements,
// the values it deals in ([Event], [Record], [Version], [Position],
// [Expected], [AppendResult]), the errors every backend returns
// ([ErrConflict], [ErrInvalid], [ErrClosed]), and the in-memory store
// ([Memory]), which is the embedded default. It knows nothing of the domain:
// it stores a type name and opaque bytes, and the mapping between domain
// events and records lives next to the domain events.
//
// # Guarantees
//
// Every backend keeps these promises; eventstore/storetest checks each one.
//
//   - Versions: the events of a stream have versions 1, 2, 3... with no gap.
//     A stream that does not exist has version 0.
//   - Optimistic concurrency: an append states the version it expects the
//     stream to have ([NoStream], [ExpectVersion] or [Any]). If the stream is
//     at another version, the append changes nothing and fails with an error
//     matching [ErrConflict]: of several writers that read the same version,
//     exactly one wins, and the others re-read and decide again.
//   - Atomicity: the events of one append become visible together, with
//     consecutive versions and consecutive positions, or not at all. No
//     reader ever sees part of an append.
//   - Positions: every event has a place in the global log; positions are
//     1, 2, 3... with no gap, and become visible in order. A reader that has
//     seen position p has seen every position before it, so a projection may
//     checkpoint on the last position it handled and resume after it
//     without ever skipping an event. Position order agrees with each
//     stream's version order.
//   - Read your writes: once Append returns, every read sees its events.
//   - Reads are iterators ([iter.Seq2] of [Record] and error): ReadStream and
//     ReadAll yield what is visible and stop; Subscribe catches up from a
//     position and then follows new events as they are committed, with no
//     gap and no repetition between the two, until its context is done or
//     the store is closed. Breaking out of a loop ends the read.
//   - Round trip: ID, Type, Data and Metadata come back byte for byte; Time
//     comes back as the same instant in UTC, to microseconds at least.
//   - Append keeps nothing of what it is given once it returns: callers may
//     reuse their events slice and payload buffers at once. Readers must not
//     modify the Data and Metadata of the records they get.
//   - Concurrency: every method is safe for concurrent use.
//   - Errors are matched with [errors.Is]: [ErrConflict] (with the details in
//     a [*ConflictError]), [ErrInvalid] for an empty stream name or an event
//     without a Type, [ErrClosed] for every call after Close. Every call that
//     can block takes a context first; a subscription whose context is done
//     yields the context's error and stops.
//
// # Backends
//
//   - [Memory], in this package: the embedded default. Nothing to start and
//     nothing kept after the process ends; fast enough to rebuild
//     projections from millions of events. Its doc comment says exactly what
//     it does where the contract leaves room.
//   - eventstore/sqlite: durable, in one file, pure Go (no cgo).
//   - eventstore/postgres: PostgreSQL through pgx, for several processes.
//   - eventstore/esdb: EventStoreDB or KurrentDB, for a cluster.
//
// # The conformance kit
//
// eventstore/storetest.Run runs every check of the contract against a
// backend, as subtests named after the rule they check (such as
// Run/append/expected_version_conflict). A backend is done when the kit
// passes against the real thing. A [storetest.Features] value says what the
// kit may expect of the backend (the precision it keeps times to, whether it
// talks to a server).
//
// # Adding a backend
//
//  1. Write a sub-package whose constructor takes a documented Config struct
//     and returns a concrete type, and check conformance at compile time with
//     var _ eventstore.Store = (*Store)(nil).
//  2. Translate driver errors into this package's: a version mismatch or a
//     unique-key violation on (stream, version) becomes a [*ConflictError];
//     a closed store returns [ErrClosed]; context errors are wrapped with %w.
//  3. Give positions that become visible in order. A database sequence does
//     not: with concurrent writers, a transaction can commit a smaller
//     position after a reader has seen a larger one. Assign positions under
//     a lock held until commit, or equivalent.
//  4. Run storetest.Run in the package's tests, against the real server
//     where there is one, with an open function that returns an empty
//     store each time.
//
// [storetest.Features]: https://pkg.go.dev/github.com/respool/respool/eventstore/storetest#Features
package eventstore
