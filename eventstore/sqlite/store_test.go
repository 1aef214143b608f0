package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/eventstore/internal/backendtest"
	"github.com/respool/respool/eventstore/sqlite"
	"github.com/respool/respool/eventstore/storetest"
)

// open opens a store in a new file of t's temporary directory and closes it
// at cleanup (a second Close, after the kit's, is harmless).
func open(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "events.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestConformance is not parallel with the package's other tests: one of the
// kit's subtests counts goroutines.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) eventstore.Store { return open(t) }, storetest.Features{
		PreservesMetadata: true,
		TimePrecision:     time.Microsecond,
	})
}

// TestPositionsBecomeVisibleInOrder: 8 writers append at once while a
// reader follows the log with ReadAll from its last position, and another
// with Subscribe: each sees every event once, in position order. The
// writers use one Store, then 4 Stores on the same file (as 4 processes
// would).
func TestPositionsBecomeVisibleInOrder(t *testing.T) {
	t.Parallel()
	t.Run("one_store", func(t *testing.T) {
		backendtest.VisibleInOrder(t, open(t), nil, 100)
	})
	t.Run("four_stores", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "events.db")
		var stores []eventstore.Store
		for range 5 {
			s, err := sqlite.Open(context.Background(), sqlite.Config{Path: path, PollInterval: 5 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			stores = append(stores, s)
		}
		backendtest.VisibleInOrder(t, stores[4], stores[:4], 100)
	})
}

func TestReopenKeepsEverything(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	s, err := sqlite.Open(ctx, sqlite.Config{Path: path, Sync: sqlite.SyncNormal})
	if err != nil {
		t.Fatal(err)
	}
	when := time.Date(2025, 1, 31, 23, 59, 59, 123456789, time.FixedZone("UTC+8", 8*3600))
	in := eventstore.Event{ID: "e1", Type: "pool.created", Data: []byte(`{"a":1}`), Metadata: []byte{0, 1, 2, 255}, Time: when}
	if _, err := s.Append(ctx, "pool-1", eventstore.NoStream, in, in); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}

	s, err = sqlite.Open(ctx, sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got []eventstore.Record
	for r, err := range s.ReadStream(ctx, "pool-1", 0) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if len(got) != 2 {
		t.Fatalf("read %d events after reopening, want 2", len(got))
	}
	r := got[1]
	if r.Version != 2 || r.Position != 2 || r.ID != "e1" || r.Type != "pool.created" ||
		!bytes.Equal(r.Data, in.Data) || !bytes.Equal(r.Metadata, in.Metadata) ||
		!r.Time.Equal(when.Truncate(time.Microsecond)) || r.Time.Location() != time.UTC {
		t.Errorf("read back %+v, want %+v at microseconds in UTC", r, in)
	}
}

