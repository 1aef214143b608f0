package projections_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/respool/respool/domain"
	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/projections"
	"github.com/respool/respool/projections/internal/gen"
)

// at parses an RFC 3339 instant.
func at(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// px3600 are prices of 3.60 per node per hour: 0.001 per node-second, so
// that amounts read easily.
var px3600 = domain.Prices{Currency: "CNY", Hourly: domain.MustMoney("3.60"),
	Monthly: domain.MustMoney("6200"), Yearly: domain.MustMoney("62000")}

// set is the three projections of the package.
type set struct {
	nl  *projections.NodeList
	ch  *projections.Charges
	inv *projections.Inventory
}

func newProjections(pol domain.Policy) set {
	return set{
		nl:  projections.NewNodeList(projections.Options{}),
		ch:  projections.NewCharges(pol, projections.Options{}),
		inv: projections.NewInventory(gen.RateCard(100000), projections.Options{}),
	}
}

func (s set) all() []projections.Projection { return []projections.Projection{s.nl, s.ch, s.inv} }

// rebuild builds the projections from the whole store.
func rebuild(t testing.TB, st eventstore.Store, pol domain.Policy) set {
	t.Helper()
	s := newProjections(pol)
	if err := projections.NewRunner(st, s.all()...).CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// build writes a log with fn and rebuilds the projections from it.
func build(t testing.TB, pol domain.Policy, fn func(b *gen.Builder)) (set, *gen.Builder) {
	t.Helper()
	st := eventstore.NewMemory()
	b := gen.New(st)
	b.Cal = pol.Calendar()
	fn(b)
	return rebuild(t, st, pol), b
}

func accrual(a domain.Accrual) string { return a.PriceSeconds().String() }

// dump writes everything the projections answer, for the pools and
// accounts they know, as of the given instants, in a stable text form: two
// sets of projections hold the same state iff their dumps are equal.
func dump(s set, instants ...time.Time) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	accounts := map[domain.AccountID]bool{}
	var order []domain.AccountID
	for _, p := range s.nl.AllPools() {
		w("pool %+v", p)
		if !accounts[p.Account] {
			accounts[p.Account] = true
			order = append(order, p.Account)
		}
		h, _ := s.nl.History(p.ID)
		for _, n := range h {
			w("  node %+v", n)
		}
		for _, t := range instants {
			ns, _ := s.nl.NodesAt(p.ID, t)
			ids := make([]string, len(ns))
			for i, n := range ns {
				ids[i] = string(n.ID)
			}
			a, _ := s.ch.AsOf(p.ID, t)
			w("  at %s: nodes %v payperuse %s prepaid %s", t.UTC().Format(time.RFC3339), ids, accrual(a.PayPerUse), a.Prepaid)
		}
		for _, l := range s.ch.Prepaid(p.ID) {
			w("  prepaid %+v", l)
		}
		if len(instants) > 0 {
			end := instants[len(instants)-1]
			for _, m := range s.ch.Months(p.ID, end) {
				w("  month %+v", m)
			}
			for _, r := range s.ch.Records(p.ID, end.Add(-48*time.Hour), end) {
				w("  record %+v", r)
			}
		}
	}
	for _, a := range order {
		for _, t := range instants {
			am := s.ch.AccountAsOf(a, t)
			w("account %s at %s: payperuse %s prepaid %s", a, t.UTC().Format(time.RFC3339), accrual(am.PayPerUse), am.Prepaid)
		}
		if len(instants) > 0 {
			for _, m := range s.ch.AccountMonths(a, instants[len(instants)-1]) {
				w("account %s month %+v", a, m)
			}
		}
		w("account %s quotas %+v", a, s.inv.Quotas(a))
	}
	w("stock %+v", s.inv.StockLevels())
	w("positions %d %d %d", s.nl.Position(), s.ch.Position(), s.inv.Position())
	return b.String()
}

// instantsOf returns n instants spread over the history that gen.Random
// writes up to end.
func instantsOf(end time.Time, n int) []time.Time {
	out := make([]time.Time, n)
	step := end.Sub(gen.Start) / time.Duration(n-1)
	for i := range out {
		out[i] = gen.Start.Add(time.Duration(i) * step)
	}
	out[n-1] = end.Add(time.Hour)
	return out
}

func records(t testing.TB, st eventstore.Store) []eventstore.Record {
	t.Helper()
	var out []eventstore.Record
	for rec, err := range st.ReadAll(context.Background(), 0) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
	return out
}
