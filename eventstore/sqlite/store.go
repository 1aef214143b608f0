package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/eventstore/internal/backend"
)

// SchemaVersion is the version of the tables this package writes and reads.
// A file with another version is refused with [ErrSchemaVersion].
const SchemaVersion = 1

// applicationID marks the file's header as a respool store ("resp"), the
// SQLite way of telling which program a database belongs to.
const applicationID = 0x72657370

// Sync is how hard a commit waits for the disk (SQLite's PRAGMA synchronous).
type Sync int

const (
	// SyncFull (the default): every commit is on disk (fsync of the WAL)
	// before Append returns. An acknowledged append survives a process crash
	// and a power loss.
	SyncFull Sync = iota
	// SyncNormal: commits are written to the WAL but synced only at
	// checkpoints. Appends are several times faster on slow disks; an
	// acknowledged append still survives a crash of the process, but the
	// last commits before a power loss or an OS crash may be rolled back
	// (never torn: the file stays consistent).
	SyncNormal
)

func (s Sync) pragma() string {
	if s == SyncNormal {
		return "NORMAL"
	}
	return "FULL"
}

// Config says how to open a store. The zero value of every field but Path
// means the default.
type Config struct {
	// Path is the database file. It is created, with the respool schema, if
	// it does not exist or is empty. Required; ":memory:" is refused (use
	// eventstore.Memory).
	Path string
	// Sync is the durability of a commit; the zero value is [SyncFull].
	Sync Sync
	// BusyTimeout is how long a write waits for another process that holds
	// the file's write lock before it fails. Default 5s.
	BusyTimeout time.Duration
	// Readers is the most reader connections open at once (reads never wait
	// for the writer, nor the writer for them: WAL mode). Default 4.
	Readers int
	// PollInterval is how often a caught-up Subscribe looks for events that
	// another process appended to the same file. Appends of this Store wake
	// subscribers at once. Default 500ms.
	PollInterval time.Duration
}

// Validate reports what is wrong with c, if anything.
func (c Config) Validate() error {
	switch {
	case c.Path == "":
		return errors.New("eventstore/sqlite: Config.Path is empty")
	case c.Path == ":memory:" || strings.HasPrefix(c.Path, "file:"):
		return fmt.Errorf("eventstore/sqlite: Config.Path %q: give a file path (for a store in memory use eventstore.Memory)", c.Path)
	case c.Sync != SyncFull && c.Sync != SyncNormal:
		return fmt.Errorf("eventstore/sqlite: Config.Sync %d is not SyncFull or SyncNormal", int(c.Sync))
	case c.BusyTimeout < 0, c.PollInterval < 0, c.Readers < 0:
		return errors.New("eventstore/sqlite: Config.BusyTimeout, Readers and PollInterval must not be negative")
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.BusyTimeout == 0 {
		c.BusyTimeout = 5 * time.Second
	}
	if c.Readers == 0 {
		c.Readers = 4
	}
	if c.PollInterval == 0 {
		c.PollInterval = 500 * time.Millisecond
	}
	return c
}

// Store is an [eventstore.Store] in one SQLite file. See the package
// documentation for its guarantees. Every method is safe for concurrent use.
type Store struct {
	path string
	poll time.Duration
	w    *sql.DB // the writer: one connection
	r    *sql.DB // the readers

	qmu        sync.Mutex    // guards queue, and shut's change
	queue      []*pending    // appends waiting for the writer
	kick       chan struct{} // wakes the writer (buffered: 1)
	writerDone chan struct{} // closed when the writer has stopped

	mu    sync.Mutex        // serialises transactions on w (writer, InTx); guards stmts
	stmts map[int]*sql.Stmt // INSERT of n rows, prepared on w
	state *sql.Stmt         // stateSQL, prepared on w
	sig   backend.Signal    // broadcast after each committed append
	done  chan struct{}     // closed by Close
	shut  atomic.Bool       // set by Close
}

var _ eventstore.Store = (*Store)(nil)

const (
	insertChunk = 128  // rows per INSERT statement (8 parameters each)
	pageSize    = 1024 // rows per read query
)

// Open opens the store in cfg.Path, creating the file and its tables if
// needed. A file that is not a respool store is refused, unchanged, with an
// [*OpenError]: see [ErrNotDatabase], [ErrCorrupt], [ErrForeign],
// [ErrSchemaVersion].
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	path, err := filepath.Abs(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("eventstore/sqlite: %w", err)
	}
	busy := strconv.FormatInt(cfg.BusyTimeout.Milliseconds(), 10)

	w, err := sql.Open("sqlite", dsn(path, url.Values{
		"_pragma": {"busy_timeout(" + busy + ")", "synchronous(" + cfg.Sync.pragma() + ")"},
		"_txlock": {"immediate"},
	}))
	if err != nil {
		return nil, fmt.Errorf("eventstore/sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := initFile(ctx, w, path); err != nil {
		w.Close()
		return nil, err
	}

	r, err := sql.Open("sqlite", dsn(path, url.Values{
		"_pragma": {"busy_timeout(" + busy + ")", "query_only(1)"},
	}))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("eventstore/sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(cfg.Readers)
	r.SetMaxIdleConns(cfg.Readers)
	r.SetConnMaxIdleTime(time.Minute)
	if err := r.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("eventstore/sqlite: open %s: %w", path, err)
	}
	state, err := w.PrepareContext(ctx, stateSQL)
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("eventstore/sqlite: open %s: %w", path, err)
	}
	st := &Store{
		state:      state,
		path:       path,
		poll:       cfg.PollInterval,
		w:          w,
		r:          r,
		stmts:      make(map[int]*sql.Stmt),
		done:       make(chan struct{}),
		kick:       make(chan struct{}, 1),
		writerDone: make(chan struct{}),
	}
	go st.writer()
	return st, nil
}

