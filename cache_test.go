package respool_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/respool/respool"
	"github.com/respool/respool/domain"
	"github.com/respool/respool/eventstore"
)

// A Service that keeps one pool reads the others back from the store when
// they are used again: their state, the account's list of pools and the
// command ids already applied (R20) are as if it had kept them all.
func TestPoolCacheReadsBackWhatItLetGo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := cachedService(t, nil, 100, 1)
	var ids []domain.PoolID
	for i := 1; i <= 5; i++ {
		id := domain.PoolID(fmt.Sprintf("p%d", i))
		ids = append(ids, id)
		must(t)(s.Handle(ctx, t0, create(string(id), "acme", i)))
	}
	if n := respool.KeptPools(s); n != 1 {
		t.Fatalf("keeps %d pools, want 1", n)
	}
	for i, id := range ids {
		r := must(t)(s.Handle(ctx, t0.Add(1e9), domain.ScaleOut{Cmd: domain.Cmd{ID: domain.CommandID("out-" + id), Account: "acme"}, Pool: id, Nodes: 1}))
		if r.Duplicate || r.Version != eventstore.Version(i+3) { // Created, i+1 NodeAdded, one more
			t.Fatalf("scale-out of %s: %+v", id, r)
		}
	}
	// R20: resending a create the Service has let go of is a duplicate and
	// writes nothing.
	before := head(t, s)
	if r := must(t)(s.Handle(ctx, t0.Add(2e9), create("p1", "acme", 1))); !r.Duplicate {
		t.Fatalf("resent create: %+v", r)
	}
	if h := head(t, s); h != before {
		t.Fatalf("resent create wrote %d events", h-before)
	}
	if got := s.Pools("acme"); !slices.Equal(got, ids) {
		t.Fatalf("Pools = %v, want %v", got, ids)
	}
	for i, id := range ids {
		p, err := s.Pool(ctx, "acme", id)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Nodes) != i+2 {
			t.Fatalf("%s has %d nodes, want %d", id, len(p.Nodes), i+2)
		}
	}
	// R19 holds for a pool read back: another account's is not_found.
	if _, err := s.Handle(ctx, t0.Add(3e9), domain.ScaleOut{Cmd: domain.Cmd{ID: "x", Account: "other"}, Pool: "p2", Nodes: 1}); domain.CodeOf(err) != domain.CodeNotFound {
		t.Fatalf("another account's pool: %v", err)
	}
}

// Pools with a transition due are kept beyond the bound, and Advance
// carries out their transitions.
func TestPoolCacheKeepsPoolsWithSomethingDue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := cachedService(t, nil, 100, 1)
	for i := 1; i <= 3; i++ {
		c := create(fmt.Sprintf("prepaid-%d", i), "acme", 1)
		c.Billing, c.Months = domain.Prepaid, 1
		must(t)(s.Handle(ctx, t0, c))
	}
	must(t)(s.Handle(ctx, t0, create("ppu", "acme", 1)))
	if n := respool.KeptPools(s); n != 4 {
		t.Fatalf("keeps %d pools, want the 3 with an expiry due and the one the bound allows", n)
	}
	if err := s.Advance(ctx, at(2026, 12, 31, 0)); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		p, err := s.Pool(ctx, "acme", domain.PoolID(fmt.Sprintf("prepaid-%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		if p.Status() != domain.StatusDeleted { // expired, then retention ran out (R26)
			t.Fatalf("prepaid-%d is %s", i, p.Status())
		}
	}
	// Nothing is due any more: the ring shrinks back to the bound as new
	// pools come in, one pool let go of at each.
	for i := 1; i <= 3; i++ {
		must(t)(s.Handle(ctx, at(2026, 12, 31, 0), create(fmt.Sprintf("later-%d", i), "acme", 1)))
	}
	if n := respool.KeptPools(s); n != 1 {
		t.Fatalf("keeps %d pools once nothing is due, want 1", n)
	}
}

