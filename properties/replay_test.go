package properties_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
	"github.com/leanovate/gopter/prop"

	"github.com/respool/respool"
	"github.com/respool/respool/domain"
	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/projections"
	"github.com/respool/respool/respooltest"
)

// projSet is the three projections of the package, fed together.
type projSet struct {
	nl  *projections.NodeList
	ch  *projections.Charges
	inv *projections.Inventory
	r   *projections.Runner
}

func newProjSet(pol domain.Policy, rc *domain.RateCard) *projSet {
	p := &projSet{
		nl:  projections.NewNodeList(projections.Options{}),
		ch:  projections.NewCharges(pol, projections.Options{}),
		inv: projections.NewInventory(rc, projections.Options{}),
	}
	p.r = projections.NewRunner(nil, p.nl, p.ch, p.inv)
	return p
}

func (p *projSet) feed(log []respooltest.Entry) error {
	for _, e := range log {
		if err := p.r.ApplyEnvelope(e.Envelope()); err != nil {
			return err
		}
	}
	return nil
}

// views are the answers of every query of the projections, for comparing
// two projections by what they say.
type views struct {
	Pools      []projections.PoolInfo
	History    map[domain.PoolID][]projections.Node
	Current    map[domain.PoolID][]projections.Node
	AsOf       map[domain.PoolID][]projections.Amount
	Accounts   map[domain.AccountID][]projections.Amount
	Prepaid    map[domain.PoolID][]projections.PrepaidLine
	Stock      []projections.StockLevel
	Quotas     map[domain.AccountID][]projections.QuotaLevel
	Records    map[domain.PoolID][]projections.Record
	Months     map[domain.PoolID][]projections.Month
	AcctMonths map[domain.AccountID][]projections.Month
}

// viewsOf asks p everything about the pools and accounts, as of each of
// instants; with deep, also the hourly records of the last three hours
// before the last instant and the bill months (which cost a walk over
// every hour).
func viewsOf(p *projSet, pools []domain.PoolID, accounts []domain.AccountID, instants []time.Time, deep bool) views {
	v := views{
		Pools: p.nl.AllPools(), History: map[domain.PoolID][]projections.Node{}, Current: map[domain.PoolID][]projections.Node{},
		AsOf: map[domain.PoolID][]projections.Amount{}, Accounts: map[domain.AccountID][]projections.Amount{},
		Prepaid: map[domain.PoolID][]projections.PrepaidLine{}, Stock: p.inv.StockLevels(),
		Quotas: map[domain.AccountID][]projections.QuotaLevel{}, Records: map[domain.PoolID][]projections.Record{},
		Months: map[domain.PoolID][]projections.Month{}, AcctMonths: map[domain.AccountID][]projections.Month{},
	}
	last := instants[len(instants)-1]
	for _, id := range pools {
		v.History[id], _ = p.nl.History(id)
		v.Current[id], _ = p.nl.Nodes(id)
		for _, t := range instants {
			a, _ := p.ch.AsOf(id, t)
			v.AsOf[id] = append(v.AsOf[id], a)
		}
		v.Prepaid[id] = p.ch.Prepaid(id)
		if deep {
			v.Records[id] = p.ch.Records(id, last.Add(-3*time.Hour), last)
			v.Months[id] = p.ch.Months(id, last)
		}
	}
	for _, a := range accounts {
		for _, t := range instants {
			v.Accounts[a] = append(v.Accounts[a], p.ch.AccountAsOf(a, t))
		}
		v.Quotas[a] = p.inv.Quotas(a)
		if deep {
			v.AcctMonths[a] = p.ch.AccountMonths(a, last)
		}
	}
	return v
}

// folded is the state of every pool and account folded from a log.
type folded struct {
	pools    map[domain.PoolID]*domain.Pool
	accounts map[domain.AccountID]*domain.Account
	order    []domain.PoolID
}

func fold(log []respooltest.Entry, pol domain.Policy) folded {
	f := folded{pools: map[domain.PoolID]*domain.Pool{}, accounts: map[domain.AccountID]*domain.Account{}}
	for _, e := range log {
		m := e.Event.EventMeta()
		switch {
		case strings.HasPrefix(e.Stream, "pool-"):
			p := f.pools[m.Pool]
			if p == nil {
				p = &domain.Pool{}
				f.pools[m.Pool] = p
				f.order = append(f.order, m.Pool)
			}
			p.Evolve(e.Event, pol)
		case strings.HasPrefix(e.Stream, "account-"):
			a := f.accounts[m.Account]
			if a == nil {
				a = &domain.Account{ID: m.Account}
				f.accounts[m.Account] = a
			}
			a.Evolve(e.Event)
		}
	}
	return f
}

