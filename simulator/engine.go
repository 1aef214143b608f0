package simulator

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/respool/respool"
	"github.com/respool/respool/domain"
	"github.com/respool/respool/eventstore"
)

// DefaultMaxPoints is the most samples a cumulative cost series holds when
// Options.MaxPoints is 0.
const DefaultMaxPoints = 1000

// Options tune a run. The zero value runs the scenario's tick, at most
// DefaultMaxPoints samples per series, as many variants at once as
// GOMAXPROCS, and reports no progress.
type Options struct {
	// Tick overrides the scenario's tick when positive. Results never
	// depend on it (SPEC section 9); it sets how often the cumulative cost
	// is sampled and progress is reported.
	Tick time.Duration
	// MaxPoints bounds a series: on a long run the sampling step becomes a
	// multiple of the tick. 0: DefaultMaxPoints.
	MaxPoints int
	// Parallel is how many variants run at once. 0: GOMAXPROCS.
	Parallel int
	// Progress, if set, is called as simulated time advances, at most once
	// per sample and variant, never concurrently.
	Progress func(Progress)
	// Inspect, if set, is called once per variant after its run, with the
	// variant's name and its Service (whose Store holds every event of the
	// run), before the Service is dropped. It may be called concurrently
	// for different variants. An error ends the run.
	Inspect func(variant string, svc *respool.Service) error
	// Log, if set, keeps the run's event log in this store instead of
	// dropping it with a fresh in-memory store per variant: each variant's
	// Service writes to it under its own stream prefix ("v0/" for base,
	// "v1/" for the next variant...), and the stream "simulation-run"
	// records what Replay needs to rebuild the report from the store
	// alone. The store must be empty (ErrLogNotEmpty). Run does not close
	// it. See the package documentation for the layout.
	Log eventstore.Store
}

// Progress says how far a run has come.
type Progress struct {
	Variant string    // the variant that moved
	At      time.Time // its simulated time
	Done    float64   // of the whole run (all variants), from 0 to 1
}

