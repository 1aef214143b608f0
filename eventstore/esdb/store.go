package esdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/respool/respool/eventstore"
)

// DefaultPrefix is the stream-name prefix of a Config without one.
const DefaultPrefix = "respool."

// Config says how to reach the server and how to lay this store out on it.
// The zero value is not usable: set URL or Client. Every other zero field
// means its default.
type Config struct {
	// URL is an EventStore-Client-Go connection string, such as
	// "esdb://localhost:2113?tls=false" for an insecure single node or
	// "esdb://admin:changeit@node1:2113,node2:2113,node3:2113?tlsCAFile=ca.crt"
	// for a cluster (see the package doc). Ignored when Client is set.
	URL string
	// Client is a client configuration to use instead of URL, for settings a
	// connection string cannot carry (an x509.CertPool, a logger). The store
	// copies it.
	Client *esdbclient.Configuration
	// Prefix is put in front of every stream name on the server, so that this
	// library's streams are told apart from others' in $all: stream "pool-x"
	// is stored as "respool.pool-x". It must not be empty or start with "$"
	// (the server's own streams). Zero means [DefaultPrefix]. Two stores with
	// the same prefix on one server share their streams and positions.
	Prefix string
	// PageSize is how many events one read request asks for. Zero means 512.
	PageSize int
	// ResubscribeDelay is the wait before resubscribing after a subscription
	// drops; it doubles after each failed attempt, up to MaxResubscribeDelay.
	// Zero means 100 ms and 5 s.
	ResubscribeDelay    time.Duration
	MaxResubscribeDelay time.Duration
	// Logger receives the client's log lines. Nil means none when URL is
	// used, and Client.Logger when Client is set.
	Logger esdbclient.LoggingFunc
	// CloseTimeout bounds how long Close waits for running calls to return
	// before it closes the client. Zero means 10 s.
	CloseTimeout time.Duration
}

// Validate reports whether c can open a store.
func (c Config) Validate() error {
	if c.URL == "" && c.Client == nil {
		return fmt.Errorf("esdb: config: %w: neither URL nor Client is set", eventstore.ErrInvalid)
	}
	if strings.HasPrefix(c.Prefix, "$") {
		return fmt.Errorf("esdb: config: %w: prefix %q names system streams", eventstore.ErrInvalid, c.Prefix)
	}
	if c.PageSize < 0 || c.ResubscribeDelay < 0 || c.MaxResubscribeDelay < 0 || c.CloseTimeout < 0 {
		return fmt.Errorf("esdb: config: %w: negative size or duration", eventstore.ErrInvalid)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.PageSize == 0 {
		c.PageSize = 512
	}
	if c.ResubscribeDelay == 0 {
		c.ResubscribeDelay = 100 * time.Millisecond
	}
	if c.MaxResubscribeDelay == 0 {
		c.MaxResubscribeDelay = 5 * time.Second
	}
	c.MaxResubscribeDelay = max(c.MaxResubscribeDelay, c.ResubscribeDelay)
	if c.CloseTimeout == 0 {
		c.CloseTimeout = 10 * time.Second
	}
	return c
}

// Store is an [eventstore.Store] on EventStoreDB or KurrentDB. Create it with
// [Open]; it is safe for concurrent use.
type Store struct {
	cfg    Config
	client esdbclient.Configuration // the template each new client copies
	prefix string
	idx    *index

	base   context.Context // done when Close starts
	cancel context.CancelFunc

	mu       sync.Mutex // guards the fields below
	c        *esdbclient.Client
	closed   bool
	inflight int
	idle     chan struct{} // closed when inflight drops to 0 during Close
}

var _ eventstore.Store = (*Store)(nil)

// Open connects to the server that cfg names and checks that it can read
// $all (which needs an admin user on a secure server). The store owns its
// client: Close closes it.
//
// The client connects outside ctx's control: when no node answers, Open
// returns after the client's discovery attempts (maxDiscoverAttempts times
// discoveryInterval, plus the time each attempt takes).
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	var conf esdbclient.Configuration
	if cfg.Client != nil {
		conf = *cfg.Client
	} else {
		parsed, err := esdbclient.ParseConnectionString(cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("esdb: config: %w: %w", eventstore.ErrInvalid, err)
		}
		conf = *parsed
		conf.Logger = esdbclient.NoopLogging()
	}
	if cfg.Logger != nil {
		conf.Logger = cfg.Logger
	}
	s := &Store{cfg: cfg, client: conf, prefix: cfg.Prefix, idx: newIndex()}
	c, err := s.newClient()
	if err != nil {
		return nil, err
	}
	s.c = c
	s.base, s.cancel = context.WithCancel(context.Background())
	if err := s.probe(ctx); err != nil {
		s.cancel()
		_ = c.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) newClient() (*esdbclient.Client, error) {
	conf := s.client
	c, err := esdbclient.NewClient(&conf)
	if err != nil {
		return nil, fmt.Errorf("esdb: client: %w", err)
	}
	return c, nil
}

// probe reads the last event of $all, to fail early on a wrong address or
// missing rights.
func (s *Store) probe(ctx context.Context) error {
	rs, err := s.c.ReadAll(ctx, esdbclient.ReadAllOptions{Direction: esdbclient.Backwards, From: esdbclient.End{}}, 1)
	if err == nil {
		defer rs.Close()
		_, err = rs.Recv()
		if errors.Is(err, io.EOF) {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("esdb: open: reading $all: %w", err)
	}
	return nil
}

// Prefix returns the stream-name prefix of the store's streams on the server.
func (s *Store) Prefix() string { return s.prefix }

// begin registers a call: the returned context is also done when Close
// starts, and end must be called when the call returns.
func (s *Store) begin(ctx context.Context, op string) (context.Context, *esdbclient.Client, func(), error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, nil, nil, fmt.Errorf("esdb: %s: %w", op, eventstore.ErrClosed)
	}
	s.inflight++
	c := s.c
	s.mu.Unlock()
	cctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.base, cancel)
	end := func() {
		stop()
		cancel()
		s.mu.Lock()
		s.inflight--
		if s.inflight == 0 && s.idle != nil {
			close(s.idle)
			s.idle = nil
		}
		s.mu.Unlock()
	}
	return cctx, c, end, nil
}

