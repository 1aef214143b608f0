package projections

import (
	"sync"
	"time"

	"github.com/respool/respool/domain"
	"github.com/respool/respool/eventstore"
)

// Node is a node of a pool as the node list shows it.
type Node struct {
	ID domain.NodeID
	AZ string
	// Added is when the node joined the pool (its NodeAdded).
	Added time.Time
	// Removed is when it left: its NodeRemoved, or the pool's Deleted. Zero
	// while it is in the pool.
	Removed time.Time
	// AddedBy and RemovedBy name the events (RemovedBy is empty while the
	// node is in the pool).
	AddedBy   Source
	RemovedBy Source
}

// Current reports whether the node is still in its pool.
func (n Node) Current() bool { return n.Removed.IsZero() }

// In reports whether the node was in its pool at instant t: Added <= t and
// t < Removed. A node added and removed at the same instant never was.
func (n Node) In(t time.Time) bool {
	return !t.Before(n.Added) && (n.Removed.IsZero() || t.Before(n.Removed))
}

// PoolInfo is what the node list knows of a pool.
type PoolInfo struct {
	ID      domain.PoolID
	Account domain.AccountID
	Name    string
	Type    domain.PoolType
	Billing domain.Billing
	Flavor  domain.FlavorID
	Region  string
	Status  domain.Status
	Created time.Time
	Deleted time.Time // zero unless deleted
	// Nodes is the number of nodes in the pool now (0 once deleted).
	Nodes int
	// CreatedBy names the pool's Created event.
	CreatedBy Source
}

// NodeList is the projection of which nodes each pool has: now, and at any
// past instant. It is safe for concurrent use; the zero value is not usable,
// build one with NewNodeList.
type NodeList struct {
	mu      sync.RWMutex
	t       tracker
	pools   map[domain.PoolID]*poolNodes
	byAcct  map[domain.AccountID][]*poolNodes
	ordered []*poolNodes // creation order
	last    *poolNodes   // the pool of the last event: most events follow one of the same pool
}

type poolNodes struct {
	info  PoolInfo
	nodes []nodeRec // every node ever added, in order of addition
	live  int
	index map[domain.NodeID]int // built once the pool is large
}

// nodeRec is a node as the list keeps it: compact, since most events of a
// log are NodeAdded. Times are Unix nanoseconds; removed is 0 while current.
// Both events are in the pool's own stream.
type nodeRec struct {
	id             domain.NodeID
	az             string
	added, removed int64
	addVer, remVer eventstore.Version
	addPos, remPos eventstore.Position
}

func (n *nodeRec) current() bool { return n.remVer == 0 }

func (n *nodeRec) in(t int64) bool {
	return n.added <= t && (n.current() || t < n.removed)
}

func (p *poolNodes) node(n *nodeRec) Node {
	s := p.info.CreatedBy.Stream
	out := Node{ID: n.id, AZ: n.az, Added: time.Unix(0, n.added).UTC(),
		AddedBy: Source{Stream: s, From: n.addVer, To: n.addVer, FromPosition: n.addPos, ToPosition: n.addPos}}
	if !n.current() {
		out.Removed = time.Unix(0, n.removed).UTC()
		out.RemovedBy = Source{Stream: s, From: n.remVer, To: n.remVer, FromPosition: n.remPos, ToPosition: n.remPos}
	}
	return out
}

// internAZ shares the strings of the usual AZ names instead of keeping one
// copy per node.
func internAZ(az string) string {
	switch az {
	case domain.AZ1:
		return domain.AZ1
	case domain.AZ2:
		return domain.AZ2
	case domain.AZ3:
		return domain.AZ3
	}
	return az
}

// indexFrom is the pool size from which removals use a map instead of a scan.
const indexFrom = 32

var _ Projection = (*NodeList)(nil)

// NewNodeList returns an empty node list.
func NewNodeList(o Options) *NodeList {
	l := &NodeList{
		pools:  make(map[domain.PoolID]*poolNodes),
		byAcct: make(map[domain.AccountID][]*poolNodes),
	}
	l.t.init("nodelist", o)
	return l
}

// Name implements Projection.
func (l *NodeList) Name() string { return l.t.name }

// Position implements Projection.
func (l *NodeList) Position() eventstore.Position { return l.t.position() }

// Apply implements Projection. Events of other streams than pools' only move
// the position.
func (l *NodeList) Apply(e Envelope) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if seen, err := l.t.seen(e.Position); seen {
		return err
	}
	l.apply(&e)
	return l.t.done(e.Position)
}

// ApplyBatch implements BatchProjection.
func (l *NodeList) ApplyBatch(es []Envelope) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.t.batch(es, l.apply)
}

// pool returns the pool id, or nil.
func (l *NodeList) pool(id domain.PoolID) *poolNodes {
	if l.last != nil && l.last.info.ID == id {
		return l.last
	}
	p := l.pools[id]
	if p != nil {
		l.last = p
	}
	return p
}

