// Package respooltest helps you write property-based tests of billing
// invariants on respool: gopter generators of policies, rate cards,
// accounts, valid and invalid commands and whole timelines of commands,
// and helpers that run a timeline through a Service and read what came of
// it (the log, the states, the projections).
//
// The generators aim where billing breaks: the 28th to the 31st of a month,
// 29 February, year ends, clock-hour boundaries, 23:59:59 and 00:00:00,
// 03:00 (when auto-renewal is attempted, R24), and several commands in one
// second; fixed billing zones whose hours are not UTC's (+05:30, +05:45,
// -09:30); prices of a hundredth of a cent or whose division by 3600 never
// terminates; stock and quotas that run out; balances too small to renew.
// Every generator draws from gopter's random source only, so a seed
// reproduces a case.
//
// # Writing an invariant
//
// Generate a Timeline, run it with Execute, and check the Outcome:
//
//	properties := gopter.NewProperties(gopter.DefaultTestParametersWithSeed(1))
//	properties.Property("a pool never costs more than its peak nodes, all the time", prop.ForAll(
//		func(tl respooltest.Timeline) (string, error) {
//			out, err := respooltest.Execute(ctx, tl)
//			if err != nil {
//				return "", err // not a rejection (those are in out.Results): something broke
//			}
//			for _, id := range out.PoolIDs() {
//				charged, _ := out.Charges.AsOf(id, tl.End)
//				... // return a non-empty string saying what is wrong
//			}
//			return "", nil
//		},
//		respooltest.GenTimeline(respooltest.TimelineOptions{Billing: domain.PayPerUse}),
//	))
//	properties.TestingRun(t)
//
// A failing timeline is shrunk (ShrinkTimeline) to a few steps and printed
// one step a line, every instant in the billing zone. For a look between
// steps, use Start, Run.Do and Run.Finish instead of Execute. The
// properties of SPEC.md that the project itself proves with this package
// are in ../properties; examples/invariants is a small program that checks
// an invariant of its own.
//
// # What a timeline holds
//
// A Timeline is a value: a policy, a rate card (Catalog, plain data that
// prints every price), the accounts opened at its start, steps (a command
// at an instant) and an end to advance the clock to. Commands are domain
// commands, plus ScaleInNewest, which names its nodes when it runs so that
// shrinking does not leave it naming nodes that were never added. Steps may
// be invalid on purpose; a rejection is an outcome like any other. Pool
// ids are p1, p2, ... unless the Service assigns them; command ids are c1,
// c2, ..., and a retry (TimelineOptions.NoRetries off) reuses one (R20).
// Limited balances range from nothing to a million, which one cheap node
// would take centuries to burn.
package respooltest
