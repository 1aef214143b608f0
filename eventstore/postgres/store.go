package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"iter"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/eventstore/internal/backend"
)

// SchemaVersion is the version of the tables and function this package
// creates and reads. A schema with another version is refused with
// [ErrSchemaVersion].
const SchemaVersion = 1

// DefaultSchema is the schema the store lives in when Config.Schema is empty.
const DefaultSchema = "respool"

// Config says how to open a store. The zero value of every field means the
// default.
type Config struct {
	// ConnString is a PostgreSQL URL or keyword/value string, as libpq takes
	// ("postgres://user@host:5432/db?sslmode=disable"). Empty means libpq's
	// environment variables (PGHOST, PGDATABASE, ...) and defaults. Without
	// connect_timeout in it, connecting gives up after 10s.
	ConnString string
	// Schema is the PostgreSQL schema that holds the store's tables
	// (respool_schema, respool_events, respool_checkpoints) and its function
	// (respool_append); created if missing. Default [DefaultSchema]. Stores
	// in different schemas of one database are independent.
	Schema string
	// MaxConns is the most connections of the pool (default: pgxpool's, the
	// larger of 4 and the number of CPUs, or pool_max_conns from ConnString).
	// A running Subscribe holds one more, shared by all subscriptions.
	MaxConns int32
	// PollInterval is how often a caught-up Subscribe reads the log when no
	// notification arrives (the fallback for lost notifications). Default 1s.
	PollInterval time.Duration
	// RetryFor is how long a read (ReadAll, ReadStream, Subscribe) goes on
	// retrying, with backoff, when it fails because the connection to the
	// server was lost, before it yields the error. Default 30s.
	RetryFor time.Duration
}

// Validate reports what is wrong with c, if anything. It does not parse
// ConnString (Open does).
func (c Config) Validate() error {
	switch {
	case len(c.Schema) > 63:
		return fmt.Errorf("eventstore/postgres: Config.Schema %q is longer than 63 bytes", c.Schema)
	case !utf8.ValidString(c.Schema) || strings.ContainsRune(c.Schema, 0):
		return fmt.Errorf("eventstore/postgres: Config.Schema %q is not valid UTF-8 text", c.Schema)
	case strings.HasPrefix(strings.ToLower(c.Schema), "pg_"):
		return fmt.Errorf("eventstore/postgres: Config.Schema %q: names starting with pg_ are reserved", c.Schema)
	case c.MaxConns < 0 || c.PollInterval < 0 || c.RetryFor < 0:
		return errors.New("eventstore/postgres: Config.MaxConns, PollInterval and RetryFor must not be negative")
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Schema == "" {
		c.Schema = DefaultSchema
	}
	if c.PollInterval == 0 {
		c.PollInterval = time.Second
	}
	if c.RetryFor == 0 {
		c.RetryFor = 30 * time.Second
	}
	return c
}

// Store is an [eventstore.Store] in a PostgreSQL schema. See the package
// documentation for its guarantees. Every method is safe for concurrent use.
type Store struct {
	pool    *pgxpool.Pool
	schema  string
	q       queries
	channel string
	poll    time.Duration
	retry   time.Duration

	qmu        sync.Mutex    // guards queue, and shut's change
	queue      []*pending    // appends waiting for the writer
	kick       chan struct{} // wakes the writer (buffered: 1)
	writerDone chan struct{} // closed when the writer has stopped

	sig        backend.Signal // broadcast on every notification and append
	listening  bool           // guarded by qmu
	listenWG   sync.WaitGroup
	stopListen context.CancelFunc
	listenCtx  context.Context
	done       chan struct{} // closed by Close
	shut       atomic.Bool   // set by Close
}

var _ eventstore.Store = (*Store)(nil)

// pageSize is how many records a read fetches per query.
const pageSize = 2000

// Open connects to PostgreSQL, creates the schema, tables and function if
// they are missing, and checks their version. Errors are [*OpenError]s: see
// [ErrConnString], [ErrConnect], [ErrSchemaVersion], [ErrForeign],
// [ErrIncomplete].
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	pc, err := pgxpool.ParseConfig(cfg.ConnString)
	if err != nil {
		return nil, &OpenError{Schema: cfg.Schema, Problem: ErrConnString, Err: err}
	}
	if cfg.MaxConns > 0 {
		pc.MaxConns = cfg.MaxConns
	}
	if pc.ConnConfig.ConnectTimeout == 0 {
		pc.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	// Appends rely on READ COMMITTED (each statement of respool_append sees
	// what committed before it took the lock): pin it, whatever the
	// server's or the role's default.
	pc.ConnConfig.RuntimeParams["default_transaction_isolation"] = "read committed"
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, &OpenError{Schema: cfg.Schema, Problem: ErrConnString, Err: err}
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("eventstore/postgres: open: %w", ctx.Err())
		}
		return nil, &OpenError{Schema: cfg.Schema, Problem: ErrConnect, Err: err}
	}
	listenCtx, stop := context.WithCancel(context.Background())
	s := &Store{
		pool:       pool,
		schema:     cfg.Schema,
		q:          newQueries(cfg.Schema),
		channel:    channelName(cfg.Schema),
		poll:       cfg.PollInterval,
		retry:      cfg.RetryFor,
		listenCtx:  listenCtx,
		stopListen: stop,
		done:       make(chan struct{}),
		kick:       make(chan struct{}, 1),
		writerDone: make(chan struct{}),
	}
	if err := s.setup(ctx); err != nil {
		stop()
		pool.Close()
		return nil, err
	}
	go s.writer()
	return s, nil
}

