package respooltest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/respool/respool"
	"github.com/respool/respool/domain"
	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/projections"
)

// StepResult is what one step did: the command as sent (a ScaleInNewest
// resolved into the ScaleIn it became), the Service's result, and its
// rejection if any (always a *domain.RuleError: Run.Do returns other errors
// as errors). A conflict is a rejection too: the domain gives that code to a
// CreatePool whose pool id is taken.
type StepResult struct {
	Step Step
	Sent domain.Command
	respool.Result
	Err error
}

// Code is the code of the step's rejection, "" if it was accepted.
func (r StepResult) Code() domain.Code { return domain.CodeOf(r.Err) }

// String is the step, and what came of it.
func (r StepResult) String() string {
	switch {
	case r.Err != nil:
		return fmt.Sprintf("%s -> %v", FormatCommand(r.Sent), r.Err)
	case r.Duplicate:
		return fmt.Sprintf("%s -> duplicate", FormatCommand(r.Sent))
	}
	return fmt.Sprintf("%s -> %d events", FormatCommand(r.Sent), len(r.Events))
}

// RunConfig configures Start. The zero value runs on a new in-memory store.
type RunConfig struct {
	// Store is the store the Service writes to (nil: a new in-memory one).
	Store eventstore.Store
	// PoolCache is the Service's respool.Config.PoolCache: how many pools it
	// keeps in memory (0: the default).
	PoolCache int
}

// Run is a timeline being carried out by a Service, one step at a time, so
// that a test can look at the Service between steps. Execute does it all at
// once. A Run is not safe for concurrent use.
type Run struct {
	Timeline Timeline
	Service  *respool.Service
	Catalog  *domain.RateCard
	// Opened are the results of the accounts' OpenAccount at Start.
	Opened []StepResult
	// Results are the steps done so far, in order.
	Results []StepResult
}

// Start builds the rate card and a Service for tl and opens its accounts at
// tl.Start.
func Start(ctx context.Context, tl Timeline, cfg RunConfig) (*Run, error) {
	rc, err := tl.Catalog.RateCard()
	if err != nil {
		return nil, fmt.Errorf("respooltest: the timeline's rate card: %w", err)
	}
	svc, err := respool.New(ctx, respool.Config{Catalog: rc, Policy: tl.Policy, Store: cfg.Store, PoolCache: cfg.PoolCache})
	if err != nil {
		return nil, err
	}
	r := &Run{Timeline: tl, Service: svc, Catalog: rc}
	for _, a := range tl.Accounts {
		res, err := r.send(ctx, Step{At: tl.Start, Cmd: a})
		if err != nil {
			return nil, err
		}
		r.Opened = append(r.Opened, res)
	}
	return r, nil
}

// Do carries out one step: it resolves a ScaleInNewest against the pool as
// it is at the step's instant, then hands the command to Service.Handle. A
// rule's rejection is part of the result; any other error (the store
// failing, a conflict no retry resolved) is returned.
func (r *Run) Do(ctx context.Context, s Step) (StepResult, error) {
	res, err := r.send(ctx, s)
	if err != nil {
		return res, err
	}
	r.Results = append(r.Results, res)
	return res, nil
}

func (r *Run) send(ctx context.Context, s Step) (StepResult, error) {
	cmd := s.Cmd
	if c, ok := cmd.(ScaleInNewest); ok {
		sent, err := r.Resolve(ctx, s.At, c)
		if err != nil {
			return StepResult{Step: s}, err
		}
		cmd = sent
	}
	res, err := r.Service.Handle(ctx, s.At, cmd)
	out := StepResult{Step: s, Sent: cmd, Result: res, Err: err}
	if err != nil {
		var re *domain.RuleError
		if !errors.As(err, &re) {
			return out, fmt.Errorf("respooltest: %s at %s: %w", FormatCommand(cmd), FormatInstant(s.At, r.Timeline.Calendar().Location()), err)
		}
	}
	return out, nil
}

// Resolve turns a ScaleInNewest into the ScaleIn naming the pool's c.Count
// newest nodes at instant at (after advancing the Service to at).
func (r *Run) Resolve(ctx context.Context, at time.Time, c ScaleInNewest) (domain.ScaleIn, error) {
	out := domain.ScaleIn{Cmd: c.Cmd, Pool: c.Pool}
	if err := r.Service.Advance(ctx, at); err != nil {
		return out, err
	}
	p, err := r.Service.Pool(ctx, c.Account, c.Pool)
	if err != nil || c.Count <= 0 {
		return out, nil // the ScaleIn is refused as it should be (R19, R16)
	}
	for _, n := range p.Nodes[max(len(p.Nodes)-c.Count, 0):] {
		out.Nodes = append(out.Nodes, n.ID)
	}
	return out, nil
}

