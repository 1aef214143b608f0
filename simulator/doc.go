// Package simulator replays what-if scenarios of dedicated resource pools
// and reports what they cost: "is a year up front cheaper than
// pay-per-use?". It is the engine under the poolsim command (cmd/poolsim),
// and the simulator of SPEC section 9.
//
// # Scenarios
//
// A scenario is a YAML file (SPEC section 9; examples/scenarios/ holds
// stories to start from): a rate card, accounts with quotas and balances,
// the pools bought, the actions taken on them (scale-out and scale-in,
// deletion, renewal, auto-renewal, faults, top-ups), and variants, which
// tell the same story with some pool fields overridden. Load reads a file
// and Parse a scenario in memory. Both are strict: an unknown key, a time
// without an offset, a bad amount, a reference to a pool or account that is
// not declared, are problems, and all the problems of a file are reported at
// once in a *ScenarioError, each with its file, line, key and fix. A file
// with any problem is never run, so there is no partial report.
//
// What the loader does not judge is whether the cloud's rules accept a step:
// a sold-out flavor, a quota exceeded, scaling a prepaid pool. The domain
// decides that when the step runs, and a refused step is a result of the
// run (a Rejection with its stable code of SPEC section 8), not an error of
// the file.
//
// # The engine
//
// Run gives each variant its own respool.Service over a fresh in-memory
// store (or its own part of Options.Log: see Keeping the log) and replays
// the scenario on it, forward in time:
//
//   - accounts are opened at the start;
//   - the scenario's steps (pool creations and actions) are carried out in
//     time order, each at its own instant; at the same instant, creations
//     come before actions, then file order;
//   - before each step, and at each sample instant, Service.Advance carries
//     out everything the rules made due since (auto-renewal attempts at
//     03:00, expiry, grace, retention, deletion, arrears), each at its own
//     instant too.
//
// The clock advances by the scenario's tick, but only to sample the
// cumulative cost and report progress: nothing is carried out "at a tick",
// so a tick of 1m, 1h or 1d gives the same events and the same charges.
// Time that holds no step is skipped, and sampling costs nothing per pool,
// so a run costs what its events cost, not pools x ticks. A long run is
// sampled at a coarser multiple of the tick (Options.MaxPoints).
//
// # Charges
//
// Every amount comes from projections.Charges, the one place where the
// billing rules are enforced (prepaid terms R8, pay-per-use accrual per node
// per second R28, the retention freeze R27, rounding R30); node time comes
// from projections.NodeList. The simulator asks the projection what each
// pool had cost at each of its own event instants, which is enough to know
// the whole cumulative cost curve of a run (between two events a pool's
// cost grows at a constant rate), and computes no charge itself.
//
// # Reports
//
// A Report has the JSON form of SPEC section 9 (WriteJSON): per variant its
// name, currency and total, its pools (id, billing, status, nodes, renewals,
// charged) and its rejections (at, pool, action, code). Other fields add
// insight without changing those: each pool's prepaid and pay-per-use
// split, list price, node-hours, effective price per node-hour, status
// history and AZ spread; each variant's saving against base, amortized
// monthly cost, when it overtook base (or base overtook it) for good, the
// break-even point of every prepaid term against pay-per-use (after how
// many months, and above what utilisation, prepaid is cheaper), its
// cumulative cost over time and its spend per calendar month. WriteTable
// writes the report for people, WriteCSV as one long table, and WriteHTML
// as a self-contained page with inline SVG charts.
//
// # Keeping the log
//
// By default a run's events are dropped with its in-memory stores. Given
// Options.Log, an empty eventstore.Store of any backend (an SQLite file
// for poolsim run --store sqlite:FILE), Run keeps every variant's event
// log in it, and Replay rebuilds the report from that store alone, later
// and elsewhere: the same JSON, table, CSV and HTML, without the scenario
// file. The layout, in the store's streams:
//
//   - "v0/…" for base, "v1/…", "v2/…" for the other variants in order:
//     each variant's pool-, account- and stock- streams, every event as
//     its Service wrote it, under the variant's prefix (which its event
//     ids carry too). The variant's Service sees a store of its own,
//     without the prefix: positions from 1, its own streams only. The
//     shared store judges every append; reads are served from a copy in
//     memory, so a run reads nothing back from the file.
//   - "simulation-run" (LogStream), JSON events: simulation.started, with
//     what the report needs that the pools' events do not hold (the
//     scenario's name, file, start, end, tick and sampling step, billing
//     zone, policy and rate card, and each variant's name, prefix, changes
//     and pools in order), then simulation.variant_finished for each
//     variant as it ends (its rejected steps, which wrote no event, and its
//     number of events), then simulation.finished.
//
// Replay reads the log once, feeds each variant's events through the same
// projections as Run, in the same order, and folds the pools' states from
// them; it writes nothing. It refuses, each with its own error, a store
// that holds no run (ErrNotLog), a run of another layout (ErrLogVersion),
// one that did not finish (ErrLogUnfinished), and one that does not hold
// together (ErrLogCorrupt: an undecodable event, a stream of no variant, a
// variant with events missing). A store holds one run: Run refuses one
// that holds any event (ErrLogNotEmpty). ReadLogInfo says which run a
// store holds.
//
// Keeping the log costs what the store's appends cost: one append per
// decision of a variant's Service, each a transaction of its own. In
// SQLite (SyncNormal) a year of 10,000 pools (133,188 events in 88,188
// appends) took 10 to 20 s instead of about 1 s in memory, on a busy
// 2-core machine: some 100 µs per append, nearly all of it SQLite's
// transaction. Replaying that file takes about 1.2 s (bench_test.go).
//
// Choices where SPEC is silent: a pool's name defaults to its id; a pool
// may carry a description (R2); an action's at and a pool's at lie in
// [start, end); a variant that makes a pool pay-per-use drops its months and
// auto_renew unless it sets them; durations also take whole days ("1d");
// zones are fixed offsets; a scale_in count removes the newest nodes as the
// pool is at that instant; "months" in a report are calendar months of the
// billing zone, a partial month counting its share of days.
package simulator
