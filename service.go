package respool

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/respool/respool/domain"
	"github.com/respool/respool/eventstore"
)

// Config configures a Service. Its zero value is not usable: Catalog is
// required. Everything else defaults.
type Config struct {
	// Store keeps the events. nil: a new in-memory store.
	Store eventstore.Store
	// Catalog is the rate card pools are bought from. Required.
	Catalog *domain.RateCard
	// Policy holds the rules' settings; its zero value means SPEC's defaults.
	Policy domain.Policy
	// MaxRetries bounds how often a command is decided again after a
	// concurrent writer (another process sharing the store) won. 0: 8.
	MaxRetries int
	// PoolCache is how many pools' states the Service keeps in memory
	// between commands. 0: DefaultPoolCache; negative: every pool. A pool
	// with a transition due (an expiry, a renewal attempt, a deletion) is
	// always kept, beyond the bound if need be; any other is let go when
	// the cache is full and it has not been used for a while, and read back
	// from the store when next used. Restarting (New) folds the whole log,
	// then lets go of what is beyond the bound.
	PoolCache int
}

// DefaultPoolCache is the pools a Service keeps in memory by default: about
// 5 to 10 MB of state for pools of a few nodes.
const DefaultPoolCache = 4096

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	if c.Catalog == nil {
		return errors.New("respool: Config.Catalog is required")
	}
	if c.MaxRetries < 0 {
		return errors.New("respool: Config.MaxRetries is negative")
	}
	return c.Policy.Validate()
}

// Result is the outcome of a command.
type Result struct {
	// Pool is the pool the command acted on (for CreatePool, the new pool's
	// id, assigned if the command left it empty). Empty for account commands.
	Pool domain.PoolID
	// Events are the pool events the command produced, in order (nil for a
	// duplicate, an account command or a command that changed nothing).
	Events []domain.Event
	// Version is the pool stream's version after the command.
	Version eventstore.Version
	// Duplicate: the command id had already been applied; nothing happened
	// this time (R20).
	Duplicate bool
}

// Service handles commands on pools and accounts: it loads state from the
// store, asks the domain to decide, appends the events with the version it
// read, and carries out what the rules make due in time (Advance). It is
// safe for concurrent use.
//
// A Service caches the state of the streams it has touched (of pools, up to
// Config.PoolCache of them, and always those with a transition due) and
// decides on that state; the version it appends with makes the store reject
// a decision on a stale cache, and then the streams are read again and the
// command decided again. So several Services (several processes) can share
// one store: optimistic concurrency on append keeps them correct. A pool the
// Service has let go of is read back from the store when next used. Within
// one Service, commands on the same streams are serialized by locks taken in
// a fixed order (stock, account, pool), so in-process races never conflict.
// Time-driven transitions (Advance) are driven by one Service: its due-time
// queue knows the pools it has loaded or handled.
type Service struct {
	store   eventstore.Store
	catalog *domain.RateCard
	policy  domain.Policy
	cal     domain.Calendar
	retries int

	mu         sync.Mutex // guards the maps below, the ring and the hand
	stockNames map[[2]string]string
	// pools holds every pool the Service knows of: nil for one it has let
	// go of (see Config.PoolCache), whose state is in the store only.
	pools map[domain.PoolID]*poolEntry
	// ring holds the pools kept, for the CLOCK that picks which to let go
	// of; hand is where the CLOCK stands. poolCache < 0: no bound.
	ring      []*poolEntry
	spare     []*poolEntry // entries let go of, for new ones to reuse (at most maxSpare)
	hand      int
	poolCache int
	accounts  map[domain.AccountID]*accountEntry
	stocks    map[string]*stockEntry
	byAcct    map[domain.AccountID][]domain.PoolID

	due       dueQueue
	advanceMu sync.Mutex // one Advance at a time
}

type poolEntry struct {
	mu sync.Mutex
	// id and stream ("pool-ID", built once) name the pool; an entry let go
	// of may be reused for another pool (spareEntry), and then they are
	// written under both Service.mu and mu.
	id     domain.PoolID
	stream string
	state  domain.Pool
	last   time.Time // instant of the last event
	due    dueKey    // the queue entry in force
	// stale: the pool was let go of before, so this entry must be read
	// from the store before its state means anything. Under mu.
	stale bool
	// gone: this entry was let go of; whoever locks it must fetch the
	// pool's entry again. Written under both Service.mu and mu.
	gone bool
	// used is the CLOCK's reference bit. Under Service.mu.
	used bool
}

type accountEntry struct {
	mu     sync.Mutex
	stream string // "account-ID", built once
	state  domain.Account
	last   time.Time
	due    time.Time // arrears check in force
}

type stockEntry struct {
	mu    sync.Mutex
	state domain.Stock
	last  time.Time
}

