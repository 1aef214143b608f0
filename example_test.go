package respool_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/respool/respool"
	"github.com/respool/respool/domain"
)

// The rate card every example buys from.
func exampleCatalog() *domain.RateCard {
	rc, err := domain.NewRateCard("CNY", domain.Flavor{
		ID: "modelarts.vm.gpu.t4u8", Kind: domain.GPU,
		Hourly: domain.MustMoney("12.50"), Monthly: domain.MustMoney("6200"),
		Regions: []string{"cn-north-4"}, Stock: map[string]int{"cn-north-4": 8},
	})
	if err != nil {
		panic(err)
	}
	return rc
}

// Create a pay-per-use pool, scale it out and in, and read its nodes.
func ExampleService_Handle() {
	ctx := context.Background()
	svc, err := respool.New(ctx, respool.Config{Catalog: exampleCatalog()})
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, domain.DefaultZone())
	acme := func(id string) domain.Cmd { return domain.Cmd{ID: domain.CommandID(id), Account: "acme"} }

	_, err = svc.Handle(ctx, now, domain.CreatePool{
		Cmd: acme("req-1"), Pool: "train-a", Name: "train_a",
		Type: domain.Training, Billing: domain.PayPerUse,
		Flavor: "modelarts.vm.gpu.t4u8", Region: "cn-north-4", Nodes: 2,
	})
	if err != nil {
		panic(err)
	}
	_, err = svc.Handle(ctx, now.Add(time.Hour), domain.ScaleOut{Cmd: acme("req-2"), Pool: "train-a", Nodes: 2})
	if err != nil {
		panic(err)
	}
	_, err = svc.Handle(ctx, now.Add(2*time.Hour), domain.ScaleIn{Cmd: acme("req-3"), Pool: "train-a", Nodes: []domain.NodeID{"n-0001"}})
	if err != nil {
		panic(err)
	}

	p, err := svc.Pool(ctx, "acme", "train-a")
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Name, p.Status(), len(p.Nodes), "nodes")
	for _, n := range p.Nodes {
		fmt.Println(n.ID, n.AZ, n.Added.Format("15:04"))
	}
	// Output:
	// train_a running 3 nodes
	// n-0002 az2 09:00
	// n-0003 az3 10:00
	// n-0004 az1 10:00
}

// A rejected command returns a rule error with a stable code, and changes
// nothing.
func ExampleService_Handle_rejected() {
	ctx := context.Background()
	svc, _ := respool.New(ctx, respool.Config{Catalog: exampleCatalog()})
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, domain.DefaultZone())

	_, err := svc.Handle(ctx, now, domain.CreatePool{
		Cmd: domain.Cmd{ID: "req-1", Account: "acme"}, Name: "big",
		Type: domain.Training, Billing: domain.PayPerUse,
		Flavor: "modelarts.vm.gpu.t4u8", Region: "cn-north-4", Nodes: 9,
	})
	fmt.Println(errors.Is(err, domain.ErrFlavorSoldOut), domain.CodeOf(err))
	fmt.Println(err)
	// Output:
	// true flavor_sold_out
	// flavor_sold_out (R5): flavor modelarts.vm.gpu.t4u8 in cn-north-4 has 8 nodes left, 9 asked for
}

// A year up front: 12 months of a training pool for the price of 10, with
// auto-renewal carried out by Advance at 03:00 seven days before expiry.
func ExampleService_Advance() {
	ctx := context.Background()
	svc, _ := respool.New(ctx, respool.Config{Catalog: exampleCatalog()})
	bought := time.Date(2026, 1, 31, 10, 0, 0, 0, domain.DefaultZone())

	res, _ := svc.Handle(ctx, bought, domain.CreatePool{
		Cmd: domain.Cmd{ID: "req-1", Account: "acme"}, Pool: "yearly", Name: "yearly",
		Type: domain.Training, Billing: domain.Prepaid, Months: 12, AutoRenew: true,
		Flavor: "modelarts.vm.gpu.t4u8", Region: "cn-north-4", Nodes: 2,
	})
	created := res.Events[0].(*domain.Created)
	fmt.Println("paid", created.Charge, "instead of", created.ListPrice)

	_ = svc.Advance(ctx, time.Date(2027, 2, 1, 0, 0, 0, 0, domain.DefaultZone()))
	p, _ := svc.Pool(ctx, "acme", "yearly")
	fmt.Println("renewals:", p.Renewals, "term ends", p.Term.End.In(domain.DefaultZone()).Format(time.DateOnly))
	// Output:
	// paid 124000 instead of 148800
	// renewals: 1 term ends 2028-02-01
}