// Run simulates every variant of sc from Start to End and returns the
// report. Each variant runs on its own respool.Service over a fresh
// in-memory store, so variants share nothing; with Options.Log, over its
// own part of that store instead (still sharing nothing).
//
// The engine carries out everything at its own instant: the scenario's pool
// creations and actions in time order (at the same instant, creations
// before actions, then file order), and between two of them Service.Advance
// carries out what the rules made due (auto-renewal at 03:00, expiry, grace,
// retention, deletion, arrears), each at its own instant too. Sampling
// happens between steps and changes nothing, so the tick never changes a
// result. A rejected step is a result (Rejection); any other error ends the
// run with no report.
func Run(ctx context.Context, sc *Scenario, opt Options) (*Report, error) {
	if sc == nil || len(sc.Variants) == 0 || sc.Catalog == nil {
		return nil, errors.New("simulator: Run needs a scenario from Load or Parse")
	}
	if !sc.End.After(sc.Start) {
		return nil, fmt.Errorf("simulator: the scenario ends (%s) before it starts (%s)", sc.End, sc.Start)
	}
	if sc.Policy.Zone == nil { // a Scenario built in code: the default zone
		c := *sc
		c.Policy.Zone = domain.DefaultZone()
		sc = &c
	}
	tick := sc.Tick
	if opt.Tick > 0 {
		tick = opt.Tick
	}
	if tick <= 0 {
		tick = DefaultTick
	}
	maxPts := opt.MaxPoints
	if maxPts <= 0 {
		maxPts = DefaultMaxPoints
	}
	step := sampleStep(sc.End.Sub(sc.Start), tick, maxPts)
	samples := sampleTimes(sc.Start, sc.End, step)

	par := opt.Parallel
	if par <= 0 {
		par = runtime.GOMAXPROCS(0)
	}
	prog := newProgressSink(opt.Progress, len(sc.Variants))

	var log *runLog
	if opt.Log != nil {
		var err error
		if log, err = startLog(ctx, opt.Log, sc, tick, step); err != nil {
			return nil, err
		}
	}
	out := make([]*variantRun, len(sc.Variants))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(par)
	for i := range sc.Variants {
		g.Go(func() error {
			name := sc.Variants[i].Name
			var store eventstore.Store // nil: a fresh in-memory store
			if log != nil {
				store = log.views[i]
			}
			vr, err := runVariant(gctx, sc, sc.Variants[i], store, samples, opt.Inspect, func(t time.Time) {
				// replaying is 90% of a variant's work; its charges the rest
				prog.report(i, name, t, 0.9*float64(t.Sub(sc.Start))/float64(sc.End.Sub(sc.Start)))
			})
			if err == nil && log != nil {
				err = log.variantDone(gctx, i, vr)
			}
			if err != nil {
				return fmt.Errorf("variant %s: %w", sc.Variants[i].Name, err)
			}
			out[i] = vr
			prog.report(i, name, sc.End, 1)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if log != nil {
		if err := log.finish(ctx); err != nil {
			return nil, err
		}
	}
	return buildReport(sc, tick, step, samples, out), nil
}

// sampleStep is the tick, or the smallest multiple of it (preferring round
// durations) that keeps a series of span within maxPts samples.
func sampleStep(span, tick time.Duration, maxPts int) time.Duration {
	if maxPts < 2 {
		maxPts = 2
	}
	limit := time.Duration(maxPts - 1)
	if span/tick < limit {
		return tick
	}
	min := span / limit
	for _, nice := range []time.Duration{
		time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 3 * time.Hour, 4 * time.Hour, 6 * time.Hour, 12 * time.Hour,
		24 * time.Hour, 2 * 24 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour, 28 * 24 * time.Hour,
	} {
		if nice >= min && nice%tick == 0 {
			return nice
		}
	}
	k := (min + tick - 1) / tick
	return k * tick
}

// sampleTimes returns start, start+step, ... before end, and end.
func sampleTimes(start, end time.Time, step time.Duration) []time.Time {
	var out []time.Time
	for t := start; t.Before(end); t = t.Add(step) {
		out = append(out, t)
	}
	return append(out, end)
}

// progressSink serializes progress reports and sums them over variants.
type progressSink struct {
	mu   sync.Mutex
	fn   func(Progress)
	done []float64
}

func newProgressSink(fn func(Progress), n int) *progressSink {
	return &progressSink{fn: fn, done: make([]float64, n)}
}

func (p *progressSink) report(i int, name string, t time.Time, done float64) {
	if p.fn == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done[i] = done
	sum := 0.0
	for _, d := range p.done {
		sum += d
	}
	p.fn(Progress{Variant: name, At: t, Done: sum / float64(len(p.done))})
}

// step is one scenario step: a pool's creation or an action.
type step struct {
	at     time.Time
	pool   *Pool   // a creation
	action *Action // or an action
	order  int     // file order within its kind
}

// timeline orders a variant's steps: by time; at the same instant,
// creations before actions; then file order.
func timeline(pools []Pool, actions []Action) []step {
	steps := make([]step, 0, len(pools)+len(actions))
	for i := range pools {
		steps = append(steps, step{at: pools[i].At, pool: &pools[i], order: i})
	}
	for i := range actions {
		steps = append(steps, step{at: actions[i].At, action: &actions[i], order: i})
	}
	slices.SortStableFunc(steps, func(a, b step) int {
		kind := func(s step) int {
			if s.pool != nil {
				return 0
			}
			return 1
		}
		return cmp.Or(a.at.Compare(b.at), cmp.Compare(kind(a), kind(b)), cmp.Compare(a.order, b.order))
	})
	return steps
}

// variantRun is what one variant's run leaves for its report.
type variantRun struct {
	variant  Variant
	refused  map[domain.PoolID]domain.Code // pools whose creation was rejected
	states   map[domain.PoolID]domain.Pool
	rejected []Rejection
	charges  *runCharges
}

func runVariant(ctx context.Context, sc *Scenario, v Variant, store eventstore.Store, samples []time.Time,
	inspect func(string, *respool.Service) error, progress func(time.Time)) (*variantRun, error) {
	// A run keeps every pool it simulates in memory (PoolCache -1; 10,000
	// pools take about 20 MB): reading them back from the store would only
	// slow it down.
	svc, err := respool.New(ctx, respool.Config{Store: store, Catalog: sc.Catalog, Policy: sc.Policy, PoolCache: -1})
	if err != nil {
		return nil, err
	}
	defer svc.Store().Close()
	r := &variantRun{variant: v, states: map[domain.PoolID]domain.Pool{}}
	for _, a := range sc.Accounts {
		cmd := domain.OpenAccount{Cmd: domain.Cmd{ID: domain.CommandID("open:" + string(a.ID)), Account: a.ID}, Quota: a.Quota, Balance: a.Balance}
		if _, err := svc.Handle(ctx, sc.Start, cmd); err != nil {
			return nil, fmt.Errorf("opening account %s: %w", a.ID, err)
		}
	}
	steps := timeline(v.Pools, sc.Actions)
	next := 0
	for _, t := range samples {
		for next < len(steps) && !steps[next].at.After(t) {
			if err := r.do(ctx, svc, sc, steps[next]); err != nil {
				return nil, err
			}
			next++
		}
		if err := svc.Advance(ctx, t); err != nil {
			return nil, err
		}
		progress(t)
	}
	for _, p := range v.Pools {
		st, err := svc.Pool(ctx, p.Account, p.ID)
		if domain.CodeOf(err) == domain.CodeNotFound {
			continue // its creation was rejected
		}
		if err != nil {
			return nil, err
		}
		r.states[p.ID] = st
	}
	r.charges, err = charges(ctx, svc.Store(), sc.Policy, sc.Start, sc.End)
	if err != nil {
		return nil, err
	}
	if inspect != nil {
		if err := inspect(v.Name, svc); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// do carries out one step at its instant. A rule's rejection is recorded;
// any other error ends the run.
func (r *variantRun) do(ctx context.Context, svc *respool.Service, sc *Scenario, s step) error {
	cmd, verb, pool, acct, line, err := r.command(ctx, svc, s)
	if err != nil {
		return err
	}
	_, err = svc.Handle(ctx, s.at, cmd)
	if err == nil {
		return nil
	}
	var re *domain.RuleError
	if !errors.As(err, &re) || re.Code == domain.CodeConflict {
		return fmt.Errorf("%s %s at %s (line %d): %w", verb, pool, s.at.Format(time.RFC3339), line, err)
	}
	msg := re.Msg
	if verb == VerbCreate {
		if r.refused == nil {
			r.refused = map[domain.PoolID]domain.Code{}
		}
		r.refused[pool] = re.Code
	} else if code, ok := r.refused[pool]; ok && re.Code == domain.CodeNotFound {
		msg += fmt.Sprintf(" (its creation was rejected: %s)", code)
	}
	r.rejected = append(r.rejected, Rejection{
		At: s.at.In(sc.Policy.Zone).Format(time.RFC3339), Pool: string(pool), Action: string(verb), Code: string(re.Code),
		Account: string(acct), Rule: re.Rule, Message: msg, Line: line,
	})
	return nil
}

// command builds the domain command of a step. Command ids are derived
// from the step, so that a run is reproducible.
func (r *variantRun) command(ctx context.Context, svc *respool.Service, s step) (domain.Command, Verb, domain.PoolID, domain.AccountID, int, error) {
	if p := s.pool; p != nil {
		c := domain.CreatePool{
			Cmd:  domain.Cmd{ID: domain.CommandID("create:" + string(p.ID)), Account: p.Account},
			Pool: p.ID, Name: p.Name, Description: p.Description, Type: p.Type, Billing: p.Billing,
			Flavor: p.Flavor, Region: p.Region, Nodes: p.Nodes, Months: p.Months, AutoRenew: p.AutoRenew,
			AZ: p.AZ, Network: p.Network,
		}
		return c, VerbCreate, p.ID, p.Account, p.Line, nil
	}
	a := s.action
	base := domain.Cmd{ID: domain.CommandID(fmt.Sprintf("action:%d", a.Index)), Account: a.Account}
	var c domain.Command
	switch a.Verb {
	case VerbScaleOut:
		c = domain.ScaleOut{Cmd: base, Pool: a.Pool, Nodes: a.Count}
	case VerbScaleIn:
		nodes := a.Nodes
		if len(nodes) == 0 { // the newest Count nodes, as the pool is at that instant
			if err := svc.Advance(ctx, a.At); err != nil {
				return nil, "", "", "", 0, err
			}
			if st, err := svc.Pool(ctx, a.Account, a.Pool); err == nil && a.Count > 0 {
				from := max(len(st.Nodes)-a.Count, 0)
				for _, n := range st.Nodes[from:] {
					nodes = append(nodes, n.ID)
				}
			}
		}
		c = domain.ScaleIn{Cmd: base, Pool: a.Pool, Nodes: nodes}
	case VerbDelete:
		c = domain.DeletePool{Cmd: base, Pool: a.Pool}
	case VerbRenew:
		c = domain.Renew{Cmd: base, Pool: a.Pool, Months: a.Count}
	case VerbAutoRenew:
		c = domain.SetAutoRenew{Cmd: base, Pool: a.Pool, On: a.On}
	case VerbFault:
		c = domain.ReportFault{Cmd: base, Pool: a.Pool}
	case VerbRecover:
		c = domain.Rectify{Cmd: base, Pool: a.Pool}
	case VerbTopUp:
		c = domain.TopUp{Cmd: base, Amount: a.Amount}
	default:
		return nil, "", "", "", 0, fmt.Errorf("action %d: unknown verb %q", a.Index, a.Verb)
	}
	return c, a.Verb, a.Pool, a.Account, a.Line, nil
}