// compareStates compares the states folded from the log with the ones a
// Service holds, command ids applied included (R20).
func compareStates(ctx context.Context, f folded, svc *respool.Service, ids []domain.CommandID) string {
	for _, id := range f.order {
		want := f.pools[id]
		got, err := svc.Pool(ctx, want.Account, id)
		if err != nil {
			return fmt.Sprintf("pool %s: the Service says %v", id, err)
		}
		if d := diff(*want, got); d != "" {
			return fmt.Sprintf("pool %s: folded from the log vs the Service's: %s", id, d)
		}
		for _, c := range ids {
			v1, ok1 := want.Applied(c)
			v2, ok2 := got.Applied(c)
			if ok1 != ok2 || v1 != v2 {
				return fmt.Sprintf("pool %s: command %s applied (%v, v%d) in the log, (%v, v%d) in the Service", id, c, ok1, v1, ok2, v2)
			}
		}
	}
	for id, want := range f.accounts {
		got, err := svc.Account(ctx, id)
		if err != nil {
			return fmt.Sprintf("account %s: %v", id, err)
		}
		if d := diff(*want, got); d != "" {
			return fmt.Sprintf("account %s: folded from the log vs the Service's: %s", id, d)
		}
		for _, c := range ids {
			if want.Applied(c) != got.Applied(c) {
				return fmt.Sprintf("account %s: command %s applied %v in the log, %v in the Service", id, c, want.Applied(c), got.Applied(c))
			}
		}
	}
	return ""
}

func commandIDs(tl respooltest.Timeline) []domain.CommandID {
	var out []domain.CommandID
	for _, a := range tl.Accounts {
		out = append(out, a.ID)
	}
	for _, s := range tl.Steps {
		out = append(out, s.Cmd.CommandID())
	}
	return out
}

// sameLog compares two logs record by record: stream, version, position,
// type, payload bytes, metadata, time and id.
func sameLog(a, b []respooltest.Entry) string {
	for i := 0; i < min(len(a), len(b)); i++ {
		x, y := a[i].Record, b[i].Record
		if x.Stream != y.Stream || x.Version != y.Version || x.Position != y.Position || x.Type != y.Type || x.ID != y.ID ||
			!bytes.Equal(x.Data, y.Data) || !bytes.Equal(x.Metadata, y.Metadata) || !x.Time.Equal(y.Time) {
			return fmt.Sprintf("record %d differs:\n  %s v%d %s %s\n  %s v%d %s %s", i+1, x.Stream, x.Version, x.Type, x.Data, y.Stream, y.Version, y.Type, y.Data)
		}
	}
	if len(a) != len(b) {
		return fmt.Sprintf("%d records vs %d", len(a), len(b))
	}
	return ""
}

// shortReplay are timelines of a month or so: this property rebuilds
// everything after every step.
var shortReplay = respooltest.TimelineOptions{MaxPools: 3, MaxSpan: 40 * 24 * time.Hour}

// Property 13: replay. The state of every pool and account folded from the
// log equals the Service's after every step (STYLE 2: evolve is the only
// way state is made); a Service restarted over the store at any step
// carries on exactly as the one that was not (R20 included: the command
// ids it had applied); and projections fed incrementally say exactly what
// projections rebuilt from the log prefix say, for every prefix
// (ARCHITECTURE: projections are rebuildable).
func TestProperty13_ReplayEqualsIncremental(t *testing.T) {
	t.Run("any", func(t *testing.T) { check(t, replayProperty(shortReplay, 0)) })
	arrears := shortReplay
	arrears.SmallBalances = true // balances run out: arrears, grace, retention
	t.Run("arrears", func(t *testing.T) { check(t, replayProperty(arrears, 0)) })
	// A Service that keeps one pool in memory lets go of the others at
	// every command on another pool and reads them back from the store: it
	// must do exactly what one that keeps them all does (Config.PoolCache).
	t.Run("one-pool-cache", func(t *testing.T) { check(t, replayProperty(shortReplay, 1)) })
	t.Run("one-pool-cache-arrears", func(t *testing.T) { check(t, replayProperty(arrears, 1)) })
}

