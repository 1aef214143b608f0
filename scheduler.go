package respool

import (
	"container/heap"
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/respool/respool/domain"
)

// dueKey is a pool's transition in force in the queue.
type dueKey struct {
	at   time.Time
	kind domain.DueKind
}

// dueItem is one entry of the due-time queue: a pool transition or an
// account's arrears settlement. Entries are never removed early: a popped
// entry that is no longer the one in force for its pool or account is
// dropped (lazy deletion), which keeps every change O(log n).
type dueItem struct {
	at      time.Time
	seq     uint64
	pool    domain.PoolID
	kind    domain.DueKind
	account domain.AccountID // set for an arrears check
}

type dueHeap []dueItem

func (h dueHeap) Len() int { return len(h) }

// Less orders entries by instant; entries due at the same instant by a key
// that does not depend on history (settlements first, then by account or
// pool id and kind), so that a restarted Service, which schedules from a
// fold of the log, carries them out in the same order as the one that ran
// on (found by the replay property).
func (h dueHeap) Less(i, j int) bool {
	a, b := &h[i], &h[j]
	if !a.at.Equal(b.at) {
		return a.at.Before(b.at)
	}
	if (a.account != "") != (b.account != "") {
		return a.account != ""
	}
	if a.account != b.account {
		return a.account < b.account
	}
	if a.pool != b.pool {
		return a.pool < b.pool
	}
	if a.kind != b.kind {
		return a.kind < b.kind
	}
	return a.seq < b.seq
}
func (h dueHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)   { *h = append(*h, x.(dueItem)) }
func (h *dueHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

type dueQueue struct {
	mu  sync.Mutex
	h   dueHeap
	seq uint64
}

func (q *dueQueue) push(it dueItem) {
	q.mu.Lock()
	q.seq++
	it.seq = q.seq
	heap.Push(&q.h, it)
	q.mu.Unlock()
}

// popDue removes and returns the earliest entry due at or before to.
func (q *dueQueue) popDue(to time.Time) (dueItem, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.h) == 0 || q.h[0].at.After(to) {
		return dueItem{}, false
	}
	return heap.Pop(&q.h).(dueItem), true
}

// Next returns when the next time-driven transition is due, and false if none
// is scheduled. Entries that a later change made stale may still show here;
// Advance skips them.
func (s *Service) Next() (time.Time, bool) {
	s.due.mu.Lock()
	defer s.due.mu.Unlock()
	if len(s.due.h) == 0 {
		return time.Time{}, false
	}
	return s.due.h[0].at, true
}

// schedulePool queues the pool's next transition if it changed. The caller
// holds the pool's lock.
func (s *Service) schedulePool(pe *poolEntry) {
	at, kind, ok := pe.state.Due(s.policy)
	if !ok {
		pe.due = dueKey{}
		return
	}
	k := dueKey{at, kind}
	if pe.due == k {
		return
	}
	pe.due = k
	s.due.push(dueItem{at: at, pool: pe.state.ID, kind: kind})
}

// scheduleAccount queues the account's arrears settlement if it changed. The
// caller holds the account's lock.
func (s *Service) scheduleAccount(ae *accountEntry) {
	at, ok := ae.state.ArrearsDue(s.cal)
	if !ok {
		ae.due = time.Time{}
		return
	}
	if ae.due.Equal(at) {
		return
	}
	ae.due = at
	s.due.push(dueItem{at: at, account: ae.state.ID})
}

// Advance carries out, in time order and each at its own instant, every
// transition due at or before to: auto-renewal attempts and retries (R24),
// expiry, grace and retention ends and system deletion (R26), and
// pay-per-use settlement against limited balances (R27). Its cost grows with
// what is due, not with the number of pools: each pool and account has at
// most one live entry in a due-time queue, and settlement is computed in
// closed form (the hour at which the balance runs out at the current burn
// rate), rescheduled whenever that rate changes. Calls are serialized.
func (s *Service) Advance(ctx context.Context, to time.Time) error {
	s.advanceMu.Lock()
	defer s.advanceMu.Unlock()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		it, ok := s.due.popDue(to)
		if !ok {
			return nil
		}
		if it.account != "" {
			if err := s.settle(ctx, it); err != nil {
				return err
			}
			continue
		}
		if err := s.transition(ctx, it); err != nil {
			return err
		}
	}
}

