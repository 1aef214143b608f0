package respool

import (
	"context"
	"testing"
	"time"

	"github.com/respool/respool/domain"
)

// A command that fetched a pool's entry, and finds by the time it holds the
// lock that the entry was let go of, or let go of and reused for another
// pool, must fetch the pool's entry again. Otherwise it would decide on
// another pool's state, or write to an entry let go of while a newer entry
// (made in between, by a query) stays as it was before: here, the expiry that
// Advance carries out would look as if it had made no progress.
func TestLockPoolFetchesAgainWhatWasLetGo(t *testing.T) {
	ctx := context.Background()
	gpu := domain.FlavorID("modelarts.vm.gpu.t4u8")
	rc, err := domain.NewRateCard("CNY", domain.Flavor{ID: gpu, Kind: domain.GPU,
		Hourly: domain.MustMoney("12.50"), Monthly: domain.MustMoney("6200"),
		Regions: []string{"cn-north-4"}, Stock: map[string]int{"cn-north-4": 100}})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// Each case overtakes the expiry's lockPool between its fetch and its
	// lock. A query about another pool lets go of p1 (nothing is due in it
	// while its expiry is under way), and its entry becomes a spare.
	for _, tc := range []struct {
		name string
		then func(t *testing.T, s *Service)
	}{
		{"let go, and read back into another entry", func(t *testing.T, s *Service) {
			// Another spare is on top, so p1 is read back into it.
			s.mu.Lock()
			s.spare = append(s.spare, new(poolEntry))
			s.mu.Unlock()
			if _, err := s.Pool(ctx, "acme", "p1"); err != nil {
				t.Error(err)
			}
		}},
		{"let go, and reused for another pool", func(t *testing.T, s *Service) {
			if _, err := s.Pool(ctx, "acme", "p3"); domain.CodeOf(err) != domain.CodeNotFound {
				t.Errorf("p3: %v", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(ctx, Config{Catalog: rc, PoolCache: 1})
			if err != nil {
				t.Fatal(err)
			}
			c := domain.CreatePool{Cmd: domain.Cmd{ID: "create-p1", Account: "acme"}, Pool: "p1", Name: "p1",
				Type: domain.Training, Billing: domain.Prepaid, Months: 1, Flavor: gpu, Region: "cn-north-4", Nodes: 1}
			if _, err := s.Handle(ctx, t0, c); err != nil {
				t.Fatal(err)
			}
			overtaken := false
			testHookLockPool = func(id domain.PoolID) {
				if id != "p1" {
					return
				}
				testHookLockPool = nil
				overtaken = true
				if _, err := s.Pool(ctx, "acme", "p2"); domain.CodeOf(err) != domain.CodeNotFound {
					t.Errorf("p2: %v", err)
				}
				tc.then(t, s)
			}
			defer func() { testHookLockPool = nil }()
			if err := s.Advance(ctx, t0.Add(35*24*time.Hour)); err != nil {
				t.Fatal(err)
			}
			if !overtaken {
				t.Fatal("the test no longer overtakes the expiry's lock")
			}
			p, err := s.Pool(ctx, "acme", "p1")
			if err != nil {
				t.Fatal(err)
			}
			if p.Status() != domain.StatusExpired {
				t.Fatalf("p1 is %s, want expired", p.Status())
			}
		})
	}
}