func (l *NodeList) apply(e *Envelope) {
	switch ev := e.Event.(type) {
	case *domain.Created:
		if l.pools[ev.Pool] != nil {
			return // a second Created for one pool is not a fact any store holds
		}
		p := &poolNodes{info: PoolInfo{
			ID: ev.Pool, Account: ev.Account, Name: ev.Name, Type: ev.Type, Billing: ev.Billing,
			Flavor: ev.Flavor, Region: ev.Region, Status: domain.StatusRunning, Created: ev.At,
			CreatedBy: e.Source(),
		}, nodes: make([]nodeRec, 0, ev.Nodes)}
		l.pools[ev.Pool] = p
		l.byAcct[ev.Account] = append(l.byAcct[ev.Account], p)
		l.ordered = append(l.ordered, p)
		l.last = p
	case *domain.NodeAdded:
		p := l.pool(ev.Pool)
		if p == nil {
			return
		}
		p.nodes = append(p.nodes, nodeRec{id: ev.Node, az: internAZ(ev.AZ), added: ev.At.UnixNano(),
			addVer: e.Version, addPos: e.Position})
		p.live++
		if p.index != nil {
			p.index[ev.Node] = len(p.nodes) - 1
		} else if len(p.nodes) >= indexFrom {
			p.index = make(map[domain.NodeID]int, 2*len(p.nodes))
			for i := range p.nodes {
				p.index[p.nodes[i].id] = i
			}
		}
	case *domain.NodeRemoved:
		p := l.pool(ev.Pool)
		if p == nil {
			return
		}
		if i := p.find(ev.Node); i >= 0 && p.nodes[i].current() {
			p.nodes[i].end(ev.At, e)
			p.live--
		}
	case *domain.StatusChanged:
		if p := l.pool(ev.Pool); p != nil && p.info.Status != domain.StatusDeleted {
			p.info.Status = ev.To
		}
	case *domain.Deleted: // every node leaves; no NodeRemoved follows (SPEC 6)
		p := l.pool(ev.Pool)
		if p == nil || p.info.Status == domain.StatusDeleted {
			return
		}
		p.info.Status, p.info.Deleted = domain.StatusDeleted, ev.At
		for i := range p.nodes {
			if p.nodes[i].current() {
				p.nodes[i].end(ev.At, e)
			}
		}
		p.live = 0
	}
}

func (n *nodeRec) end(at time.Time, e *Envelope) {
	n.removed = max(at.UnixNano(), n.added) // a node never leaves before it came
	n.remVer, n.remPos = e.Version, e.Position
}

func (p *poolNodes) find(id domain.NodeID) int {
	if p.index != nil {
		if i, ok := p.index[id]; ok {
			return i
		}
		return -1
	}
	for i := len(p.nodes) - 1; i >= 0; i-- {
		if p.nodes[i].id == id {
			return i
		}
	}
	return -1
}

func (p *poolNodes) snapshot() PoolInfo {
	info := p.info
	info.Nodes = p.live
	return info
}

// Pool returns what the list knows of pool id, and false if it never saw
// the pool created.
func (l *NodeList) Pool(id domain.PoolID) (PoolInfo, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	p := l.pools[id]
	if p == nil {
		return PoolInfo{}, false
	}
	return p.snapshot(), true
}

// Pools returns the pools of an account in creation order, deleted ones
// included (their Status says so).
func (l *NodeList) Pools(account domain.AccountID) []PoolInfo {
	l.mu.RLock()
	defer l.mu.RUnlock()
	ps := l.byAcct[account]
	out := make([]PoolInfo, len(ps))
	for i, p := range ps {
		out[i] = p.snapshot()
	}
	return out
}

// AllPools returns every pool in creation order.
func (l *NodeList) AllPools() []PoolInfo {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]PoolInfo, len(l.ordered))
	for i, p := range l.ordered {
		out[i] = p.snapshot()
	}
	return out
}

// Nodes returns the pool's current nodes, oldest first, and false if the
// list never saw the pool created. A deleted pool has none.
func (l *NodeList) Nodes(pool domain.PoolID) ([]Node, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	p := l.pools[pool]
	if p == nil {
		return nil, false
	}
	out := make([]Node, 0, p.live)
	for i := range p.nodes {
		if p.nodes[i].current() {
			out = append(out, p.node(&p.nodes[i]))
		}
	}
	return out, true
}

// NodesAt returns the nodes the pool had at instant t (Node.In), in order of
// addition, and false if the list never saw the pool created. The answer is
// final for any t up to the time of the pool's last event the list has
// applied; for a later t it is the nodes as they are now.
func (l *NodeList) NodesAt(pool domain.PoolID, t time.Time) ([]Node, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	p := l.pools[pool]
	if p == nil {
		return nil, false
	}
	at := t.UnixNano()
	var out []Node
	for i := range p.nodes {
		n := &p.nodes[i]
		if n.in(at) {
			out = append(out, p.node(n))
		}
	}
	return out, true
}

// History returns every node the pool ever had, in order of addition, with
// when each was added and removed.
func (l *NodeList) History(pool domain.PoolID) ([]Node, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	p := l.pools[pool]
	if p == nil {
		return nil, false
	}
	out := make([]Node, len(p.nodes))
	for i := range p.nodes {
		out[i] = p.node(&p.nodes[i])
	}
	return out, true
}
