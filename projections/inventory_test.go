package projections_test

import (
	"testing"

	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/projections"
	"github.com/respool/respool/projections/internal/gen"
)

func TestInventory(t *testing.T) {
	t.Parallel()
	st := eventstore.NewMemory()
	b := gen.New(st)
	b.OpenAccount(at(t, "2026-03-10T09:00:00+08:00"), "acme", 16)
	b.Create(at(t, "2026-03-10T10:00:00+08:00"), "acme", "p1", 4)
	b.ScaleOut(at(t, "2026-03-10T11:00:00+08:00"), "p1", 3)
	b.ScaleIn(at(t, "2026-03-10T12:00:00+08:00"), "p1", 2)
	b.Create(at(t, "2026-03-10T10:00:00+08:00"), "acme", "p2", 2)
	b.Create(at(t, "2026-03-10T10:00:00+08:00"), "other", "p3", 6)
	b.Delete(at(t, "2026-03-10T13:00:00+08:00"), "p2")
	inv := projections.NewInventory(gen.RateCard(40), projections.Options{})
	if err := projections.NewRunner(st, inv).CatchUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	// R5: 4 + 3 - 2 (p1) + 2 - 2 (p2) + 6 (p3) = 11 in use of 40.
	want := projections.StockLevel{Flavor: gen.Flavor, Region: gen.Region, InUse: 11, Limited: true, Capacity: 40, Left: 29}
	if got := inv.Stock(gen.Flavor, gen.Region); got != want {
		t.Errorf("R5: stock = %+v, want %+v", got, want)
	}
	if got := inv.StockLevels(); len(got) != 1 || got[0] != want {
		t.Errorf("R5: stock levels = %+v", got)
	}
	// R6: acme holds 5 of its 16; other has no quota.
	if got := inv.Quota("acme", gen.Flavor); got != (projections.QuotaLevel{Account: "acme", Flavor: gen.Flavor, Used: 5, Limited: true, Quota: 16, Left: 11}) {
		t.Errorf("R6: acme quota = %+v", got)
	}
	if got := inv.Quota("other", gen.Flavor); got.Limited || got.Used != 6 {
		t.Errorf("R6: other quota = %+v, want 6 used, unlimited", got)
	}
	if got := inv.Quotas("acme"); len(got) != 1 || got[0].Left != 11 {
		t.Errorf("R6: acme quotas = %+v", got)
	}
	if got := inv.Stock("other.flavor", "nowhere"); got.Limited || got.InUse != 0 {
		t.Errorf("unknown flavor = %+v", got)
	}
	unlimited := projections.NewInventory(gen.RateCard(0), projections.Options{})
	if err := projections.NewRunner(st, unlimited).CatchUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := unlimited.Stock(gen.Flavor, gen.Region); got.Limited || got.InUse != 11 {
		t.Errorf("unlimited stock = %+v", got)
	}
}