// current returns the client to use now (it changes when one dies).
func (s *Store) current() *esdbclient.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c
}

// renew replaces a client that gave up reconnecting. EventStore-Client-Go
// closes a client for good when its discovery fails (every node down for
// longer than its discovery attempts); a fresh client starts discovery again.
// The dead client is not closed: calls still inside it may be blocked on it
// forever, and closing it would make them panic.
func (s *Store) renew(dead *esdbclient.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.c != dead {
		return
	}
	if c, err := s.newClient(); err == nil {
		s.c = c
	}
}

// fail turns an error of a call into the one the caller gets: ErrClosed once
// Close has started, ctx's error once ctx is done, the client's error (wrapped,
// for errors.As with *esdbclient.Error) otherwise.
func (s *Store) fail(ctx context.Context, c *esdbclient.Client, op string, err error) error {
	if s.base.Err() != nil {
		return fmt.Errorf("esdb: %s: %w", op, eventstore.ErrClosed)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("esdb: %s: %w", op, ctx.Err())
	}
	if code, ok := errorCode(err); ok && code == esdbclient.ErrorCodeConnectionClosed {
		s.renew(c)
	}
	return fmt.Errorf("esdb: %s: %w", op, err)
}

// errorCode returns the client's error code in err. (esdbclient.FromError is
// not used: its ok result is true when err is nil and false otherwise.)
func errorCode(err error) (esdbclient.ErrorCode, bool) {
	var e *esdbclient.Error
	if errors.As(err, &e) {
		return e.Code(), true
	}
	return 0, false
}

// Close ends running subscriptions and calls (they fail with
// [eventstore.ErrClosed]), waits up to Config.CloseTimeout for them to
// return, and closes the client. Calls after Close, Close included, fail with
// ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("esdb: close: %w", eventstore.ErrClosed)
	}
	s.closed = true
	s.cancel()
	var idle chan struct{}
	if s.inflight > 0 {
		idle = make(chan struct{})
		s.idle = idle
	}
	c := s.c
	s.mu.Unlock()
	if idle != nil {
		t := time.NewTimer(s.cfg.CloseTimeout)
		defer t.Stop()
		select {
		case <-idle:
		case <-t.C:
			// A call is stuck inside the client; closing the client under it
			// would make it panic. Leave the client to the garbage collector.
			return nil
		}
	}
	return c.Close()
}