// dsn makes an SQLite URI for path: "file:" with the path escaped, so that
// names holding '?' or '#' open the right file.
func dsn(path string, q url.Values) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	return u.String()
}

const schemaSQL = `
CREATE TABLE respool_schema (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	version    INTEGER NOT NULL,
	created_by TEXT    NOT NULL
) STRICT;
CREATE TABLE respool_events (
	position INTEGER PRIMARY KEY,
	stream   TEXT    NOT NULL,
	version  INTEGER NOT NULL,
	id       TEXT    NOT NULL,
	type     TEXT    NOT NULL,
	data     BLOB,
	metadata BLOB,
	time_us  INTEGER NOT NULL,
	UNIQUE (stream, version)
) STRICT;
CREATE TABLE respool_checkpoints (
	name     TEXT    PRIMARY KEY,
	position INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
`

// fileState is what inspect found in a file.
type fileState struct {
	appID   int32
	tables  []string
	version int64 // from respool_schema; 0 if the table does not exist
	ours    bool  // respool_schema exists
}

// initFile checks the file behind w and creates the schema in an empty one.
// It reads before it writes anything, so a file it refuses is left as it was.
func initFile(ctx context.Context, w *sql.DB, path string) error {
	conn, err := w.Conn(ctx)
	if err != nil {
		if e := classifyOpen(path, err); e != nil {
			return e
		}
		return fmt.Errorf("eventstore/sqlite: open %s: %w", path, err)
	}
	defer conn.Close()

	st, err := inspect(ctx, conn, path)
	if err != nil {
		return err
	}
	if err := st.check(path); err != nil {
		return err
	}
	var mode string
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode); err != nil {
		return fmt.Errorf("eventstore/sqlite: open %s: set WAL mode: %w", path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("eventstore/sqlite: open %s: the file refused WAL mode (journal mode %q)", path, mode)
	}
	if st.ours {
		return nil
	}

	// Create the schema, unless another process did since we looked.
	tx, err := conn.BeginTx(ctx, nil) // BEGIN IMMEDIATE: one creator at a time
	if err != nil {
		return fmt.Errorf("eventstore/sqlite: open %s: %w", path, err)
	}
	defer tx.Rollback()
	if st, err = inspect(ctx, tx, path); err != nil {
		return err
	}
	if err := st.check(path); err != nil {
		return err
	}
	if st.ours {
		return nil
	}
	if _, err := tx.ExecContext(ctx, schemaSQL); err != nil {
		return fmt.Errorf("eventstore/sqlite: open %s: create schema: %w", path, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO respool_schema (id, version, created_by) VALUES (1, ?, 'github.com/respool/respool/eventstore/sqlite')`, SchemaVersion); err != nil {
		return fmt.Errorf("eventstore/sqlite: open %s: create schema: %w", path, err)
	}
	if _, err := tx.ExecContext(ctx, "PRAGMA application_id = "+strconv.Itoa(applicationID)); err != nil {
		return fmt.Errorf("eventstore/sqlite: open %s: create schema: %w", path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("eventstore/sqlite: open %s: create schema: %w", path, err)
	}
	return nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// inspect reads the file's application id, its tables and, if it has one,
// its respool schema version, without writing.
func inspect(ctx context.Context, q querier, path string) (fileState, error) {
	var st fileState
	fail := func(what string, err error) (fileState, error) {
		if e := classifyOpen(path, err); e != nil {
			return st, e
		}
		return st, fmt.Errorf("eventstore/sqlite: open %s: %s: %w", path, what, err)
	}
	if err := q.QueryRowContext(ctx, "PRAGMA application_id").Scan(&st.appID); err != nil {
		return fail("read header", err)
	}
	rows, err := q.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return fail("list tables", err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return fail("list tables", err)
		}
		st.tables = append(st.tables, name)
	}
	if err := rows.Close(); err != nil {
		return fail("list tables", err)
	}
	if err := rows.Err(); err != nil {
		return fail("list tables", err)
	}
	for _, t := range st.tables {
		if t == "respool_schema" {
			st.ours = true
		}
	}
	if !st.ours {
		return st, nil
	}
	var version any
	err = q.QueryRowContext(ctx, `SELECT version FROM respool_schema WHERE id = 1`).Scan(&version)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return st, &OpenError{Path: path, Problem: ErrCorrupt, Detail: "table respool_schema has no row"}
	case err != nil:
		if e := classifyOpen(path, err); e != nil {
			return st, e
		}
		return st, &OpenError{Path: path, Problem: ErrCorrupt, Detail: "cannot read table respool_schema", Err: err}
	}
	v, ok := version.(int64)
	if !ok || v <= 0 {
		return st, &OpenError{Path: path, Problem: ErrCorrupt, Detail: fmt.Sprintf("table respool_schema holds version %v, not a positive integer", version)}
	}
	st.version = v
	return st, nil
}

// check says whether a file in state st can be used (or created) as a store.
func (st fileState) check(path string) error {
	if st.appID != 0 && st.appID != applicationID {
		return &OpenError{Path: path, Problem: ErrForeign, Detail: fmt.Sprintf("its header has application id %#x, respool's is %#x", uint32(st.appID), applicationID)}
	}
	if !st.ours {
		if len(st.tables) > 0 {
			return &OpenError{Path: path, Problem: ErrForeign, Detail: "it has tables " + strings.Join(st.tables, ", ") + " and no respool_schema table"}
		}
		return nil
	}
	if st.version != SchemaVersion {
		return &OpenError{Path: path, Problem: ErrSchemaVersion, Detail: fmt.Sprintf("the file has schema version %d, this package reads version %d", st.version, SchemaVersion)}
	}
	for _, want := range []string{"respool_events", "respool_checkpoints"} {
		found := false
		for _, t := range st.tables {
			found = found || t == want
		}
		if !found {
			return &OpenError{Path: path, Problem: ErrCorrupt, Detail: "table " + want + " is missing"}
		}
	}
	return nil
}

// Path returns the absolute path of the store's file.
func (s *Store) Path() string { return s.path }

// insertStmt returns the INSERT of n rows, prepared once on the writer.
func (s *Store) insertStmt(ctx context.Context, n int) (*sql.Stmt, error) {
	if st := s.stmts[n]; st != nil {
		return st, nil
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO respool_events (position, stream, version, id, type, data, metadata, time_us) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?)")
	}
	st, err := s.w.PrepareContext(ctx, b.String())
	if err != nil {
		return nil, err
	}
	s.stmts[n] = st
	return st, nil
}

// stateSQL reads what an append needs to know: the stream's version, the
// position of its last event, and the head of the log.
const stateSQL = `SELECT
	COALESCE((SELECT version  FROM respool_events WHERE stream = ?1 ORDER BY version DESC LIMIT 1), 0),
	COALESCE((SELECT position FROM respool_events WHERE stream = ?1 ORDER BY version DESC LIMIT 1), 0),
	COALESCE((SELECT MAX(position) FROM respool_events), 0)`

const selectRecord = `SELECT position, stream, version, id, type, data, metadata, time_us FROM respool_events `

// page reads up to pageSize records with query into buf[:0].
func (s *Store) page(ctx context.Context, buf []eventstore.Record, query string, args ...any) ([]eventstore.Record, error) {
	buf = buf[:0]
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.fail(ctx, "read", err)
	}
	defer rows.Close()
	// Integers are scanned into interfaces: database/sql hands the driver's
	// value over as it is, where a *int64 would go through reflection.
	// Data and Metadata are copied out of the driver's buffers into one
	// array per record.
	var (
		r           eventstore.Record
		pos, v, tus any
		data, meta  sql.RawBytes
	)
	dest := []any{&pos, &r.Stream, &v, &r.ID, &r.Type, &data, &meta, &tus}
	for rows.Next() {
		r = eventstore.Record{}
		if err := rows.Scan(dest...); err != nil {
			return nil, s.fail(ctx, "read", err)
		}
		if len(data)+len(meta) > 0 {
			b := make([]byte, len(data)+len(meta))
			if len(data) > 0 {
				r.Data = b[:copy(b, data):len(data)]
			}
			if len(meta) > 0 {
				r.Metadata = b[len(data):]
				copy(r.Metadata, meta)
			}
		}
		p, ok1 := pos.(int64)
		ver, ok2 := v.(int64)
		us, ok3 := tus.(int64)
		if !ok1 || !ok2 || !ok3 {
			return nil, s.fail(ctx, "read", fmt.Errorf("row with position %v holds %T, %T, %T where integers belong", pos, pos, v, tus))
		}
		r.Position = eventstore.Position(p)
		r.Version = eventstore.Version(ver)
		r.Time = time.UnixMicro(us).UTC()
		buf = append(buf, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, "read", err)
	}
	return buf, nil
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
			recs, err := s.page(ctx, buf, selectRecord+`WHERE stream = ? AND version > ? ORDER BY version LIMIT ?`, stream, int64(after), pageSize)
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
			recs, err := s.logPage(ctx, buf, after)
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

func (s *Store) logPage(ctx context.Context, buf []eventstore.Record, after eventstore.Position) ([]eventstore.Record, error) {
	return s.page(ctx, buf, selectRecord+`WHERE position > ? ORDER BY position LIMIT ?`, int64(after), pageSize)
}

// Subscribe implements [eventstore.Store.Subscribe]. Once caught up it waits
// for the next append of this Store, or polls every Config.PollInterval for
// appends of other processes.
func (s *Store) Subscribe(ctx context.Context, after eventstore.Position) iter.Seq2[eventstore.Record, error] {
	return func(yield func(eventstore.Record, error) bool) {
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
			wake := s.sig.Wait() // before reading, so no append is missed
			recs, err := s.logPage(ctx, buf, after)
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

// StreamVersion implements [eventstore.Store.StreamVersion].
func (s *Store) StreamVersion(ctx context.Context, stream string) (eventstore.Version, error) {
	if err := backend.CheckStream(stream); err != nil {
		return 0, err
	}
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	var v int64
	if err := s.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM respool_events WHERE stream = ?`, stream).Scan(&v); err != nil {
		return 0, s.fail(ctx, "stream version", err)
	}
	return eventstore.Version(v), nil
}

// Head implements [eventstore.Store.Head].
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	var p int64
	if err := s.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(position), 0) FROM respool_events`).Scan(&p); err != nil {
		return 0, s.fail(ctx, "head", err)
	}
	return eventstore.Position(p), nil
}

// Close implements [eventstore.Store.Close]. It waits for the appends that
// were called before it and for a running InTx to finish, ends every subscription with [eventstore.ErrClosed] and
// closes the file (SQLite then checkpoints the WAL into it). A second Close
// returns [eventstore.ErrClosed].
func (s *Store) Close() error {
	s.qmu.Lock()
	if !s.shut.CompareAndSwap(false, true) {
		s.qmu.Unlock()
		return eventstore.ErrClosed
	}
	s.qmu.Unlock()
	close(s.done)
	<-s.writerDone
	s.mu.Lock()
	var errs []error
	for _, st := range s.stmts {
		errs = append(errs, st.Close())
	}
	s.stmts = nil
	errs = append(errs, s.state.Close(), s.w.Close())
	s.mu.Unlock()
	errs = append(errs, s.r.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("eventstore/sqlite: close %s: %w", s.path, err)
	}
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

// fail wraps an error from SQLite; after Close it is ErrClosed, and a done
// ctx's error is returned as it is.
func (s *Store) fail(ctx context.Context, op string, err error) error {
	if s.shut.Load() {
		return eventstore.ErrClosed
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("eventstore/sqlite: %s %s: %w", op, s.path, err)
}