// A restarted Service folds the whole log, then keeps only what the bound
// allows (and what has something due).
func TestPoolCacheAfterRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := eventstore.NewMemory()
	s := cachedService(t, store, 100, -1)
	for i := 0; i < 20; i++ {
		must(t)(s.Handle(ctx, t0, create(fmt.Sprintf("p%d", i), "acme", 1)))
	}
	if n := respool.KeptPools(s); n != 20 {
		t.Fatalf("a Service with no bound keeps %d of 20 pools", n)
	}
	again := cachedService(t, store, 100, 4)
	if n := respool.KeptPools(again); n != 4 {
		t.Fatalf("restarted, keeps %d pools, want 4", n)
	}
	if got := again.Pools("acme"); len(got) != 20 {
		t.Fatalf("restarted, knows %d pools", len(got))
	}
	r := must(t)(again.Handle(ctx, t0, domain.ScaleOut{Cmd: domain.Cmd{ID: "out", Account: "acme"}, Pool: "p0", Nodes: 2}))
	if r.Version != 4 {
		t.Fatalf("scale-out after restart: version %d, want 4", r.Version)
	}
}

// Many goroutines on one Service that keeps one pool: pools are let go of
// and read back all the time, while others wait on them. In one process
// nothing may conflict: no command gives up, no reservation is given back,
// and every pool's state is what its stream folds to.
func TestPoolCacheUnderConcurrency(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := eventstore.NewMemory()
	s := cachedService(t, store, 1<<20, 1)
	const shared = 4
	for i := 0; i < shared; i++ {
		must(t)(s.Handle(ctx, t0, create(fmt.Sprintf("shared-%d", i), "acme", 1)))
	}
	var wg sync.WaitGroup
	for g := 0; g < 32; g++ {
		wg.Go(func() {
			for i := 0; i < 30; i++ {
				id := domain.CommandID(fmt.Sprintf("g%d-%d", g, i))
				var cmd domain.Command
				switch i % 3 {
				case 0:
					cmd = create(fmt.Sprintf("own-%d-%d", g, i), domain.AccountID(fmt.Sprintf("acct-%d", g%4)), 1)
				case 1:
					cmd = domain.ScaleOut{Cmd: domain.Cmd{ID: id, Account: "acme"}, Pool: domain.PoolID(fmt.Sprintf("shared-%d", (g+i)%shared)), Nodes: 1}
				default:
					if _, err := s.Pool(ctx, "acme", domain.PoolID(fmt.Sprintf("shared-%d", (g*i)%shared))); err != nil {
						t.Error(err)
					}
					continue
				}
				if _, err := s.Handle(ctx, t0.Add(1e9), cmd); err != nil {
					t.Errorf("%s: %v", id, err)
				}
			}
		})
	}
	wg.Wait()
	nodes := map[domain.PoolID]int{}
	eachEvent(t, store, func(rec eventstore.Record, e domain.Event) {
		switch e := e.(type) {
		case *domain.NodeAdded:
			nodes[e.Pool]++
		case *domain.StockReturned, *domain.QuotaFreed:
			t.Fatalf("position %d: %s: a reservation was given back, so a command conflicted in one process", rec.Position, rec.Type)
		}
	})
	for i := 0; i < shared; i++ {
		id := domain.PoolID(fmt.Sprintf("shared-%d", i))
		p, err := s.Pool(ctx, "acme", id)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Nodes) != nodes[id] {
			t.Fatalf("%s: the Service says %d nodes, its stream %d", id, len(p.Nodes), nodes[id])
		}
	}
	if got, want := sum(nodes), shared+2*32*10; got != want { // 10 creates and 10 scale-outs each
		t.Fatalf("%d nodes added, want %d", got, want)
	}
	if n := respool.KeptPools(s); n > 1+16 {
		t.Fatalf("keeps %d pools, bound 1", n)
	}
}
