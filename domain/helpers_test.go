package domain_test

import (
	"errors"
	"testing"
	"time"

	"github.com/respool/respool/domain"
)

var cst = domain.DefaultZone()

func at(y int, m time.Month, d, h, min, s int) time.Time {
	return time.Date(y, m, d, h, min, s, 0, cst)
}

const (
	gpu    domain.FlavorID  = "modelarts.vm.gpu.t4u8"
	cpu    domain.FlavorID  = "modelarts.vm.cpu.8u"
	bj4                     = "cn-north-4"
	sg1                     = "ap-southeast-1"
	acme   domain.AccountID = "acme"
	globex domain.AccountID = "globex"
)

func catalog(t testing.TB) *domain.RateCard {
	t.Helper()
	rc, err := domain.NewRateCard("CNY",
		domain.Flavor{ID: gpu, Kind: domain.GPU, Hourly: domain.MustMoney("12.50"), Monthly: domain.MustMoney("6200"),
			Regions: []string{bj4, sg1}, Stock: map[string]int{bj4: 10}},
		domain.Flavor{ID: cpu, Kind: domain.CPU, Hourly: domain.MustMoney("1.20"), Monthly: domain.MustMoney("600"),
			Yearly: domain.MustMoney("5000"), Regions: []string{bj4}},
	)
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

func env(t testing.TB, when time.Time) domain.Env {
	return domain.Env{At: when, Catalog: catalog(t), Policy: domain.Policy{}}
}

// world is an in-memory aggregate set that folds decisions, like Service does.
type world struct {
	pool    domain.Pool
	account domain.Account
	stock   domain.Stock
	pol     domain.Policy
}

func (w *world) w() domain.World {
	return domain.World{Pool: &w.pool, Account: &w.account, Stock: &w.stock}
}

func (w *world) apply(d domain.Decision) {
	for _, e := range d.Stock {
		w.stock.Evolve(e)
	}
	for _, e := range d.Account {
		w.account.Evolve(e)
	}
	for _, e := range d.Pool {
		w.pool.Evolve(e, w.pol)
	}
}

// do decides and applies, failing the test on a rejection.
func (w *world) do(t *testing.T, c domain.Command, e domain.Env) domain.Decision {
	t.Helper()
	e.Policy = w.pol
	d, err := domain.Decide(w.w(), c, e)
	if err != nil {
		t.Fatalf("%T rejected: %v", c, err)
	}
	w.apply(d)
	return d
}

// reject decides and expects the code; it also checks the command changed
// nothing (the decision is empty).
func (w *world) reject(t *testing.T, c domain.Command, e domain.Env, want domain.Code) {
	t.Helper()
	e.Policy = w.pol
	d, err := domain.Decide(w.w(), c, e)
	if err == nil {
		t.Fatalf("%T accepted, want %s", c, want)
	}
	if got := domain.CodeOf(err); got != want {
		t.Fatalf("%T: code %s (%v), want %s", c, got, err, want)
	}
	var re *domain.RuleError
	if !errors.As(err, &re) || !errors.Is(err, &domain.RuleError{Code: want}) {
		t.Fatalf("%T: error %v does not match its code with errors.Is/As", c, err)
	}
	if !d.Empty() {
		t.Fatalf("%T: a rejection produced events", c)
	}
}

func cmd(id string) domain.Cmd { return domain.Cmd{ID: domain.CommandID(id), Account: acme} }

func ppu(id string, nodes int) domain.CreatePool {
	return domain.CreatePool{Cmd: cmd("create-" + id), Pool: domain.PoolID(id), Name: "pool_" + id,
		Type: domain.Training, Billing: domain.PayPerUse, Flavor: gpu, Region: bj4, Nodes: nodes}
}

func prepaid(id string, nodes, months int) domain.CreatePool {
	c := ppu(id, nodes)
	c.Billing, c.Months = domain.Prepaid, months
	return c
}

func events[T domain.Event](es []domain.Event) []T {
	var out []T
	for _, e := range es {
		if v, ok := e.(T); ok {
			out = append(out, v)
		}
	}
	return out
}