// TestOpenRefuses checks that Open names what is wrong with a file that is
// not a respool store, and leaves that file as it was.
func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// rawDB runs SQL on a new SQLite file without the store.
	rawDB := func(t *testing.T, path string, stmts ...string) {
		t.Helper()
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, q := range stmts {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	// store makes a real store file, then changes it with SQL.
	store := func(t *testing.T, path string, stmts ...string) {
		t.Helper()
		s, err := sqlite.Open(ctx, sqlite.Config{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(ctx, "s", eventstore.NoStream, eventstore.Event{Type: "t"}); err != nil {
			t.Fatal(err)
		}
		s.Close()
		rawDB(t, path, stmts...)
	}
	tests := []struct {
		name    string
		make    func(t *testing.T, path string)
		problem error
		detail  string // a piece of the message
	}{
		{"random bytes", func(t *testing.T, path string) {
			b := make([]byte, 64<<10)
			r := rand.New(rand.NewPCG(1, 2))
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			os.WriteFile(path, b, 0o600)
		}, sqlite.ErrNotDatabase, "not an SQLite database"},
		{"text file", func(t *testing.T, path string) {
			os.WriteFile(path, []byte(strings.Repeat("hello, not a database\n", 100)), 0o600)
		}, sqlite.ErrNotDatabase, "not an SQLite database"},
		{"damaged header", func(t *testing.T, path string) {
			store(t, path)
			b, _ := os.ReadFile(path)
			copy(b[16:], []byte{0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef}) // page size and versions
			os.WriteFile(path, b, 0o600)
		}, sqlite.ErrNotDatabase, "not an SQLite database"},
		{"another application's database", func(t *testing.T, path string) {
			rawDB(t, path, "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)", "INSERT INTO users VALUES (1, 'ann')")
		}, sqlite.ErrForeign, "tables users"},
		{"another application id", func(t *testing.T, path string) {
			rawDB(t, path, "PRAGMA application_id = 1234")
		}, sqlite.ErrForeign, "application id 0x4d2"},
		{"newer schema version", func(t *testing.T, path string) {
			store(t, path, "UPDATE respool_schema SET version = 7")
		}, sqlite.ErrSchemaVersion, "schema version 7, this package reads version 1"},
		{"schema version not a number", func(t *testing.T, path string) {
			store(t, path, "DROP TABLE respool_schema", "CREATE TABLE respool_schema (id INTEGER PRIMARY KEY, version TEXT)", "INSERT INTO respool_schema VALUES (1, 'one')")
		}, sqlite.ErrCorrupt, "not a positive integer"},
		{"empty schema table", func(t *testing.T, path string) {
			store(t, path, "DELETE FROM respool_schema")
		}, sqlite.ErrCorrupt, "respool_schema has no row"},
		{"events table missing", func(t *testing.T, path string) {
			store(t, path, "DROP TABLE respool_events")
		}, sqlite.ErrCorrupt, "respool_events is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "file.db")
			tt.make(t, path)
			before, _ := os.ReadFile(path)

			s, err := sqlite.Open(ctx, sqlite.Config{Path: path})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			t.Log(err)
			var oe *sqlite.OpenError
			if !errors.As(err, &oe) || !errors.Is(err, tt.problem) {
				t.Fatalf("Open: %v (%T), want an *OpenError matching %v", err, err, tt.problem)
			}
			if !strings.Contains(err.Error(), tt.detail) || !strings.Contains(err.Error(), path) {
				t.Errorf("Open: %q does not name the file and %q", err, tt.detail)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(before, after) {
				t.Errorf("Open changed the file it refused")
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for _, c := range []sqlite.Config{
		{},
		{Path: ":memory:"},
		{Path: "file:x.db?mode=memory"},
		{Path: "x.db", Sync: 7},
		{Path: "x.db", Readers: -1},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: Validate() = nil", c)
		}
		if _, err := sqlite.Open(context.Background(), c); err == nil {
			t.Errorf("%+v: Open succeeded", c)
		}
	}
}

func TestPathWithQuestionMark(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "a?b#c%20.db")
	s, err := sqlite.Open(context.Background(), sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the store is not in the file named: %v", err)
	}
}

// TestTwoStoresOnOneFile: two Stores (as two processes would) append to
// the same file; positions stay gap-free and each one's subscriber sees the
// other's events by polling.
func TestTwoStoresOnOneFile(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	path := filepath.Join(t.TempDir(), "events.db")
	var stores [2]*sqlite.Store
	for i := range stores {
		s, err := sqlite.Open(ctx, sqlite.Config{Path: path, PollInterval: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	const each = 200
	done := make(chan error, 2)
	for i, s := range stores {
		go func() {
			for k := range each {
				if _, err := s.Append(ctx, "shared", eventstore.Any, eventstore.Event{ID: string(rune('a'+i)) + "-" + time.Duration(k).String(), Type: "t"}); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	var last eventstore.Position
	for r, err := range stores[0].Subscribe(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		if r.Position != last+1 || r.Version != eventstore.Version(r.Position) {
			t.Fatalf("position %d version %d after %d", r.Position, r.Version, last)
		}
		last = r.Position
		if last == 2*each {
			break
		}
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// TestRoundTrip: edge values of times and bytes come back as they went in.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	backendtest.RoundTrip(t, open(t), time.Microsecond)
}

// TestOneBadAppendInAGroup: appends that wait together share a transaction;
// one that fails (here on a trigger another program added to the file) must
// not fail the others.
func TestOneBadAppendInAGroup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	s, err := sqlite.Open(ctx, sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER refuse BEFORE INSERT ON respool_events WHEN NEW.stream = 'bad' BEGIN SELECT RAISE(ABORT, 'refused'); END`); err != nil {
		t.Fatal(err)
	}

	const good = 64
	errs := make(chan error, good+1)
	start := make(chan struct{})
	for i := range good + 1 {
		go func() {
			<-start
			stream := fmt.Sprintf("good-%d", i)
			if i == good {
				stream = "bad"
			}
			_, err := s.Append(ctx, stream, eventstore.Any, eventstore.Event{Type: "t"}, eventstore.Event{Type: "t"}, eventstore.Event{Type: "t"})
			if i == good {
				if err == nil {
					err = errors.New("the bad append succeeded")
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
		if v, err := s.StreamVersion(ctx, fmt.Sprintf("good-%d", i)); err != nil || v != 3 {
			t.Errorf("good-%d: version %d, %v; want 3", i, v, err)
		}
	}
}
