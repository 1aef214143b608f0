// Invariants: a user's own property-based test of a billing invariant,
// built on the respooltest generators.
//
// The invariant is one a finance team would ask for: whatever happens to a
// pay-per-use pool (scaling at 23:59:59, faults, arrears, deletion, month
// ends, 29 February), what it has cost as of any instant is never more than
// its peak number of nodes x the hourly price x the time since it was
// created, and never less than nothing. Time is counted as the bill counts
// it, in whole seconds of the clock (projections.Charges takes an instant
// at its second): a node added at 02:59:59.786 is billed from 02:59:59. A
// first version of this program compared with the exact time and failed
// on that very case, in under a second. gopter generates a thousand
// timelines, runs each through a Service, and shrinks a failure to a short
// story. Run it with:
//
//	go run ./examples/invariants
//
// It exits with status 1 if the invariant fails, printing the seed and the
// shrunk timeline. The same check works as a test: put the property in a
// _test.go file and call properties.TestingRun(t).
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/prop"
	"github.com/shopspring/decimal"

	"github.com/respool/respool/domain"
	"github.com/respool/respool/respooltest"
)

// peakBound is the invariant: for every pay-per-use pool and every instant
// t from its creation to the end, 0 <= cost(t) <= peak nodes x hourly x
// hours(t - created).
func peakBound(tl respooltest.Timeline) (string, error) {
	out, err := respooltest.Execute(context.Background(), tl)
	if err != nil {
		return "", err // not a rejection (those are in out.Results): something broke
	}
	loc := tl.Calendar().Location()
	for _, id := range out.PoolIDs() {
		created, peak, nodes := time.Time{}, 0, 0
		var hourly domain.Money
		for _, e := range out.PoolEvents(id) {
			switch e := e.(type) {
			case *domain.Created:
				if e.Billing != domain.PayPerUse {
					break
				}
				created, hourly = e.At, e.Prices.Hourly
			case *domain.NodeAdded:
				nodes++
				peak = max(peak, nodes)
			case *domain.NodeRemoved:
				nodes--
			}
		}
		if created.IsZero() {
			continue // prepaid: not this invariant's business
		}
		for _, s := range tl.Steps {
			if s.At.Before(created) {
				continue
			}
			cost, _ := out.Charges.AsOf(id, s.At)
			// Compare exactly, in price x seconds: no division, no rounding.
			got := cost.PayPerUse.PriceSeconds()
			secs := decimal.NewFromInt(s.At.Unix() - created.Unix()) // whole seconds of the clock
			bound := hourly.Decimal().Mul(decimal.NewFromInt(int64(peak))).Mul(secs)
			if got.IsNegative() || got.GreaterThan(bound) {
				return fmt.Sprintf("pool %s as of %s cost %s, more than %d nodes x %s/h over %s s",
					id, respooltest.FormatInstant(s.At, loc), cost.PayPerUse.Exact(), peak, hourly, secs), nil
			}
		}
	}
	return "", nil
}

func main() {
	params := gopter.DefaultTestParametersWithSeed(20260101) // a fixed seed: the same cases every run
	params.MinSuccessfulTests = 1000
	params.MaxSize = 30 // up to 30 steps per timeline
	properties := gopter.NewProperties(params)
	properties.Property("a pay-per-use pool never costs more than its peak nodes all the time", prop.ForAll(
		peakBound,
		respooltest.GenTimeline(respooltest.TimelineOptions{Billing: domain.PayPerUse, MaxPools: 3}),
	))
	if !properties.Run(gopter.ConsoleReporter(false)) {
		fmt.Printf("seed %d\n", params.Seed())
		os.Exit(1)
	}
}