// ErrClosedService is returned after Close.
var ErrClosedService = errors.New("respool: service is closed")

// New returns a Service over cfg.Store (a new in-memory store if nil). If the
// store holds events, New folds them all into state and schedules what is
// due, so a restarted Service carries on where the last one stopped,
// including command ids already applied (R20).
func New(ctx context.Context, cfg Config) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Store == nil {
		cfg.Store = eventstore.NewMemory()
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 8
	}
	s := &Service{
		store: cfg.Store, catalog: cfg.Catalog, policy: cfg.Policy,
		cal: cfg.Policy.Calendar(), retries: cfg.MaxRetries,
		pools:      make(map[domain.PoolID]*poolEntry),
		poolCache:  -1, // while loading: every pool is folded in full
		accounts:   make(map[domain.AccountID]*accountEntry),
		stocks:     make(map[string]*stockEntry),
		byAcct:     make(map[domain.AccountID][]domain.PoolID),
		stockNames: make(map[[2]string]string),
	}
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	s.poolCache = cmp.Or(cfg.PoolCache, DefaultPoolCache)
	s.mu.Lock()
	s.trim()
	s.mu.Unlock()
	return s, nil
}

// Store returns the store the Service writes to.
func (s *Service) Store() eventstore.Store { return s.store }

// Catalog returns the rate card.
func (s *Service) Catalog() *domain.RateCard { return s.catalog }

// Policy returns the policy.
func (s *Service) Policy() domain.Policy { return s.policy }

// load folds the whole log into state: the restart path.
func (s *Service) load(ctx context.Context) error {
	var dec domain.Decoder
	for rec, err := range s.store.ReadAll(ctx, 0) {
		if err != nil {
			return fmt.Errorf("respool: loading the event log: %w", err)
		}
		e, err := dec.DecodeTransient(rec.Type, rec.Data)
		if err != nil {
			return fmt.Errorf("respool: event %d of stream %s: %w", rec.Version, rec.Stream, err)
		}
		m := e.EventMeta()
		switch {
		case len(rec.Stream) > 5 && rec.Stream[:5] == "pool-":
			pe := s.poolEntry(m.Pool)
			pe.state.Evolve(e, s.policy)
			pe.last = m.At
			if _, ok := e.(*domain.Created); ok {
				s.byAcct[m.Account] = append(s.byAcct[m.Account], m.Pool)
			}
		case len(rec.Stream) > 8 && rec.Stream[:8] == "account-":
			ae := s.accountEntry(m.Account)
			ae.state.Evolve(e)
			ae.last = m.At
		case len(rec.Stream) > 6 && rec.Stream[:6] == "stock-":
			se := s.stockEntryFor(rec.Stream)
			se.state.Evolve(e)
			se.last = m.At
		}
	}
	for _, pe := range s.pools {
		s.schedulePool(pe)
	}
	for _, ae := range s.accounts {
		s.scheduleAccount(ae)
	}
	return nil
}

// poolEntry returns the pool's entry, making one if the Service keeps none
// (stale if it has let go of the pool). Lock it with lockPool, which checks
// that it is still the pool's entry and reads it back if stale.
func (s *Service) poolEntry(id domain.PoolID) *poolEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, known := s.pools[id]
	if e == nil {
		e = s.spareEntry(id, known)
		s.pools[id] = e
		s.keep(e)
	}
	e.used = true
	return e
}

// maxSpare bounds the entries kept for reuse.
const maxSpare = 64

// spareEntry returns a new entry for pool id (stale: it must be read from
// the store first): one let go of and reset, if there is one. A goroutine
// that fetched the old entry before it was let go may still lock it to look
// at it (lockPool), so an entry is reset under its lock, and one that is
// locked at this moment is left to the collector. The caller holds s.mu.
func (s *Service) spareEntry(id domain.PoolID, stale bool) *poolEntry {
	for len(s.spare) > 0 {
		e := s.spare[len(s.spare)-1]
		s.spare[len(s.spare)-1] = nil
		s.spare = s.spare[:len(s.spare)-1]
		if e.mu.TryLock() {
			e.state.Reset() // nothing shares its memory: Pool hands out clones
			e.id, e.stream, e.stale, e.gone, e.used = id, domain.PoolStream(id), stale, false, true
			e.last, e.due = time.Time{}, dueKey{}
			e.mu.Unlock()
			return e
		}
	}
	return &poolEntry{id: id, stream: domain.PoolStream(id), stale: stale, used: true}
}

