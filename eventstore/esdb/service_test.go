package esdb_test

import (
	"context"
	"testing"
	"time"

	"github.com/respool/respool"
	"github.com/respool/respool/domain"
	"github.com/respool/respool/eventstore/esdb"
	"github.com/respool/respool/eventstore/esdb/esdbtest"
	"github.com/respool/respool/projections"
)

// TestServiceOnEsdb runs the Service on this store through the real client:
// commands, reservations, a duplicate (R20), a rejection, time-driven
// renewal and expiry, then a restart of both the Service and the store that
// finds every pool as it was.
func TestServiceOnEsdb(t *testing.T) {
	ctx := context.Background()
	srv := esdbtest.Start(t)
	cfg := esdb.Config{URL: srv.URL(), Prefix: uniquePrefix()}
	store, err := esdb.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := domain.NewRateCard("CNY", domain.Flavor{ID: "gpu", Kind: domain.GPU,
		Hourly: domain.MustMoney("12.50"), Monthly: domain.MustMoney("6200"),
		Regions: []string{"cn-north-4"}, Stock: map[string]int{"cn-north-4": 6}})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := respool.New(ctx, respool.Config{Store: store, Catalog: rc})
	if err != nil {
		t.Fatal(err)
	}
	zone := domain.DefaultZone()
	t0 := time.Date(2026, 1, 31, 10, 0, 0, 0, zone)
	acme := func(id string) domain.Cmd { return domain.Cmd{ID: domain.CommandID(id), Account: "acme"} }
	create := domain.CreatePool{Cmd: acme("c1"), Pool: "p1", Name: "p1", Type: domain.Training,
		Billing: domain.PayPerUse, Flavor: "gpu", Region: "cn-north-4", Nodes: 2}
	prepaid := domain.CreatePool{Cmd: acme("c2"), Pool: "p2", Name: "p2", Type: domain.Training,
		Billing: domain.Prepaid, Months: 1, AutoRenew: true, Flavor: "gpu", Region: "cn-north-4", Nodes: 1}
	for _, c := range []domain.Command{create, prepaid, domain.ScaleOut{Cmd: acme("s1"), Pool: "p1", Nodes: 3}} {
		if _, err := svc.Handle(ctx, t0, c); err != nil {
			t.Fatal(err)
		}
	}
	if r, err := svc.Handle(ctx, t0, create); err != nil || !r.Duplicate {
		t.Fatalf("retried create: %+v %v (R20)", r, err)
	}
	if _, err := svc.Handle(ctx, t0, domain.ScaleOut{Cmd: acme("s2"), Pool: "p1", Nodes: 1}); domain.CodeOf(err) != domain.CodeFlavorSoldOut {
		t.Fatalf("7th node of 6: %v (R5)", err)
	}
	if err := svc.Advance(ctx, time.Date(2026, 4, 2, 0, 0, 0, 0, zone)); err != nil {
		t.Fatal(err)
	}
	p2, err := svc.Pool(ctx, "acme", "p2")
	if err != nil || p2.Renewals != 2 {
		t.Fatalf("auto-renewals: %d %v (R24)", p2.Renewals, err)
	}
	head, err := store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	store2, err := esdb.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer store2.Close()
	svc2, err := respool.New(ctx, respool.Config{Store: store2, Catalog: rc})
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := store2.Head(ctx); h != head {
		t.Fatalf("reopened head %d, want %d", h, head)
	}
	p1, err := svc2.Pool(ctx, "acme", "p1")
	if err != nil || len(p1.Nodes) != 5 {
		t.Fatalf("p1 after restart: %d nodes, %v", len(p1.Nodes), err)
	}
	if r, err := svc2.Handle(ctx, t0, domain.ScaleOut{Cmd: acme("s1"), Pool: "p1", Nodes: 3}); err != nil || !r.Duplicate {
		t.Fatalf("retry after restart: %+v %v (R20)", r, err)
	}

	// Projections rebuilt from this store's log agree with the Service.
	nodes := projections.NewNodeList(projections.Options{})
	charges := projections.NewCharges(domain.Policy{}, projections.Options{})
	if err := projections.NewRunner(store2, nodes, charges).CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	now, ok := nodes.Nodes("p1")
	if !ok || len(now) != 5 {
		t.Fatalf("node list of p1: %d nodes (%v)", len(now), ok)
	}
	// p1: 5 nodes x 12.50 for one day; p2: three prepaid 1-month terms.
	day := t0.Add(24 * time.Hour)
	if a, _ := charges.AsOf("p1", day); !a.Total(2, domain.RoundHalfUp).Equal(domain.MustMoney("1500")) {
		t.Fatalf("p1 as of a day later: %s, want 1500", a.Total(2, domain.RoundHalfUp))
	}
	if a, _ := charges.AsOf("p2", time.Date(2026, 4, 1, 0, 0, 0, 0, zone)); !a.Total(2, domain.RoundHalfUp).Equal(domain.MustMoney("18600")) {
		t.Fatalf("p2 prepaid: %s, want 18600", a.Total(2, domain.RoundHalfUp))
	}
}
