package eventstore

import (
	"context"
	"fmt"
	"hash/maphash"
	"iter"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Memory is the in-memory [Store]: the embedded default, with nothing to start
// and nothing kept after the process ends. It passes eventstore/storetest like
// every other backend; what follows is what it does where the [Store] contract
// leaves room, so that nothing about it surprises.
//
// # Concurrency and ordering
//
// Every method is safe for concurrent use. One lock orders all appends: an
// append checks the expected version, gives its events consecutive versions
// and positions and makes them visible in a single step, so readers never see
// part of a batch, and positions become visible in order, with no gap.
// Readers hold the lock only for a moment to take a view of the log, never
// while the caller's loop body runs: a slow reader or subscriber never delays
// writers or other readers.
//
// # Bytes are copied in, shared out
//
// Append copies each event's ID, Data and Metadata into the store's own
// blocks of bytes, so the caller may reuse its buffers as soon as Append
// returns. Readers get slices of those blocks, without a copy: they must not
// modify the Data and Metadata of the records they get (copy first if you
// need to). Appending to such a slice allocates, since its capacity ends with
// it.
//
// The log holds no pointers, only numbers: where each record's bytes are,
// its stream, type, version and time. So does the index of streams: their
// names are kept with the events' bytes, found through a hash table of
// numbers, and each stream's positions are kept in large shared arrays. So
// the garbage collector never scans the store, and a store of millions of
// events and streams costs a program's other allocations nothing.
//
// # What it keeps
//
//   - Event.Time is kept to the nanosecond and given back in UTC (the same
//     instant; the location and any monotonic clock reading are dropped).
//   - Event.ID is kept as given: Memory neither requires it nor checks that it
//     is unique, and does not deduplicate by it (EventStoreDB does). Give each
//     event a unique ID so that code behaves the same on every backend.
//   - An event's Type must not be empty ([ErrInvalid]); nothing else about an
//     event is checked. Data and Metadata may be nil or empty and come back
//     byte for byte (nil and empty are not told apart).
//   - Nothing is ever deleted, truncated or compacted: memory grows by about
//     70 bytes per event plus its ID, Data and Metadata, and about 60 bytes
//     per stream plus its name, until Close. Metadata is stored once for a
//     run of events that carry the same bytes, within an append or across
//     appends (Service gives the events of all three appends of one command
//     the same metadata).
//
// # Calls
//
//   - Append never blocks except on the lock. It checks ctx once, before
//     taking the lock. Appending no events checks expected and returns the
//     stream's current version and the position of its last event (0 and 0
//     for a stream that does not exist); it does not create the stream.
//   - An empty stream name is [ErrInvalid] for Append, ReadStream and
//     StreamVersion.
//   - ReadStream and ReadAll yield what is visible when they reach the end of
//     what they have read, including events appended while they run, then
//     stop. They check ctx and Close every 256 events: when ctx is done they
//     yield ctx.Err() and stop, after Close they yield [ErrClosed] and stop.
//   - An Append that adds a chunk of slots or a large block of bytes starts
//     a goroutine that readies the next one (its pages already written, so
//     that the page faults are not taken under the lock) and ends.
//   - Subscribe starts no goroutine. It reads the log like ReadAll and, once
//     caught up, waits on a channel that the next append closes (one wake-up
//     for all subscribers, not one message per subscriber per event). It never
//     drops or buffers events: each subscriber reads the log at its own pace.
//     When ctx is done it yields ctx.Err() once and stops, even if it has not
//     caught up; after Close it yields [ErrClosed] and stops.
//   - Close drops the stored events (a Memory cannot be reopened) and wakes
//     every waiting subscription, which then ends with [ErrClosed]. Every call
//     after Close, including a second Close, returns [ErrClosed].
//
// The zero value is an empty store ready to use; [NewMemory] returns one too.
// A Memory must not be copied after first use.
type Memory struct {
	mu       sync.RWMutex
	log      [][]slot     // the global log, in chunks (see chunkBits)
	head     Position     // the last position (and the number of records)
	names    []streamName // by stream index (slot.stream)
	pos      []posRef     // by stream index: where its positions are in posArena
	table    []uint32     // the streams by name: stream index+1 at the name's hash, 0 if free
	seed     maphash.Seed // of the names' hashes; set by the first append
	posArena [][]Position // the streams' positions, in chunks of posChunk (or one stream's own)
	posUsed  int          // positions used in the last of posArena
	types    []string     // event types, by slot.typ
	typeIdx  map[string]uint32
	lastType uint32      // the index typeIndex returned last
	text     [][]byte    // the blocks the records' bytes are in, by slot.block
	used     int         // bytes used in the last block
	nText    int         // the size of the next block
	closed   atomic.Bool // written under mu; read without it by running reads

	// The next chunk of slots and block of bytes, made ready on another
	// goroutine while the store grows (see prefetched).
	chunks prefetched[slot]
	blocks prefetched[byte]

	// wake is closed by the next append or by Close, then set to nil; a
	// subscriber that has caught up creates it (under mu.RLock and wakeMu) and
	// waits on it. It is nil while nobody waits, so appends with no waiting
	// subscriber allocate nothing for it.
	wakeMu sync.Mutex
	wake   chan struct{}
}

// slot is a record as the log keeps it, without pointers. Its ID and Data
// are one after the other in text[block], from off; its Metadata is in
// text[mdBlock] from mdOff, shared by a run of events with the same
// Metadata.
type slot struct {
	version           Version
	sec               int64 // Time, as Unix seconds and nanoseconds
	nsec              int32
	stream, typ       uint32
	block, off        uint32
	mdBlock, mdOff    uint32
	nID, nData, nMeta uint32
}

// streamName is a stream's name as the index keeps it: its bytes in text,
// and their hash.
type streamName struct {
	hash          uint64
	block, off, n uint32
	_             uint32
}

// posRef says where a stream's positions are: posArena[chunk][off:off+n] are
// the positions of versions 1 to n, in a region of cap. A stream whose
// region is full gets one twice as large, and its positions are copied
// there; the old region is never written again, so views of it stay true.
type posRef struct{ chunk, off, n, cap uint32 }

// posChunk is the number of positions in a chunk of posArena (512 KB); a
// stream whose region would take more than a quarter of one gets a chunk of
// its own.
const posChunk = 1 << 16

// The log is kept in chunks of chunkSize slots that never move: an append
// writes slots into the free places of the last chunk, and adds a chunk when
// it is full. So appends never copy slots, and what readers see never
// changes: the slots below head, the chunks in Memory.log, the names, types
// and blocks of bytes below their lengths and the positions of each stream
// below its n are written once, under mu, and never again. A reader
// takes a view (the slices and head, or a stream's positions) under
// mu.RLock and reads through it after unlocking, without copying, while
// writers go on appending.
//
// So that a small store stays small, the first chunk starts with
// firstChunk slots and doubles until it has chunkSize; while it is the only
// chunk, growing it replaces Memory.log with a new one-chunk slice, leaving
// the views readers hold untouched. Blocks of bytes likewise double from
// firstText to maxText bytes; an event too large for one gets a block of its
// own size.
const (
	chunkBits  = 12
	chunkSize  = 1 << chunkBits
	chunkMask  = chunkSize - 1
	firstChunk = 64
	firstText  = 1 << 10
	maxText    = 1 << 20
	// prefetchFrom is the size of block from which the next one is made
	// ready ahead (see prefetched): a small store starts no goroutine.
	prefetchFrom = 64 << 10
)

// checkEvery is how many records a read yields between two checks of ctx and
// Close.
const checkEvery = 256

// logView is a read-only view of the log, up to head.
type logView struct {
	chunks [][]slot
	head   Position
	names  []streamName
	types  []string
	text   [][]byte
}

func (m *Memory) viewLocked() logView {
	return logView{chunks: m.log, head: m.head, names: m.names, types: m.types, text: m.text}
}

// fill sets r to the record at position p, which must be in 1..v.head.
func (v logView) fill(r *Record, p Position) {
	i := p - 1
	v.record(r, &v.chunks[i>>chunkBits][i&chunkMask], p)
}

func (v logView) record(r *Record, s *slot, p Position) {
	name := &v.names[s.stream]
	r.Stream = unsafe.String(&v.text[name.block][name.off], name.n) // the bytes never change
	r.Version, r.Position = s.version, p
	r.Type = v.types[s.typ]
	r.Time = time.Unix(s.sec, int64(s.nsec)).UTC()
	r.ID, r.Data, r.Metadata = "", nil, nil
	if n := s.nID + s.nData; n > 0 {
		b := v.text[s.block][s.off : s.off+n : s.off+n]
		if s.nID > 0 {
			r.ID = unsafe.String(&b[0], s.nID) // the bytes never change
		}
		if s.nData > 0 {
			r.Data = b[s.nID:]
		}
	}
	if s.nMeta > 0 {
		end := s.mdOff + s.nMeta
		r.Metadata = v.text[s.mdBlock][s.mdOff:end:end]
	}
}

// yieldFrom yields the records of v after position from, checking ctx and
// Close every checkEvery records. It reports whether the caller should go on.
func (m *Memory) yieldFrom(ctx context.Context, v logView, from Position, yield func(Record, error) bool) bool {
	n := 0
	var r Record
	for p := from; p < v.head; {
		chunk := v.chunks[p>>chunkBits]
		lo := int(p & chunkMask)
		hi := min(len(chunk), lo+int(v.head-p))
		for i := lo; i < hi; i++ {
			if n++; n%checkEvery == 0 {
				if err := m.check(ctx); err != nil {
					yield(Record{}, err)
					return false
				}
			}
			v.record(&r, &chunk[i], p+Position(i-lo)+1)
			if !yield(r, nil) {
				return false
			}
		}
		p += Position(hi - lo)
	}
	return true
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store. See [Memory] for its semantics.
func NewMemory() *Memory {
	return &Memory{}
}

// Append implements [Store.Append]. See [Memory] for what it keeps and shares.
func (m *Memory) Append(ctx context.Context, stream string, expected Expected, events ...Event) (AppendResult, error) {
	if stream == "" {
		return AppendResult{}, fmt.Errorf("%w: empty stream name", ErrInvalid)
	}
	for i := range events {
		if events[i].Type == "" {
			return AppendResult{}, fmt.Errorf("%w: event %d of %d for stream %q has an empty type", ErrInvalid, i, len(events), stream)
		}
	}
	if err := ctx.Err(); err != nil {
		return AppendResult{}, err
	}

	m.mu.Lock()
	if m.closed.Load() {
		m.mu.Unlock()
		return AppendResult{}, ErrClosed
	}
	index, exists, hash := m.lookup(stream)
	var cur Version
	if exists {
		cur = Version(m.pos[index].n)
	}
	if !expected.Matches(cur) {
		m.mu.Unlock()
		return AppendResult{}, &ConflictError{Stream: stream, Expected: expected, Actual: cur}
	}
	if len(events) == 0 {
		var last Position
		if cur > 0 {
			last = m.positions(index)[cur-1]
		}
		m.mu.Unlock()
		return AppendResult{Version: cur, Position: last}, nil
	}
	if !exists {
		index = m.addStream(stream, hash)
	}
	ref := &m.pos[index]
	if int(ref.n)+len(events) > int(ref.cap) {
		m.grow(ref, max(2*int(ref.cap), int(ref.n)+len(events), 4))
	}
	pos := m.posArena[ref.chunk][ref.off+ref.n : ref.off+ref.cap]
	head := m.head
	var r0 *slot // the previous event's, of this append or the one before
	if head > 0 {
		r0 = &m.log[(head-1)>>chunkBits][(head-1)&chunkMask]
	}
	for i := range events {
		switch {
		case head == 0:
			m.log = [][]slot{make([]slot, firstChunk)}
		case head&chunkMask == 0:
			m.log = append(m.log, m.chunks.take(chunkSize, chunkSize))
		case head < chunkSize && int(head) == len(m.log[0]):
			grown := make([]slot, min(2*len(m.log[0]), chunkSize))
			copy(grown, m.log[0])
			m.log = [][]slot{grown}
		}
		e := &events[i]
		r := &m.log[head>>chunkBits][head&chunkMask]
		head++
		cur++
		*r = slot{version: cur, sec: e.Time.Unix(), nsec: int32(e.Time.Nanosecond()), stream: index, typ: m.typeIndex(e.Type)}
		// A run of equal Metadata is stored once: the same slice as the
		// event before in this append, or the same bytes as the event
		// before (the last of the append before, for the first).
		switch md := e.Metadata; {
		case i > 0 && sameBytes(md, events[i-1].Metadata),
			r0 != nil && len(md) > 0 && len(md) == int(r0.nMeta) &&
				string(md) == string(m.text[r0.mdBlock][r0.mdOff:r0.mdOff+r0.nMeta]):
			r.mdBlock, r.mdOff, r.nMeta = r0.mdBlock, r0.mdOff, r0.nMeta
		default:
			r.mdBlock, r.mdOff = m.reserve(len(md))
			r.nMeta = put(m, md)
		}
		r.block, r.off = m.reserve(len(e.ID) + len(e.Data))
		r.nID, r.nData = put(m, e.ID), put(m, e.Data)
		r0 = r
		pos[i] = head
	}
	ref.n += uint32(len(events))
	m.head = head
	wake := m.wake
	m.wake = nil
	m.mu.Unlock()

	if wake != nil {
		close(wake)
	}
	return AppendResult{Version: cur, Position: head}, nil
}

// lookup returns the index of stream and whether it exists, and the hash
// of its name. The caller holds mu.
func (m *Memory) lookup(stream string) (index uint32, ok bool, hash uint64) {
	if len(m.table) == 0 {
		return 0, false, 0
	}
	hash = maphash.String(m.seed, stream)
	mask := uint64(len(m.table) - 1)
	for i := hash & mask; ; i = (i + 1) & mask {
		x := m.table[i]
		if x == 0 {
			return 0, false, hash
		}
		if n := &m.names[x-1]; n.hash == hash && int(n.n) == len(stream) &&
			string(m.text[n.block][n.off:n.off+n.n]) == stream {
			return x - 1, true, hash
		}
	}
}

// addStream adds stream, which is not in the index, and returns its index.
// hash is what lookup returned for it. The caller holds mu.
func (m *Memory) addStream(stream string, hash uint64) uint32 {
	if len(m.table) == 0 {
		m.seed = maphash.MakeSeed()
		hash = maphash.String(m.seed, stream)
		m.table = make([]uint32, 64)
	} else if 2*(len(m.names)+1) > len(m.table) { // keep it at most half full
		m.table = make([]uint32, 2*len(m.table))
		for i := range m.names {
			m.place(m.names[i].hash, uint32(i))
		}
	}
	index := uint32(len(m.names))
	block, off := m.reserve(len(stream))
	m.names = append(m.names, streamName{hash: hash, block: block, off: off, n: put(m, stream)})
	m.pos = append(m.pos, posRef{})
	m.place(hash, index)
	return index
}

// place puts stream index in the table at the first free place from hash.
func (m *Memory) place(hash uint64, index uint32) {
	mask := uint64(len(m.table) - 1)
	i := hash & mask
	for m.table[i] != 0 {
		i = (i + 1) & mask
	}
	m.table[i] = index + 1
}

// positions returns the positions of stream index: element v-1 is the
// position of version v. The caller holds mu (a reader may keep the slice).
func (m *Memory) positions(index uint32) []Position {
	r := m.pos[index]
	return m.posArena[r.chunk][r.off : r.off+r.n : r.off+r.n]
}

// grow moves the positions of ref to a region of capacity c in posArena.
// The caller holds mu.
func (m *Memory) grow(ref *posRef, c int) {
	var chunk, off int
	switch k := len(m.posArena); {
	case c > posChunk/4: // a chunk of its own, full: the next region starts a new one
		m.posArena = append(m.posArena, make([]Position, c))
		chunk, m.posUsed = k, c
	case k == 0 || m.posUsed+c > len(m.posArena[k-1]):
		m.posArena = append(m.posArena, make([]Position, posChunk))
		m.posUsed = 0
		fallthrough
	default:
		chunk, off = len(m.posArena)-1, m.posUsed
		m.posUsed += c
	}
	copy(m.posArena[chunk][off:], m.posArena[ref.chunk][ref.off:ref.off+ref.n])
	ref.chunk, ref.off, ref.cap = uint32(chunk), uint32(off), uint32(c)
}

// typeIndex returns the index of typ in m.types, adding it if new. The
// caller holds mu.
func (m *Memory) typeIndex(typ string) uint32 {
	if n := len(m.types); n > 0 && m.types[m.lastType] == typ {
		return m.lastType // runs of one type are common: node events
	}
	if i, ok := m.typeIdx[typ]; ok {
		m.lastType = i
		return i
	}
	if m.typeIdx == nil {
		m.typeIdx = make(map[string]uint32)
	}
	i := uint32(len(m.types))
	m.types = append(m.types, typ)
	m.typeIdx[typ] = i
	m.lastType = i
	return i
}

// reserve makes room for n bytes in the last block and returns where they
// will start. The caller holds mu. A block's slice header is never written
// again once it is in m.text (readers share the array); only its unused
// bytes are, by put.
func (m *Memory) reserve(n int) (block, off uint32) {
	if k := len(m.text); k == 0 || len(m.text[k-1])-m.used < n {
		m.nText = min(max(2*m.nText, firstText), maxText)
		next := 0
		if m.nText >= prefetchFrom {
			next = min(2*m.nText, maxText)
		}
		m.text = append(m.text, m.blocks.take(max(m.nText, n), next))
		m.used = 0
	}
	return uint32(len(m.text) - 1), uint32(m.used)
}

// sameBytes reports whether a and b are the same slice: same array, same
// length.
func sameBytes(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || unsafe.SliceData(a) == unsafe.SliceData(b))
}

// put copies b to the last block, which reserve made room in, and returns
// its length. The caller holds mu.
func put[T string | []byte](m *Memory, b T) uint32 {
	m.used += copy(m.text[len(m.text)-1][m.used:], b)
	return uint32(len(b))
}

// ReadStream implements [Store.ReadStream]. The records share their Data and
// Metadata with the store: do not modify them.
func (m *Memory) ReadStream(ctx context.Context, stream string, after Version) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		if stream == "" {
			yield(Record{}, fmt.Errorf("%w: empty stream name", ErrInvalid))
			return
		}
		for {
			pos, v, err := m.streamView(ctx, stream, after)
			if err != nil {
				yield(Record{}, err)
				return
			}
			if len(pos) == 0 {
				return
			}
			var r Record
			for i, p := range pos {
				if i%checkEvery == checkEvery-1 {
					if err := m.check(ctx); err != nil {
						yield(Record{}, err)
						return
					}
				}
				v.fill(&r, p)
				if !yield(r, nil) {
					return
				}
			}
			after += Version(len(pos))
		}
	}
}