// Append implements [eventstore.Store]. Events go to one server stream,
// Prefix+stream, in one append whose expected revision is the one expected
// names (version n is revision n-1; version 0 is "no stream"). The server
// deduplicates by event id: see [EventUUID] and the package doc.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.Expected, events ...eventstore.Event) (eventstore.AppendResult, error) {
	const op = "append"
	if stream == "" {
		return eventstore.AppendResult{}, fmt.Errorf("esdb: %s: %w: empty stream name", op, eventstore.ErrInvalid)
	}
	data := make([]esdbclient.EventData, len(events))
	for i, e := range events {
		if e.Type == "" {
			return eventstore.AppendResult{}, fmt.Errorf("esdb: %s to %s: %w: event %d has no type", op, stream, eventstore.ErrInvalid, i)
		}
		if !utf8.ValidString(e.Type) {
			return eventstore.AppendResult{}, fmt.Errorf("esdb: %s to %s: %w: the type of event %d is not UTF-8", op, stream, eventstore.ErrInvalid, i)
		}
		if y := e.Time.UTC().Year(); y < 0 || y > 9999 {
			return eventstore.AppendResult{}, fmt.Errorf("esdb: %s to %s: %w: event %d has a time outside years 0-9999", op, stream, eventstore.ErrInvalid, i)
		}
		data[i] = encodeEvent(e)
	}
	ctx, c, end, err := s.begin(ctx, op)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	defer end()

	if len(events) == 0 {
		v, err := s.streamVersion(ctx, c, stream)
		if err != nil {
			return eventstore.AppendResult{}, s.fail(ctx, c, op, err)
		}
		if !expected.Matches(v) {
			return eventstore.AppendResult{}, &eventstore.ConflictError{Stream: stream, Expected: expected, Actual: v}
		}
		var p eventstore.Position
		if v > 0 {
			if p, err = s.positionOf(ctx, c, stream, uint64(v)-1); err != nil {
				return eventstore.AppendResult{}, s.fail(ctx, c, op, err)
			}
		}
		return eventstore.AppendResult{Version: v, Position: p}, nil
	}

	res, err := c.AppendToStream(ctx, s.prefix+stream, esdbclient.AppendToStreamOptions{ExpectedRevision: revision(expected)}, data...)
	if err != nil {
		if code, ok := errorCode(err); ok && code == esdbclient.ErrorCodeWrongExpectedVersion {
			actual, perr := actualVersion(err)
			if perr != nil {
				if actual, perr = s.streamVersion(ctx, c, stream); perr != nil {
					return eventstore.AppendResult{}, s.fail(ctx, c, op, perr)
				}
			}
			return eventstore.AppendResult{}, &eventstore.ConflictError{Stream: stream, Expected: expected, Actual: actual}
		}
		return eventstore.AppendResult{}, s.fail(ctx, c, op, err)
	}
	last := res.NextExpectedVersion // the revision of the stream's last event
	p, err := s.positionOf(ctx, c, stream, last)
	if err != nil {
		return eventstore.AppendResult{}, s.fail(ctx, c, op, err)
	}
	return eventstore.AppendResult{Version: eventstore.Version(last + 1), Position: p}, nil
}

// revision maps an expected version to the client's expected revision.
func revision(e eventstore.Expected) esdbclient.ExpectedRevision {
	switch {
	case e.IsAny():
		return esdbclient.Any{}
	case e.Version() == 0:
		return esdbclient.NoStream{}
	default:
		return esdbclient.Revision(uint64(e.Version()) - 1)
	}
}

// actualVersion reads the stream's actual version out of the detail the
// client puts in a wrong-expected-version error:
// "wrong expected version: expecting '1' but got 'no_stream'".
func actualVersion(err error) (eventstore.Version, error) {
	_, rest, ok := strings.Cut(err.Error(), "but got '")
	if !ok {
		return 0, errors.New("no current revision in the error")
	}
	cur, _, ok := strings.Cut(rest, "'")
	if !ok {
		return 0, errors.New("no current revision in the error")
	}
	if cur == "no_stream" {
		return 0, nil
	}
	rev, perr := strconv.ParseUint(cur, 10, 64)
	if perr != nil {
		return 0, perr
	}
	return eventstore.Version(rev + 1), nil
}

// StreamVersion implements [eventstore.Store] with a backward read of one
// event.
func (s *Store) StreamVersion(ctx context.Context, stream string) (eventstore.Version, error) {
	const op = "stream version"
	if stream == "" {
		return 0, fmt.Errorf("esdb: %s: %w: empty stream name", op, eventstore.ErrInvalid)
	}
	ctx, c, end, err := s.begin(ctx, op)
	if err != nil {
		return 0, err
	}
	defer end()
	v, err := s.streamVersion(ctx, c, stream)
	if err != nil {
		return 0, s.fail(ctx, c, op, err)
	}
	return v, nil
}

