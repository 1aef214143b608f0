package simulator_test

import (
	"context"
	"fmt"
	"os"

	"github.com/respool/respool/simulator"
)

// A scenario compares a pay-per-use pool with the same pool bought for a
// year up front.
func ExampleRun() {
	src := `
name: pay-per-use or a year up front?
start: 2026-01-01T00:00:00+08:00
end:   2027-01-01T00:00:00+08:00
catalog:
  currency: CNY
  flavors:
    - {id: modelarts.vm.gpu.t4u8, kind: gpu, hourly: "12.50", monthly: "6200", regions: [cn-north-4]}
accounts:
  - id: acme
pools:
  - {id: train-a, account: acme, type: training, billing: pay-per-use,
     flavor: modelarts.vm.gpu.t4u8, region: cn-north-4, nodes: 4}
variants:
  - name: yearly
    pools: {train-a: {billing: prepaid, months: 12}}
`
	sc, err := simulator.Parse("example.yaml", []byte(src), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := simulator.Run(context.Background(), sc, simulator.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, v := range rep.Variants {
		fmt.Printf("%-7s %s %s, %s per node-hour\n", v.Name, v.Total, v.Currency, v.Insight.HourlyPerNode)
	}
	fmt.Println(rep.Variants[1].Insight.VsBase.Summary)
	// Output:
	// base    438000.00 CNY, 12.50 per node-hour
	// yearly  248000.00 CNY, 7.08 per node-hour
	// yearly is cheaper than base from 2026-07-26 on (after 6.8 months), by 190,000.00 CNY at the end
}

// A scenario with problems is not run: Parse lists every problem, each with
// its file, line, key and fix.
func ExampleParse() {
	src := `
name: typos
start: 2026-01-01
end:   2027-01-01T00:00:00+08:00
catalog:
  currency: CNY
  flavors:
    - {id: f1, kind: gpu, hourly: "12.50", monthly: "6200", regions: [cn-north-4]}
accounts: [{id: acme}]
pools:
  - {id: p1, account: acme, type: training, billing: pay-per-use, flavour: f1, region: cn-north-4, nodes: 1}
`
	_, err := simulator.Parse("typos.yaml", []byte(src), nil)
	fmt.Println(err)
	// Output:
	// typos.yaml:3:8: start: "2026-01-01" is a date without a time; write 2026-01-01T00:00:00+08:00 (RFC 3339, with an offset)
	// typos.yaml:11:67: pools[0].flavour: unknown key (did you mean "flavor"?); a pool takes: id, account, name, description, type, billing, flavor, region, nodes, months, auto_renew, az, network, at
}

// Reports print as a table, JSON (SPEC section 9), CSV or a self-contained
// HTML page.
func ExampleReport_WriteCSV() {
	sc, err := simulator.Load("../examples/scenarios/training-year.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := simulator.Run(context.Background(), sc, simulator.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	rep.Variants = rep.Variants[:1] // keep the example short
	v := &rep.Variants[0]
	v.Cumulative, v.Monthly = simulator.Series{}, nil
	if err := rep.WriteCSV(os.Stdout); err != nil {
		fmt.Println(err)
	}
	// Output:
	// variant,record,pool,account,at,action,code,billing,status,nodes,renewals,charged,prepaid,pay_per_use,node_hours,currency
	// base,pool,train-a,acme,,,,pay-per-use,running,4,0,438000.00,0.00,438000.00,35040.00,CNY
	// base,total,,,,,,,,,,438000.00,,,35040.00,CNY
}