// streamView returns the positions of stream's events after version after,
// and the log to look them up in.
func (m *Memory) streamView(ctx context.Context, stream string, after Version) ([]Position, logView, error) {
	if err := ctx.Err(); err != nil {
		return nil, logView{}, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed.Load() {
		return nil, logView{}, ErrClosed
	}
	index, ok, _ := m.lookup(stream)
	if !ok || Version(m.pos[index].n) <= after {
		return nil, logView{}, nil
	}
	return m.positions(index)[after:], m.viewLocked(), nil
}

// ReadAll implements [Store.ReadAll]. The records share their Data and
// Metadata with the store: do not modify them.
func (m *Memory) ReadAll(ctx context.Context, after Position) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		for {
			v, err := m.view(ctx)
			if err != nil {
				yield(Record{}, err)
				return
			}
			if v.head <= after {
				return
			}
			if !m.yieldFrom(ctx, v, after, yield) {
				return
			}
			after = v.head
		}
	}
}

// view returns a view of the visible log.
func (m *Memory) view(ctx context.Context) (logView, error) {
	if err := ctx.Err(); err != nil {
		return logView{}, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed.Load() {
		return logView{}, ErrClosed
	}
	return m.viewLocked(), nil
}

func (m *Memory) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.closed.Load() {
		return ErrClosed
	}
	return nil
}