// Finish advances the Service to the timeline's End and reads the outcome:
// the whole log and the projections built from it.
func (r *Run) Finish(ctx context.Context) (*Outcome, error) {
	if err := r.Service.Advance(ctx, r.Timeline.End); err != nil {
		return nil, err
	}
	o := &Outcome{Timeline: r.Timeline, Service: r.Service, Catalog: r.Catalog, Opened: r.Opened, Results: r.Results}
	if err := o.read(ctx); err != nil {
		return nil, err
	}
	return o, nil
}

// Execute runs a whole timeline on a new Service over an in-memory store and
// returns the outcome. An error is never a rule's rejection (those are in
// Outcome.Results) but something that should not happen: a store error, an
// event that does not decode, a projection that refuses an event.
func Execute(ctx context.Context, tl Timeline) (*Outcome, error) {
	r, err := Start(ctx, tl, RunConfig{})
	if err != nil {
		return nil, err
	}
	for _, s := range tl.Steps {
		if _, err := r.Do(ctx, s); err != nil {
			return nil, err
		}
	}
	return r.Finish(ctx)
}

// Entry is one record of the log with its decoded event.
type Entry struct {
	eventstore.Record
	Event domain.Event
}

// Envelope is the entry as projections take it.
func (e Entry) Envelope() projections.Envelope {
	return projections.Envelope{Stream: e.Stream, Version: e.Version, Position: e.Position, ID: e.ID, Event: e.Event}
}

// Outcome is what a timeline did: the results of its steps, every event of
// the log, the pools' and accounts' states folded from it, and the
// projections (node list, charges, inventory) built from it, all as of the
// timeline's End.
type Outcome struct {
	Timeline Timeline
	Service  *respool.Service
	Catalog  *domain.RateCard
	Opened   []StepResult
	Results  []StepResult
	// Log is the store's whole global log, in position order.
	Log []Entry

	Nodes     *projections.NodeList
	Charges   *projections.Charges
	Inventory *projections.Inventory

	pools    []domain.PoolID
	byPool   map[domain.PoolID][]domain.Event
	accounts map[domain.AccountID][]domain.Event
}

func (o *Outcome) read(ctx context.Context) error {
	o.Nodes = projections.NewNodeList(projections.Options{})
	o.Charges = projections.NewCharges(o.Timeline.Policy, projections.Options{})
	o.Inventory = projections.NewInventory(o.Catalog, projections.Options{})
	runner := projections.NewRunner(o.Service.Store(), o.Nodes, o.Charges, o.Inventory)
	o.byPool = map[domain.PoolID][]domain.Event{}
	o.accounts = map[domain.AccountID][]domain.Event{}
	log, err := ReadLog(ctx, o.Service.Store())
	if err != nil {
		return err
	}
	o.Log = log
	for _, e := range log {
		if err := runner.ApplyEnvelope(e.Envelope()); err != nil {
			return err
		}
		m := e.Event.EventMeta()
		switch {
		case strings.HasPrefix(e.Stream, "pool-"):
			if _, ok := e.Event.(*domain.Created); ok {
				o.pools = append(o.pools, m.Pool)
			}
			o.byPool[m.Pool] = append(o.byPool[m.Pool], e.Event)
		case strings.HasPrefix(e.Stream, "account-"):
			o.accounts[m.Account] = append(o.accounts[m.Account], e.Event)
		}
	}
	return nil
}

// ReadLog reads and decodes a store's whole global log.
func ReadLog(ctx context.Context, s eventstore.Store) ([]Entry, error) {
	var out []Entry
	var dec domain.Decoder
	for rec, err := range s.ReadAll(ctx, 0) {
		if err != nil {
			return nil, err
		}
		ev, err := dec.Decode(rec.Type, rec.Data)
		if err != nil {
			return nil, fmt.Errorf("respooltest: record %d (%s v%d): %w", rec.Position, rec.Stream, rec.Version, err)
		}
		out = append(out, Entry{Record: rec, Event: ev})
	}
	return out, nil
}

// PoolIDs returns the pools created, in creation order.
func (o *Outcome) PoolIDs() []domain.PoolID { return append([]domain.PoolID(nil), o.pools...) }

// PoolEvents returns the events of a pool's stream, in order.
func (o *Outcome) PoolEvents(id domain.PoolID) []domain.Event { return o.byPool[id] }

// AccountEvents returns the events of an account's stream, in order.
func (o *Outcome) AccountEvents(id domain.AccountID) []domain.Event { return o.accounts[id] }