// replayProperty checks property 13; the Service under test (not the one
// it is compared with) keeps at most cache pools in memory (0: the default).
func replayProperty(opts respooltest.TimelineOptions, cache int) gopter.Prop {
	return prop.ForAll(func(tl respooltest.Timeline, restartAt, deepAt uint32) (string, error) {
		defer watchdog(tl.String)()
		ctx := context.Background()
		base, err := respooltest.Execute(ctx, tl)
		if err != nil {
			return "", err
		}
		store := eventstore.NewMemory()
		run, err := respooltest.Start(ctx, tl, respooltest.RunConfig{Store: store, PoolCache: cache})
		if err != nil {
			return "", err
		}
		inc := newProjSet(tl.Policy, run.Catalog)
		var fed eventstore.Position
		ids := commandIDs(tl)
		restart := int(restartAt) % (len(tl.Steps) + 1)
		var prefix []respooltest.Entry // the log when the Service restarted
		deep := int(deepAt) % (len(tl.Steps) + 1)
		fail := func(step int, msg string) (string, error) {
			return fmt.Sprintf("after step %d (restart before step %d): %s", step, restart, msg), nil
		}
		for i := 0; i <= len(tl.Steps); i++ {
			if i == restart {
				svc, err := respool.New(ctx, respool.Config{Catalog: run.Catalog, Policy: tl.Policy, Store: store, PoolCache: cache})
				if err != nil {
					return "", err
				}
				log, err := respooltest.ReadLog(ctx, store)
				if err != nil {
					return "", err
				}
				if msg := compareStates(ctx, fold(log, tl.Policy), svc, ids); msg != "" {
					return fail(i-1, "restarted Service: "+msg)
				}
				run.Service = svc
				prefix = log
			}
			if i == len(tl.Steps) {
				break
			}
			if _, err := run.Do(ctx, tl.Steps[i]); err != nil {
				return "", err
			}
			log, err := respooltest.ReadLog(ctx, store)
			if err != nil {
				return "", err
			}
			f := fold(log, tl.Policy)
			if msg := compareStates(ctx, f, run.Service, ids); msg != "" {
				return fail(i, msg)
			}
			for _, e := range log {
				if e.Position > fed {
					if err := inc.feed([]respooltest.Entry{e}); err != nil {
						return "", err
					}
					fed = e.Position
				}
			}
			rebuilt := newProjSet(tl.Policy, run.Catalog)
			if err := rebuilt.feed(log); err != nil {
				return "", err
			}
			var accts []domain.AccountID
			for a := range f.accounts {
				accts = append(accts, a)
			}
			at := []time.Time{tl.Start, tl.Steps[i].At, tl.Steps[i].At.Add(time.Hour), tl.End}
			isDeep := i == deep || i == len(tl.Steps)-1
			if d := diff(viewsOf(inc, f.order, accts, at, isDeep), viewsOf(rebuilt, f.order, accts, at, isDeep)); d != "" {
				return fail(i, "incremental vs rebuilt projections: "+d)
			}
		}
		o, err := run.Finish(ctx)
		if err != nil {
			return "", err
		}
		if msg := sameLog(base.Log, o.Log); msg != "" {
			return fmt.Sprintf("with a restart before step %d the log differs from the run without: %s\nwithout:\n%s\nwith:\n%s", restart, msg, base, o), nil
		}
		// A restart is one draw of whatever the Service leaves to chance
		// (the order of a map, say): restart six more times from copies of
		// the store as it was, and carry on the same way.
		for fork := 0; fork < 6; fork++ {
			store, err := copyStore(ctx, prefix)
			if err != nil {
				return "", err
			}
			svc, err := respool.New(ctx, respool.Config{Catalog: run.Catalog, Policy: tl.Policy, Store: store, PoolCache: cache})
			if err != nil {
				return "", err
			}
			again := &respooltest.Run{Timeline: tl, Service: svc, Catalog: run.Catalog}
			for _, s := range tl.Steps[restart:] {
				if _, err := again.Do(ctx, s); err != nil {
					return "", err
				}
			}
			o, err := again.Finish(ctx)
			if err != nil {
				return "", err
			}
			if msg := sameLog(base.Log, o.Log); msg != "" {
				return fmt.Sprintf("with a restart before step %d (fork %d) the log differs from the run without: %s\nwithout:\n%s\nwith:\n%s", restart, fork, msg, base, o), nil
			}
		}
		return "", nil
	}, genTimeline(opts), gen.UInt32(), gen.UInt32())
}