// lockPool returns the pool's entry, locked, with its state read from the
// store if the Service had let go of it.
func (s *Service) lockPool(ctx context.Context, id domain.PoolID) (*poolEntry, error) {
	for {
		pe := s.poolEntry(id)
		if testHookLockPool != nil {
			testHookLockPool(id)
		}
		pe.mu.Lock()
		if pe.gone || pe.id != id { // let go of between poolEntry and Lock, and reused
			pe.mu.Unlock()
			continue
		}
		if pe.stale {
			if err := s.refreshPool(ctx, id, pe); err != nil {
				pe.mu.Unlock()
				return nil, err
			}
			pe.stale = false
		}
		return pe, nil
	}
}

// testHookLockPool, when set (by tests), runs in lockPool between fetching
// an entry and locking it.
var testHookLockPool func(domain.PoolID)

// keep puts a new entry in the ring. When the ring is full, a CLOCK picks
// the pool to let go of (see victim), and e takes its place; if none can go,
// the ring grows. A ring over the bound (it grew while pools had something
// due) lets go of one more pool at each new entry, so that it shrinks back.
// The caller holds s.mu.
func (s *Service) keep(e *poolEntry) {
	bound := max(s.poolCache, 1)
	if s.poolCache < 0 || len(s.ring) < bound {
		s.ring = append(s.ring, e)
		return
	}
	i, ok := s.victim(e)
	if !ok {
		s.ring = append(s.ring, e)
		return
	}
	s.ring[i] = e
	if len(s.ring) > bound {
		if j, ok := s.victim(e); ok {
			last := len(s.ring) - 1
			s.ring[j], s.ring[last] = s.ring[last], nil
			s.ring = s.ring[:last]
			if s.hand >= last {
				s.hand = 0
			}
		}
	}
}

// victim moves the CLOCK's hand over the ring to a pool it lets go of, and
// returns its index: it gives an entry used since the hand last passed a
// second chance, and lets go of the first that is not used, has nothing due
// and is not locked. It gives up after 16 entries that cannot go (due,
// locked, or except). The caller holds s.mu.
func (s *Service) victim(except *poolEntry) (int, bool) {
	for skipped := 0; skipped < 16; {
		i := s.hand
		v := s.ring[i]
		s.hand = (i + 1) % len(s.ring)
		switch {
		case v == except:
			skipped++
		case v.used:
			v.used = false
		case s.letGo(v):
			return i, true
		default:
			skipped++
		}
	}
	return 0, false
}

// letGo drops v from the pools kept, unless it has a transition due or is
// locked. A pool that exists is remembered as known (a nil entry), so that
// its next entry is read back from the store. The caller holds s.mu.
func (s *Service) letGo(v *poolEntry) bool {
	if !v.mu.TryLock() {
		return false
	}
	defer v.mu.Unlock()
	if v.due != (dueKey{}) {
		return false
	}
	v.gone = true
	if v.stale || v.state.Version > 0 {
		s.pools[v.id] = nil
	} else {
		delete(s.pools, v.id) // never written: nothing to read back
	}
	if len(s.spare) < maxSpare {
		s.spare = append(s.spare, v)
	}
	return true
}

// trim lets go of pools until the ring is within the bound (or only holds
// pools that cannot go). The caller holds s.mu.
func (s *Service) trim() {
	if s.poolCache < 0 || len(s.ring) <= s.poolCache {
		return
	}
	kept := s.ring[:0]
	for i, v := range s.ring {
		if len(kept)+len(s.ring)-i > s.poolCache && s.letGo(v) {
			continue
		}
		kept = append(kept, v)
	}
	clear(s.ring[len(kept):])
	s.ring, s.hand = kept, 0
}

func (s *Service) accountEntry(id domain.AccountID) *accountEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.accounts[id]
	if e == nil {
		e = &accountEntry{stream: domain.AccountStream(id)}
		e.state.ID = id
		s.accounts[id] = e
	}
	return e
}

// stockName is domain.StockStream, remembered so that commands do not build
// the string each time.
func (s *Service) stockName(f domain.FlavorID, region string) string {
	key := [2]string{string(f), region}
	s.mu.Lock()
	defer s.mu.Unlock()
	name, ok := s.stockNames[key]
	if !ok {
		name = domain.StockStream(f, region)
		s.stockNames[key] = name
	}
	return name
}

func (s *Service) stockEntryFor(stream string) *stockEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.stocks[stream]
	if e == nil {
		e = &stockEntry{}
		s.stocks[stream] = e
	}
	return e
}

// refresh folds into an entry the events other writers appended to its
// stream since it was last read. The caller holds the entry's lock.
func (s *Service) refresh(ctx context.Context, stream string, version uint64, apply func(domain.Event)) error {
	dec := decoders.Get().(*domain.Decoder)
	defer decoders.Put(dec)
	for rec, err := range s.store.ReadStream(ctx, stream, eventstore.Version(version)) {
		if err != nil {
			return fmt.Errorf("respool: reading %s: %w", stream, err)
		}
		e, err := dec.DecodeTransient(rec.Type, rec.Data)
		if err != nil {
			return fmt.Errorf("respool: event %d of stream %s: %w", rec.Version, stream, err)
		}
		apply(e)
	}
	return nil
}

