package projections_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/respool/respool"
	"github.com/respool/respool/domain"
	"github.com/respool/respool/projections"
)

// story writes a short history through respool.Service: a pay-per-use pool
// of 3 nodes created at 10:00 (UTC+08:00), scaled in by one node at 12:00,
// and a prepaid 1-year pool of 2 nodes. It returns the store and 10:00.
func story(ctx context.Context) (*respool.Service, time.Time) {
	rc, err := domain.NewRateCard("CNY", domain.Flavor{
		ID: "modelarts.vm.gpu.t4u8", Kind: domain.GPU,
		Hourly: domain.MustMoney("12.50"), Monthly: domain.MustMoney("6200"),
		Regions: []string{"cn-north-4"},
	})
	if err != nil {
		log.Fatal(err)
	}
	svc, err := respool.New(ctx, respool.Config{Catalog: rc})
	if err != nil {
		log.Fatal(err)
	}
	t0 := time.Date(2026, 3, 10, 10, 0, 0, 0, domain.DefaultZone())
	cmds := []struct {
		at  time.Time
		cmd domain.Command
	}{
		{t0, domain.CreatePool{Cmd: domain.Cmd{ID: "c1", Account: "acme"}, Pool: "train-a", Name: "train_a",
			Type: domain.Training, Billing: domain.PayPerUse, Flavor: "modelarts.vm.gpu.t4u8", Region: "cn-north-4", Nodes: 3}},
		{t0.Add(2 * time.Hour), domain.ScaleIn{Cmd: domain.Cmd{ID: "c2", Account: "acme"}, Pool: "train-a",
			Nodes: []domain.NodeID{"n-0003"}}},
		{t0, domain.CreatePool{Cmd: domain.Cmd{ID: "c3", Account: "acme"}, Pool: "train-y", Name: "train_y",
			Type: domain.Training, Billing: domain.Prepaid, Flavor: "modelarts.vm.gpu.t4u8", Region: "cn-north-4",
			Nodes: 2, Months: 12}},
	}
	for _, c := range cmds {
		if _, err := svc.Handle(ctx, c.at, c.cmd); err != nil {
			log.Fatal(err)
		}
	}
	return svc, t0
}

// Read which nodes a pool has now and had at a past instant.
func ExampleNodeList() {
	ctx := context.Background()
	svc, t0 := story(ctx)

	nodes := projections.NewNodeList(projections.Options{})
	if err := projections.NewRunner(svc.Store(), nodes).CatchUp(ctx); err != nil {
		log.Fatal(err)
	}
	now, _ := nodes.Nodes("train-a")
	for _, n := range now {
		fmt.Println(n.ID, n.AZ, "added", n.Added.In(domain.DefaultZone()).Format(time.DateTime))
	}
	then, _ := nodes.NodesAt("train-a", t0.Add(time.Hour))
	fmt.Println("at 11:00:", len(then), "nodes")
	for _, p := range nodes.Pools("acme") {
		fmt.Println(p.ID, p.Billing, p.Status, p.Nodes)
	}
	// Output:
	// n-0001 az1 added 2026-03-10 10:00:00
	// n-0002 az2 added 2026-03-10 10:00:00
	// at 11:00: 3 nodes
	// train-a pay-per-use running 2
	// train-y prepaid running 2
}

// Read what a pool has cost as of an instant, its hourly records and the
// events each comes from.
func ExampleCharges() {
	ctx := context.Background()
	svc, t0 := story(ctx)

	charges := projections.NewCharges(svc.Policy(), projections.Options{})
	if err := projections.NewRunner(svc.Store(), charges).CatchUp(ctx); err != nil {
		log.Fatal(err)
	}
	asOf := t0.Add(2*time.Hour + 30*time.Minute)
	a, _ := charges.AsOf("train-a", asOf)
	fmt.Println("accrued:", a.Total(2, domain.RoundHalfUp), a.Currency) // 3 x 2 h + 2 x 0.5 h at 12.50
	for _, r := range charges.Records("train-a", t0, asOf) {
		fmt.Println(r.Hour.Format("15:04"), r.NodeSeconds, r.Amount, "open:", r.Open, "from:", r.Sources[len(r.Sources)-1])
	}
	// Output:
	// accrued: 87.5 CNY
	// 10:00 10800 37.5 open: false from: pool-train-a v2..v4 @4..6
	// 11:00 10800 37.5 open: false from: pool-train-a v2..v4 @4..6
	// 12:00 3600 12.5 open: true from: pool-train-a v5 @7
}

// Read bill months and prepaid charges, with the 1-year discount and the
// amortized daily cost.
func ExampleCharges_Months() {
	ctx := context.Background()
	svc, t0 := story(ctx)

	charges := projections.NewCharges(svc.Policy(), projections.Options{})
	if err := projections.NewRunner(svc.Store(), charges).CatchUp(ctx); err != nil {
		log.Fatal(err)
	}
	for _, m := range charges.AccountMonths("acme", t0.Add(30*24*time.Hour)) {
		fmt.Println(m.Month, "records:", m.Records, "pay-per-use:", m.PayPerUse, "prepaid:", m.Prepaid, "total:", m.Total)
	}
	for _, l := range charges.Prepaid("train-y") {
		fmt.Println("list", l.ListPrice, "paid", l.Charge, "discount", l.Discount, "per day", l.PerDay, "over", l.Days, "days")
	}
	// Output:
	// 2026-03 records: 518 pay-per-use: 12975 prepaid: 124000 total: 136975
	// 2026-04 records: 202 pay-per-use: 5050 prepaid: 0 total: 5050
	// list 148800 paid 124000 discount 24800 per day 338.79781421 over 366 days
}
