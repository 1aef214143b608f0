package projections_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/respool/respool/domain"
	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/projections"
	"github.com/respool/respool/projections/internal/gen"
)

// TestRebuildEqualsIncremental checks that projections that followed the
// log live, while it was written and queried, hold exactly what a rebuild
// from zero holds; and so do projections fed record by record with every
// record twice and a restart of the runner half-way.
func TestRebuildEqualsIncremental(t *testing.T) {
	t.Parallel()
	st := eventstore.NewMemory()
	live := newProjections(domain.Policy{})
	ctx, cancel := context.WithCancel(t.Context())
	runErr := make(chan error, 1)
	go func() { runErr <- projections.NewRunner(st, live.all()...).Run(ctx) }()

	// Query while the runner applies, for the race detector.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, p := range live.nl.AllPools() {
				live.nl.Nodes(p.ID)
				live.ch.AsOf(p.ID, p.Created.Add(time.Hour))
				live.ch.Months(p.ID, p.Created.Add(time.Hour))
			}
			live.inv.StockLevels()
		}
	}()

	end := gen.New(st).Random(11, 6000)
	head, _ := st.Head(t.Context())
	deadline := time.Now().Add(30 * time.Second)
	for live.nl.Position() < head || live.ch.Position() < head || live.inv.Position() < head {
		if time.Now().After(deadline) {
			t.Fatalf("live projections stuck at %d, %d, %d of %d", live.nl.Position(), live.ch.Position(), live.inv.Position(), head)
		}
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	cancel()
	if err := <-runErr; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}

	instants := instantsOf(end, 9)
	want := dump(rebuild(t, st, domain.Policy{}), instants...)
	if got := dump(live, instants...); got != want {
		t.Errorf("live projections differ from a rebuild:\n%s", diff(got, want))
	}

	twice := newProjections(domain.Policy{})
	recs := records(t, st)
	r := projections.NewRunner(nil, twice.all()...)
	for i, rec := range recs {
		if i == len(recs)/2 {
			r = projections.NewRunner(nil, twice.all()...) // a restart
			for _, old := range recs[:i] {                 // replays from the start
				if err := r.Apply(old); err != nil {
					t.Fatal(err)
				}
			}
		}
		for range 2 {
			if err := r.Apply(rec); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := dump(twice, instants...); got != want {
		t.Errorf("projections fed every record twice differ from a rebuild:\n%s", diff(got, want))
	}
}

// diff returns the first line where two dumps differ.
func diff(got, want string) string {
	g, w := splitLines(got), splitLines(want)
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			return "got:  " + g[i] + "\nwant: " + w[i]
		}
	}
	return "lengths differ"
}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		out = append(out, s[:i])
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return out
}

// TestIdempotentByPosition checks that an event at or below a projection's
// position changes nothing, whatever it says.
func TestIdempotentByPosition(t *testing.T) {
	t.Parallel()
	s, b := build(t, domain.Policy{}, func(b *gen.Builder) {
		b.CreateAt(at(t, "2026-03-10T10:00:00+08:00"), "acme", "p1", 2, px3600)
	})
	asOf := at(t, "2026-03-10T12:00:00+08:00")
	before := dump(s, asOf)
	head, _ := b.Store.Head(t.Context())
	stale := projections.Envelope{Stream: "pool-p1", Version: 2, Position: head,
		Event: &domain.NodeAdded{Meta: domain.Meta{Pool: "p1", Account: "acme", At: asOf, Command: "x"}, Node: "n-9999"}}
	for _, p := range s.all() {
		if err := p.Apply(stale); err != nil {
			t.Fatal(err)
		}
		stale.Position = 1
		if err := p.Apply(stale); err != nil {
			t.Fatal(err)
		}
	}
	if after := dump(s, asOf); after != before {
		t.Errorf("a replayed position changed the projections:\n%s", diff(after, before))
	}
}

