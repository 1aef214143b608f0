// Package esdbtest is a wire-level test double for EventStoreDB and
// KurrentDB: an in-process gRPC server that speaks the streams protocol of
// EventStore-Client-Go v4, built on the client module's own protobuf
// packages, so that code using the real client (package esdb) is tested over
// real gRPC on machines where no server can be installed. It is not a
// database: it keeps its events in memory, has no users, certificates,
// cluster, projections, scavenging or size limits, and answers only what
// that code needs.
//
// A Server implements
//   - ServerFeatures.GetSupportedMethods, which the client calls when it
//     connects (reads and appends; version [Version]);
//   - Streams.Append, honouring the expected revision (any, no stream, stream
//     exists, exact revision) and answering a failed expectation with a
//     WrongExpectedVersion reply, not a gRPC error, as a real server does. An
//     append whose event ids already sit where it expects them (or, with any
//     or stream exists, anywhere in the stream, in order) is a retry: it
//     succeeds with the first append's revision and position and writes
//     nothing;
//   - Streams.Read for stream reads and $all reads, forwards and backwards,
//     from the start, the end, a revision or a position (inclusive), with
//     stream-name and event-type filters (prefixes or a regular expression);
//   - Streams.Read as a catch-up subscription to a stream or to $all
//     (optionally filtered): the confirmation first, then the stored events
//     after the given revision or position (exclusive), CaughtUp, and live
//     events; filtered $all subscriptions also send a checkpoint every
//     window of skipped events.
//
// Delete, Tombstone, BatchAppend, persistent subscriptions, projections and
// gossip answer Unimplemented (so connect with a single-node connection
// string, as [Server.URL] returns). There are no system events and no link
// events in $all: it holds exactly what was appended.
//
// Every event has one $all position, given as both its commit and its
// prepare position. Positions start at Config.FirstPosition and grow
// by the size of each event's record, like log positions, so they are never
// event counts: a store that confuses the two fails against the double as it
// would against a server.
//
// # What the client requires, and the double honours
//
// These were found by running v4.2.0 against the double; a server that
// breaks them breaks the client, often without an error:
//   - every event read carries the "created" system metadata (.NET ticks
//     since the Unix epoch): without it the client calls log.Fatalf and the
//     process exits;
//   - a read sends nothing but events, or StreamNotFound for a stream that
//     does not exist: anything else makes the client panic;
//   - a subscription sends its confirmation before anything else, or the
//     client fails to subscribe;
//   - the client pings every 10 s, with or without a call open: the server
//     accepts pings down to [KeepaliveMinTime] apart, where gRPC's default
//     policy (5 min) would answer the fourth ping with GOAWAY and drop every
//     subscription after about 30 s;
//   - the double serves plain text only: connect with tls=false;
//   - the client gives up for good when its first connection (discovery)
//     fails, so start the server before the first call.
//
// # Faults
//
// [Server.Stop] drops every connection, as a node that goes down;
// [Server.Restart] serves the same data on the same address again, as the
// node coming back; [Server.DropSubscriptions] ends every running
// subscription without closing connections, as a server that gives up on a
// subscriber. Together they prove that a subscriber resubscribes from where
// it was and sees every event once.
package esdbtest
