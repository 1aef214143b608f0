// Package gen writes event logs for the tests and benchmarks of projections
// and projections/wm: a Builder appends the events the domain would decide
// for pool commands (creation, scaling, faults, freezes, renewals,
// deletion) straight to a store, at chosen instants, and Random fills a
// store with a long, plausible, reproducible history.
//
// Tests that need the instants and event sequences of a rule exactly use
// it; respool.Service is used too, from the external test package of
// projections, to check that the projections agree with the Service. Being
// internal, it is not part of the API.
package gen