// decoders are the Decoders refresh reads with: a Decoder is 3.8 KB, too
// much to clear for each command. One that has decoded before decodes as a
// fresh one would (domain.FuzzDecoderRemembers).
var decoders = sync.Pool{New: func() any { return new(domain.Decoder) }}

func (s *Service) refreshPool(ctx context.Context, id domain.PoolID, pe *poolEntry) error {
	return s.refresh(ctx, pe.stream, pe.state.Version, func(e domain.Event) {
		// A pool read back after the Service let go of it is in byAcct
		// already.
		if c, ok := e.(*domain.Created); ok && !pe.state.Exists() && !pe.stale {
			s.mu.Lock()
			s.byAcct[c.Account] = append(s.byAcct[c.Account], c.Pool)
			s.mu.Unlock()
		}
		pe.state.Evolve(e, s.policy)
		pe.last = e.EventMeta().At
	})
}

func (s *Service) refreshAccount(ctx context.Context, id domain.AccountID, ae *accountEntry) error {
	return s.refresh(ctx, ae.stream, ae.state.Version, func(e domain.Event) {
		ae.state.Evolve(e)
		ae.last = e.EventMeta().At
	})
}

func (s *Service) refreshStock(ctx context.Context, stream string, se *stockEntry) error {
	return s.refresh(ctx, stream, se.state.Version, func(e domain.Event) {
		se.state.Evolve(e)
		se.last = e.EventMeta().At
	})
}

// AssignPoolID is the id Service gives a pool whose CreatePool leaves it
// empty: derived from the account and command id, so that a retried create
// names the same pool (R20).
func AssignPoolID(account domain.AccountID, cmd domain.CommandID) domain.PoolID {
	h := sha256.Sum256([]byte(string(account) + "\x00" + string(cmd)))
	return domain.PoolID("pool-" + hex.EncodeToString(h[:8]))
}

// Handle carries out one command at instant at. First it carries out
// everything due up to at (Advance), so the command sees the pool as the
// rules have made it by then. A rejected command returns a *domain.RuleError
// (test it with errors.Is against the domain.Err* sentinels) and changes
// nothing. A command id already applied returns the earlier outcome with
// Duplicate set (R20). Instants are kept to the whole second (R28 accrues
// per second, and the balance and the bill must count the same seconds);
// instants earlier than a stream's last event are moved up to it, so each
// stream's events are in time order.
func (s *Service) Handle(ctx context.Context, at time.Time, cmd domain.Command) (Result, error) {
	at = at.Truncate(time.Second) // R28: pay-per-use accrues per second; instants are whole seconds
	if err := s.Advance(ctx, at); err != nil {
		return Result{}, err
	}
	return s.handle(ctx, at, cmd)
}

func (s *Service) handle(ctx context.Context, at time.Time, cmd domain.Command) (Result, error) {
	switch c := cmd.(type) {
	case domain.OpenAccount:
		return s.handleAccount(ctx, at, c.Cmd, c)
	case domain.TopUp:
		return s.handleAccount(ctx, at, c.Cmd, c)
	case domain.CreatePool:
		if c.Pool == "" && domain.ValidID(string(c.ID)) {
			c.Pool = AssignPoolID(c.Account, c.ID)
			cmd = c
		}
		stock := ""
		if f, ok := s.catalog.Flavor(c.Flavor); ok && f.SoldIn(c.Region) {
			stock = s.stockName(c.Flavor, c.Region)
		}
		return s.handlePool(ctx, at, c.Pool, c.Account, stock, cmd, nil)
	}
	id, ok := domain.PoolOf(cmd)
	if !ok {
		return Result{}, &domain.RuleError{Code: domain.CodeInvalidCommand, Msg: fmt.Sprintf("unknown command %T", cmd)}
	}
	// Find the pool's account and stock item; they never change after
	// creation, and the decision checks them again under the locks.
	pe, err := s.lockPool(ctx, id)
	if err != nil {
		return Result{}, err
	}
	err = s.refreshPool(ctx, id, pe)
	acct, stock := pe.state.Account, ""
	if pe.state.Exists() {
		stock = s.stockName(pe.state.Flavor, pe.state.Region)
	}
	pe.mu.Unlock()
	if err != nil {
		return Result{}, err
	}
	if acct != cmd.Actor() { // R19: decide says not_found; lock nothing else
		acct, stock = cmd.Actor(), ""
	}
	return s.handlePool(ctx, at, id, acct, stock, cmd, nil)
}

