// Package projections folds the store's global log into read models: which
// nodes each pool has (NodeList), what pools and accounts have cost
// (Charges), and how much stock and quota is in use and left (Inventory).
//
// # Where it fits
//
// respool.Service appends the events that commands and the passing of time
// produce; the log is the one source of truth. Projections follow it in
// global position order and answer queries from memory:
//
//	cmd -> simulator -> respool -> projections -> domain
//
// They import domain (the events, money, the billing calendar) and
// eventstore (records and positions), never the root package. A Runner feeds
// them from a Store: CatchUp reads the log once (a rebuild), Run follows it
// (catch-up, then live). To carry events to projections in other processes,
// projections/wm publishes the log through watermill and applies what it
// receives.
//
//	nodes := projections.NewNodeList(projections.Options{})
//	charges := projections.NewCharges(policy, projections.Options{})
//	go projections.NewRunner(store, nodes, charges).Run(ctx)
//	...
//	now, _ := nodes.Nodes("train-a")
//	cost, _ := charges.AsOf("train-a", end)
//	charged := cost.Total(2, policy.Rounding)
//
// # Guarantees
//
//   - Idempotent by global position: each projection keeps the position of
//     the last event it applied (its checkpoint); an event at or below it
//     changes nothing. Replays and redeliveries are harmless.
//   - Rebuilding from zero gives exactly what was built incrementally: the
//     state depends only on the sequence of events, never on how it was
//     delivered or chunked.
//   - A record that cannot be decoded stops the Runner with a *DecodeError
//     naming it; nothing after it is applied.
//   - Projections are safe for concurrent use: one goroutine applies while
//     others query. Queries copy what they return.
//   - CatchUp decodes batches of records on every core while the batches
//     before them are applied; each BatchProjection (all of this package's)
//     applies them on a goroutine of its own, in order, with one lock and
//     one checkpoint save per batch. Each projection sees the events in
//     the order it would one by one, so the result is the same. Batches
//     are recycled: when every projection fed is one of this package's,
//     which copy what they keep of an event, each batch is decoded into
//     the events of an earlier one (domain.Decoder.Rewind), and a rebuild
//     allocates no events; a projection of your own gets fresh events,
//     which it may keep.
//   - A Runner decodes only what its projections read: when all of them
//     are Selective (all of this package's are), a record of a known type
//     none of them reads reaches them as an Envelope with a nil Event,
//     which only moves their positions. A runner of node lists and charges
//     alone so skips the stock and account events, a third of a log.
//
// # Charges and the rules they enforce
//
// Pay-per-use accrues per node per second (R28), counting whole seconds:
// price per hour x node-seconds / 3600, exact; a node accrues from its
// NodeAdded until its NodeRemoved, its pool's Deleted or the retention
// freeze (StatusChanged to frozen), and again after a return from
// retention. Hourly records (R29) cover one clock hour of the billing zone
// each and keep 8 places; bill months (R30) hold the records and prepaid
// charges whose time falls in them, with an unrounded total that is exactly
// their sum, and a total rounded to 0.01 with the policy's rounding. Every
// amount can be asked for as of any instant and never decreases as the
// instant moves later (R32). Each charge line names the events it comes
// from (Source: stream, versions, global positions).
package projections