// TestUndecodableEventStopsTheRunner checks that a record the codec cannot
// read stops CatchUp and Run with a *DecodeError naming it, before any
// projection has been given it.
func TestUndecodableEventStopsTheRunner(t *testing.T) {
	t.Parallel()
	st := eventstore.NewMemory()
	b := gen.New(st)
	b.Create(at(t, "2026-03-10T10:00:00+08:00"), "acme", "p1", 2)
	b.AppendRaw("pool-p1", "pool.resized", []byte(`{"v":9}`), at(t, "2026-03-10T11:00:00+08:00"))
	b.ScaleOut(at(t, "2026-03-10T12:00:00+08:00"), "p1", 1)
	check := func(t *testing.T, err error, s set) {
		t.Helper()
		var de *projections.DecodeError
		if !errors.As(err, &de) || !errors.Is(err, domain.ErrDecode) {
			t.Fatalf("err = %v, want a *DecodeError wrapping domain.ErrDecode", err)
		}
		if de.Stream != "pool-p1" || de.Version != 4 || de.Type != "pool.resized" || de.Position != 6 {
			t.Errorf("decode error names %s v%d %q at %d, want pool-p1 v4 pool.resized at 6", de.Stream, de.Version, de.Type, de.Position)
		}
		for _, p := range s.all() {
			if p.Position() != 5 {
				t.Errorf("%s at position %d, want 5 (everything before the bad event)", p.Name(), p.Position())
			}
		}
	}
	t.Run("CatchUp", func(t *testing.T) {
		s := newProjections(domain.Policy{})
		check(t, projections.NewRunner(st, s.all()...).CatchUp(t.Context()), s)
	})
	t.Run("Run", func(t *testing.T) {
		s := newProjections(domain.Policy{})
		check(t, projections.NewRunner(st, s.all()...).Run(t.Context()), s)
	})
}

// flakyCheckpoint fails the saves it is told to: fail of them, after the
// first skip.
type flakyCheckpoint struct {
	projections.MemCheckpoint
	skip, fail int
}

func (c *flakyCheckpoint) Save(p eventstore.Position) error {
	if c.skip > 0 {
		c.skip--
	} else if c.fail > 0 {
		c.fail--
		return errors.New("disk full")
	}
	return c.MemCheckpoint.Save(p)
}

// TestCheckpointFailure checks that a failed checkpoint save is an error,
// that the event is in the state anyway, and that applying it again saves
// the checkpoint without applying it twice.
func TestCheckpointFailure(t *testing.T) {
	t.Parallel()
	st := eventstore.NewMemory()
	gen.New(st).Create(at(t, "2026-03-10T10:00:00+08:00"), "acme", "p1", 1)
	recs := records(t, st)
	cp := &flakyCheckpoint{}
	nl := projections.NewNodeList(projections.Options{Checkpoint: cp})
	r := projections.NewRunner(nil, nl)
	last := recs[len(recs)-1]
	for _, rec := range recs[:len(recs)-1] {
		if err := r.Apply(rec); err != nil {
			t.Fatal(err)
		}
	}
	cp.fail = 1
	err := r.Apply(last)
	if !errors.Is(err, projections.ErrCheckpoint) {
		t.Fatalf("err = %v, want ErrCheckpoint", err)
	}
	if saved, _ := cp.Load(); saved != last.Position-1 {
		t.Errorf("checkpoint = %d, want %d", saved, last.Position-1)
	}
	if err := r.Apply(last); err != nil {
		t.Fatal(err)
	}
	if saved, _ := cp.Load(); saved != last.Position {
		t.Errorf("checkpoint = %d after the retry, want %d", saved, last.Position)
	}
	if ns, _ := nl.Nodes("p1"); len(ns) != 1 {
		t.Errorf("%d nodes, want 1: the retry applied the event twice", len(ns))
	}
}

