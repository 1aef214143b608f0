// Package respool keeps the history of cloud AI "dedicated resource pools" as
// events, answers from those events which nodes each pool has and what it has
// cost, and carries out what the billing rules make due in time.
//
// # The pieces
//
//   - [github.com/respool/respool/domain] is the contract of SPEC.md as pure
//     code: commands, events, rules (each cited as R1, R2, ...), money, the
//     rate card, the policy and the billing calendar. It does no I/O.
//   - [github.com/respool/respool/eventstore] stores events in streams with
//     optimistic concurrency and one ordered global log; the in-memory store
//     is the default, with SQLite, PostgreSQL and EventStoreDB backends in
//     its sub-packages.
//   - This package wires them: a [Service] loads a pool's state from its
//     stream, asks the domain to decide a command, and appends the events.
//   - Projections (node lists, charges, stock) and the what-if simulator are
//     built on the log the Service writes.
//
// # Using the Service
//
// Build a rate card, start a Service (in memory unless Config.Store says
// otherwise), and send commands, each with an id, the acting account and the
// instant it happens:
//
//	rc, _ := domain.NewRateCard("CNY", domain.Flavor{ID: "gpu.t4", Kind: domain.GPU,
//		Hourly: domain.MustMoney("12.50"), Monthly: domain.MustMoney("6200"),
//		Regions: []string{"cn-north-4"}})
//	svc, _ := respool.New(ctx, respool.Config{Catalog: rc})
//	res, err := svc.Handle(ctx, now, domain.CreatePool{
//		Cmd: domain.Cmd{ID: "req-1", Account: "acme"}, Name: "train_a",
//		Type: domain.Training, Billing: domain.PayPerUse,
//		Flavor: "gpu.t4", Region: "cn-north-4", Nodes: 4})
//
// A rejected command returns a *domain.RuleError whose code callers test with
// errors.Is (errors.Is(err, domain.ErrQuotaExceeded)); it changes nothing.
// Retrying a command with the same id is a no-op that returns the first
// outcome (R20), also after a restart.
//
// # Promises
//
// Nothing is lost and nothing is charged twice. Concretely:
//
//   - Stock, quota and balance are reservations in their own streams
//     ("stock-FLAVOR@REGION", "account-ID"), taken before the pool's events
//     are appended and given back if that append fails, so no interleaving
//     of writers sells more than the stock or exceeds a quota. Within one
//     Service, commands on the same streams are serialized by locks taken in
//     a fixed order (stock, account, pool); across Services sharing a store,
//     optimistic concurrency makes the loser decide again. Giving back
//     (scale-in, deletion, a freeze) goes the other way: the pool's events
//     first, then the returns, which are retried until written and never
//     undone, since undoing a return could take back stock sold meanwhile.
//   - Known limit: if a process dies between taking a reservation and
//     appending the pool's events, the reservation stays taken (the
//     reservation events name the pool and command, so an operator can find
//     and return it). Retrying the command does not take it twice when the
//     pool append had happened; when it had not, the retry takes a second
//     reservation.
//   - Time-driven transitions (auto-renewal at 03:00, expiry, grace,
//     retention, deletion, arrears) are carried out by [Service.Advance],
//     each at its own instant, from a due-time queue; Handle advances to the
//     command's instant first. One Service should drive Advance for a store.
//   - Memory: a Service keeps the state of at most Config.PoolCache pools
//     (DefaultPoolCache, 4096) between commands, plus those with a
//     transition due, and reads any other back from its stream when it is
//     next used; accounts and stock items are always kept. What the pools
//     it let go of leave behind is their ids, for the account's list of
//     pools (Service.Pools) and to know that they exist.
//   - Instants are kept to the whole second (R28 accrues per second, and
//     the balance and the bill must count the same seconds). An instant
//     earlier than a stream's last event is moved up to it, so each
//     stream's events are in time order.
//   - Transitions due at the same instant are carried out in an order that
//     does not depend on history (settlements first, then by id), so a
//     restarted Service writes the same log as one that ran on.
//
// Nothing here reads the wall clock: every instant is an argument.
package respool