// Schema returns the PostgreSQL schema the store lives in.
func (s *Store) Schema() string { return s.schema }

// Pool returns the store's connection pool, for read models that live in
// the same database. Closing the Store closes it.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// lockKey is the advisory lock that serialises the appends of a schema (and
// its setup). It is derived from the schema name, so stores in different
// schemas do not wait for each other (unless two names collide in 64 bits).
func lockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("github.com/respool/respool/eventstore/postgres:" + schema))
	return int64(h.Sum64())
}

// channelName is the NOTIFY channel of a schema's appends.
func channelName(schema string) string {
	c := "respool_events:" + schema
	if len(c) > 63 {
		c = fmt.Sprintf("respool_events:%016x", uint64(lockKey(schema)))
	}
	return c
}

// queries are the SQL texts, with the schema's quoted names in them.
type queries struct {
	schema, meta, events, checkpoints, fn string

	append, readAll, readStream, streamVersion, head string
	checkpoint, saveCheckpoint                       string
}

func newQueries(schema string) queries {
	q := queries{schema: pgx.Identifier{schema}.Sanitize()}
	q.meta = q.schema + ".respool_schema"
	q.events = q.schema + ".respool_events"
	q.checkpoints = q.schema + ".respool_checkpoints"
	q.fn = q.schema + ".respool_append"
	cols := `SELECT position, stream, version, id, type, data, metadata, time FROM ` + q.events
	q.append = `SELECT o_version, o_position, o_conflict FROM ` + q.fn + `($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`
	q.readAll = cols + ` WHERE position > $1 ORDER BY position LIMIT $2`
	q.readStream = cols + ` WHERE stream = $1 AND version > $2 ORDER BY version LIMIT $3`
	q.streamVersion = `SELECT COALESCE(MAX(version), 0) FROM ` + q.events + ` WHERE stream = $1`
	q.head = `SELECT COALESCE(MAX(position), 0) FROM ` + q.events
	q.checkpoint = `SELECT position FROM ` + q.checkpoints + ` WHERE name = $1`
	q.saveCheckpoint = `INSERT INTO ` + q.checkpoints + ` (name, position) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position`
	return q
}

// quoteLiteral quotes s as an SQL string literal, whatever
// standard_conforming_strings says.
func quoteLiteral(s string) string {
	if strings.ContainsRune(s, '\\') {
		return `E'` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `'`, `''`) + `'`
	}
	return `'` + strings.ReplaceAll(s, `'`, `''`) + `'`
}