// TestCheckpointWrittenThrough checks that every projection writes its
// position through to its checkpoint.
func TestCheckpointWrittenThrough(t *testing.T) {
	t.Parallel()
	st := eventstore.NewMemory()
	gen.New(st).Random(3, 200)
	var cps [3]projections.MemCheckpoint
	ps := []projections.Projection{
		projections.NewNodeList(projections.Options{Checkpoint: &cps[0]}),
		projections.NewCharges(domain.Policy{}, projections.Options{Checkpoint: &cps[1]}),
		projections.NewInventory(nil, projections.Options{Checkpoint: &cps[2]}),
	}
	if err := projections.NewRunner(st, ps...).CatchUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	head, _ := st.Head(t.Context())
	for i := range cps {
		if p, _ := cps[i].Load(); p != head || ps[i].Position() != head {
			t.Errorf("%s: checkpoint %d, position %d, want %d", ps[i].Name(), p, ps[i].Position(), head)
		}
	}
}

// onlyApply hides a projection's ApplyBatch, so that a Runner must feed it
// one event at a time.
type onlyApply struct{ projections.Projection }

// TestCatchUpOneAtATime checks that CatchUp gives the same state whether
// every projection applies batches on its own goroutine, from events
// decoded into the memory of earlier batches, or, because one of them is
// not a BatchProjection of this package, all are fed fresh events one at
// a time. The log is long enough for batches to be reused many times.
func TestCatchUpOneAtATime(t *testing.T) {
	t.Parallel()
	st := eventstore.NewMemory()
	end := gen.New(st).Random(17, 40000)
	instants := instantsOf(end, 7)
	want := dump(rebuild(t, st, domain.Policy{}), instants...)
	s := newProjections(domain.Policy{})
	if err := projections.NewRunner(st, s.nl, onlyApply{s.ch}, s.inv).CatchUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := dump(s, instants...); got != want {
		t.Errorf("fed one at a time, the projections differ from a batched rebuild:\n%s", diff(got, want))
	}
}

// TestCatchUpCheckpointFailure checks that a checkpoint that fails in the
// middle of a rebuild stops CatchUp with ErrCheckpoint, that no projection
// then claims a position it has not applied, and that a second CatchUp
// finishes the job without applying anything twice.
func TestCatchUpCheckpointFailure(t *testing.T) {
	t.Parallel()
	st := eventstore.NewMemory()
	end := gen.New(st).Random(23, 6000) // a dozen batches
	head, _ := st.Head(t.Context())
	instants := instantsOf(end, 7)
	want := dump(rebuild(t, st, domain.Policy{}), instants...)

	cp := &flakyCheckpoint{skip: 3, fail: 1}
	s := set{
		nl:  projections.NewNodeList(projections.Options{}),
		ch:  projections.NewCharges(domain.Policy{}, projections.Options{Checkpoint: cp}),
		inv: projections.NewInventory(gen.RateCard(100000), projections.Options{}),
	}
	r := projections.NewRunner(st, s.all()...)
	err := r.CatchUp(t.Context())
	if !errors.Is(err, projections.ErrCheckpoint) || !strings.Contains(err.Error(), "charges") {
		t.Fatalf("err = %v, want ErrCheckpoint naming the charges", err)
	}
	saved, _ := cp.Load()
	if pos := s.ch.Position(); pos != saved || pos == 0 || pos >= head {
		t.Errorf("charges at position %d with checkpoint %d, want the same, after 0 and before %d", pos, saved, head)
	}
	if err := r.CatchUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, p := range s.all() {
		if p.Position() != head {
			t.Errorf("%s at position %d after the second CatchUp, want %d", p.Name(), p.Position(), head)
		}
	}
	if got := dump(s, instants...); got != want {
		t.Errorf("after a failed and a second CatchUp, the projections differ from a rebuild:\n%s", diff(got, want))
	}
}

