// Package domain is respool's domain: the Pool, Account and Stock aggregates
// of SPEC.md as pure decide and evolve functions, their events with stable
// names and a versioned JSON codec, the rule errors, money, the rate card,
// the policy and the billing calendar. It imports only the standard library
// and shopspring/decimal, reads no clock and keeps no global state
// (TestDomainIsPure checks the imports).
//
// # Decide and evolve
//
// [Decide] takes the state of the pool, its account and its stock item (a
// [World]), a [Command] and an [Env] (instant, rate card, policy) and returns
// a [Decision]: the events to append to each stream, or a *[RuleError]. Each
// aggregate rebuilds its state with Evolve, which never fails and never
// validates: an event is a fact. Time-driven transitions come from
// [Pool.Due] and [DecideDue]; arrears from [Account.ArrearsDue],
// [DecideArrears], [DecideArrearsGrace] and [DecideArrearsPaid].
//
// # Rule order and choices where SPEC is silent
//
//   - Checks run as SPEC section 8 says: a malformed command
//     (invalid_command), then not_found (R19) and pool_gone (R17), then the
//     rules in rule order. One reading is ours: a rule that says a command is
//     not supported for a billing mode (R14 scaling, R17 deletion, R25
//     renewal of a prepaid pool) comes before the rules that govern that
//     command, since those apply only to commands that exist for the pool.
//   - Two codes beyond section 8: invalid_command (an empty or malformed id,
//     an unknown pool type or billing mode, a pool id that is taken) and
//     invalid_amount (a top-up that is not positive).
//   - Pool ids are global. Creating a pool with an id already taken fails
//     with conflict (a retry of the same command is a duplicate instead,
//     R20); leave the id empty to have the Service assign one.
//   - A command adds at most [MaxNodesPerCommand] nodes (invalid_nodes).
//   - Training pools take no AZ choice (R11); their nodes are spread over
//     az1, az2, az3 in turn like a deployment pool's "random", so every node
//     has an AZ.
//   - Reporting a fault on a pool that is already abnormal, or rectifying one
//     that has no fault, changes nothing and is not an error. A fault can be
//     reported only on a running pool (pool_not_running otherwise).
//   - A term's end is exclusive: [Term].End is 00:00:00 of the day after the
//     expiry date in the billing zone (R22).
//   - Pay-per-use settlement (R27): the account's funds are its credit
//     (balance paid in, less prepaid charges) less pay-per-use accrual. The
//     account is in arrears from the first clock hour of the billing zone
//     at which the accrual exceeds the credit; this hour is computed in
//     closed form from the burn rate, so no event is written per hour. A
//     prepaid charge must be covered by the funds at the instant it is made.
//     A top-up clears the arrears only if it covers all accrued debt.
//   - A manual renewal starts at the old expiry however late it is paid
//     (R23) and brings the pool back to running (R26); one so late and so
//     short that its term would already be over is refused with
//     invalid_duration, naming the shortest length that reaches the present.
//   - A debt run up at a rate that has since dropped to zero is still
//     settled at the next clock hour, so it starts arrears (R27).
//   - Accounts that were never opened have no quota limits and an unlimited
//     balance; [OpenAccount] sets both, once.
//
// # Money
//
// [Money] is a non-negative exact decimal (R31). Pay-per-use amounts are
// [Accrual] values kept as price-per-hour x seconds, so sums are exact and the
// division by 3600 happens once, when the amount becomes Money (R28).
package domain