// Subscribe implements [Store.Subscribe]. The records share their Data and
// Metadata with the store: do not modify them.
func (m *Memory) Subscribe(ctx context.Context, after Position) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		for {
			v, wake, err := m.subscribeView(ctx, after)
			if err != nil {
				yield(Record{}, err)
				return
			}
			if v.head > after {
				if !m.yieldFrom(ctx, v, after, yield) {
					return
				}
				after = v.head
				continue
			}
			select {
			case <-ctx.Done():
				yield(Record{}, ctx.Err())
				return
			case <-wake:
			}
		}
	}
}

// subscribeView returns a view of the log if it holds records after
// position after or, if it does not, a channel that the next append or Close
// closes. Taking both under one read lock is what leaves no gap between
// catch-up and live: an append cannot slip in between the look and the wait.
func (m *Memory) subscribeView(ctx context.Context, after Position) (logView, <-chan struct{}, error) {
	if err := ctx.Err(); err != nil {
		return logView{}, nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed.Load() {
		return logView{}, nil, ErrClosed
	}
	if m.head > after {
		return m.viewLocked(), nil, nil
	}
	m.wakeMu.Lock()
	defer m.wakeMu.Unlock()
	if m.wake == nil {
		m.wake = make(chan struct{})
	}
	return logView{}, m.wake, nil
}

// StreamVersion implements [Store.StreamVersion].
func (m *Memory) StreamVersion(ctx context.Context, stream string) (Version, error) {
	if stream == "" {
		return 0, fmt.Errorf("%w: empty stream name", ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed.Load() {
		return 0, ErrClosed
	}
	if index, ok, _ := m.lookup(stream); ok {
		return Version(m.pos[index].n), nil
	}
	return 0, nil
}

// Head implements [Store.Head].
func (m *Memory) Head(ctx context.Context) (Position, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed.Load() {
		return 0, ErrClosed
	}
	return m.head, nil
}

// Close implements [Store.Close]: it drops the stored events and ends every
// subscription with [ErrClosed]. Reads in progress stop with [ErrClosed]
// within 256 records. A second Close returns [ErrClosed].
func (m *Memory) Close() error {
	m.mu.Lock()
	if m.closed.Load() {
		m.mu.Unlock()
		return ErrClosed
	}
	m.closed.Store(true)
	m.log = nil
	m.head = 0
	m.pos, m.table, m.posArena, m.posUsed = nil, nil, nil, 0
	m.names, m.types, m.typeIdx, m.lastType, m.text, m.used, m.nText = nil, nil, nil, 0, nil, 0, 0
	wake := m.wake
	m.wake = nil
	m.mu.Unlock()

	if wake != nil {
		close(wake)
	}
	return nil
}