// TestSelectiveSkipsUnreadTypes checks that projections fed only the types
// they read (the Runner skips decoding the others, see Selective) end in
// the same state, at the same position, as projections fed every event.
// Each projection on its own and node lists with charges (the issue's
// rebuild) are checked, so that a type a projection reads but does not
// claim in Reads shows up as a difference.
func TestSelectiveSkipsUnreadTypes(t *testing.T) {
	t.Parallel()
	st := eventstore.NewMemory()
	end := gen.New(st).Random(29, 20000)
	head, _ := st.Head(t.Context())
	instants := instantsOf(end, 5)
	for _, tc := range []struct {
		name string
		pick func(s set) []projections.Projection
	}{
		{"nodelist", func(s set) []projections.Projection { return []projections.Projection{s.nl} }},
		{"charges", func(s set) []projections.Projection { return []projections.Projection{s.ch} }},
		{"inventory", func(s set) []projections.Projection { return []projections.Projection{s.inv} }},
		{"nodelist+charges", func(s set) []projections.Projection { return []projections.Projection{s.nl, s.ch} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			skipped, all := newProjections(domain.Policy{}), newProjections(domain.Policy{})
			if err := projections.NewRunner(st, tc.pick(skipped)...).CatchUp(t.Context()); err != nil {
				t.Fatal(err)
			}
			var hidden []projections.Projection
			for _, p := range tc.pick(all) {
				hidden = append(hidden, onlyApply{p}) // not Selective: every event decoded
			}
			if err := projections.NewRunner(st, hidden...).CatchUp(t.Context()); err != nil {
				t.Fatal(err)
			}
			for _, p := range tc.pick(skipped) {
				if p.Position() != head {
					t.Errorf("%s at position %d, want %d: skipped records must move it too", p.Name(), p.Position(), head)
				}
			}
			if got, want := dump(skipped, instants...), dump(all, instants...); got != want {
				t.Errorf("fed only what they read, the projections differ from those fed everything:\n%s", diff(got, want))
			}
		})
	}
}

// TestSkippedRecordsAreNotRead checks what skipping means for bad records:
// a damaged record of a known type that no projection fed reads does not
// stop the Runner (it could not change them); the same record stops a
// Runner that feeds a projection reading it; a record of an unknown type
// stops every Runner.
func TestSkippedRecordsAreNotRead(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		typ        string
		nodesFail  bool // a Runner feeding the node list alone stops
		stocksFail bool // a Runner feeding the inventory stops
	}{
		{domain.TypeStockTaken, false, true},
		{"pool.resized", true, true},
	} {
		st := eventstore.NewMemory()
		b := gen.New(st)
		b.Create(at(t, "2026-03-10T10:00:00+08:00"), "acme", "p1", 2)
		b.AppendRaw("stock-x", tc.typ, []byte(`{"v":1,garbage`), at(t, "2026-03-10T11:00:00+08:00"))
		b.ScaleOut(at(t, "2026-03-10T12:00:00+08:00"), "p1", 1)
		head, _ := st.Head(t.Context())
		for _, c := range []struct {
			p    projections.Projection
			fail bool
		}{
			{projections.NewNodeList(projections.Options{}), tc.nodesFail},
			{projections.NewInventory(nil, projections.Options{}), tc.stocksFail},
		} {
			err := projections.NewRunner(st, c.p).CatchUp(t.Context())
			var de *projections.DecodeError
			switch {
			case c.fail && !errors.As(err, &de):
				t.Errorf("%s, record of type %s: err = %v, want a *DecodeError", c.p.Name(), tc.typ, err)
			case !c.fail && err != nil:
				t.Errorf("%s, record of type %s: err = %v, want nil (it does not read the type)", c.p.Name(), tc.typ, err)
			case !c.fail && c.p.Position() != head:
				t.Errorf("%s at position %d, want %d", c.p.Name(), c.p.Position(), head)
			}
		}
	}
}
