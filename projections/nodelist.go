package projections

import (
	"hash/maphash"
	"strings"
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
	byAcct  byAccount[*poolNodes]
	ordered []*poolNodes // creation order
	last    *poolNodes   // the pool of the last event: most events follow one of the same pool

	// The pools come from slabs, so that they sit together in memory.
	poolSlab slab[poolNodes]
	infoSlab slab[PoolInfo]

	seed maphash.Seed // of nodeKey
	// azs are the AZ names seen, which nodes refer to by index; azIndex
	// finds those beyond the first few (see az).
	azs     []string
	azIndex map[string]uint32
}

// poolNodes is one pool: what its events read and change, which is small,
// so that the pools sit close together in memory; the rest is in info.
type poolNodes struct {
	// id is the map key: a copy of the Created event's, so that the ids
	// compared on every lookup sit together rather than in the decoded
	// events.
	id     domain.PoolID
	status domain.Status
	// deleted is status == StatusDeleted, without reading status's bytes,
	// which are the last StatusChanged event's and seldom in cache.
	deleted bool
	live    int
	nodes   []nodeRec             // every node ever added, in order of addition
	index   map[domain.NodeID]int // built once the pool is large
	info    *PoolInfo             // Status and Nodes are not kept there: see snapshot
}

// nodeRec is a node as the list keeps it: compact, since most events of a
// log are NodeAdded. Times are Unix nanoseconds; removed is 0 while current.
// Both events are in the pool's own stream.
type nodeRec struct {
	id domain.NodeID
	// key is id's (NodeList.nodeKey): a scan for a node compares it,
	// which is in the record, rather than id's bytes, which are elsewhere.
	key            uint64
	az             uint32 // index in NodeList.azs
	added, removed int64
	addVer, remVer eventstore.Version
	addPos, remPos eventstore.Position
}

func (n *nodeRec) current() bool { return n.remVer == 0 }

func (n *nodeRec) in(t int64) bool {
	return n.added <= t && (n.current() || t < n.removed)
}

func (l *NodeList) node(p *poolNodes, n *nodeRec) Node {
	s := p.info.CreatedBy.Stream
	out := Node{ID: n.id, AZ: l.azs[n.az], Added: time.Unix(0, n.added).UTC(),
		AddedBy: Source{Stream: s, From: n.addVer, To: n.addVer, FromPosition: n.addPos, ToPosition: n.addPos}}
	if !n.current() {
		out.Removed = time.Unix(0, n.removed).UTC()
		out.RemovedBy = Source{Stream: s, From: n.remVer, To: n.remVer, FromPosition: n.remPos, ToPosition: n.remPos}
	}
	return out
}

// nodeKey returns the bytes of id in a word if it has at most 8 (as
// domain.NodeName's do), and a hash of it if it is longer.
func (l *NodeList) nodeKey(id domain.NodeID) uint64 {
	if len(id) > 8 {
		return maphash.String(l.seed, string(id))
	}
	var k uint64
	for i := range len(id) {
		k |= uint64(id[i]) << (8 * i)
	}
	return k
}

// is reports whether n is node id, whose key is k. Ids of up to 8 bytes
// are equal exactly when their lengths and keys are; longer ones are
// compared when their hashes match.
func (n *nodeRec) is(id domain.NodeID, k uint64) bool {
	return n.key == k && len(n.id) == len(id) && (len(id) <= 8 || n.id == id)
}

// azScan is the number of AZ names az compares before it looks in the map:
// a log names few, and most nodes are in the first.
const azScan = 8

// az returns the index of name in l.azs, adding it if it is new.
func (l *NodeList) az(name string) uint32 {
	for i := range min(len(l.azs), azScan) {
		if l.azs[i] == name {
			return uint32(i)
		}
	}
	if i, ok := l.azIndex[name]; ok {
		return i
	}
	name = strings.Clone(name) // not the decoded event's, which it would keep
	l.azs = append(l.azs, name)
	l.azIndex[name] = uint32(len(l.azs) - 1)
	return uint32(len(l.azs) - 1)
}

// slab hands out new values of T from arrays of slabSize: objects made one
// after another, such as the pools, then cost one allocation per slabSize
// and sit together in memory, where lookups find them in cache more often.
// An object keeps its array alive: for what a projection never drops.
type slab[T any] struct{ free []T }

const slabSize = 64

