package simulator_test

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/respool/respool"
	"github.com/respool/respool/simulator"
)

func runSrc(t *testing.T, src string, opt simulator.Options) *simulator.Report {
	t.Helper()
	sc, err := simulator.Parse("t.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := simulator.Run(context.Background(), sc, opt)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// A scale_in count removes the newest nodes as the pool is at that instant
// (R16), and an action at the instant of a pool's creation comes after it.
func TestScaleInNewestAndSameInstant(t *testing.T) {
	t.Parallel()
	src := strings.Replace(valid, `actions:
  - {at: 2026-02-01T00:00:00+08:00, account: acme, pool: train-a, scale_out: 2}`, `actions:
  - {at: 2026-01-01T00:00:00+08:00, account: acme, pool: train-a, scale_out: 2}
  - {at: 2026-02-01T00:00:00+08:00, account: acme, pool: train-a, scale_in: 1}
  - {at: 2026-02-02T00:00:00+08:00, account: acme, pool: train-a, scale_in: [n-0001]}
  - {at: 2026-02-03T00:00:00+08:00, account: acme, pool: train-a, scale_in: 9}`, 1)
	var nodes []string
	rep := runSrc(t, src, simulator.Options{Inspect: func(v string, svc *respool.Service) error {
		if v != "base" {
			return nil
		}
		p, err := svc.Pool(context.Background(), "acme", "train-a")
		for _, n := range p.Nodes {
			nodes = append(nodes, string(n.ID))
		}
		return err
	}})
	base := rep.Variants[0]
	if got := codes(base); !slices.Equal(got, []string{"scale_in train-a last_node"}) {
		t.Errorf("rejections %v, want only the scale-in of 9 (R16: a pool keeps a node)", got)
	}
	if want := []string{"n-0002", "n-0003", "n-0004", "n-0005"}; !slices.Equal(nodes, want) {
		t.Errorf("nodes left %v, want %v: the newest (n-0006) and n-0001 removed", nodes, want)
	}
	// 6 nodes for 31 days, 5 for 1 day, 4 for the rest of February (27
	// days): 12.50 x (6 x 744 + 5 x 24 + 4 x 648) node-hours (R28)
	equalAmount(t, "base", base.Total, "89700")
}

// A variant whose every pool is refused reports no pool, a zero total and
// its rejections, with lists, never nulls.
func TestAllRejected(t *testing.T) {
	t.Parallel()
	src := strings.Replace(valid, "region: cn-north-4\n    nodes: 4", "region: ap-southeast-1\n    nodes: 4", 1)
	rep := runSrc(t, src, simulator.Options{})
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	checkSpecJSON(t, buf.Bytes())
	base := rep.Variants[0]
	if len(base.Pools) != 0 || base.Total.String() != "0.00" {
		t.Errorf("pools %v, total %s", base.Pools, base.Total)
	}
	want := []string{"create train-a unknown_flavor", "scale_out train-a not_found"}
	if got := codes(base); !slices.Equal(got, want) {
		t.Errorf("rejections %v, want %v", got, want)
	}
	if msg := base.Rejected[1].Message; !strings.Contains(msg, "its creation was rejected: unknown_flavor") {
		t.Errorf("the scale-out's message does not say why the pool is missing: %q", msg)
	}
	if !strings.Contains(buf.String(), `"pools": []`) {
		t.Errorf("pools is not an empty list")
	}
	for _, w := range []func(io.Writer) error{rep.WriteTable, rep.WriteCSV, rep.WriteHTML} {
		var b bytes.Buffer
		if err := w(&b); err != nil || b.Len() == 0 {
			t.Errorf("writing a report without pools: %v", err)
		}
	}
}

// Variants share nothing: each runs on its own Service.
func TestVariantsAreIndependent(t *testing.T) {
	t.Parallel()
	one := runSrc(t, valid, simulator.Options{Parallel: 1})
	many := runSrc(t, valid, simulator.Options{Parallel: 4})
	var a, b bytes.Buffer
	one.WriteJSON(&a)
	many.WriteJSON(&b)
	if a.String() != b.String() {
		t.Errorf("running variants in parallel changes the report")
	}
	// 4 x 62,000 for the year is more than the balance of 100,000 (R8)
	if got := codes(one.Variants[1]); !slices.Contains(got, "create train-a insufficient_balance") {
		t.Errorf("yearly rejections: %v", got)
	}
}
