// Package sqlite is the durable event store for one machine: an
// [eventstore.Store] in a single SQLite file, through modernc.org/sqlite
// (pure Go, no cgo; database/sql driver name "sqlite").
//
// It is the store to use when the history must survive a restart and one
// machine is enough. For tests and the simulator, eventstore.Memory is
// simpler; when several machines write, use eventstore/postgres (or
// EventStoreDB). It passes eventstore/storetest like every backend.
//
// # Opening
//
//	s, err := sqlite.Open(ctx, sqlite.Config{Path: "pools.db"})
//
// Open creates the file and its tables if needed. It reads a file before it
// writes to it, and refuses, leaving it as it was, a file that is not a
// respool store: random bytes or another format ([ErrNotDatabase]), a damaged
// database or an incomplete schema ([ErrCorrupt]), another application's
// database ([ErrForeign]), or a store of another schema version
// ([ErrSchemaVersion]). Each comes as an [*OpenError] that names the file and
// what was found. The file's header carries SQLite's application id
// 0x72657370 ("resp") and the table respool_schema holds the
// [SchemaVersion].
//
// # Tables
//
// respool_events (position INTEGER PRIMARY KEY, stream, version, id, type,
// data, metadata, time_us) with UNIQUE (stream, version); respool_schema;
// respool_checkpoints. Times are kept as microseconds since 1970 (truncated;
// about ±292,000 years fit), given back in UTC. Data and Metadata come back
// byte for byte (an empty slice comes back nil). Event IDs are kept as given,
// not checked for uniqueness. Read models may live in other tables of the
// same file (see [Store.InTx]); tables named respool_* are the store's.
//
// # Guarantees and how positions stay in visibility order
//
// The file is in WAL mode: readers never wait for the writer nor the writer
// for them, and a reader sees a consistent snapshot. Appends are serialised:
// the Store has one writer connection (SQLite allows one writer at a time
// anyway), used by one goroutine. It takes the appends waiting at that
// moment and makes them one BEGIN IMMEDIATE transaction (group commit: one
// fsync for all of them); for each append in turn it reads the stream's
// version (checking the expected one) and the log's head, and inserts the
// events at the positions after the head; then it commits. Since no other
// write can run between those reads and the commit, positions are gap-free
// (a rolled-back transaction leaves no hole: the next one reads the same
// head) and commit order is position order, so positions become visible in
// order: a reader that has seen position p has seen every position below
// p. This holds across processes too: another process appending to the same
// file waits for SQLite's write lock (up to Config.BusyTimeout), then reads
// the head inside its own write transaction. Each append is atomic, with its
// own result: a conflict fails that append only, and if one append makes
// the transaction fail (a value too big), the others are retried each in a
// transaction of its own.
//
// Subscribe reads the log in pages, and when caught up waits for the next
// append of the same Store (woken at once) or, for appends of other
// processes, polls every Config.PollInterval. Reads and subscriptions hold no
// connection while the caller's loop body runs.
//
// # Durability
//
// With the default [SyncFull] (PRAGMA synchronous=FULL), Append returns after
// the WAL is fsynced: an acknowledged append survives a crash of the process,
// of the OS and a power loss. [SyncNormal] syncs the WAL only at checkpoints:
// appends cost less than half as much on a disk with slow fsyncs, an
// acknowledged append still survives a crash of the process (the test
// TestKillWriter SIGKILLs a writer to check it), but a power loss or an OS
// crash may roll back the last appends, never leaving a torn one. Either way
// the file stays consistent.
//
// Under SyncFull, an append that waits alone costs an fsync: one goroutine
// appending one event at a time gets at most one append per fsync time.
// Batch events into one Append where the domain allows it (100 events per
// append cost little more than one); appends from several goroutines share
// fsyncs. See bench_test.go for the figures.
//
// # Choosing between the durable stores
//
// SQLite: one file, nothing to run, the fastest appends and reads, but one
// machine: processes on that machine may share the file, others may not (no
// network file systems). PostgreSQL: several machines and processes append
// and read at once, its own backup and replication; every call is a round
// trip to the server and appends to one schema are serialised, so their rate
// is bounded by the server's commit latency (see eventstore/postgres).
package sqlite