// transition carries out a pool's due transition if it is still the one in
// force.
func (s *Service) transition(ctx context.Context, it dueItem) error {
	s.mu.Lock()
	pe := s.pools[it.pool]
	s.mu.Unlock()
	if pe == nil {
		return nil
	}
	pe.mu.Lock()
	// An entry let go of since (and perhaps reused for another pool) has
	// nothing due: pools with a transition due are kept.
	stale := pe.gone || pe.id != it.pool || pe.due != (dueKey{it.at, it.kind})
	if stale {
		pe.mu.Unlock()
		return nil
	}
	pe.due = dueKey{} // consumed: handlePool schedules what follows
	acct, stock := pe.state.Account, s.stockName(pe.state.Flavor, pe.state.Region)
	version := pe.state.Version
	pe.mu.Unlock()
	// The id names the state the transition acts on, so that one carried out
	// twice on the same state is a no-op, while a new attempt at the same
	// instant on a changed state (auto-renewal turned on at the instant of a
	// failed attempt, R24) is a command of its own.
	id := domain.CommandID(string(sysID(it.kind.String(), it.pool, it.at)) + ":v" + strconv.FormatUint(version, 10))
	_, err := s.handlePool(ctx, it.at, it.pool, acct, stock, nil, func(w domain.World, env domain.Env) (domain.Decision, error) {
		if _, dup := w.Pool.Applied(id); dup {
			return domain.Decision{}, nil
		}
		return domain.DecideDue(w, it.kind, id, env)
	})
	if err != nil {
		return fmt.Errorf("respool: %s of pool %s due %s: %w", it.kind, it.pool, it.at.Format(time.RFC3339), err)
	}
	// The Service may have let go of pe while the transition was under way
	// (nothing was due in it then): look at the pool's entry now.
	pe, err = s.lockPool(ctx, it.pool)
	if err != nil {
		return err
	}
	defer pe.mu.Unlock()
	if pe.state.Version == version {
		// Nothing happened: the same transition must not come back at the
		// same instant, or Advance would never end.
		if at, kind, ok := pe.state.Due(s.policy); ok && kind == it.kind && at.Equal(it.at) {
			return fmt.Errorf("respool: internal: %s of pool %s due %s made no progress", it.kind, it.pool, it.at.Format(time.RFC3339))
		}
	}
	s.schedulePool(pe)
	return nil
}

// settle starts an account's arrears at a clock-hour settlement that its
// balance cannot cover (R27), then puts its pay-per-use pools into grace.
func (s *Service) settle(ctx context.Context, it dueItem) error {
	ae := s.accountEntry(it.account)
	ae.mu.Lock()
	if !ae.due.Equal(it.at) {
		ae.mu.Unlock()
		return nil
	}
	ae.due = time.Time{}
	if err := s.refreshAccount(ctx, it.account, ae); err != nil {
		ae.mu.Unlock()
		return err
	}
	id := domain.CommandID("sys:arrears:" + string(it.account) + ":" + fmt.Sprint(it.at.UnixNano()))
	env := domain.Env{At: it.at, Catalog: s.catalog, Policy: s.policy}
	events := domain.DecideArrears(&ae.state, id, env)
	if len(events) == 0 {
		s.scheduleAccount(ae)
		ae.mu.Unlock()
		return nil
	}
	if _, err := s.append(ctx, ae.stream, ae.state.Version, events, "", metadata(events[0].EventMeta(), "")); err != nil {
		ae.mu.Unlock()
		return fmt.Errorf("respool: arrears of account %s: %w", it.account, err)
	}
	for _, e := range events {
		ae.state.Evolve(e)
		ae.last = e.EventMeta().At
	}
	ae.mu.Unlock()
	return s.fanOut(ctx, it.at, it.account, "arrears", func(w domain.World, env domain.Env) (domain.Decision, error) {
		return domain.Decision{Pool: domain.DecideArrearsGrace(w.Pool, sysID("arrears", w.Pool.ID, it.at), env)}, nil
	})
}
