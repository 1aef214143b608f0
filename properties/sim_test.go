package properties_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/leanovate/gopter/prop"

	"github.com/respool/respool/domain"
	"github.com/respool/respool/respooltest"
	"github.com/respool/respool/simulator"
)

// scenarioTimelines are timelines the scenario format can say whole.
// Their zones are fixed offsets, even with -respool.dst: a scenario's zone
// is one.
var scenarioTimelines = respooltest.TimelineOptions{
	Invalid: -1, NoRetries: true, MaxPools: 3, Policy: respooltest.PolicyOptions{DefaultMonths: true, Zones: respooltest.Zones()},
}

// tickFree is a variant's report without what the tick is meant to change
// (SPEC section 9: the tick sets how often time series are sampled).
func tickFree(v simulator.VariantReport) string {
	v.Cumulative = simulator.Series{}
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// Property 17 (section 9): the simulator gives the same results with ticks
// of 1m, 1h and 1d: the same totals, pools, rejections, months and
// insight. And its results are the Service's: each pool's status, nodes,
// renewals and charge, and each rejection, are what running the same
// commands through a Service gives.
func TestProperty17_SimulatorTickInvariant(t *testing.T) {
	check(t, prop.ForAll(func(tl respooltest.Timeline) (string, error) {
		defer watchdog(tl.String)()
		ctx := context.Background()
		tl.Policy.PrepaidDeploymentRegions = nil // not in the scenario format
		yaml, kept := respooltest.ScenarioOf(tl, "property 17")
		creates := 0
		for _, i := range kept {
			if _, ok := tl.Steps[i].Cmd.(domain.CreatePool); ok {
				creates++
			}
		}
		if creates == 0 {
			return "", nil // a scenario buys at least one pool
		}
		sc, err := simulator.Parse("property17.yaml", yaml, nil)
		if err != nil {
			return fmt.Sprintf("the scenario written from the timeline does not load: %v\n%s", err, yaml), nil
		}
		var first *simulator.Report
		for _, tick := range []time.Duration{time.Minute, time.Hour, 24 * time.Hour} {
			rep, err := simulator.Run(ctx, sc, simulator.Options{Tick: tick, Parallel: 1})
			if err != nil {
				return "", fmt.Errorf("tick %s: %w\n%s", tick, err, yaml)
			}
			if first == nil {
				first = rep
				continue
			}
			for i := range rep.Variants {
				if a, b := tickFree(first.Variants[i]), tickFree(rep.Variants[i]); a != b {
					return fmt.Sprintf("tick 1m and tick %s disagree:\n%s\n----\n%s\nscenario:\n%s", tick, a, b, yaml), nil
				}
			}
		}
		// The same commands through a Service, in the simulator's order.
		same := tl
		same.Steps = nil
		for _, i := range kept {
			same.Steps = append(same.Steps, tl.Steps[i])
		}
		same.End = sc.End
		o, err := respooltest.Execute(ctx, same)
		if err != nil {
			return "", err
		}
		var bad problems
		base := first.Variants[0]
		mode := tl.Policy.Rounding
		for _, p := range base.Pools {
			id := domain.PoolID(p.ID)
			st := o.Pool(id)
			amt, _ := o.Charges.AsOf(id, sc.End)
			renewals := 0
			for _, e := range o.PoolEvents(id) {
				if _, ok := e.(*domain.Renewed); ok {
					renewals++
				}
			}
			if p.Status != string(st.Status()) || p.Nodes != len(st.Nodes) || p.Renewals != renewals ||
				!p.Charged.Decimal().Equal(amt.Total(2, mode).Decimal()) {
				bad.add("pool %s: the simulator says %s, %d nodes, %d renewals, charged %s; the Service %s, %d nodes, %d renewals, %s",
					id, p.Status, p.Nodes, p.Renewals, p.Charged, st.Status(), len(st.Nodes), renewals, amt.Total(2, mode).StringFixed(2))
			}
		}
		var codes []string
		for _, r := range o.Results {
			if r.Err != nil {
				codes = append(codes, string(r.Code()))
			}
		}
		var simCodes []string
		for _, r := range base.Rejected {
			simCodes = append(simCodes, r.Code)
		}
		if fmt.Sprint(codes) != fmt.Sprint(simCodes) {
			bad.add("rejections: the simulator %v, the Service %v", simCodes, codes)
		}
		if !bad.ok() {
			return bad.String() + "\nscenario:\n" + string(yaml) + "\n" + o.String(), nil
		}
		return "", nil
	}, genTimeline(scenarioTimelines)))
}