// decider decides under the locks; cmd is nil for time-driven transitions.
type decider func(w domain.World, env domain.Env) (domain.Decision, error)

// handlePool runs one pool command (or, with decide set, a time-driven
// transition) with the stock item, the account and the pool locked in that
// order, retrying on conflicts with other writers.
func (s *Service) handlePool(ctx context.Context, at time.Time, id domain.PoolID, acct domain.AccountID,
	stock string, cmd domain.Command, decide decider) (Result, error) {
	var se *stockEntry
	if stock != "" {
		se = s.stockEntryFor(stock)
		se.mu.Lock()
		defer se.mu.Unlock()
	}
	ae := s.accountEntry(acct)
	ae.mu.Lock()
	defer ae.mu.Unlock()
	pe, err := s.lockPool(ctx, id)
	if err != nil {
		return Result{}, err
	}
	defer pe.mu.Unlock()

	var cmdID domain.CommandID
	if cmd != nil {
		cmdID = cmd.CommandID()
	}
	refresh := func() (changed bool, err error) {
		v := pe.state.Version + ae.state.Version
		if err := s.refreshPool(ctx, id, pe); err != nil {
			return false, err
		}
		if err := s.refreshAccount(ctx, acct, ae); err != nil {
			return false, err
		}
		if se != nil {
			v += se.state.Version
			if err := s.refreshStock(ctx, stock, se); err != nil {
				return false, err
			}
			v -= se.state.Version
		}
		return v != pe.state.Version+ae.state.Version, nil
	}
	// Decide on the cached state; the store's expected-version check catches
	// a stale cache (another process wrote), and then the streams are re-read
	// and the command decided again. A rejection is also re-checked against
	// fresh state, since stale stock or quota could reject wrongly.
	for attempt := 0; ; attempt++ {
		if cmd != nil && pe.state.Exists() && pe.state.Account == cmd.Actor() { // R20
			if v, dup := pe.state.Applied(cmdID); dup {
				return Result{Pool: id, Version: eventstore.Version(v), Duplicate: true}, nil
			}
		}
		w := domain.World{Pool: &pe.state, Account: &ae.state}
		if se != nil {
			w.Stock = &se.state
		}
		t := latest(at, pe.last, ae.last)
		if se != nil {
			t = latest(t, se.last)
		}
		env := domain.Env{At: t, Catalog: s.catalog, Policy: s.policy}
		var d domain.Decision
		var err error
		if decide != nil {
			d, err = decide(w, env)
		} else {
			d, err = domain.Decide(w, cmd, env)
		}
		if err != nil || d.Empty() {
			if changed, rerr := refresh(); rerr != nil {
				return Result{}, rerr
			} else if changed && attempt < s.retries {
				continue
			}
			if err != nil {
				return Result{}, err
			}
			return Result{Pool: id, Version: eventstore.Version(pe.state.Version)}, nil
		}
		if len(d.Stock) > 0 && se == nil {
			return Result{}, fmt.Errorf("respool: internal: a decision on pool %s touches stock it did not lock", id)
		}
		err = s.commit(ctx, d, stock, se, acct, ae, id, pe)
		if errors.Is(err, eventstore.ErrConflict) {
			if _, rerr := refresh(); rerr != nil {
				return Result{}, rerr
			}
			if attempt < s.retries {
				continue
			}
			return Result{}, &domain.RuleError{Code: domain.CodeConflict, Msg: fmt.Sprintf("pool %s: other writers won %d times; retry", id, attempt+1)}
		}
		if err != nil {
			return Result{}, err
		}
		s.schedulePool(pe)
		s.scheduleAccount(ae)
		return Result{Pool: id, Events: d.Pool, Version: eventstore.Version(pe.state.Version)}, nil
	}
}

func latest(t time.Time, others ...time.Time) time.Time {
	for _, o := range others {
		if o.After(t) {
			t = o
		}
	}
	return t
}

