// Package properties holds respool's property tests: the rules of SPEC.md
// as invariants that gopter checks on generated timelines (package
// respooltest) run through a real Service, its projections and the
// simulator. It has no code of its own; the tests are in _test files, one
// test per property, named after the property and the rule it proves
// (TestProperty02_TermsBackToBack_R23), with the rule cited in its
// comment. The reference model they compare against (expiry dates, node
// lives, term prices, renewal windows) is written again, plainly, in
// reference_test.go, never taken from the domain's code.
//
// Each property runs 1,000 cases from a fixed seed of its own, so a run is
// reproducible; under the race detector, 100. Flags change that:
//
//	go test ./properties -respool.cases=10000   # more cases
//	go test ./properties -respool.seed=12345    # another seed for all (0: the fixed ones)
//	go test ./properties -respool.seed=-1       # a seed from the clock
//	go test ./properties -respool.dst           # billing zones with daylight saving too
//
// A failing property prints its seed, the command that reruns exactly that
// case, the timeline shrunk to a few steps and printed one step a line
// with every instant in the billing zone, what went wrong, and the log of
// the shrunk run. A case that runs for more than 20 seconds (a Service
// that never returns) ends the test binary with its seed and timeline.
//
// CI runs the suite under TZ=UTC, America/Los_Angeles and Asia/Shanghai;
// property 16 also swaps the host zone (time.Local) within one run.
package properties