// Property 14 (R20): a redelivered or duplicated event changes no
// projection, and a command id already applied changes nothing: resending
// any accepted command later, or any refused one at once, leaves the log
// exactly as it was, and the Service answers the resend as a duplicate.
func TestProperty14_Idempotent_R20(t *testing.T) {
	t.Run("redelivery", func(t *testing.T) {
		check(t, prop.ForAll(func(tl respooltest.Timeline, pattern []uint8) (string, error) {
			defer watchdog(tl.String)()
			o, err := respooltest.Execute(context.Background(), tl)
			if err != nil {
				return "", err
			}
			p := newProjSet(tl.Policy, o.Catalog)
			k := 0
			next := func() uint8 {
				if len(pattern) == 0 {
					return 0
				}
				k++
				return pattern[k%len(pattern)]
			}
			for i, e := range o.Log {
				for n := 1 + int(next()%3); n > 0; n-- { // delivered one to three times
					if err := p.feed([]respooltest.Entry{e}); err != nil {
						return "", err
					}
				}
				if b := next(); b%4 == 0 && i > 0 { // and an older one again
					if err := p.feed([]respooltest.Entry{o.Log[int(b)%i]}); err != nil {
						return "", err
					}
				}
				// The runner's path: a record it has seen is skipped.
				if err := p.r.Apply(e.Record); err != nil {
					return "", err
				}
			}
			want := &projSet{nl: o.Nodes, ch: o.Charges, inv: o.Inventory}
			at := []time.Time{tl.Start, tl.End}
			if d := diff(viewsOf(want, o.PoolIDs(), o.AccountIDs(), at, true), viewsOf(p, o.PoolIDs(), o.AccountIDs(), at, true)); d != "" {
				return "projections fed duplicates differ: " + d + "\n" + o.String(), nil
			}
			return "", nil
		}, genTimeline(shortReplay), gen.SliceOf(gen.UInt8())))
	})
	t.Run("commands", func(t *testing.T) {
		check(t, prop.ForAll(func(tl respooltest.Timeline, picks []uint32) (string, error) {
			defer watchdog(tl.String)()
			ctx := context.Background()
			base, err := respooltest.Execute(ctx, tl)
			if err != nil || len(tl.Steps) == 0 {
				return "", err
			}
			// Resends: an accepted command (one that wrote events, or an
			// account command) anywhere later; a refused one right after.
			type resend struct {
				of       int // the step resent
				accepted bool
			}
			after := map[int][]resend{} // step index -> resends right after it
			for _, u := range picks {
				i := int(u % uint32(len(tl.Steps)))
				r := base.Results[i]
				switch {
				case r.Err != nil:
					after[i] = append(after[i], resend{of: i})
				case r.Duplicate:
				case len(r.Events) > 0 || isAccountCommand(r.Sent):
					j := i + int(u>>16)%(len(tl.Steps)-i)
					after[j] = append(after[j], resend{of: i, accepted: true})
				}
			}
			run, err := respooltest.Start(ctx, tl, respooltest.RunConfig{})
			if err != nil {
				return "", err
			}
			var bad problems
			for i, s := range tl.Steps {
				if _, err := run.Do(ctx, s); err != nil {
					return "", err
				}
				for _, rs := range after[i] {
					orig := base.Results[rs.of]
					res, err := run.Do(ctx, respooltest.Step{At: s.At, Cmd: tl.Steps[rs.of].Cmd})
					if err != nil {
						return "", err
					}
					switch {
					case rs.accepted && (!res.Duplicate || res.Err != nil || len(res.Events) > 0):
						bad.add("step %d resent after step %d: %s, want a duplicate (first: %s)", rs.of, i, res, orig)
					case !rs.accepted && res.Code() != orig.Code():
						bad.add("step %d resent at once: %s, first %s", rs.of, res, orig)
					}
				}
			}
			o, err := run.Finish(ctx)
			if err != nil {
				return "", err
			}
			if msg := sameLog(base.Log, o.Log); msg != "" {
				bad.add("resends changed the log: %s", msg)
			}
			if !bad.ok() {
				return bad.String() + "\nwithout resends:\n" + base.String() + "\nwith:\n" + o.String(), nil
			}
			return "", nil
		}, genTimeline(respooltest.TimelineOptions{MaxPools: 3}), gen.SliceOfN(4, gen.UInt32())))
	})
}

func isAccountCommand(c domain.Command) bool {
	switch c.(type) {
	case domain.OpenAccount, domain.TopUp:
		return true
	}
	return false
}

// copyStore returns a new in-memory store holding the records of log, with
// their streams, versions, ids, payloads, metadata and times.
func copyStore(ctx context.Context, log []respooltest.Entry) (eventstore.Store, error) {
	s := eventstore.NewMemory()
	for _, e := range log {
		if _, err := s.Append(ctx, e.Stream, eventstore.ExpectVersion(e.Version-1), e.Record.Event); err != nil {
			return nil, err
		}
	}
	return s, nil
}