// commit appends a decision: stock, then account, then pool, each with the
// version it was decided on. If a later append fails, the earlier ones are
// given back with compensating events, so a failed command holds no stock,
// quota or money. On success every entry has folded its events.
func (s *Service) commit(ctx context.Context, d domain.Decision, stock string, se *stockEntry,
	acct domain.AccountID, ae *accountEntry, id domain.PoolID, pe *poolEntry) error {
	var first domain.Event
	switch {
	case len(d.Stock) > 0:
		first = d.Stock[0]
	case len(d.Account) > 0:
		first = d.Account[0]
	default:
		first = d.Pool[0]
	}
	meta := metadata(first.EventMeta(), "")
	if d.Releases() {
		return s.commitRelease(ctx, d, stock, se, acct, ae, pe, meta)
	}
	tookStock, tookAccount := false, false
	var rateBefore, rateAfter domain.Money
	rollback := func(cause error) error {
		var err error
		if tookAccount {
			err = s.compensate(ctx, ae.stream, "undo", func() error { return s.refreshAccount(ctx, acct, ae) },
				func() uint64 { return ae.state.Version },
				func() []domain.Event {
					return domain.Compensate(d.Account, &domain.RateUndo{Current: ae.state.Rate, Before: rateBefore, After: rateAfter})
				},
				func(e domain.Event) { ae.state.Evolve(e) })
		}
		if err == nil && tookStock {
			err = s.compensate(ctx, stock, "undo", func() error { return s.refreshStock(ctx, stock, se) },
				func() uint64 { return se.state.Version },
				func() []domain.Event { return domain.Compensate(d.Stock, nil) },
				func(e domain.Event) { se.state.Evolve(e) })
		}
		if err != nil {
			// Not a conflict: the command must not be retried while what
			// it took is still held.
			return fmt.Errorf("respool: %v; and giving back what was taken failed: %w", cause, err)
		}
		return cause
	}
	if len(d.Stock) > 0 {
		if _, err := s.append(ctx, stock, se.state.Version, d.Stock, "", meta); err != nil {
			return err
		}
		for _, e := range d.Stock {
			se.state.Evolve(e)
		}
		se.last = lastAt(d.Stock)
		tookStock = true
	}
	if len(d.Account) > 0 {
		rateBefore = ae.state.Rate
		if _, err := s.append(ctx, ae.stream, ae.state.Version, d.Account, "", meta); err != nil {
			return rollback(err)
		}
		for _, e := range d.Account {
			ae.state.Evolve(e)
		}
		ae.last = lastAt(d.Account)
		rateAfter = ae.state.Rate
		tookAccount = true
	}
	if len(d.Pool) > 0 {
		if _, err := s.append(ctx, pe.stream, pe.state.Version, d.Pool, "", meta); err != nil {
			return rollback(err)
		}
		created := !pe.state.Exists()
		for _, e := range d.Pool {
			pe.state.Evolve(e, s.policy)
		}
		pe.last = lastAt(d.Pool)
		if created && pe.state.Exists() {
			s.mu.Lock()
			s.byAcct[pe.state.Account] = append(s.byAcct[pe.state.Account], id)
			s.mu.Unlock()
		}
	}
	return nil
}

// commitRelease appends a decision that only gives back (scale-in,
// deletion, a freeze): the pool's events first, with the version they were
// decided on, and then the returns to the account and the stock item, which
// commute with whatever else is written there, so a conflict there is
// re-read and retried rather than undone (see domain.Decision.Releases).
func (s *Service) commitRelease(ctx context.Context, d domain.Decision, stock string, se *stockEntry,
	acct domain.AccountID, ae *accountEntry, pe *poolEntry, meta []byte) error {
	if len(d.Pool) > 0 {
		if _, err := s.append(ctx, pe.stream, pe.state.Version, d.Pool, "", meta); err != nil {
			return err // nothing given back yet: the caller decides again
		}
		for _, e := range d.Pool {
			pe.state.Evolve(e, s.policy)
		}
		pe.last = lastAt(d.Pool)
	}
	var err error
	if len(d.Account) > 0 {
		from := ae.state.Rate
		to := from
		for _, e := range d.Account {
			if r, ok := e.(*domain.RateChanged); ok {
				to = r.Rate
			}
		}
		first := true
		err = s.compensate(ctx, ae.stream, "", func() error {
			if first { // decided on this state: append as decided unless it conflicts
				first = false
				return nil
			}
			return s.refreshAccount(ctx, acct, ae)
		}, func() uint64 { return ae.state.Version },
			func() []domain.Event { return domain.Rebase(d.Account, ae.state.Rate, from, to) },
			func(e domain.Event) { ae.state.Evolve(e); ae.last = e.EventMeta().At })
	}
	if err == nil && len(d.Stock) > 0 {
		first := true
		err = s.compensate(ctx, stock, "", func() error {
			if first {
				first = false
				return nil
			}
			return s.refreshStock(ctx, stock, se)
		}, func() uint64 { return se.state.Version },
			func() []domain.Event { return d.Stock },
			func(e domain.Event) { se.state.Evolve(e); se.last = e.EventMeta().At })
	}
	if err != nil {
		// The pool's events are written: this is not a conflict to retry.
		return fmt.Errorf("respool: pool %s gave back its nodes, but writing the return failed: %w", pe.state.ID, err)
	}
	return nil
}