// ddl creates the schema's tables and function. The function is where the
// ordering guarantee lives: see the package documentation.
func (q queries) ddl(schema string) []string {
	body := `
DECLARE
	m       int := COALESCE(cardinality(p_streams), 0);
	ok      boolean[] := array_fill(false, ARRAY[m]);
	ver0    bigint[] := array_fill(0::bigint, ARRAY[m]);
	pos0    bigint[] := array_fill(0::bigint, ARRAY[m]);
	head    bigint;
	cur     bigint;
	last    bigint;
	written bigint := 0;
BEGIN
	IF current_setting('transaction_isolation') <> 'read committed' THEN
		RAISE EXCEPTION 'respool_append needs READ COMMITTED, not %', current_setting('transaction_isolation');
	END IF;
	IF COALESCE(cardinality(p_ids), 0) > 0 THEN
		-- One call at a time in this schema, until it commits. Each
		-- statement below takes a new snapshot (READ COMMITTED), so it sees
		-- every append that committed before the lock was granted.
		PERFORM pg_advisory_xact_lock(` + strconv.FormatInt(lockKey(schema), 10) + `);
	END IF;
	SELECT COALESCE(MAX(e.position), 0) INTO head FROM ` + q.events + ` e;
	-- One append per stream in a call (the caller sees to it), each in
	-- turn: check its expected version, give it the next positions.
	FOR k IN 1 .. m LOOP
		cur := NULL;
		last := NULL;
		SELECT e.version, e.position INTO cur, last
			FROM ` + q.events + ` e WHERE e.stream = p_streams[k] ORDER BY e.version DESC LIMIT 1;
		cur := COALESCE(cur, 0);
		last := COALESCE(last, 0);
		o_version := cur;
		o_position := last;
		o_conflict := p_expected[k] >= 0 AND cur <> p_expected[k];
		IF NOT o_conflict AND p_counts[k] > 0 THEN
			ok[k] := true;
			ver0[k] := cur;
			pos0[k] := head;
			head := head + p_counts[k];
			written := written + p_counts[k];
			o_version := cur + p_counts[k];
			o_position := head;
		END IF;
		RETURN NEXT;
	END LOOP;
	IF written > 0 THEN
		INSERT INTO ` + q.events + ` (position, stream, version, id, type, data, metadata, time)
			SELECT pos0[u.k] + u.j, p_streams[u.k], ver0[u.k] + u.j, u.id, u.type, u.data, u.meta, u.at
			FROM unnest(p_k, p_j, p_ids, p_types, p_data, p_meta, p_times) AS u(k, j, id, type, data, meta, at)
			WHERE ok[u.k];
		PERFORM pg_notify(` + quoteLiteral(channelName(schema)) + `, head::text);
	END IF;
END`
	return []string{
		`CREATE TABLE ` + q.meta + ` (
			id         int  PRIMARY KEY CHECK (id = 1),
			version    int  NOT NULL,
			created_by text NOT NULL
		)`,
		`CREATE TABLE ` + q.events + ` (
			position bigint      PRIMARY KEY,
			stream   text        NOT NULL,
			version  bigint      NOT NULL,
			id       text        NOT NULL,
			type     text        NOT NULL,
			data     bytea,
			metadata bytea,
			time     timestamptz NOT NULL,
			CONSTRAINT respool_events_stream_version UNIQUE (stream, version)
		)`,
		`CREATE TABLE ` + q.checkpoints + ` (
			name     text   PRIMARY KEY,
			position bigint NOT NULL
		)`,
		`CREATE FUNCTION ` + q.fn + `(
			p_streams text[], p_expected bigint[], p_counts int[],
			p_k int[], p_j int[], p_ids text[], p_types text[], p_data bytea[], p_meta bytea[], p_times timestamptz[])
		RETURNS TABLE (o_version bigint, o_position bigint, o_conflict boolean)
		LANGUAGE plpgsql VOLATILE AS ` + quoteLiteral(body),
		`INSERT INTO ` + q.meta + ` (id, version, created_by) VALUES (1, ` + strconv.Itoa(SchemaVersion) + `, 'github.com/respool/respool/eventstore/postgres')`,
	}
}

