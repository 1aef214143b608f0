package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/eventstore/internal/backendtest"
	"github.com/respool/respool/eventstore/postgres"
	"github.com/respool/respool/eventstore/storetest"
)

// envURL names the variable that holds the connection string of the
// PostgreSQL server the tests use.
const envURL = "RESPOOL_POSTGRES_URL"

// connString returns the server's connection string, or skips t.
func connString(t testing.TB) string {
	t.Helper()
	u := os.Getenv(envURL)
	if u == "" {
		t.Skip("PostgreSQL tests need " + envURL + ", such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	}
	return u
}

var schemaSeq atomic.Int64

// freshSchema returns the name of a schema that no other test uses, and
// drops it (with everything in it) at cleanup.
func freshSchema(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("respool_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, schemaSeq.Add(1))
	cs := connString(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, cs)
		if err != nil {
			t.Errorf("drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}

// open opens a store in a fresh schema; it is closed, then its schema
// dropped, at cleanup.
func open(t testing.TB, cfg postgres.Config) *postgres.Store {
	t.Helper()
	if cfg.ConnString == "" {
		cfg.ConnString = connString(t)
	}
	if cfg.Schema == "" {
		cfg.Schema = freshSchema(t)
	}
	s, err := postgres.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// exec runs SQL on a connection of its own.
func exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, connString(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// withParam adds a parameter to a URL connection string.
func withParam(t testing.TB, cs, key, value string) string {
	t.Helper()
	u, err := url.Parse(cs)
	if err != nil || u.Scheme == "" {
		t.Skipf("%s is not a URL; this test adds %s to it", envURL, key)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20") // pgx does not read + as a space
	return u.String()
}

// TestConformance is not parallel with the package's other tests: one of the
// kit's subtests counts goroutines.
func TestConformance(t *testing.T) {
	connString(t)
	storetest.Run(t, func(t *testing.T) eventstore.Store { return open(t, postgres.Config{}) }, storetest.Features{
		PreservesMetadata: true,
		TimePrecision:     time.Microsecond,
		Slow:              true,
	})
}

// TestPositionsBecomeVisibleInOrder: 8 writers append at once while a
// reader follows the log with ReadAll from its last position, and another
// with Subscribe: each sees every event once, in position order, never a
// position before one of its predecessors became visible. The writers use
// 8 Stores on the same schema, as 8 processes would (one Store sends its
// appends one call at a time), and one Store shared by all of them.
func TestPositionsBecomeVisibleInOrder(t *testing.T) {
	t.Parallel()
	schema := freshSchema(t)
	var stores []eventstore.Store
	for range 8 {
		stores = append(stores, open(t, postgres.Config{Schema: schema, MaxConns: 2}))
	}
	t.Run("eight_stores", func(t *testing.T) {
		backendtest.VisibleInOrder(t, open(t, postgres.Config{Schema: schema}), stores, 60)
	})
	t.Run("one_store", func(t *testing.T) {
		backendtest.VisibleInOrder(t, open(t, postgres.Config{}), nil, 60)
	})
}

// TestSequencePositionsAreNotInOrder is the control for the test above: on
// the same server, positions from a sequence (bigserial) with 8 concurrent
// writers become visible out of order, and a follower that checks as
// VisibleInOrder does sees it. This is the failure the store's design
// avoids; if this test ever stops seeing it, the test above proves little.
func TestSequencePositionsAreNotInOrder(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	schema := pgx.Identifier{freshSchema(t)}.Sanitize()
	exec(t, "CREATE SCHEMA "+schema)
	exec(t, "CREATE TABLE "+schema+".naive (position bigserial PRIMARY KEY, writer int NOT NULL)")
	s := open(t, postgres.Config{MaxConns: 12}) // only for its pool
	pool := s.Pool()

	const writers, each = 8, 40
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for range each {
				// The work a transaction does between taking its position
				// and committing (here 0-1 ms) lets later positions commit
				// first.
				err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					if _, err := tx.Exec(ctx, "INSERT INTO "+schema+".naive (writer) VALUES ($1)", w); err != nil {
						return err
					}
					_, err := tx.Exec(ctx, "SELECT pg_sleep(random() / 1000)")
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	var last int64
	var belowSeen int
	seen := make(map[int64]bool)
	for len(seen) < writers*each && ctx.Err() == nil {
		rows, _ := pool.Query(ctx, "SELECT position FROM "+schema+".naive WHERE position > $1 ORDER BY position", last)
		ps, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			seen[p] = true
			last = p
		}
		// Positions at or below last that were not there when the follower
		// passed them: a checkpointing reader has skipped them for good.
		rows, _ = pool.Query(ctx, "SELECT position FROM "+schema+".naive WHERE position <= $1", last)
		all, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range all {
			if !seen[p] {
				seen[p] = true
				belowSeen++
			}
		}
	}
	wg.Wait()
	t.Logf("with a sequence, %d of %d events became visible below a position the follower had already seen", belowSeen, writers*each)
	if belowSeen == 0 {
		t.Errorf("no event became visible out of order with a sequence: the ordering test may have lost its teeth")
	}
}

// TestSubscribeSurvivesLostConnections terminates (pg_terminate_backend)
// the subscriber store's listening backend again and again while another
// store appends; then also every backend of the subscriber store, readers
// included. The subscription must see every event exactly once, in order.
// Its polling interval is a minute, so it cannot hide behind polling: it
// must reconnect and LISTEN again.
func TestSubscribeSurvivesLostConnections(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		which string // which of the subscriber store's backends to terminate
	}{
		{"listener", "query LIKE 'LISTEN %'"},
		{"every_backend", "true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			schema := freshSchema(t)
			writer := open(t, postgres.Config{Schema: schema})
			app := strings.ReplaceAll(schema, "respool_test", "sub")
			sub := open(t, postgres.Config{
				Schema:       schema,
				ConnString:   withParam(t, connString(t), "application_name", app),
				PollInterval: time.Minute,
			})

			const appends, batch = 150, 3
			got := make(chan error, 1)
			go func() {
				var last eventstore.Position
				for r, err := range sub.Subscribe(ctx, 0) {
					if err != nil {
						got <- err
						return
					}
					if r.Position != last+1 {
						got <- fmt.Errorf("position %d after %d", r.Position, last)
						return
					}
					if want := fmt.Sprintf("e%d", r.Position); r.ID != want {
						got <- fmt.Errorf("position %d holds %s, want %s", r.Position, r.ID, want)
						return
					}
					last = r.Position
					if last == appends*batch {
						got <- nil
						return
					}
				}
			}()

			kills := 0
			pos := 0
			for i := range appends {
				evs := make([]eventstore.Event, batch)
				for j := range evs {
					pos++
					evs[j] = eventstore.Event{ID: fmt.Sprintf("e%d", pos), Type: "test.appended"}
				}
				if _, err := writer.Append(ctx, "s", eventstore.ExpectVersion(eventstore.Version(i*batch)), evs...); err != nil {
					t.Fatal(err)
				}
				if i%10 == 5 {
					var n int
					err := writer.Pool().QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
						WHERE application_name = $1 AND `+tc.which, app).Scan(&n)
					if err != nil {
						t.Fatal(err)
					}
					kills += n
				}
				time.Sleep(2 * time.Millisecond)
			}
			select {
			case err := <-got:
				if err != nil {
					t.Fatal(err)
				}
			case <-ctx.Done():
				t.Fatal("the subscription did not see every event")
			}
			t.Logf("terminated %d backends of the subscriber store; the subscription saw all %d events once, in order", kills, appends*batch)
			if kills == 0 {
				t.Error("no backend was terminated: the test proved nothing")
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	cs := connString(t)
	ctx := context.Background()

	versioned := freshSchema(t)
	s := open(t, postgres.Config{Schema: versioned})
	s.Close()
	exec(t, "UPDATE "+pgx.Identifier{versioned}.Sanitize()+".respool_schema SET version = 9")

	foreign := freshSchema(t)
	exec(t, "CREATE SCHEMA "+pgx.Identifier{foreign}.Sanitize())
	exec(t, "CREATE TABLE "+pgx.Identifier{foreign}.Sanitize()+".respool_events (id serial, body text)")

	broken := freshSchema(t)
	s = open(t, postgres.Config{Schema: broken})
	s.Close()
	exec(t, "DROP FUNCTION "+pgx.Identifier{broken}.Sanitize()+".respool_append")

	tests := []struct {
		name    string
		cfg     postgres.Config
		problem error
		detail  string
	}{
		{"malformed URL", postgres.Config{ConnString: "postgres://u:secretpw@127.0.0.1:notaport/test"}, postgres.ErrConnString, "cannot parse"},
		{"unknown keyword", postgres.Config{ConnString: "host=127.0.0.1 password=secretpw sslmode=sometimes"}, postgres.ErrConnString, "sslmode"},
		{"nobody listens", postgres.Config{ConnString: "postgres://u:secretpw@127.0.0.1:1/test?sslmode=disable&connect_timeout=5"}, postgres.ErrConnect, "127.0.0.1"},
		{"unknown database", postgres.Config{ConnString: withParam(t, strings.Replace(cs, "/test", "/no_such_database_respool", 1), "connect_timeout", "5")}, postgres.ErrConnect, "no_such_database_respool"},
		{"newer schema version", postgres.Config{ConnString: cs, Schema: versioned}, postgres.ErrSchemaVersion, "version 9, this package reads version 1"},
		{"foreign table", postgres.Config{ConnString: cs, Schema: foreign}, postgres.ErrForeign, "respool_events but no respool_schema"},
		{"function missing", postgres.Config{ConnString: cs, Schema: broken}, postgres.ErrIncomplete, "respool_append is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := postgres.Open(ctx, tt.cfg)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			t.Log(err)
			var oe *postgres.OpenError
			if !errors.As(err, &oe) || !errors.Is(err, tt.problem) {
				t.Fatalf("Open: %v (%T), want an *OpenError matching %v", err, err, tt.problem)
			}
			if !strings.Contains(err.Error(), tt.detail) {
				t.Errorf("Open: %q does not say %q", err, tt.detail)
			}
			if strings.Contains(err.Error(), "secretpw") {
				t.Errorf("Open: %q shows the password", err)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for _, c := range []postgres.Config{
		{Schema: strings.Repeat("s", 64)},
		{Schema: "bad\x00name"},
		{Schema: "pg_mine"},
		{MaxConns: -1},
		{PollInterval: -time.Second},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: Validate() = nil", c)
		}
		if _, err := postgres.Open(context.Background(), c); err == nil {
			t.Errorf("%+v: Open succeeded", c)
		}
	}
}

// TestOpenConcurrently: processes that open a new schema at the same time
// all succeed, and it is created once.
func TestOpenConcurrently(t *testing.T) {
	t.Parallel()
	schema := freshSchema(t)
	cs := connString(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			s, err := postgres.Open(context.Background(), postgres.Config{ConnString: cs, Schema: schema, MaxConns: 2})
			if err != nil {
				t.Error(err)
				return
			}
			s.Close()
		})
	}
	wg.Wait()
}

// TestOddSchemaName: quotes, spaces, capitals and dots in the schema name.
func TestOddSchemaName(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema := freshSchema(t) + `."It's" \ 1`
	t.Cleanup(func() { exec(t, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE") })
	s := open(t, postgres.Config{Schema: schema})
	if _, err := s.Append(ctx, "s", eventstore.NoStream, eventstore.Event{Type: "t"}); err != nil {
		t.Fatal(err)
	}
	if h, err := s.Head(ctx); err != nil || h != 1 {
		t.Fatalf("Head = %d, %v", h, err)
	}
	var last eventstore.Position
	for r, err := range s.Subscribe(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		if last = r.Position; last == 2 {
			break
		}
		if _, err := s.Append(ctx, "s", eventstore.Any, eventstore.Event{Type: "t"}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestValuesPostgresCannotStore: text PostgreSQL cannot hold (NUL, invalid
// UTF-8) and times out of its range are ErrInvalid, and change nothing.
func TestValuesPostgresCannotStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := open(t, postgres.Config{})
	for name, e := range map[string]eventstore.Event{
		"NUL in type":       {Type: "a\x00b"},
		"invalid UTF-8 id":  {Type: "t", ID: "\xff\xfe"},
		"time out of range": {Type: "t", Time: time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if _, err := s.Append(ctx, "s", eventstore.Any, e); !errors.Is(err, eventstore.ErrInvalid) {
			t.Errorf("%s: Append = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := s.StreamVersion(ctx, "a\x00b"); !errors.Is(err, eventstore.ErrInvalid) {
		t.Errorf("StreamVersion of a name with NUL = %v, want ErrInvalid", err)
	}
	if h, err := s.Head(ctx); err != nil || h != 0 {
		t.Errorf("Head = %d, %v; want 0", h, err)
	}
}

// TestServerDefaultIsolation: appends work, and stay gap-free, even when the
// server's default isolation level is SERIALIZABLE (the store pins READ
// COMMITTED on its connections).
func TestServerDefaultIsolation(t *testing.T) {
	t.Parallel()
	cs := withParam(t, connString(t), "options", "-c default_transaction_isolation=serializable")
	schema := freshSchema(t)
	s := open(t, postgres.Config{ConnString: cs, Schema: schema})
	var level string
	if err := s.Pool().QueryRow(context.Background(), "SHOW default_transaction_isolation").Scan(&level); err != nil {
		t.Fatal(err)
	}
	t.Logf("default_transaction_isolation on the store's connections: %s", level)
	var stores []eventstore.Store
	for range 4 {
		stores = append(stores, open(t, postgres.Config{ConnString: cs, Schema: schema, MaxConns: 2}))
	}
	backendtest.VisibleInOrder(t, s, stores, 20)

	// And respool_append itself refuses a stale snapshot.
	tx, err := s.Pool().BeginTx(context.Background(), pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	_, err = tx.Exec(context.Background(), "SELECT * FROM "+pgx.Identifier{s.Schema(), "respool_append"}.Sanitize()+
		"('{s}', '{-1}', '{1}', '{1}', '{1}', '{x}', '{t}', '{NULL}', '{NULL}', ARRAY[now()])")
	if err == nil || !strings.Contains(err.Error(), "needs READ COMMITTED") {
		t.Errorf("respool_append in a REPEATABLE READ transaction: %v, want it refused", err)
	}
}

// TestRoundTrip: edge values of times and bytes come back as they went in.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	backendtest.RoundTrip(t, open(t, postgres.Config{}), time.Microsecond)
}

// TestOneBadAppendInAGroup: appends that wait together share a call of
// respool_append; one that fails (text PostgreSQL cannot store) must not
// fail the others.
func TestOneBadAppendInAGroup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := open(t, postgres.Config{})
	const good = 64
	errs := make(chan error, good+1)
	start := make(chan struct{})
	for i := range good + 1 {
		go func() {
			<-start
			typ := "t"
			if i == good {
				typ = "bad\x00type"
			}
			_, err := s.Append(ctx, fmt.Sprintf("s-%d", i), eventstore.Any, eventstore.Event{Type: "t"}, eventstore.Event{Type: typ})
			if i == good {
				if !errors.Is(err, eventstore.ErrInvalid) {
					err = fmt.Errorf("the bad append: %v, want ErrInvalid", err)
				} else {
					err = nil
				}
			}
			errs <- err
		}()
	}
	close(start)
	for range good + 1 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	for i := range good {
		if v, err := s.StreamVersion(ctx, fmt.Sprintf("s-%d", i)); err != nil || v != 2 {
			t.Errorf("s-%d: version %d, %v; want 2", i, v, err)
		}
	}
	if h, err := s.Head(ctx); err != nil || h != 2*good {
		t.Errorf("Head = %d, %v; want %d", h, err, 2*good)
	}
}
