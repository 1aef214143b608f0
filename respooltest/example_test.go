package respooltest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/prop"

	"github.com/respool/respool/domain"
	"github.com/respool/respool/respooltest"
)

// leapNight is a hand-written timeline: a pay-per-use pool bought at the
// last second of 29 February, scaled out at midnight, deleted an hour
// later.
func leapNight() respooltest.Timeline {
	zone := domain.DefaultZone()
	at := func(d, h, m, s int) time.Time { return time.Date(2024, time.February, d, h, m, s, 0, zone) }
	acme := func(id string) domain.Cmd { return domain.Cmd{ID: domain.CommandID(id), Account: respooltest.Acme} }
	return respooltest.Timeline{
		Catalog: respooltest.Catalog{Currency: "CNY", Flavors: []domain.Flavor{{
			ID: "gpu.t4", Kind: domain.GPU, Hourly: domain.MustMoney("12.50"), Monthly: domain.MustMoney("6200"),
			Regions: []string{respooltest.RegionPrepaidDeployment},
		}}},
		Start: at(29, 0, 0, 0),
		Steps: []respooltest.Step{
			{At: at(29, 23, 59, 59), Cmd: domain.CreatePool{Cmd: acme("c1"), Pool: "p1", Name: "night", Type: domain.Training,
				Billing: domain.PayPerUse, Flavor: "gpu.t4", Region: respooltest.RegionPrepaidDeployment, Nodes: 2}},
			{At: at(30, 0, 0, 0), Cmd: domain.ScaleOut{Cmd: acme("c2"), Pool: "p1", Nodes: 1}}, // 1 March, 00:00:00
			{At: at(30, 0, 30, 0), Cmd: respooltest.ScaleInNewest{Cmd: acme("c3"), Pool: "p1", Count: 2}},
			{At: at(30, 1, 0, 0), Cmd: domain.DeletePool{Cmd: acme("c4"), Pool: "p1"}},
		},
		End: at(31, 0, 0, 0),
	}
}

// Execute runs a timeline through a Service and returns what came of it:
// the steps' results, the log, and the projections built from it.
func ExampleExecute() {
	tl := leapNight()
	out, err := respooltest.Execute(context.Background(), tl)
	if err != nil {
		panic(err)
	}
	for _, r := range out.Results {
		fmt.Println(r)
	}
	for _, m := range out.Charges.Months("p1", tl.End) {
		fmt.Printf("%s: %d hourly records, %s CNY\n", m.Month, m.Records, m.Total.StringFixed(2))
	}
	// Output:
	// acme   [c1] create p1: training pay-per-use gpu.t4@cn-north-4 x2 name="night" -> 3 events
	// acme   [c2] scale-out p1 +1 -> 1 events
	// acme   [c3] scale-in p1 [n-0002 n-0003] -> 2 events
	// acme   [c4] delete p1 -> 1 events
	// 2024-02: 1 hourly records, 0.01 CNY
	// 2024-03: 1 hourly records, 25.00 CNY
}

// Start, Do and Finish run a timeline one step at a time, to look at the
// Service between steps.
func ExampleRun() {
	ctx := context.Background()
	tl := leapNight()
	run, err := respooltest.Start(ctx, tl, respooltest.RunConfig{})
	if err != nil {
		panic(err)
	}
	for _, s := range tl.Steps[:2] {
		if _, err := run.Do(ctx, s); err != nil {
			panic(err)
		}
		p, _ := run.Service.Pool(ctx, respooltest.Acme, "p1")
		fmt.Printf("%s: %d nodes\n", respooltest.FormatInstant(s.At, tl.Calendar().Location()), len(p.Nodes))
	}
	out, err := run.Finish(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(out.Log), "events")
	// Output:
	// 2024-02-29 23:59:59 +08:00 Thu: 2 nodes
	// 2024-03-01 00:00:00 +08:00 Fri: 3 nodes
	// 8 events
}

// A property of your own: for every generated timeline, every bill month's
// total is its unrounded sum rounded to the cent (R30). gopter generates
// the timelines from a fixed seed, and would shrink a failing one to a few
// steps.
func ExampleGenTimeline() {
	params := gopter.DefaultTestParametersWithSeed(1)
	params.MinSuccessfulTests = 50
	properties := gopter.NewProperties(params)
	properties.Property("bill months are rounded to the cent", prop.ForAll(
		func(tl respooltest.Timeline) (string, error) {
			out, err := respooltest.Execute(context.Background(), tl)
			if err != nil {
				return "", err
			}
			for _, id := range out.PoolIDs() {
				for _, m := range out.Charges.Months(id, tl.End) {
					if !m.Total.Equal(m.Unrounded.Round(2, tl.Policy.Rounding)) {
						return fmt.Sprintf("pool %s %s: %s is not %s rounded", id, m.Month, m.Total, m.Unrounded), nil
					}
				}
			}
			return "", nil
		},
		respooltest.GenTimeline(respooltest.TimelineOptions{MaxSpan: 60 * 24 * time.Hour}),
	))
	properties.Run(gopter.ConsoleReporter(false))
	// Output:
	// + bill months are rounded to the cent: OK, passed 50 tests.
}

// A timeline prints one step a line, every instant in the billing zone:
// what a failing property shows.
func ExampleTimeline_String() {
	tl := leapNight()
	tl.Steps = tl.Steps[:2]
	fmt.Print(tl)
	// Output:
	// policy: defaults
	//   rate card in CNY:
	//     gpu.t4 (gpu) hourly 12.5 monthly 6200 yearly (10 x monthly) in cn-north-4
	//   start 2024-02-29 00:00:00 +08:00 Thu
	//    0 2024-02-29 23:59:59 +08:00 Thu  acme   [c1] create p1: training pay-per-use gpu.t4@cn-north-4 x2 name="night"
	//    1 2024-03-01 00:00:00 +08:00 Fri  acme   [c2] scale-out p1 +1
	//   end   2024-03-02 00:00:00 +08:00 Sat
}

// ScenarioOf writes a timeline as a scenario file for the simulator.
func ExampleScenarioOf() {
	tl := leapNight()
	tl.Steps = tl.Steps[:2]
	yaml, kept := respooltest.ScenarioOf(tl, "leap night")
	fmt.Printf("%s(kept steps %v)\n", yaml, kept)
	// Output:
	// name: "leap night"
	// start: 2024-02-29T00:00:00+08:00
	// end: 2024-03-02T00:00:00+08:00
	// zone: "+08:00"
	// policy:
	//   renew_days_before: 7
	//   grace_days: 15
	//   retention_days: 15
	//   rounding: half-up
	// catalog:
	//   currency: CNY
	//   flavors:
	//     - id: gpu.t4
	//       kind: gpu
	//       hourly: "12.5"
	//       monthly: "6200"
	//       regions: [cn-north-4]
	// accounts:
	//   - id: acme
	// pools:
	//   - id: p1
	//     account: acme
	//     name: "night"
	//     type: training
	//     billing: pay-per-use
	//     flavor: gpu.t4
	//     region: cn-north-4
	//     nodes: 2
	//     at: 2024-02-29T23:59:59+08:00
	// actions:
	//   - {at: 2024-03-01T00:00:00+08:00, account: acme, pool: p1, scale_out: 1}
	// (kept steps [0 1])
}