func (s *slab[T]) new() *T {
	if len(s.free) == 0 {
		s.free = make([]T, slabSize)
	}
	p := &s.free[0]
	s.free = s.free[1:]
	return p
}

// byAccount lists the pools of each account, in creation order. Each list
// is behind a pointer so that adding a pool looks its account up once and
// never assigns to the map again: the map keeps a copy of each account id
// of its own (see NodeList.pools), which an assignment would replace with
// the event's.
type byAccount[P any] map[domain.AccountID]*[]P

func (m byAccount[P]) add(account domain.AccountID, p P) {
	ps := m[account]
	if ps == nil {
		ps = new([]P)
		m[domain.AccountID(strings.Clone(string(account)))] = ps
	}
	*ps = append(*ps, p)
}

// of returns the list of account, which the caller must not change.
func (m byAccount[P]) of(account domain.AccountID) []P {
	if ps := m[account]; ps != nil {
		return *ps
	}
	return nil
}

// indexFrom is the pool size from which removals use a map instead of a scan.
const indexFrom = 32

var _ Projection = (*NodeList)(nil)

// NewNodeList returns an empty node list.
func NewNodeList(o Options) *NodeList {
	l := &NodeList{
		pools:   make(map[domain.PoolID]*poolNodes),
		byAcct:  make(byAccount[*poolNodes]),
		seed:    maphash.MakeSeed(),
		azIndex: make(map[string]uint32),
	}
	l.t.init("nodelist", o)
	return l
}

// Name implements Projection.
func (l *NodeList) Name() string { return l.t.name }

// Reads implements Selective: the types apply reads.
func (*NodeList) Reads(typ string) bool {
	switch typ {
	case domain.TypeCreated, domain.TypeNodeAdded, domain.TypeNodeRemoved, domain.TypeStatusChanged, domain.TypeDeleted:
		return true
	}
	return false
}

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
	if l.last != nil && l.last.id == id {
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
		id := domain.PoolID(strings.Clone(string(ev.Pool)))
		info := l.infoSlab.new()
		*info = PoolInfo{
			ID: id, Account: ev.Account, Name: ev.Name, Type: ev.Type, Billing: ev.Billing,
			Flavor: ev.Flavor, Region: ev.Region, Created: ev.At, CreatedBy: e.Source(),
		}
		p := l.poolSlab.new()
		*p = poolNodes{id: id, status: domain.StatusRunning, nodes: make([]nodeRec, 0, ev.Nodes), info: info}
		l.pools[p.id] = p
		l.byAcct.add(ev.Account, p)
		l.ordered = append(l.ordered, p)
		l.last = p
	case *domain.NodeAdded:
		p := l.pool(ev.Pool)
		if p == nil {
			return
		}
		p.nodes = append(p.nodes, nodeRec{id: ev.Node, key: l.nodeKey(ev.Node), az: l.az(ev.AZ),
			added: ev.At.UnixNano(), addVer: e.Version, addPos: e.Position})
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
		if i := p.find(ev.Node, l.nodeKey(ev.Node)); i >= 0 && p.nodes[i].current() {
			p.nodes[i].end(ev.At, e)
			p.live--
		}
	case *domain.StatusChanged:
		if p := l.pool(ev.Pool); p != nil && !p.deleted {
			p.status, p.deleted = ev.To, ev.To == domain.StatusDeleted
		}
	case *domain.Deleted: // every node leaves; no NodeRemoved follows (SPEC 6)
		p := l.pool(ev.Pool)
		if p == nil || p.deleted {
			return
		}
		p.status, p.deleted, p.info.Deleted = domain.StatusDeleted, true, ev.At
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

// find returns the index of node id, whose key is k, or -1.
func (p *poolNodes) find(id domain.NodeID, k uint64) int {
	if p.index != nil {
		if i, ok := p.index[id]; ok {
			return i
		}
		return -1
	}
	for i := len(p.nodes) - 1; i >= 0; i-- {
		if p.nodes[i].is(id, k) {
			return i
		}
	}
	return -1
}

func (p *poolNodes) snapshot() PoolInfo {
	info := *p.info
	info.Status, info.Nodes = p.status, p.live
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
	ps := l.byAcct.of(account)
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
			out = append(out, l.node(p, &p.nodes[i]))
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
			out = append(out, l.node(p, n))
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
		out[i] = l.node(p, &p.nodes[i])
	}
	return out, true
}
