package projections_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/respool/respool/domain"
	"github.com/respool/respool/projections"
	"github.com/respool/respool/projections/internal/gen"
)

func ids(ns []projections.Node) string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = string(n.ID) + "/" + n.AZ
	}
	return fmt.Sprint(out)
}

func TestNodeList(t *testing.T) {
	t.Parallel()
	s, _ := build(t, domain.Policy{}, func(b *gen.Builder) {
		b.Create(at(t, "2026-03-10T10:00:00+08:00"), "acme", "p1", 3)
		b.ScaleOut(at(t, "2026-03-10T11:00:00+08:00"), "p1", 2)
		b.ScaleIn(at(t, "2026-03-10T12:00:00+08:00"), "p1", 1) // n-0005
		b.Create(at(t, "2026-03-10T10:30:00+08:00"), "acme", "p2", 1)
		b.Create(at(t, "2026-03-10T10:30:00+08:00"), "other", "p3", 1)
		b.Delete(at(t, "2026-03-10T13:00:00+08:00"), "p2")
		b.ScaleOut(at(t, "2026-03-10T14:00:00+08:00"), "p1", 1)
		b.ScaleIn(at(t, "2026-03-10T14:00:00+08:00"), "p1", 1) // n-0006, at the same instant
	})
	tests := []struct {
		name string
		pool domain.PoolID
		at   string // "" for now
		want string
	}{
		{"now", "p1", "", "[n-0001/az1 n-0002/az2 n-0003/az3 n-0004/az1]"},
		{"before creation", "p1", "2026-03-10T09:59:59+08:00", "[]"},
		{"at creation", "p1", "2026-03-10T10:00:00+08:00", "[n-0001/az1 n-0002/az2 n-0003/az3]"},
		{"after scale-out", "p1", "2026-03-10T11:00:00+08:00", "[n-0001/az1 n-0002/az2 n-0003/az3 n-0004/az1 n-0005/az2]"},
		{"just before scale-in", "p1", "2026-03-10T11:59:59.999+08:00", "[n-0001/az1 n-0002/az2 n-0003/az3 n-0004/az1 n-0005/az2]"},
		{"at scale-in", "p1", "2026-03-10T12:00:00+08:00", "[n-0001/az1 n-0002/az2 n-0003/az3 n-0004/az1]"},
		{"added and removed at the same instant never was", "p1", "2026-03-10T14:00:00+08:00", "[n-0001/az1 n-0002/az2 n-0003/az3 n-0004/az1]"},
		{"deleted pool now", "p2", "", "[]"},
		{"deleted pool before deletion", "p2", "2026-03-10T12:59:59+08:00", "[n-0001/az1]"},
		{"deleted pool at deletion", "p2", "2026-03-10T13:00:00+08:00", "[]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ns []projections.Node
			var ok bool
			if tc.at == "" {
				ns, ok = s.nl.Nodes(tc.pool)
			} else {
				ns, ok = s.nl.NodesAt(tc.pool, at(t, tc.at))
			}
			if !ok {
				t.Fatalf("pool %s unknown", tc.pool)
			}
			if got := ids(ns); got != tc.want {
				t.Errorf("nodes = %s, want %s", got, tc.want)
			}
		})
	}
	t.Run("pools of an account", func(t *testing.T) {
		var got []string
		for _, p := range s.nl.Pools("acme") {
			got = append(got, fmt.Sprintf("%s:%s:%d", p.ID, p.Status, p.Nodes))
		}
		if fmt.Sprint(got) != "[p1:running:4 p2:deleted:0]" {
			t.Errorf("pools of acme = %v", got)
		}
		if ps := s.nl.Pools("nobody"); len(ps) != 0 {
			t.Errorf("pools of nobody = %v", ps)
		}
	})
	t.Run("history names the events", func(t *testing.T) {
		h, _ := s.nl.History("p1")
		n5 := h[4]
		if n5.ID != "n-0005" || n5.Current() || n5.AddedBy.From != 6 || n5.RemovedBy.From != 7 ||
			!n5.Removed.Equal(at(t, "2026-03-10T12:00:00+08:00")) {
			t.Errorf("n-0005 = %+v", n5)
		}
		p2, _ := s.nl.History("p2")
		if p2[0].RemovedBy.From != 3 { // the Deleted event
			t.Errorf("p2's node removed by %s, want its Deleted (v3)", p2[0].RemovedBy)
		}
	})
	t.Run("unknown pool", func(t *testing.T) {
		if _, ok := s.nl.Nodes("nope"); ok {
			t.Error("Nodes of an unknown pool: ok")
		}
		if _, ok := s.nl.Pool("nope"); ok {
			t.Error("Pool of an unknown pool: ok")
		}
	})
}

