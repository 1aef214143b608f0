package respool_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/respool/respool"
	"github.com/respool/respool/domain"
	"github.com/respool/respool/eventstore"
)

var cst = domain.DefaultZone()

func at(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, cst) }

var t0 = at(2026, 1, 1, 0)

const gpu domain.FlavorID = "modelarts.vm.gpu.t4u8"

func catalog(t testing.TB, stock int) *domain.RateCard {
	t.Helper()
	rc, err := domain.NewRateCard("CNY", domain.Flavor{ID: gpu, Kind: domain.GPU,
		Hourly: domain.MustMoney("12.50"), Monthly: domain.MustMoney("6200"),
		Regions: []string{"cn-north-4"}, Stock: map[string]int{"cn-north-4": stock}})
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

func newService(t testing.TB, store eventstore.Store, stock int) *respool.Service {
	t.Helper()
	return cachedService(t, store, stock, 0)
}

// cachedService is newService keeping at most cache pools in memory
// (Config.PoolCache; 0: the default).
func cachedService(t testing.TB, store eventstore.Store, stock, cache int) *respool.Service {
	t.Helper()
	s, err := respool.New(context.Background(), respool.Config{Store: store, Catalog: catalog(t, stock), PoolCache: cache})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func create(id string, acct domain.AccountID, nodes int) domain.CreatePool {
	return domain.CreatePool{Cmd: domain.Cmd{ID: domain.CommandID("create-" + id), Account: acct}, Pool: domain.PoolID(id),
		Name: id, Type: domain.Training, Billing: domain.PayPerUse, Flavor: gpu, Region: "cn-north-4", Nodes: nodes}
}

func must(t testing.TB) func(respool.Result, error) respool.Result {
	return func(r respool.Result, err error) respool.Result {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
}

// eachEvent calls f with every record of store's log and its event.
func eachEvent(t testing.TB, store eventstore.Store, f func(eventstore.Record, domain.Event)) {
	t.Helper()
	for rec, err := range store.ReadAll(context.Background(), 0) {
		if err != nil {
			t.Fatal(err)
		}
		e, err := domain.Decode(rec.Type, rec.Data)
		if err != nil {
			t.Fatal(err)
		}
		f(rec, e)
	}
}

func sum(m map[domain.PoolID]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func head(t testing.TB, s *respool.Service) eventstore.Position {
	t.Helper()
	h, err := s.Store().Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// R20: a retried command is a no-op that returns the earlier outcome, also
// after a restart from the stored events.
func TestR20RetriedCommandsAreNoOps(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := eventstore.NewMemory()
	s := newService(t, store, 100)
	first := must(t)(s.Handle(ctx, t0, create("p1", "acme", 2)))
	out := domain.ScaleOut{Cmd: domain.Cmd{ID: "scale-1", Account: "acme"}, Pool: "p1", Nodes: 3}
	r1 := must(t)(s.Handle(ctx, t0.Add(time.Hour), out))
	h := head(t, s)
	r2 := must(t)(s.Handle(ctx, t0.Add(2*time.Hour), out))
	if !r2.Duplicate || r2.Version != r1.Version || head(t, s) != h {
		t.Fatalf("retry: %+v (first %+v); head %d -> %d", r2, r1, h, head(t, s))
	}
	again := must(t)(s.Handle(ctx, t0, create("p1", "acme", 2)))
	if !again.Duplicate || again.Version != first.Version {
		t.Fatalf("retried create: %+v", again)
	}

	restarted := newService(t, store, 100)
	r3 := must(t)(restarted.Handle(ctx, t0.Add(3*time.Hour), out))
	if !r3.Duplicate || head(t, restarted) != h {
		t.Fatalf("after a restart the retry applied again: %+v", r3)
	}
	p, err := restarted.Pool(ctx, "acme", "p1")
	if err != nil || len(p.Nodes) != 5 {
		t.Fatalf("restarted state: %d nodes, %v", len(p.Nodes), err)
	}
	// Top-ups too: a retried top-up never credits twice.
	bal := domain.MustMoney("100")
	must(t)(restarted.Handle(ctx, t0, domain.OpenAccount{Cmd: domain.Cmd{ID: "open", Account: "b"}, Balance: &bal}))
	top := domain.TopUp{Cmd: domain.Cmd{ID: "top-1", Account: "b"}, Amount: domain.MustMoney("50")}
	must(t)(restarted.Handle(ctx, t0, top))
	if r := must(t)(restarted.Handle(ctx, t0, top)); !r.Duplicate {
		t.Fatal("retried top-up applied twice")
	}
	a, _ := restarted.Account(ctx, "b")
	if !a.Credit.Equal(domain.MustMoney("150")) {
		t.Fatalf("credit %s, want 150", a.Credit)
	}
}

// Section 8: every rejected command changes nothing: no event is stored and
// the state reads the same.
func TestRejectedCommandsChangeNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newService(t, nil, 10)
	must(t)(s.Handle(ctx, t0, create("p1", "acme", 4)))
	prepaid := create("p2", "acme", 1)
	prepaid.Billing, prepaid.Months = domain.Prepaid, 1
	must(t)(s.Handle(ctx, t0, prepaid))
	bal := domain.MustMoney("1")
	must(t)(s.Handle(ctx, t0, domain.OpenAccount{Cmd: domain.Cmd{ID: "o", Account: "poor"}, Balance: &bal}))
	c := func(id string) domain.Cmd { return domain.Cmd{ID: domain.CommandID(id), Account: "acme"} }
	bad := []struct {
		cmd  domain.Command
		code domain.Code
	}{
		{create("p3", "acme", 6), domain.CodeFlavorSoldOut},
		{domain.ScaleOut{Cmd: c("a"), Pool: "p1", Nodes: 6}, domain.CodeFlavorSoldOut},
		{domain.ScaleOut{Cmd: c("b"), Pool: "p2", Nodes: 1}, domain.CodeScalingNotSupported},
		{domain.ScaleIn{Cmd: c("c"), Pool: "p1", Nodes: []domain.NodeID{"n-0001", "n-0002", "n-0003", "n-0004"}}, domain.CodeLastNode},
		{domain.DeletePool{Cmd: c("d"), Pool: "p2"}, domain.CodeDeleteNotSupported},
		{domain.Renew{Cmd: c("e"), Pool: "p1", Months: 1}, domain.CodeRenewalNotSupported},
		{domain.ScaleOut{Cmd: domain.Cmd{ID: "f", Account: "globex"}, Pool: "p1", Nodes: 1}, domain.CodeNotFound},
		{func() domain.Command {
			p := create("p4", "poor", 1)
			p.Billing, p.Months = domain.Prepaid, 1
			return p
		}(), domain.CodeInsufficientBalance},
	}
	for _, b := range bad {
		before := head(t, s)
		p1, _ := s.Pool(ctx, "acme", "p1")
		_, err := s.Handle(ctx, t0.Add(time.Hour), b.cmd)
		if domain.CodeOf(err) != b.code {
			t.Errorf("%T: %v, want %s", b.cmd, err, b.code)
		}
		after, _ := s.Pool(ctx, "acme", "p1")
		if head(t, s) != before || after.Version != p1.Version || len(after.Nodes) != len(p1.Nodes) {
			t.Errorf("%T (%s) changed something: head %d -> %d", b.cmd, b.code, before, head(t, s))
		}
	}
}

// R5, R6: many goroutines race for the last nodes of a flavor, through two
// Services sharing one store (so appends conflict and are retried, and
// reservations are given back when a pool's append loses). The stock is
// never oversold and what the pools hold equals what the stock says is used.
func TestConcurrentWritersNeverOversell(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const stock = 40
	store := eventstore.NewMemory()
	services := []*respool.Service{newService(t, store, stock), newService(t, store, stock)}
	for i := 0; i < 4; i++ { // shared pools that goroutines scale concurrently
		must(t)(services[0].Handle(ctx, t0, create(fmt.Sprintf("shared-%d", i), "acme", 1)))
	}
	var wg sync.WaitGroup
	var ok, soldOut, conflicts atomic.Int64
	for g := 0; g < 48; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			s := services[g%2]
			for i := 0; i < 6; i++ {
				var cmd domain.Command
				id := domain.CommandID(fmt.Sprintf("g%d-%d", g, i))
				if i%2 == 0 {
					cmd = domain.ScaleOut{Cmd: domain.Cmd{ID: id, Account: "acme"}, Pool: domain.PoolID(fmt.Sprintf("shared-%d", (g+i)%4)), Nodes: 1 + g%2}
				} else {
					cmd = create(fmt.Sprintf("own-%d-%d", g, i), domain.AccountID(fmt.Sprintf("acct-%d", g%3)), 1)
				}
				_, err := s.Handle(ctx, t0.Add(time.Duration(i)*time.Minute), cmd)
				switch domain.CodeOf(err) {
				case "":
					if err != nil {
						t.Error(err)
					}
					ok.Add(1)
				case domain.CodeFlavorSoldOut:
					soldOut.Add(1)
				case domain.CodeConflict:
					conflicts.Add(1)
				default:
					t.Error(err)
				}
			}
		}(g)
	}
	wg.Wait()
	// Fold the log independently and compare.
	held := map[domain.PoolID]int{}
	inUse, undone := 0, 0
	eachEvent(t, store, func(rec eventstore.Record, e domain.Event) {
		switch e := e.(type) {
		case *domain.NodeAdded:
			held[e.Pool]++
		case *domain.StockTaken:
			inUse += e.Nodes
		case *domain.StockReturned:
			inUse -= e.Nodes
			undone++ // nothing else returns stock in this test: every one is a give-back
		}
		if inUse > stock {
			t.Fatalf("at position %d the stock in use is %d > %d", rec.Position, inUse, stock)
		}
	})
	total := sum(held)
	if total != inUse || total > stock {
		t.Fatalf("pools hold %d nodes, stock says %d in use, capacity %d", total, inUse, stock)
	}
	if soldOut.Load() == 0 || total != stock {
		t.Fatalf("the race did not reach the last node: %d sold out, %d held", soldOut.Load(), total)
	}
	t.Logf("%d accepted, %d sold out, %d gave up on conflicts, %d nodes held, %d reservations given back", ok.Load(), soldOut.Load(), conflicts.Load(), total, undone)
}

// R24, R26 through the Service: a year of auto-renewals, then a balance that
// runs out, then grace, retention and deletion, carried out by Advance.
func TestAdvanceRenewsThenExpires(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newService(t, nil, 10)
	bal := domain.MustMoney("18600") // three months of one node
	must(t)(s.Handle(ctx, t0, domain.OpenAccount{Cmd: domain.Cmd{ID: "open", Account: "acme"}, Balance: &bal}))
	c := create("p1", "acme", 1)
	c.Billing, c.Months, c.AutoRenew = domain.Prepaid, 1, true
	must(t)(s.Handle(ctx, at(2026, 1, 31, 10), c))
	if err := s.Advance(ctx, at(2027, 1, 1, 0)); err != nil {
		t.Fatal(err)
	}
	p, err := s.Pool(ctx, "acme", "p1")
	if err != nil {
		t.Fatal(err)
	}
	if p.Renewals != 2 || p.Status() != domain.StatusDeleted {
		t.Fatalf("renewals %d status %s", p.Renewals, p.Status())
	}
	var got []string
	for rec, err := range s.Store().ReadStream(ctx, domain.PoolStream("p1"), 0) {
		if err != nil {
			t.Fatal(err)
		}
		e, _ := domain.Decode(rec.Type, rec.Data)
		switch e := e.(type) {
		case *domain.Renewed:
			got = append(got, fmt.Sprintf("renewed %s..%s", e.Term.Start.In(cst).Format("01-02 15:04"), e.Term.End.In(cst).Format("01-02")))
		case *domain.RenewalFailed:
			got = append(got, "failed "+e.At.In(cst).Format("01-02 15:04"))
		case *domain.StatusChanged:
			got = append(got, fmt.Sprintf("%s %s", e.To, e.At.In(cst).Format("01-02 15:04")))
		case *domain.Deleted:
			got = append(got, "deleted "+e.At.In(cst).Format("01-02 15:04"))
		}
	}
	want := []string{
		"renewed 03-01 00:00..04-01", // attempted 21 Feb 03:00 for the term ending 28 Feb (R22: 31 Jan anchor)
		"renewed 04-01 00:00..05-01", // 31 Mar
		"failed 04-23 03:00", "failed 04-24 03:00", "failed 04-25 03:00", "failed 04-26 03:00",
		"failed 04-27 03:00", "failed 04-28 03:00", "failed 04-29 03:00", "failed 04-30 03:00",
		"expired 05-01 00:00", "frozen 05-16 00:00", "deleted 05-31 00:00",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("history\n got %q\nwant %q", got, want)
	}
}

// R27 through the Service: a pay-per-use pool on a finite balance goes into
// arrears at the hour the balance runs out, without an event per hour, then
// grace, retention (frozen) and deletion; an account in arrears cannot create.
func TestAdvanceArrears(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newService(t, nil, 10)
	bal := domain.MustMoney("1000") // 2 nodes at 12.50: 40 hours
	must(t)(s.Handle(ctx, t0, domain.OpenAccount{Cmd: domain.Cmd{ID: "open", Account: "acme"}, Balance: &bal}))
	must(t)(s.Handle(ctx, t0, create("p1", "acme", 2)))
	before := head(t, s)
	if err := s.Advance(ctx, at(2026, 1, 2, 16)); err != nil { // exactly 40 hours: covered
		t.Fatal(err)
	}
	if head(t, s) != before {
		t.Fatal("settlement wrote events while the balance covered it")
	}
	if err := s.Advance(ctx, at(2026, 1, 2, 17)); err != nil {
		t.Fatal(err)
	}
	p, _ := s.Pool(ctx, "acme", "p1")
	a, _ := s.Account(ctx, "acme")
	if !a.Arrears || !a.ArrearsSince.Equal(at(2026, 1, 2, 17)) || p.Status() != domain.StatusExpired {
		t.Fatalf("arrears %v since %v, pool %s", a.Arrears, a.ArrearsSince, p.Status())
	}
	if _, err := s.Handle(ctx, at(2026, 1, 3, 0), create("p2", "acme", 1)); !errors.Is(err, domain.ErrInArrears) {
		t.Fatalf("create in arrears: %v", err)
	}
	if err := s.Advance(ctx, at(2026, 3, 1, 0)); err != nil {
		t.Fatal(err)
	}
	p, _ = s.Pool(ctx, "acme", "p1")
	if p.Status() != domain.StatusDeleted || !p.PhaseSince.Equal(at(2026, 2, 1, 17)) {
		t.Fatalf("after retention: %s since %v", p.Status(), p.PhaseSince)
	}
}

// R27: a top-up that pays the arrears brings the pools back.
func TestTopUpPaysArrears(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newService(t, nil, 10)
	bal := domain.MustMoney("100")
	must(t)(s.Handle(ctx, t0, domain.OpenAccount{Cmd: domain.Cmd{ID: "open", Account: "acme"}, Balance: &bal}))
	must(t)(s.Handle(ctx, t0, create("p1", "acme", 1)))
	when := at(2026, 1, 20, 0) // frozen by now (grace 15 days from 9 Jan)
	must(t)(s.Handle(ctx, when, domain.TopUp{Cmd: domain.Cmd{ID: "top", Account: "acme"}, Amount: domain.MustMoney("10000")}))
	p, _ := s.Pool(ctx, "acme", "p1")
	a, _ := s.Account(ctx, "acme")
	if p.Status() != domain.StatusRunning || a.Arrears || !a.Rate.Equal(domain.MustMoney("12.5")) {
		t.Fatalf("after paying: pool %s, arrears %v, rate %s", p.Status(), a.Arrears, a.Rate)
	}
}

// The Pool a Service returns is the caller's own: reading it, Applied
// included, while other goroutines handle commands on the same pool must not
// race with them (run with -race).
func TestPoolCopiesShareNothingWithTheService(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newService(t, eventstore.NewMemory(), 1000)
	must(t)(s.Handle(ctx, t0, create("p", "acme", 1)))
	scale := func(i int) domain.Command {
		id := domain.CommandID(fmt.Sprintf("scale-%d", i))
		if i%2 == 0 {
			return domain.ScaleOut{Cmd: domain.Cmd{ID: id, Account: "acme"}, Pool: "p", Nodes: 1}
		}
		// the node the scale-out before added: pool p keeps 1 or 2 nodes
		return domain.ScaleIn{Cmd: domain.Cmd{ID: id, Account: "acme"}, Pool: "p", Nodes: []domain.NodeID{domain.NodeName((i + 3) / 2)}}
	}
	must(t)(s.Handle(ctx, t0, scale(0)))
	const n = 200
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 1; i <= n; i++ {
			must(t)(s.Handle(ctx, t0.Add(time.Duration(i)*time.Second), scale(i)))
		}
	})
	wg.Go(func() {
		for i := 0; i < n; i++ {
			p, err := s.Pool(ctx, "acme", "p")
			if err != nil {
				t.Error(err)
				return
			}
			if _, ok := p.Applied("scale-0"); !ok {
				t.Error("the copy forgot a command it had applied")
			}
			p.Applied(domain.CommandID(fmt.Sprintf("scale-%d", i)))
			if len(p.Nodes) < 1 || len(p.Nodes) > 2 {
				t.Errorf("the copy has %d nodes", len(p.Nodes))
			}
		}
	})
	wg.Wait()
}