// setup creates or checks the schema, under the schema's advisory lock so
// that two processes opening a new schema at once do not both create it.
func (s *Store) setup(ctx context.Context) error {
	fail := func(problem error, detail string, err error) error {
		return &OpenError{Schema: s.schema, Problem: problem, Detail: detail, Err: err}
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fail(ErrConnect, "", err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey(s.schema)); err != nil {
		return fmt.Errorf("eventstore/postgres: open schema %s: %w", quoteSchema(s.schema), err)
	}
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, s.schema).Scan(&exists); err != nil {
		return fmt.Errorf("eventstore/postgres: open schema %s: %w", quoteSchema(s.schema), err)
	}
	if !exists {
		if _, err := tx.Exec(ctx, `CREATE SCHEMA `+s.q.schema); err != nil {
			return fmt.Errorf("eventstore/postgres: open schema %s: create it: %w", quoteSchema(s.schema), err)
		}
	}
	rows, _ := tx.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relname IN ('respool_schema', 'respool_events', 'respool_checkpoints')
		UNION ALL
		SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = $1 AND p.proname = 'respool_append'`, s.schema)
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("eventstore/postgres: open schema %s: %w", quoteSchema(s.schema), err)
	}
	has := make(map[string]bool)
	for _, name := range found {
		has[name] = true
	}
	switch {
	case has["respool_schema"]:
		var v int64
		err := tx.QueryRow(ctx, `SELECT version FROM `+s.q.meta+` WHERE id = 1`).Scan(&v)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return fail(ErrIncomplete, "table respool_schema has no row", nil)
		case err != nil:
			return fail(ErrForeign, "cannot read table respool_schema", err)
		case v != SchemaVersion:
			return fail(ErrSchemaVersion, fmt.Sprintf("the schema has version %d, this package reads version %d", v, SchemaVersion), nil)
		}
		for _, want := range []string{"respool_events", "respool_checkpoints", "respool_append"} {
			if !has[want] {
				return fail(ErrIncomplete, want+" is missing", nil)
			}
		}
		return nil
	case len(found) > 0:
		return fail(ErrForeign, "it has "+strings.Join(found, ", ")+" but no respool_schema table", nil)
	}
	for _, stmt := range s.q.ddl(s.schema) {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("eventstore/postgres: open schema %s: create tables: %w", quoteSchema(s.schema), err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("eventstore/postgres: open schema %s: create tables: %w", quoteSchema(s.schema), err)
	}
	return nil
}

// page reads up to pageSize records with query into buf[:0], retrying for
// up to s.retry when the connection is lost (a failed page yields nothing,
// so a retry repeats nothing).
func (s *Store) page(ctx context.Context, buf []eventstore.Record, query string, args ...any) ([]eventstore.Record, error) {
	var waited time.Duration
	delay := 20 * time.Millisecond
	for {
		recs, err := s.pageOnce(ctx, buf[:0], query, args...)
		if err == nil || !lostConnection(err) || waited >= s.retry || s.shut.Load() {
			return recs, err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-s.done:
			t.Stop()
			return nil, eventstore.ErrClosed
		case <-t.C:
		}
		waited += delay
		delay = min(2*delay, time.Second)
	}
}

func (s *Store) pageOnce(ctx context.Context, buf []eventstore.Record, query string, args ...any) ([]eventstore.Record, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, s.fail(ctx, "read", err)
	}
	defer rows.Close()
	raw := rawDecodable(rows.FieldDescriptions())
	var in interner
	for rows.Next() {
		var r eventstore.Record
		if raw {
			err = decodeRaw(rows.RawValues(), &r, &in)
		} else {
			err = scan(rows, &r)
		}
		if err != nil {
			return nil, s.fail(ctx, "read", err)
		}
		buf = append(buf, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, "read", err)
	}
	return buf, nil
}

// scan reads a record with pgx's Scan: the general way, used when the
// columns do not come in the formats decodeRaw reads.
func scan(rows pgx.Rows, r *eventstore.Record) error {
	var pos, v int64
	if err := rows.Scan(&pos, &r.Stream, &v, &r.ID, &r.Type, &r.Data, &r.Metadata, &r.Time); err != nil {
		return err
	}
	r.Position = eventstore.Position(pos)
	r.Version = eventstore.Version(v)
	r.Time = r.Time.UTC()
	return nil
}

// The column types of a record (position, stream, version, id, type, data,
// metadata, time), as their OIDs.
var recordOIDs = [8]uint32{pgtype.Int8OID, pgtype.TextOID, pgtype.Int8OID, pgtype.TextOID, pgtype.TextOID, pgtype.ByteaOID, pgtype.ByteaOID, pgtype.TimestamptzOID}

// rawDecodable reports whether decodeRaw can read rows of these columns:
// the record's types, with every non-text column in binary format.
func rawDecodable(fds []pgconn.FieldDescription) bool {
	if len(fds) != len(recordOIDs) {
		return false
	}
	for i, fd := range fds {
		if fd.DataTypeOID != recordOIDs[i] || (fd.DataTypeOID != pgtype.TextOID && fd.Format != pgx.BinaryFormatCode) {
			return false
		}
	}
	return true
}

// pgEpochMicros is 2000-01-01 00:00:00 UTC, PostgreSQL's time zero, in
// microseconds since 1970.
const pgEpochMicros = 946684800 * 1e6

// decodeRaw reads a record from the wire values of a row: reading a large
// log is mostly this, and it allocates two objects per record where Scan
// allocates eight (the event id, and Data with Metadata in one array;
// stream and type names are shared within a page).
func decodeRaw(vals [][]byte, r *eventstore.Record, in *interner) error {
	if len(vals[0]) != 8 || len(vals[2]) != 8 || len(vals[7]) != 8 {
		return errors.New("eventstore/postgres: read: a record with a malformed integer or time")
	}
	r.Position = eventstore.Position(binary.BigEndian.Uint64(vals[0]))
	r.Version = eventstore.Version(binary.BigEndian.Uint64(vals[2]))
	r.Stream = in.string(vals[1])
	r.ID = string(vals[3])
	r.Type = in.string(vals[4])
	data, meta := vals[5], vals[6]
	if data != nil || meta != nil {
		b := make([]byte, len(data)+len(meta))
		if data != nil {
			r.Data = b[:copy(b, data):len(data)]
		}
		if meta != nil {
			r.Metadata = b[len(data):]
			copy(r.Metadata, meta)
		}
	}
	us := int64(binary.BigEndian.Uint64(vals[7]))
	if us == math.MaxInt64 || us == math.MinInt64 {
		return fmt.Errorf("eventstore/postgres: read: the record at position %d has an infinite time", r.Position)
	}
	// Seconds and microseconds apart, so that no sum overflows.
	sec, rem := us/1e6, us%1e6
	if rem < 0 {
		sec, rem = sec-1, rem+1e6
	}
	r.Time = time.Unix(pgEpochMicros/1e6+sec, rem*1e3).UTC()
	return nil
}

// interner shares the strings of repeated names (streams, types) within a
// page: looking up string(b) in a map does not allocate.
type interner map[string]string

func (in *interner) string(b []byte) string {
	if s, ok := (*in)[string(b)]; ok {
		return s
	}
	s := string(b)
	if *in == nil {
		*in = make(map[string]string)
	}
	if len(*in) < 256 {
		(*in)[s] = s
	}
	return s
}

// ReadStream implements [eventstore.Store.ReadStream]. It reads in pages and
// holds no connection while the loop body runs.
func (s *Store) ReadStream(ctx context.Context, stream string, after eventstore.Version) iter.Seq2[eventstore.Record, error] {
	return func(yield func(eventstore.Record, error) bool) {
		if err := backend.CheckStream(stream); err != nil {
			yield(eventstore.Record{}, err)
			return
		}
		var buf []eventstore.Record
		for {
			if err := s.check(ctx); err != nil {
				yield(eventstore.Record{}, err)
				return
			}
			recs, err := s.page(ctx, buf, s.q.readStream, stream, clamp(uint64(after)), pageSize)
			if err != nil {
				yield(eventstore.Record{}, err)
				return
			}
			if !backend.YieldPage(ctx, s.check, recs, yield) || len(recs) < pageSize {
				return
			}
			after = recs[len(recs)-1].Version
			buf = recs
		}
	}
}

func clamp(v uint64) int64 { return int64(min(v, math.MaxInt64)) }

// ReadAll implements [eventstore.Store.ReadAll]. It reads in pages and holds
// no connection while the loop body runs.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position) iter.Seq2[eventstore.Record, error] {
	return func(yield func(eventstore.Record, error) bool) {
		var buf []eventstore.Record
		for {
			if err := s.check(ctx); err != nil {
				yield(eventstore.Record{}, err)
				return
			}
			recs, err := s.page(ctx, buf, s.q.readAll, clamp(uint64(after)), pageSize)
			if err != nil {
				yield(eventstore.Record{}, err)
				return
			}
			if !backend.YieldPage(ctx, s.check, recs, yield) || len(recs) < pageSize {
				return
			}
			after = recs[len(recs)-1].Position
			buf = recs
		}
	}
}

// Subscribe implements [eventstore.Store.Subscribe]. Once caught up it waits
// for a notification (LISTEN on one connection shared by the Store's
// subscriptions, reconnected when lost) or polls every Config.PollInterval.
// A lost connection is retried as for ReadAll: the subscription resumes
// from the last position it yielded, with nothing lost or repeated.
func (s *Store) Subscribe(ctx context.Context, after eventstore.Position) iter.Seq2[eventstore.Record, error] {
	return func(yield func(eventstore.Record, error) bool) {
		s.startListener()
		var (
			buf   []eventstore.Record
			timer *time.Timer
		)
		defer func() {
			if timer != nil {
				timer.Stop()
			}
		}()
		for {
			if err := s.check(ctx); err != nil {
				yield(eventstore.Record{}, err)
				return
			}
			wake := s.sig.Wait() // before reading, so no notification is missed
			recs, err := s.page(ctx, buf, s.q.readAll, clamp(uint64(after)), pageSize)
			if err != nil {
				yield(eventstore.Record{}, err)
				return
			}
			if !backend.YieldPage(ctx, s.check, recs, yield) {
				return
			}
			if len(recs) > 0 {
				after = recs[len(recs)-1].Position
				buf = recs
			}
			if len(recs) == pageSize {
				continue
			}
			if timer == nil {
				timer = time.NewTimer(s.poll)
			} else {
				timer.Reset(s.poll)
			}
			select {
			case <-ctx.Done():
			case <-s.done:
			case <-wake:
			case <-timer.C:
			}
		}
	}
}

// startListener starts, once, the goroutine that LISTENs for the schema's
// appends and wakes the subscriptions.
func (s *Store) startListener() {
	s.qmu.Lock() // not after Close: Close sets shut under qmu
	defer s.qmu.Unlock()
	if s.listening || s.shut.Load() {
		return
	}
	s.listening = true
	s.listenWG.Add(1)
	go s.listen(s.listenCtx)
}

func (s *Store) listen(ctx context.Context) {
	defer s.listenWG.Done()
	delay := 50 * time.Millisecond
	for {
		listened := s.listenConn(ctx)
		if ctx.Err() != nil {
			return
		}
		// Notifications sent while not listening are lost: wake everyone to
		// read again, and let the polling cover the gap until reconnected.
		s.sig.Broadcast()
		if listened {
			delay = 50 * time.Millisecond
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// listenConn listens on a connection of its own until it fails; it reports
// whether it got as far as listening.
func (s *Store) listenConn(ctx context.Context) bool {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig)
	if err != nil {
		return false
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		return false
	}
	s.sig.Broadcast() // whatever committed before LISTEN, the next read finds
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return true
		}
		s.sig.Broadcast()
	}
}

// StreamVersion implements [eventstore.Store.StreamVersion].
func (s *Store) StreamVersion(ctx context.Context, stream string) (eventstore.Version, error) {
	if err := backend.CheckStream(stream); err != nil {
		return 0, err
	}
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	var v int64
	if err := s.pool.QueryRow(ctx, s.q.streamVersion, stream).Scan(&v); err != nil {
		return 0, s.fail(ctx, "stream version of "+strconv.Quote(stream), err)
	}
	return eventstore.Version(v), nil
}

// Head implements [eventstore.Store.Head].
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	var p int64
	if err := s.pool.QueryRow(ctx, s.q.head).Scan(&p); err != nil {
		return 0, s.fail(ctx, "head", err)
	}
	return eventstore.Position(p), nil
}

// Close implements [eventstore.Store.Close]. It waits for the appends that
// were called before it, ends every subscription with
// [eventstore.ErrClosed], stops listening, and closes the pool, waiting for
// the connections in use (a running InTx) to be released. A
// second Close returns [eventstore.ErrClosed].
func (s *Store) Close() error {
	s.qmu.Lock()
	if !s.shut.CompareAndSwap(false, true) {
		s.qmu.Unlock()
		return eventstore.ErrClosed
	}
	s.qmu.Unlock()
	close(s.done)
	<-s.writerDone
	s.stopListen()
	s.listenWG.Wait()
	s.pool.Close()
	return nil
}

// check returns ctx's error, or ErrClosed after Close.
func (s *Store) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.shut.Load() {
		return eventstore.ErrClosed
	}
	return nil
}

// fail translates an error of pgx: ErrClosed after Close, ctx's own error
// when ctx is done, ErrInvalid for values the server cannot store, and
// otherwise the error wrapped with what was being done.
func (s *Store) fail(ctx context.Context, op string, err error) error {
	switch {
	case s.shut.Load():
		return eventstore.ErrClosed
	case ctx.Err() != nil:
		return ctx.Err()
	case invalidInput(err):
		return fmt.Errorf("%w: %s: %w", eventstore.ErrInvalid, op, err)
	}
	return fmt.Errorf("eventstore/postgres: %s: %w", op, err)
}