// compensate appends the events that give back a reservation. Other writers
// may have appended to the stream since it was taken, so it re-reads the
// stream and decides the compensation against what is there now, as often
// as it takes (compensations commute with everything else written there).
func (s *Service) compensate(ctx context.Context, stream, tag string, refresh func() error, version func() uint64,
	events func() []domain.Event, apply func(domain.Event)) error {
	for attempt := 0; ; attempt++ {
		if err := refresh(); err != nil {
			return err
		}
		back := events()
		if len(back) == 0 {
			return nil
		}
		_, err := s.append(ctx, stream, version(), back, tag, metadata(back[0].EventMeta(), tag))
		if err == nil {
			for _, e := range back {
				apply(e)
			}
			return nil
		}
		if !errors.Is(err, eventstore.ErrConflict) || attempt >= 100*s.retries {
			return fmt.Errorf("giving back on %s: %v", stream, err) // deliberately not %w: not retryable
		}
	}
}

// append encodes events and appends them to stream at version v. Event ids
// are derived from the stream, the command and the event's index, so a
// retried append of the same decision carries the same ids (stores that
// deduplicate by id, such as EventStoreDB, drop the repeat).
func (s *Service) append(ctx context.Context, stream string, v uint64, events []domain.Event, tag string, meta []byte) (eventstore.AppendResult, error) {
	// Stores keep nothing of an append once it returns (eventstore.Store),
	// so the records and the payloads' buffer are reused from one append to
	// the next.
	sc := scratchPool.Get().(*appendScratch)
	if cap(sc.recs) < len(events) {
		sc.recs = make([]eventstore.Event, len(events))
	}
	recs := sc.recs[:len(events)]
	// Only recs was written: the records past it were cleared when their
	// append ended.
	defer func() { clear(recs); scratchPool.Put(sc) }()
	cmd := events[0].EventMeta().Command
	// The ids are cut from the scratch's block of id bytes, which is only
	// ever appended to: an id handed out is never written again, so it is a
	// true string, and a block serves many appends (one allocation per
	// block rather than one per append). Offsets stay on the stack.
	var endsArr [64]int
	ends := endsArr[:0]
	if 2*len(events) > len(endsArr) {
		ends = make([]int, 0, 2*len(events))
	}
	idLen := len(events) * (len(stream) + len(cmd) + len(tag) + 23)
	if cap(sc.ids)-len(sc.ids) < idLen {
		sc.ids = make([]byte, 0, max(idBlock, idLen))
	}
	ids := sc.ids
	idStart := len(ids)
	// The encoder keeps the head it wrote last: the three appends of one
	// command share it (their events have the same meta).
	buf := sc.buf[:0]
	for i, e := range events {
		var err error
		if buf, err = sc.enc.Append(buf, e); err != nil {
			return eventstore.AppendResult{}, err
		}
		ids = append(ids, stream...)
		ids = append(ids, '/')
		ids = append(ids, cmd...)
		ids = append(ids, '/')
		if tag != "" {
			ids = append(ids, tag...)
			ids = append(ids, '/')
		}
		ids = strconv.AppendUint(ids, v+uint64(i)+1, 10)
		ends = append(ends, len(buf), len(ids))
	}
	if cap(buf) <= 64<<10 {
		sc.buf = buf // a rare huge append does not stay in the pool
	}
	sc.ids = ids // within the capacity reserved above: the block did not move
	all := unsafe.String(unsafe.SliceData(ids), len(ids))
	start := 0
	for i, e := range events {
		recs[i] = eventstore.Event{
			ID: all[idStart:ends[2*i+1]], Type: e.EventType(), Data: buf[start:ends[2*i]:ends[2*i]],
			Metadata: meta, Time: e.EventMeta().At,
		}
		start, idStart = ends[2*i], ends[2*i+1]
	}
	return s.store.Append(ctx, stream, eventstore.ExpectVersion(eventstore.Version(v)), recs...)
}

// appendScratch is what one append reuses from the last.
type appendScratch struct {
	recs []eventstore.Event
	buf  []byte
	enc  domain.Encoder
	ids  []byte // the block ids are cut from; bytes below len are never written again
}

// idBlock is the size of a block of event ids: about 150 of them.
const idBlock = 4 << 10

var scratchPool = sync.Pool{New: func() any { return new(appendScratch) }}

// lastAt is the instant of the last of events, which is not empty.
func lastAt(events []domain.Event) time.Time { return events[len(events)-1].EventMeta().At }

// metadata is the JSON metadata kept beside each event: the account, the
// command, and what caused it (the command itself, or "undo" for a
// compensation).
func metadata(m domain.Meta, tag string) []byte {
	b := make([]byte, 0, 64+len(m.Account)+2*len(m.Command)+len(tag))
	b = append(b, `{"account":`...)
	b = appendQuoted(b, string(m.Account))
	b = append(b, `,"command":`...)
	b = appendQuoted(b, string(m.Command))
	b = append(b, `,"causation":`...)
	if tag != "" {
		b = appendQuoted(b, string(m.Command)+"/"+tag)
	} else {
		b = appendQuoted(b, string(m.Command))
	}
	return append(b, '}')
}

