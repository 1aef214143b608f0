// Package esdb is the [eventstore.Store] on EventStoreDB or KurrentDB, through
// the official client, github.com/EventStore/EventStore-Client-Go/v4 (imported
// here as esdbclient). It is the backend for running beyond one machine: the
// server keeps the events and replicates them across a cluster, and every
// process that opens a Store on it sees the same streams, versions and
// positions. It passes eventstore/storetest through the real client over
// gRPC, against the package's wire-level test double (esdbtest) and, when
// RESPOOL_ESDB_URL is set, against a real server (see README.md).
//
// # Layout on the server
//
// Each of this library's streams (one per pool, account and stock item) is
// one server stream named Config.Prefix + the stream's name: "pool-x" is
// stored as "respool.pool-x" with the default prefix. The prefix keeps this
// library's events apart from every other stream in the server's $all log;
// stores with different prefixes on one server do not see each other.
//
// Versions map to revisions: version n is revision n-1, [eventstore.NoStream]
// (version 0) is the client's NoStream, ExpectVersion(n) is Revision(n-1),
// and [eventstore.Any] is Any. The server rejects a wrong expected version
// with a normal reply, which Append returns as an [*eventstore.ConflictError]
// (matching [eventstore.ErrConflict]) carrying the stream's actual version.
//
// Each event is stored with:
//
//   - the UUID [EventUUID] derives from Event.ID: the id itself when it is a
//     UUID, otherwise the UUIDv5 of [IDNamespace] and the id (so "cmd-7/0" is
//     always the same UUID), a random one when the id is empty;
//   - Event.Type as the event type (it must be UTF-8, as gRPC strings are);
//   - Event.Data as the data, byte for byte, with content type
//     application/json when it is JSON (so the server's projections can read
//     it) and application/octet-stream otherwise;
//   - a JSON envelope as the custom metadata, which carries what the server
//     has no place for: Event.Time (to the nanosecond, within years 0 to 9999;
//     the server's own "created" is the append time, which the store does not
//     use), Event.ID when it is not the canonical text of the UUID, and
//     Event.Metadata (the account, command id and causation of the event),
//     byte for byte.
//
// The envelope of an event with id "cmd-7/0" looks like this:
//
//	{"respool":1,"time":"2025-03-01T00:30:00.123456789Z","id":"cmd-7/0","metadata":{"account":"a-1","command":"cmd-7"}}
//
// Metadata that is JSON (without surrounding white space) is embedded as it
// is, so that server-side tools can read it; any other Metadata is carried as
// "metadataBase64".
//
// # Positions
//
// The contract wants positions 1, 2, 3... with no gap over the store's
// events; the server's $all positions (commit and prepare positions, byte
// offsets in its log) are ordered but not that. So a Store counts: the k-th
// event of its prefix's streams in $all order has position k. Every process
// counts the same $all, so every Store on a prefix gives the same positions.
//
// A Store keeps an index from position to $all position, and from (stream,
// revision) to position, 24 bytes per event, built lazily: the first call
// that needs it reads $all from the start, and later calls read on from where
// the index ends. The client's ReadAll has no server-side filter, so these
// reads go through every event of $all, the server's own and other
// applications' included: the first call of a fresh process costs a read of
// the whole $all; later ones, a read of what was appended since. Once the
// index knows position p, ReadAll(p) and Subscribe(p) start at its $all
// position without a scan (the index is not kept on disk: a new process
// builds it again).
//
// Append therefore makes two round trips: the append itself, then a read of
// $all from the end of the index, to learn the positions of the new events.
// Head reads $all from the end of the index too. Positions stay stable only
// while $all never loses an event of the prefix's streams: never delete,
// truncate ($maxAge, $maxCount, $tb) or tombstone those streams, and do not
// write to them with other tools (their events would be counted, and read
// back with the server's id, append time and raw custom metadata).
//
// # Retried appends are deduplicated
//
// Unlike [eventstore.Memory] (and the SQLite and PostgreSQL stores), the
// server recognises an append of events whose ids it already holds at the
// place the append expects, and answers with success and the first append's
// result, not a conflict. The Service derives event ids from the command id
// and the event's index, so a retried command that did go through the first
// time is a no-op. How far the server's memory goes depends on the expected
// version: with an exact expected version (the Service's case) it compares
// the ids with the events at those revisions, however old; with Any it only
// recognises recent writes that it still remembers, which the client's
// documentation calls best effort. Give
// every event a unique id: an append with Any whose ids the server remembers
// is dropped as a retry even if its events differ.
//
// # Subscriptions
//
// Subscribe is a catch-up subscription to $all with a server-side filter on
// the prefix, started after the $all position of its after argument. The
// server sends the stored events, then live ones, with no gap between the
// two. When the subscription drops (the connection breaks, the node restarts
// or loses the leadership, the server gives up on a slow reader), Subscribe
// subscribes again after the last event it yielded: the consumer never sees
// an event twice or misses one. It waits Config.ResubscribeDelay first, doubled
// after each failed attempt up to MaxResubscribeDelay, and keeps trying until
// ctx is done or the store closes; only a refusal that retrying cannot fix
// (authentication, access rights, a server without filtered subscriptions)
// ends it with an error.
//
// # Errors
//
// Invalid arguments match [eventstore.ErrInvalid], conflicts
// [eventstore.ErrConflict], calls after Close [eventstore.ErrClosed]; a call
// whose ctx ends returns ctx's error (wrapped). Every other error wraps the
// client's *esdbclient.Error: use errors.As to get it and its Code. (Do not
// use esdbclient.FromError on a wrapped error: its second result is true only
// when the error is nil.)
//
// # Connecting to a node or a cluster
//
// Config.URL is the client's connection string. A single node started with
// --insecure (development only) is "esdb://localhost:2113?tls=false". A
// secure three-node cluster is reached through its nodes as gossip seeds,
//
//	esdb://admin:changeit@node1:2113,node2:2113,node3:2113?tlsCAFile=/certs/ca/ca.crt
//
// or through a DNS name that lists them, "esdb+discover://admin:changeit@cluster.example.com:2113".
// The client reads the cluster's gossip, picks the leader and sends every call
// to it (nodePreference=leader, the default: keep it, since a follower may
// not have an append's events yet when the store reads $all to number them).
// When the leader changes, calls fail until the client has found the new one,
// and subscriptions resubscribe. Reading $all needs an admin user (or a user
// granted read on $all) on a secure server; Open checks it. For settings a
// connection string cannot carry, pass an esdbclient.Configuration as
// Config.Client.
//
// Two behaviours of the client v4.2.0 show through. Connecting (discovery)
// is not bounded by ctx: when no node answers, a call returns after the
// client's maxDiscoverAttempts times discoveryInterval (10 times 100 ms by
// default) plus the time each attempt takes. And a client whose discovery
// failed stays closed for good; the store then replaces it with a new one,
// so a store outlives a server outage of any length. (The client gives no way
// to close the dead client's last connection: each replacement leaves an idle
// gRPC connection behind.)
//
// # Testing
//
// Package esdbtest is an in-process gRPC server that speaks the protocol, so
// the store is tested through the real client without a server installed;
// the package tests run the conformance kit against it, stop and restart it
// under a running subscription, and run against a real server when
// RESPOOL_ESDB_URL is set.
package esdb