// AccountIDs returns the accounts that have a stream, sorted.
func (o *Outcome) AccountIDs() []domain.AccountID {
	out := make([]domain.AccountID, 0, len(o.accounts))
	for id := range o.accounts {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Pool folds a pool's events into its state as of End.
func (o *Outcome) Pool(id domain.PoolID) domain.Pool {
	var p domain.Pool
	for _, e := range o.byPool[id] {
		p.Evolve(e, o.Timeline.Policy)
	}
	return p
}

// Account folds an account's events into its state as of End.
func (o *Outcome) Account(id domain.AccountID) domain.Account {
	a := domain.Account{ID: id}
	for _, e := range o.accounts[id] {
		a.Evolve(e)
	}
	return a
}

// String is the timeline's steps with their results, then the log, every
// instant in the billing zone: what a failing property prints.
func (o *Outcome) String() string {
	var b strings.Builder
	loc := o.Timeline.Calendar().Location()
	b.WriteString("results:")
	for _, r := range o.Opened {
		fmt.Fprintf(&b, "\n  %s  %s", FormatInstant(r.Step.At, loc), r)
	}
	for i, r := range o.Results {
		fmt.Fprintf(&b, "\n  %2d %s  %s", i, FormatInstant(r.Step.At, loc), r)
	}
	b.WriteString("\nlog:")
	for _, e := range o.Log {
		fmt.Fprintf(&b, "\n  @%-3d %s  %s", e.Position, FormatInstant(e.Event.EventMeta().At, loc), FormatEvent(e.Event))
	}
	return b.String()
}

// FormatEvent is a one-line account of an event.
func FormatEvent(e domain.Event) string {
	m := e.EventMeta()
	head := fmt.Sprintf("%-26s %s", e.EventType(), m.Pool)
	if m.Pool == "" {
		head = fmt.Sprintf("%-26s %s", e.EventType(), m.Account)
	}
	switch e := e.(type) {
	case *domain.Created:
		s := fmt.Sprintf("%s %s %s %s@%s x%d hourly %s monthly %s yearly %s", head, e.Type, e.Billing, e.Flavor, e.Region, e.Nodes,
			e.Prices.Hourly, e.Prices.Monthly, e.Prices.Yearly)
		if e.Billing == domain.Prepaid {
			s += fmt.Sprintf(" term %s..%s (%dm) charge %s list %s auto=%v", e.Term.Start.Format(time.RFC3339), e.Term.End.Format(time.RFC3339),
				e.Term.Months, e.Charge, e.ListPrice, e.AutoRenew)
		}
		return s
	case *domain.NodeAdded:
		return fmt.Sprintf("%s %s %s", head, e.Node, e.AZ)
	case *domain.NodeRemoved:
		return fmt.Sprintf("%s %s", head, e.Node)
	case *domain.Renewed:
		return fmt.Sprintf("%s term %s..%s (%dm) charge %s list %s auto=%v", head, e.Term.Start.Format(time.RFC3339),
			e.Term.End.Format(time.RFC3339), e.Term.Months, e.Charge, e.ListPrice, e.Automatic)
	case *domain.RenewalFailed:
		return fmt.Sprintf("%s %dm charge %s: %s", head, e.Months, e.Charge, e.Reason)
	case *domain.AutoRenewalChanged:
		return fmt.Sprintf("%s on=%v months=%d", head, e.On, e.Months)
	case *domain.StatusChanged:
		return fmt.Sprintf("%s %s -> %s (%s)", head, e.From, e.To, e.Reason)
	case *domain.Deleted:
		return fmt.Sprintf("%s (%s)", head, e.Reason)
	case *domain.StockTaken:
		return fmt.Sprintf("%s %s@%s %d for %s", head, e.Flavor, e.Region, e.Nodes, e.Pool)
	case *domain.StockReturned:
		return fmt.Sprintf("%s %s@%s %d from %s", head, e.Flavor, e.Region, e.Nodes, e.Pool)
	case *domain.QuotaUsed:
		return fmt.Sprintf("%s %s %d (%s)", head, e.Flavor, e.Nodes, e.Pool)
	case *domain.QuotaFreed:
		return fmt.Sprintf("%s %s %d (%s)", head, e.Flavor, e.Nodes, e.Pool)
	case *domain.Charged:
		return fmt.Sprintf("%s %s (%s)", head, e.Amount, e.Pool)
	case *domain.Refunded:
		return fmt.Sprintf("%s %s (%s)", head, e.Amount, e.Pool)
	case *domain.ToppedUp:
		return fmt.Sprintf("%s %s", head, e.Amount)
	case *domain.RateChanged:
		return fmt.Sprintf("%s rate %s/h", head, e.Rate)
	}
	return head
}