// appendQuoted appends s quoted. Ids are plain (printable ASCII, no quote or
// backslash: domain.ValidID), so they are written as they are; anything else
// goes through strconv.AppendQuote.
func appendQuoted(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' || c == '"' || c == '\\' {
			return strconv.AppendQuote(b, s)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func (s *Service) handleAccount(ctx context.Context, at time.Time, c domain.Cmd, cmd domain.Command) (Result, error) {
	ae := s.accountEntry(c.Account)
	ae.mu.Lock()
	for attempt := 0; ; attempt++ {
		if err := s.refreshAccount(ctx, c.Account, ae); err != nil {
			ae.mu.Unlock()
			return Result{}, err
		}
		if ae.state.Applied(c.ID) { // R20
			ae.mu.Unlock()
			return Result{Duplicate: true}, nil
		}
		env := domain.Env{At: latest(at, ae.last), Catalog: s.catalog, Policy: s.policy}
		d, err := domain.Decide(domain.World{Account: &ae.state}, cmd, env)
		if err != nil {
			ae.mu.Unlock()
			return Result{}, err
		}
		_, err = s.append(ctx, ae.stream, ae.state.Version, d.Account, "", metadata(d.Account[0].EventMeta(), ""))
		if errors.Is(err, eventstore.ErrConflict) && attempt < s.retries {
			continue
		}
		if err != nil {
			ae.mu.Unlock()
			return Result{}, err
		}
		cleared := false
		for _, e := range d.Account {
			ae.state.Evolve(e)
			ae.last = e.EventMeta().At
			_, ok := e.(*domain.ArrearsCleared)
			cleared = cleared || ok
		}
		s.scheduleAccount(ae)
		ae.mu.Unlock()
		if cleared { // R27: the account's pools come back
			if err := s.fanOut(ctx, env.At, c.Account, "paid", func(w domain.World, env domain.Env) (domain.Decision, error) {
				return domain.DecideArrearsPaid(w, sysID("paid", w.Pool.ID, env.At), env), nil
			}); err != nil {
				return Result{}, err
			}
		}
		return Result{}, nil
	}
}

// fanOut applies a time-driven decision to every pool of an account.
func (s *Service) fanOut(ctx context.Context, at time.Time, acct domain.AccountID, kind string, decide decider) error {
	s.mu.Lock()
	ids := append([]domain.PoolID(nil), s.byAcct[acct]...)
	s.mu.Unlock()
	for _, id := range ids {
		if _, err := s.handlePool(ctx, at, id, acct, "", nil, decide); err != nil {
			return fmt.Errorf("respool: %s for pool %s: %w", kind, id, err)
		}
	}
	return nil
}

// sysID is the command id of a transition the system carries out: derived
// from what and when, so that carrying it out twice is a no-op.
func sysID(kind string, id domain.PoolID, at time.Time) domain.CommandID {
	return domain.CommandID("sys:" + kind + ":" + string(id) + ":" + strconv.FormatInt(at.UnixNano(), 10))
}

// Pool returns a copy of the pool's state as of the last event, as the acting
// account sees it: another account's pool is not_found (R19).
func (s *Service) Pool(ctx context.Context, account domain.AccountID, id domain.PoolID) (domain.Pool, error) {
	pe, err := s.lockPool(ctx, id)
	if err != nil {
		return domain.Pool{}, err
	}
	defer pe.mu.Unlock()
	if err := s.refreshPool(ctx, id, pe); err != nil {
		return domain.Pool{}, err
	}
	if !pe.state.Exists() || pe.state.Account != account {
		return domain.Pool{}, &domain.RuleError{Code: domain.CodeNotFound, Rule: "R19", Msg: fmt.Sprintf("pool %q not found", id)}
	}
	return pe.state.Clone(), nil
}

// Account returns a copy of the account's state.
func (s *Service) Account(ctx context.Context, id domain.AccountID) (domain.Account, error) {
	ae := s.accountEntry(id)
	ae.mu.Lock()
	defer ae.mu.Unlock()
	if err := s.refreshAccount(ctx, id, ae); err != nil {
		return domain.Account{}, err
	}
	return ae.state.Clone(), nil
}

// Pools returns the ids of an account's pools, in creation order, deleted
// ones included.
func (s *Service) Pools(account domain.AccountID) []domain.PoolID {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]domain.PoolID(nil), s.byAcct[account]...)
}
