// Package postgres is the event store for more than one machine: an
// [eventstore.Store] in a PostgreSQL schema, through pgx/v5 (pgxpool).
//
// Use it when several processes or machines append and read the same
// history, or when the history belongs with the rest of the data in
// PostgreSQL (read models can share its transactions: [Store.InTx]). For one
// machine, eventstore/sqlite is simpler and faster. It passes
// eventstore/storetest like every backend.
//
// # Opening
//
//	s, err := postgres.Open(ctx, postgres.Config{
//		ConnString: "postgres://app@db:5432/pools?sslmode=verify-full",
//		Schema:     "respool", // the default
//	})
//
// Open creates, if missing, the schema and in it the tables respool_schema
// (holding the [SchemaVersion]), respool_events and respool_checkpoints and
// the function respool_append, under an advisory lock so that processes
// opening a new schema at once create it once. It refuses a schema of
// another version ([ErrSchemaVersion]), one whose respool_* names it did
// not create ([ErrForeign]) or with a part missing ([ErrIncomplete]); a
// connection string it cannot parse is
// [ErrConnString], a server it cannot reach or that refuses it [ErrConnect].
// Errors are [*OpenError]s and never show a password. Stores in different
// schemas of one database are independent: tests use a fresh schema each.
//
// # How positions become visible in order
//
// A position taken from a sequence is assigned when a transaction inserts,
// but becomes visible when it commits, and concurrent transactions commit in
// any order: measured on this project, a third of the events of 8
// concurrent writers became visible below a position a reader had already
// seen, so a reader that checkpoints on positions would skip them for good
// (TestSequencePositionsAreNotInOrder shows it on every run).
//
// This store makes commit order equal position order. Appends go through
// one call of the schema's function respool_append, in its own READ
// COMMITTED transaction. The function first takes a transaction-scoped
// advisory lock (pg_advisory_xact_lock) on a key derived from the schema
// name; then reads the log's head and, for each append, the stream's
// version (checking the expected version), all with snapshots that see
// every append committed before the lock was granted; inserts the events at
// head+1, head+2, ...; and sends a notification. The lock is released only
// after the commit has become visible, so the next call reads a head that
// includes this one, and commits after it. Hence positions are gap-free (a
// failed call inserts nothing and takes no number) and a reader that sees
// position p sees every position below it: TestPositionsBecomeVisibleInOrder
// runs 8 writers against two followers (ReadAll from the last position, and
// Subscribe) and each sees every event once, in order.
//
// One goroutine per Store makes the calls: the appends of a Store that wait
// at the same time go in one call (group commit: one round trip, one turn
// of the lock, one WAL flush), each with its own expected-version check and
// result; a conflict fails that append only, and if one append makes the
// call fail (text PostgreSQL cannot store), the others are sent again one by
// one. Two appends to the same stream never share a call.
//
// Why this and not transaction ids: the other known design (Marten, Message
// DB) writes rows with pg_current_xact_id() and lets readers read only below
// the oldest running transaction (pg_snapshot_xmin). It lets writers commit
// in parallel, but the number a reader checkpoints on is then (transaction
// id, sequence), not a gap-free position, so Append could not return the
// event's [eventstore.Position] and positions would have gaps, both of which
// the Store contract requires. The lock is simpler, needs nothing from
// readers (a plain "WHERE position > $1 ORDER BY position"), and meets the
// speed goals (bench_test.go): the time under the lock is the function's
// work plus the commit's WAL flush, with no client round trip inside it.
// Its cost: calls to one schema are serialised, so their rate is bounded by
// the server's commit latency (about one call per WAL flush with
// synchronous_commit on). The Store's group commit shares that among the
// appends of one process; writers in different processes take turns.
// Batch events into one Append to go faster: 100 events cost little more
// than one. Readers are never blocked by the lock.
//
// The function refuses to run in a transaction that is not READ COMMITTED
// (a stale snapshot would read an old head), and the store's connections pin
// default_transaction_isolation to READ COMMITTED whatever the server's
// default. Anything that writes respool_events must go through
// respool_append; the UNIQUE (stream, version) and PRIMARY KEY (position)
// constraints turn a writer that does not into an error, never a gap or a
// duplicate (a unique violation on (stream, version) is reported as
// [eventstore.ErrConflict]).
//
// # Durability and errors
//
// Append returns after COMMIT: with synchronous_commit on (the server's
// default), after the WAL is flushed on the server (and on synchronous
// standbys, if configured). With synchronous_commit off, a server crash may
// lose the last acknowledged appends (never part of one) and positions stay
// gap-free. An Append that fails because the connection broke may or may not
// have committed: read the stream (by event ID) to find out; Append retries
// by itself only what surely never reached the server. Text PostgreSQL cannot
// hold (NUL bytes, invalid UTF-8) and times outside its range are
// [eventstore.ErrInvalid]. Times are kept to the microsecond (truncated) and
// given back in UTC; Data and Metadata byte for byte.
//
// # Subscriptions
//
// Subscribe reads the log in pages and, when caught up, waits for a
// notification: the first Subscribe starts one LISTEN connection shared by
// all subscriptions of the Store; respool_append notifies at commit. If that
// connection is lost the Store reconnects (with backoff), and wakes every
// subscription to read again, since notifications sent meanwhile are lost;
// each subscription also polls every Config.PollInterval, so nothing is ever
// waited for longer than that. A read whose connection is lost is retried
// (for up to Config.RetryFor) from the last position yielded: a read that
// fails yields nothing of its page, so nothing is lost or repeated
// (TestSubscribeSurvivesLostConnections terminates the backends with
// pg_terminate_backend while appending). Reads hold no connection while the
// caller's loop body runs.
package postgres