func TestNodeListStatus(t *testing.T) {
	t.Parallel()
	s, _ := build(t, domain.Policy{}, func(b *gen.Builder) {
		b.Create(at(t, "2026-03-10T10:00:00+08:00"), "acme", "p1", 1)
		b.Status(at(t, "2026-03-10T11:00:00+08:00"), "p1", domain.StatusAbnormal, domain.ReasonFault)
		b.Create(at(t, "2026-03-10T10:00:00+08:00"), "acme", "p2", 1)
		b.Freeze(at(t, "2026-03-10T11:00:00+08:00"), "p2")
	})
	for pool, want := range map[domain.PoolID]domain.Status{"p1": domain.StatusAbnormal, "p2": domain.StatusFrozen} {
		p, _ := s.nl.Pool(pool)
		if p.Status != want || p.Nodes != 1 {
			t.Errorf("pool %s: %s with %d nodes, want %s with 1", pool, p.Status, p.Nodes, want)
		}
	}
}

// TestNodeListLargePool checks removal in a pool large enough to be indexed.
func TestNodeListLargePool(t *testing.T) {
	t.Parallel()
	s, _ := build(t, domain.Policy{}, func(b *gen.Builder) {
		b.Create(at(t, "2026-03-10T10:00:00+08:00"), "acme", "p1", 100)
		b.ScaleIn(at(t, "2026-03-10T11:00:00+08:00"), "p1", 60)
		b.ScaleOut(at(t, "2026-03-10T12:00:00+08:00"), "p1", 5)
		b.ScaleIn(at(t, "2026-03-10T13:00:00+08:00"), "p1", 3)
	})
	ns, _ := s.nl.Nodes("p1")
	if len(ns) != 42 || ns[40].ID != "n-0101" || ns[41].ID != "n-0102" {
		t.Errorf("%d nodes, last %v", len(ns), ns[len(ns)-2:])
	}
	then, _ := s.nl.NodesAt("p1", at(t, "2026-03-10T12:30:00+08:00"))
	if len(then) != 45 {
		t.Errorf("%d nodes at 12:30, want 45", len(then))
	}
}

// TestNodeListNodeIDs checks nodes of any id and AZ, not only the names
// respool gives them: ids of up to 8 bytes and longer ones with a common
// prefix, removed in any order, in a small pool and in one large enough to
// be indexed, and more AZ names than the list scans.
func TestNodeListNodeIDs(t *testing.T) {
	t.Parallel()
	nodes := []domain.NodeID{"n", "n-", "n-0001", "n-00010", "n-0001x", "12345678", "123456789",
		"node-0000000001", "node-0000000002", "node-00000000010", "node-0000000001-b"}
	remove := []domain.NodeID{"node-0000000001", "n-", "123456789", "n-0001", "node-00000000010"}
	for _, size := range []int{1, 40} { // the second is indexed
		s, _ := build(t, domain.Policy{}, func(b *gen.Builder) {
			t0 := at(t, "2026-03-10T10:00:00+08:00")
			m := domain.Meta{Pool: "p1", Account: "acme", At: t0, Command: "c1"}
			evs := []domain.Event{&domain.Created{Meta: m, Name: "pool", Type: domain.Training, Billing: domain.PayPerUse,
				Flavor: gen.Flavor, Kind: domain.GPU, Region: gen.Region, Prices: gen.Prices, Nodes: len(nodes)}}
			for i := range size - 1 {
				evs = append(evs, &domain.NodeAdded{Meta: m, Node: domain.NodeName(i + 1), AZ: domain.AZ1})
			}
			for i, n := range nodes {
				evs = append(evs, &domain.NodeAdded{Meta: m, Node: n, AZ: fmt.Sprintf("zone-%d", i)})
			}
			m.At, m.Command = t0.Add(time.Hour), "c2"
			for _, n := range remove {
				evs = append(evs, &domain.NodeRemoved{Meta: m, Node: n})
			}
			b.Append("pool-p1", evs...)
		})
		h, _ := s.nl.History("p1")
		var got []string
		for _, n := range h[size-1:] {
			got = append(got, fmt.Sprintf("%s/%s/%t", n.ID, n.AZ, n.Current()))
		}
		want := "[n/zone-0/true n-/zone-1/false n-0001/zone-2/false n-00010/zone-3/true n-0001x/zone-4/true " +
			"12345678/zone-5/true 123456789/zone-6/false node-0000000001/zone-7/false node-0000000002/zone-8/true " +
			"node-00000000010/zone-9/false node-0000000001-b/zone-10/true]"
		if fmt.Sprint(got) != want {
			t.Errorf("pool of %d nodes: history %v, want %s", size-1+len(nodes), got, want)
		}
	}
}
