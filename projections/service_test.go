package projections_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/respool/respool"
	"github.com/respool/respool/domain"
	"github.com/respool/respool/projections"
	"github.com/respool/respool/projections/internal/gen"
)

// TestAgreesWithService drives respool.Service with random commands and the
// passing of time (auto-renewals, arrears, grace, retention freezes and
// system deletions), and checks after each day that the projections,
// caught up incrementally, agree with the Service's own state: each pool's
// nodes and status, each account's quota use, and, for accounts with a
// limited balance, the pay-per-use accrual, which the domain keeps as a
// burn rate per account (R27) and Charges per node (R28): the two must be
// equal to the price-second.
func TestAgreesWithService(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, err := respool.New(ctx, respool.Config{Catalog: gen.RateCard(200)})
	if err != nil {
		t.Fatal(err)
	}
	s := newProjections(svc.Policy())
	runner := projections.NewRunner(svc.Store(), s.all()...)
	r := rand.New(rand.NewPCG(5, 5))
	accounts := []domain.AccountID{"a1", "a2", "a3"}
	now := gen.Start
	cmd := 0
	handle := func(c domain.Command) {
		if _, err := svc.Handle(ctx, now, c); err != nil && domain.CodeOf(err) == "" {
			t.Fatal(err)
		}
	}
	next := func(a domain.AccountID) domain.Cmd {
		cmd++
		return domain.Cmd{ID: domain.CommandID(fmt.Sprintf("c%d", cmd)), Account: a}
	}
	for i, a := range accounts {
		bal := domain.MustMoney(fmt.Sprint(10000 * (i + 1)))
		handle(domain.OpenAccount{Cmd: next(a), Quota: map[domain.FlavorID]int{gen.Flavor: 30}, Balance: &bal})
	}
	var pools []domain.PoolID
	owner := map[domain.PoolID]domain.AccountID{}
	for day := range 90 {
		for _, a := range accounts {
			if r.IntN(4) == 0 { // pays arrears now and then (R27)
				handle(domain.TopUp{Cmd: next(a), Amount: domain.MustMoney("6000")})
			}
		}
		for range r.IntN(6) {
			now = now.Add(time.Duration(r.IntN(6*3600)+1) * time.Second)
			a := accounts[r.IntN(len(accounts))]
			if len(pools) == 0 || r.IntN(4) == 0 {
				id := domain.PoolID(fmt.Sprintf("p%d", len(pools)+1))
				c := domain.CreatePool{Cmd: next(a), Pool: id, Name: "n", Type: domain.Training,
					Billing: domain.PayPerUse, Flavor: gen.Flavor, Region: gen.Region, Nodes: r.IntN(4) + 1}
				if r.IntN(3) == 0 {
					c.Billing, c.Months, c.AutoRenew = domain.Prepaid, 1, r.IntN(2) == 0
				}
				handle(c)
				pools = append(pools, id)
				owner[id] = a
				continue
			}
			id := pools[r.IntN(len(pools))]
			a = owner[id]
			p, err := svc.Pool(ctx, a, id)
			if errors.Is(err, domain.ErrNotFound) {
				continue // its creation was rejected
			}
			switch k := r.IntN(11); {
			case k < 3:
				handle(domain.ScaleOut{Cmd: next(a), Pool: id, Nodes: r.IntN(3) + 1})
			case k < 5 && len(p.Nodes) > 1:
				handle(domain.ScaleIn{Cmd: next(a), Pool: id, Nodes: []domain.NodeID{p.Nodes[len(p.Nodes)-1].ID}})
			case k < 6:
				handle(domain.ReportFault{Cmd: next(a), Pool: id})
			case k < 7:
				handle(domain.Rectify{Cmd: next(a), Pool: id})
			case k < 8:
				handle(domain.Renew{Cmd: next(a), Pool: id, Months: 1})
			case k < 9:
				handle(domain.DeletePool{Cmd: next(a), Pool: id})
			case k < 10:
				handle(domain.SetAutoRenew{Cmd: next(a), Pool: id, On: true})
			default:
				handle(domain.TopUp{Cmd: next(a), Amount: domain.MustMoney("4000")})
			}
		}
		now = gen.Start.Add(time.Duration(day+1) * 24 * time.Hour)
		if err := svc.Advance(ctx, now); err != nil {
			t.Fatal(err)
		}
		if err := runner.CatchUp(ctx); err != nil {
			t.Fatal(err)
		}
		compareWithService(t, ctx, svc, s, accounts, now)
	}
	// The story must have gone through what it is meant to check.
	seen := map[string]int{}
	for rec, err := range svc.Store().ReadAll(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		e, err := projections.Decode(rec)
		if err != nil {
			t.Fatal(err)
		}
		switch e := e.Event.(type) {
		case *domain.StatusChanged:
			seen[string(e.To)+"/"+e.Reason]++
		case *domain.Deleted:
			seen["deleted/"+e.Reason]++
		default:
			seen[rec.Type]++
		}
	}
	t.Logf("the story: %v", seen)
	for _, k := range []string{"frozen/retention", "expired/arrears", "deleted/retention_ended", "running/arrears_paid",
		"deleted/user", domain.TypeNodeRemoved, domain.TypeRenewed, domain.TypeRateChanged} {
		if seen[k] == 0 {
			t.Errorf("the story never had %s: %v", k, seen)
		}
	}
}

func compareWithService(t *testing.T, ctx context.Context, svc *respool.Service, s set, accounts []domain.AccountID, now time.Time) {
	t.Helper()
	for _, a := range accounts {
		for _, id := range svc.Pools(a) {
			p, err := svc.Pool(ctx, a, id)
			if err != nil {
				t.Fatal(err)
			}
			info, ok := s.nl.Pool(id)
			if !ok {
				t.Fatalf("%s: pool %s unknown to the node list", now, id)
			}
			got, _ := s.nl.Nodes(id)
			if len(got) != len(p.Nodes) || info.Status != p.Status() || info.Nodes != len(p.Nodes) {
				t.Fatalf("%s: pool %s: node list has %d nodes, %s; the service %d, %s", now, id, len(got), info.Status, len(p.Nodes), p.Status())
			}
			for i := range got {
				if got[i].ID != p.Nodes[i].ID || got[i].AZ != p.Nodes[i].AZ || !got[i].Added.Equal(p.Nodes[i].Added) {
					t.Fatalf("%s: pool %s node %d: %+v, the service %+v", now, id, i, got[i], p.Nodes[i])
				}
			}
		}
		acct, err := svc.Account(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if q := s.inv.Quota(a, gen.Flavor); q.Used != acct.Used[gen.Flavor] || q.Quota != acct.Quota[gen.Flavor] {
			t.Fatalf("%s: account %s quota %+v, the service uses %d of %d", now, a, q, acct.Used[gen.Flavor], acct.Quota[gen.Flavor])
		}
		if acct.Limited {
			want := acct.AccruedUntil(now)
			got := s.ch.AccountAsOf(a, now).PayPerUse
			if got.CmpAccrual(want) != 0 {
				t.Fatalf("%s: account %s: charges accrued %s price-seconds, the account's burn rate %s", now, a, accrual(got), accrual(want))
			}
		}
	}
}