func (s *Store) streamVersion(ctx context.Context, c *esdbclient.Client, stream string) (eventstore.Version, error) {
	rs, err := c.ReadStream(ctx, s.prefix+stream, esdbclient.ReadStreamOptions{Direction: esdbclient.Backwards, From: esdbclient.End{}}, 1)
	if err != nil {
		return 0, err
	}
	defer rs.Close()
	ev, err := rs.Recv()
	switch {
	case errors.Is(err, io.EOF):
		return 0, nil
	case err != nil:
		if code, ok := errorCode(err); ok && code == esdbclient.ErrorCodeResourceNotFound {
			return 0, nil
		}
		return 0, err
	}
	return eventstore.Version(ev.OriginalEvent().EventNumber + 1), nil
}

// Head implements [eventstore.Store]: it extends the store's index to the end
// of $all and returns the number of this store's events up to that end.
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	const op = "head"
	ctx, c, end, err := s.begin(ctx, op)
	if err != nil {
		return 0, err
	}
	defer end()
	n, err := s.extend(ctx, c)
	if err != nil {
		return 0, s.fail(ctx, c, op, err)
	}
	return n, nil
}

// positionOf returns the position of stream's revision rev, extending the
// index until it has it. A node that is not the leader may lag behind the
// append: the store retries a few times before giving up.
func (s *Store) positionOf(ctx context.Context, c *esdbclient.Client, stream string, rev uint64) (eventstore.Position, error) {
	name := s.prefix + stream
	indexed := func() bool { _, ok := s.idx.lookup(name, rev); return ok }
	for attempt := 0; ; attempt++ {
		if p, ok := s.idx.lookup(name, rev); ok {
			return p, nil
		}
		if _, err := s.extendUnless(ctx, c, indexed); err != nil {
			return 0, err
		}
		if p, ok := s.idx.lookup(name, rev); ok {
			return p, nil
		}
		if attempt == 20 {
			return 0, fmt.Errorf("revision %d of stream %s is not in $all", rev, name)
		}
		if err := sleep(ctx, time.Duration(attempt+1)*10*time.Millisecond); err != nil {
			return 0, err
		}
	}
}

// extend reads $all from the index's frontier to its end, indexes the events
// of this store's streams, and returns how many of them there are up to that
// end. One extension runs at a time; the others wait for it and then read
// what is left.
//
// The count is taken at the end the extension read, not from the index when
// it returns: readers add events to the index one by one as they go, so the
// index can hold part of an append, but the end of $all is never inside one.
func (s *Store) extend(ctx context.Context, c *esdbclient.Client) (eventstore.Position, error) {
	return s.extendUnless(ctx, c, nil)
}

// extendUnless is extend, skipped (with a count of 0) when done, checked once
// the right to extend is taken, reports that another extension already did
// what the caller needs.
func (s *Store) extendUnless(ctx context.Context, c *esdbclient.Client, done func() bool) (eventstore.Position, error) {
	if err := s.idx.lock(ctx); err != nil {
		return 0, err
	}
	defer s.idx.unlock()
	if done != nil && done() {
		return 0, nil
	}
	end := s.idx.frontier()
	err := s.pages(ctx, c, end, func(ev *esdbclient.RecordedEvent) bool {
		mine := strings.HasPrefix(ev.StreamID, s.prefix)
		s.idx.scan(ev.Position, mine, ev.StreamID, ev.EventNumber)
		pos := ev.Position
		end = &pos
		return true
	})
	if err != nil {
		return 0, err
	}
	return s.idx.upTo(end), nil
}

// pages reads $all forwards after from (nil: from the start) to its end, a
// page at a time, and calls fn with each event until fn returns false.
func (s *Store) pages(ctx context.Context, c *esdbclient.Client, from *esdbclient.Position, fn func(*esdbclient.RecordedEvent) bool) error {
	for {
		var start esdbclient.AllPosition = esdbclient.Start{}
		if from != nil {
			start = *from
		}
		rs, err := c.ReadAll(ctx, esdbclient.ReadAllOptions{From: start}, uint64(s.cfg.PageSize))
		if err != nil {
			return err
		}
		n, stop, err := s.page(rs, from, fn)
		rs.Close()
		if err != nil || stop {
			return err
		}
		if n.read < s.cfg.PageSize {
			return nil
		}
		from = &n.last
	}
}

type pageResult struct {
	read int                 // events received, the one at from included
	last esdbclient.Position // position of the last event received
}

func (s *Store) page(rs *esdbclient.ReadStream, from *esdbclient.Position, fn func(*esdbclient.RecordedEvent) bool) (pageResult, bool, error) {
	var n pageResult
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return n, false, nil
		}
		if err != nil {
			return n, false, err
		}
		n.read++
		r := ev.OriginalEvent()
		n.last = r.Position
		if from != nil && !after(r.Position, *from) {
			continue // reads from a position include it
		}
		if !fn(r) {
			return n, true, nil
		}
	}
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
