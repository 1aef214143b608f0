// Quickstart: buy a pay-per-use training pool and a year-up-front one, scale
// the first through a working day, let the clock run for a year, and print
// what happened. Run it with:
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/respool/respool"
	"github.com/respool/respool/domain"
)

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	rc, err := domain.NewRateCard("CNY", domain.Flavor{
		ID: "modelarts.vm.gpu.t4u8", Kind: domain.GPU,
		Hourly: domain.MustMoney("12.50"), Monthly: domain.MustMoney("6200"),
		Regions: []string{"cn-north-4"}, Stock: map[string]int{"cn-north-4": 16},
	})
	if err != nil {
		return err
	}
	svc, err := respool.New(ctx, respool.Config{Catalog: rc}) // in memory: nothing to install
	if err != nil {
		return err
	}
	zone := domain.DefaultZone()
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, zone)
	acme := func(id string) domain.Cmd { return domain.Cmd{ID: domain.CommandID(id), Account: "acme"} }
	steps := []struct {
		at  time.Time
		cmd domain.Command
	}{
		{start, domain.CreatePool{Cmd: acme("create-ppu"), Pool: "train-ppu", Name: "train_ppu",
			Type: domain.Training, Billing: domain.PayPerUse, Flavor: "modelarts.vm.gpu.t4u8", Region: "cn-north-4", Nodes: 4}},
		{start, domain.CreatePool{Cmd: acme("create-yearly"), Pool: "train-yearly", Name: "train_yearly",
			Type: domain.Training, Billing: domain.Prepaid, Months: 12, AutoRenew: false,
			Flavor: "modelarts.vm.gpu.t4u8", Region: "cn-north-4", Nodes: 4}},
		{start.Add(2 * time.Hour), domain.ScaleOut{Cmd: acme("peak"), Pool: "train-ppu", Nodes: 8}},
		{start.Add(9 * time.Hour), domain.ScaleIn{Cmd: acme("evening"), Pool: "train-ppu",
			Nodes: []domain.NodeID{"n-0005", "n-0006", "n-0007", "n-0008", "n-0009", "n-0010", "n-0011", "n-0012"}}},
		{start.Add(10 * time.Hour), domain.ScaleOut{Cmd: acme("too-many"), Pool: "train-ppu", Nodes: 9}},
		{start.Add(11 * time.Hour), domain.ScaleOut{Cmd: acme("yearly-scale"), Pool: "train-yearly", Nodes: 1}},
	}
	for _, s := range steps {
		res, err := svc.Handle(ctx, s.at, s.cmd)
		switch {
		case err != nil:
			fmt.Printf("%s  %-14s rejected: %v\n", s.at.Format("2006-01-02 15:04"), s.cmd.CommandID(), err)
		default:
			fmt.Printf("%s  %-14s ok: %d events on %s\n", s.at.Format("2006-01-02 15:04"), s.cmd.CommandID(), len(res.Events), res.Pool)
		}
	}
	if err := svc.Advance(ctx, time.Date(2027, 3, 1, 0, 0, 0, 0, zone)); err != nil {
		return err
	}
	fmt.Println()
	for _, id := range svc.Pools("acme") {
		p, err := svc.Pool(ctx, "acme", id)
		if err != nil {
			return err
		}
		fmt.Printf("%-13s %-11s %-8s %2d nodes", p.ID, p.Billing, p.Status(), len(p.Nodes))
		if p.Billing == domain.Prepaid {
			fmt.Printf("  term to %s, then %s since %s", p.Term.End.In(zone).Format(time.DateOnly), p.Status(), p.PhaseSince.In(zone).Format(time.DateOnly))
		}
		fmt.Println()
	}
	h, err := svc.Store().Head(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "\n%d events in the log\n", h)
	return nil
}
