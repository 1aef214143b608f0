package esdb_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/eventstore/esdb"
	"github.com/respool/respool/eventstore/esdb/esdbtest"
)

// onServers runs test against esdbtest and, when RESPOOL_ESDB_URL is set,
// against that server too.
func onServers(t *testing.T, test func(t *testing.T, url string)) {
	t.Helper()
	t.Run("esdbtest", func(t *testing.T) {
		t.Parallel()
		test(t, esdbtest.Start(t).URL())
	})
	t.Run("server", func(t *testing.T) {
		url := os.Getenv(urlEnv)
		if url == "" {
			t.Skipf("%s is not set", urlEnv)
		}
		t.Parallel()
		test(t, url)
	})
}

// openStore opens a store with a prefix of its own on the server at url and
// closes it when the test ends.
func openStore(t *testing.T, url string, cfg esdb.Config) *esdb.Store {
	t.Helper()
	cfg.URL = url
	if cfg.Prefix == "" {
		cfg.Prefix = uniquePrefix()
	}
	if cfg.ResubscribeDelay == 0 {
		cfg.ResubscribeDelay = 20 * time.Millisecond
		cfg.MaxResubscribeDelay = 200 * time.Millisecond
	}
	s, err := esdb.Open(testCtx(t), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func rawClient(t *testing.T, url string) *esdbclient.Client {
	t.Helper()
	conf, err := esdbclient.ParseConnectionString(url)
	if err != nil {
		t.Fatal(err)
	}
	conf.Logger = esdbclient.NoopLogging()
	c, err := esdbclient.NewClient(conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

var seq atomic.Int64

// ev returns a new event of type typ.
func ev(typ string) eventstore.Event {
	n := seq.Add(1)
	return eventstore.Event{
		ID:       uuid.NewString(),
		Type:     typ,
		Data:     fmt.Appendf(nil, `{"n":%d}`, n),
		Metadata: []byte(`{"account":"acct-1","command":"cmd-1"}`),
		Time:     time.Date(2025, 3, 1, 8, 30, int(n), 123456789, time.UTC),
	}
}

func mustAppend(t *testing.T, s eventstore.Store, stream string, exp eventstore.Expected, evs ...eventstore.Event) eventstore.AppendResult {
	t.Helper()
	res, err := s.Append(testCtx(t), stream, exp, evs...)
	if err != nil {
		t.Fatalf("Append(%s): %v", stream, err)
	}
	return res
}

func readAll(t *testing.T, s eventstore.Store, after eventstore.Position) []eventstore.Record {
	t.Helper()
	var out []eventstore.Record
	for r, err := range s.ReadAll(testCtx(t), after) {
		if err != nil {
			t.Fatalf("ReadAll: %v", err)
		}
		out = append(out, r)
	}
	return out
}

// follower consumes a subscription in its own goroutine.
type follower struct {
	recs chan eventstore.Record
	end  chan error
}

func follow(t *testing.T, s eventstore.Store, after eventstore.Position) *follower {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	f := &follower{recs: make(chan eventstore.Record, 1024), end: make(chan error, 1)}
	go func() {
		for r, err := range s.Subscribe(ctx, after) {
			if err != nil {
				f.end <- err
				return
			}
			f.recs <- r
		}
		f.end <- nil
	}()
	t.Cleanup(func() {
		cancel()
		<-f.end
	})
	return f
}

func (f *follower) take(t *testing.T, n int) []eventstore.Record {
	t.Helper()
	var out []eventstore.Record
	for range n {
		select {
		case r := <-f.recs:
			out = append(out, r)
		case err := <-f.end:
			t.Fatalf("the subscription ended after %d of %d records: %v", len(out), n, err)
		case <-time.After(30 * time.Second):
			t.Fatalf("got %d of %d records within 30 s", len(out), n)
		}
	}
	return out
}

// quiet fails t if the subscription yields anything within a short while.
func (f *follower) quiet(t *testing.T) {
	t.Helper()
	select {
	case r := <-f.recs:
		t.Errorf("unexpected record %s@%d#%d", r.Stream, r.Version, r.Position)
	case <-time.After(100 * time.Millisecond):
	}
}

func checkPositions(t *testing.T, what string, recs []eventstore.Record, first eventstore.Position) {
	t.Helper()
	for i, r := range recs {
		if want := first + eventstore.Position(i); r.Position != want {
			t.Errorf("%s: record %d (%s@%d) has position %d, want %d", what, i, r.Stream, r.Version, r.Position, want)
		}
	}
}

// appendEventually retries an append until the client has reconnected.
func appendEventually(t *testing.T, s eventstore.Store, stream string, e eventstore.Event) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := s.Append(testCtx(t), stream, eventstore.Any, e)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Append after restart: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A subscription survives the server going away and coming back on the same
// port: it resubscribes from the last event it yielded, so the subscriber
// sees every event once, in order. The second outage outlasts the client's
// discovery attempts, after which the client gives up for good and the store
// replaces it.
func TestSubscriptionSurvivesServerRestart(t *testing.T) {
	t.Parallel()
	srv := esdbtest.Start(t)
	s := openStore(t, srv.URL(), esdb.Config{})
	var want []eventstore.Event
	for i := range 3 {
		e := ev("pool.before")
		want = append(want, e)
		mustAppend(t, s, fmt.Sprintf("pool-%d", i), eventstore.NoStream, e)
	}
	f := follow(t, s, 0)
	got := f.take(t, 3)

	for _, outage := range []time.Duration{0, 1500 * time.Millisecond} {
		srv.Stop()
		if _, err := s.Append(testCtx(t), "pool-down", eventstore.Any, ev("pool.down")); err == nil || errors.Is(err, eventstore.ErrConflict) {
			t.Errorf("Append while the server is down: %v, want a connection error", err)
		}
		time.Sleep(outage)
		if err := srv.Restart(); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			e := ev("pool.after")
			want = append(want, e)
			appendEventually(t, s, "pool-1", e)
		}
		got = append(got, f.take(t, 3)...)
	}
	f.quiet(t)
	checkPositions(t, "Subscribe", got, 1)
	for i := range want {
		if i < len(got) && got[i].ID != want[i].ID {
			t.Errorf("record %d is %s, want %s", i, got[i].ID, want[i].ID)
		}
	}
}

// A server that drops a subscription without closing the connection gets a
// new one from where the old one stopped.
func TestSubscriptionResubscribesAfterServerDrop(t *testing.T) {
	t.Parallel()
	srv := esdbtest.Start(t)
	s := openStore(t, srv.URL(), esdb.Config{})
	mustAppend(t, s, "a", eventstore.NoStream, ev("t"), ev("t"))
	f := follow(t, s, 1)
	got := f.take(t, 1)
	for range 3 {
		srv.DropSubscriptions()
		mustAppend(t, s, "a", eventstore.Any, ev("t"))
		got = append(got, f.take(t, 1)...)
	}
	f.quiet(t)
	checkPositions(t, "Subscribe(after 1)", got, 2)
}

// Event ids derived from the command id make a retried append a no-op that
// reports where the first one put the events.
func TestRetriedAppendIsDeduplicated(t *testing.T) {
	t.Parallel()
	onServers(t, func(t *testing.T, url string) {
		s := openStore(t, url, esdb.Config{})
		e0, e1 := ev("pool.created"), ev("pool.grown")
		e0.ID, e1.ID = "cmd-42/0", "cmd-42/1" // not UUIDs: stored under their UUIDv5
		first := mustAppend(t, s, "pool-x", eventstore.NoStream, e0, e1)
		if again := mustAppend(t, s, "pool-x", eventstore.NoStream, e0, e1); again != first {
			t.Errorf("retry: %+v, want %+v", again, first)
		}
		mustAppend(t, s, "pool-x", eventstore.ExpectVersion(2), ev("pool.shrunk"))
		// The retry of a command whose events are already followed by others.
		if again := mustAppend(t, s, "pool-x", eventstore.NoStream, e0, e1); again != first {
			t.Errorf("late retry: %+v, want %+v", again, first)
		}
		recs := readAll(t, s, 0)
		if len(recs) != 3 || recs[0].ID != "cmd-42/0" || recs[1].ID != "cmd-42/1" {
			t.Fatalf("the log holds %d records, want the two events once and the third", len(recs))
		}
		// On the server, the events carry the derived ids.
		rs, err := rawClient(t, url).ReadStream(testCtx(t), s.Prefix()+"pool-x", esdbclient.ReadStreamOptions{}, 10)
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		for _, id := range []string{"cmd-42/0", "cmd-42/1"} {
			r, err := rs.Recv()
			if err != nil {
				t.Fatal(err)
			}
			ns := uuid.MustParse(esdb.IDNamespace)
			if want := uuid.NewSHA1(ns, []byte(id)); r.OriginalEvent().EventID != want || esdb.EventUUID(id) != want {
				t.Errorf("event %s stored as %s, want %s", id, r.OriginalEvent().EventID, want)
			}
		}
	})
}

func TestEventUUID(t *testing.T) {
	t.Parallel()
	u := uuid.MustParse("0b7e5a3c-7f35-4c4e-9d61-2f0f4b6d9a11")
	for _, tc := range []struct {
		name string
		id   string
		want uuid.UUID
	}{
		{"uuid", u.String(), u},
		{"uuid_upper_case", "0B7E5A3C-7F35-4C4E-9D61-2F0F4B6D9A11", u},
		{"command_and_index", "cmd-1/0", uuid.NewSHA1(uuid.MustParse(esdb.IDNamespace), []byte("cmd-1/0"))},
		{"empty", "", uuid.Nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := esdb.EventUUID(tc.id); got != tc.want {
				t.Errorf("EventUUID(%q) = %s, want %s", tc.id, got, tc.want)
			}
		})
	}
	if esdb.EventUUID("cmd-1/0") == esdb.EventUUID("cmd-1/1") {
		t.Error("two ids give one UUID")
	}
}

// A wrong expected version is the store's conflict, with the stream's actual
// version; other client errors keep their type.
func TestConflicts(t *testing.T) {
	t.Parallel()
	onServers(t, func(t *testing.T, url string) {
		s := openStore(t, url, esdb.Config{})
		mustAppend(t, s, "a", eventstore.NoStream, ev("t"), ev("t"))
		for _, tc := range []struct {
			name   string
			stream string
			exp    eventstore.Expected
			actual eventstore.Version
		}{
			{"no_stream_on_existing", "a", eventstore.NoStream, 2},
			{"too_low", "a", eventstore.ExpectVersion(1), 2},
			{"too_high", "a", eventstore.ExpectVersion(7), 2},
			{"version_on_missing", "missing", eventstore.ExpectVersion(1), 0},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.Append(testCtx(t), tc.stream, tc.exp, ev("t"))
				var ce *eventstore.ConflictError
				if !errors.Is(err, eventstore.ErrConflict) || !errors.As(err, &ce) {
					t.Fatalf("Append: %v, want a *ConflictError", err)
				}
				if ce.Stream != tc.stream || ce.Expected != tc.exp || ce.Actual != tc.actual {
					t.Errorf("ConflictError %+v, want stream %s actual %d", *ce, tc.stream, tc.actual)
				}
			})
		}
	})
}

func TestClientErrorsKeepTheirType(t *testing.T) {
	t.Parallel()
	srv := esdbtest.Start(t)
	s := openStore(t, srv.URL(), esdb.Config{})
	srv.Stop()
	_, err := s.Append(testCtx(t), "a", eventstore.Any, ev("t"))
	var ce *esdbclient.Error
	if !errors.As(err, &ce) || errors.Is(err, eventstore.ErrConflict) {
		t.Errorf("Append to a stopped server: %v, want an *esdb.Error of the client", err)
	}
}

// Events come back as they went in, and the server holds them in the
// documented layout: Data verbatim, the envelope as custom metadata.
func TestEventRoundTrip(t *testing.T) {
	t.Parallel()
	onServers(t, func(t *testing.T, url string) {
		s := openStore(t, url, esdb.Config{})
		base := time.Date(2025, 3, 1, 8, 30, 0, 123456789, time.FixedZone("UTC+8", 8*3600))
		cases := []struct {
			name string
			e    eventstore.Event
		}{
			{"json_metadata", eventstore.Event{ID: uuid.NewString(), Type: "pool.created", Data: []byte(`{"a":1}`), Metadata: []byte(`{"account":"a-1","command":"c-1","causation":"c-0"}`), Time: base}},
			{"json_metadata_with_spaces", eventstore.Event{ID: "cmd-9/0", Type: "t", Data: []byte(`{}`), Metadata: []byte(`{ "a" : [1, 2] }`), Time: base}},
			{"metadata_with_surrounding_space", eventstore.Event{ID: "cmd-9/1", Type: "t", Metadata: []byte(" {\"a\":1}\n"), Time: base}},
			{"json_null_metadata", eventstore.Event{ID: "cmd-9/2", Type: "t", Metadata: []byte(`null`), Time: base}},
			{"binary_metadata", eventstore.Event{ID: "cmd-9/3", Type: "t", Data: []byte{0, 0xff}, Metadata: []byte{0xff, 0, '"'}, Time: base}},
			{"no_metadata_zero_time", eventstore.Event{ID: "cmd-9/4", Type: "t"}},
			{"upper_case_uuid", eventstore.Event{ID: "0B7E5A3C-7F35-4C4E-9D61-2F0F4B6D9A11", Type: "t", Time: base}},
			{"empty_id", eventstore.Event{Type: "t", Time: base}},
		}
		for _, c := range cases {
			mustAppend(t, s, "rt", eventstore.Any, c.e)
		}
		recs := readAll(t, s, 0)
		if len(recs) != len(cases) {
			t.Fatalf("%d records, want %d", len(recs), len(cases))
		}
		for i, c := range cases {
			got, want := recs[i].Event, c.e
			if got.ID != want.ID || got.Type != want.Type || string(got.Data) != string(want.Data) ||
				string(got.Metadata) != string(want.Metadata) || !got.Time.Equal(want.Time) || got.Time.Location() != time.UTC {
				t.Errorf("%s: got %+v, want %+v", c.name, got, want)
			}
		}
		// The first event as the server holds it.
		rs, err := rawClient(t, url).ReadStream(testCtx(t), s.Prefix()+"rt", esdbclient.ReadStreamOptions{}, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		r, err := rs.Recv()
		if err != nil {
			t.Fatal(err)
		}
		raw := r.OriginalEvent()
		wantMeta := `{"respool":1,"time":"2025-03-01T00:30:00.123456789Z","metadata":{"account":"a-1","command":"c-1","causation":"c-0"}}`
		if string(raw.UserMetadata) != wantMeta || string(raw.Data) != `{"a":1}` || raw.ContentType != "application/json" || raw.EventType != "pool.created" {
			t.Errorf("on the server: type %s, content type %s, data %s, metadata %s; want metadata %s",
				raw.EventType, raw.ContentType, raw.Data, raw.UserMetadata, wantMeta)
		}
	})
}

// Events of other streams in $all (other applications, other prefixes, the
// server's own) take no position: positions count this store's events only,
// and every store on the prefix agrees on them.
func TestPositionsCountOnlyThePrefix(t *testing.T) {
	t.Parallel()
	onServers(t, func(t *testing.T, url string) {
		prefix := uniquePrefix()
		s := openStore(t, url, esdb.Config{Prefix: prefix, PageSize: 3})
		other := openStore(t, url, esdb.Config{PageSize: 3})
		raw := rawClient(t, url)
		noise := func() {
			t.Helper()
			for _, stream := range []string{"other-" + prefix, "$sys-" + prefix, "x" + prefix + "pool-a"} {
				_, err := raw.AppendToStream(testCtx(t), stream, esdbclient.AppendToStreamOptions{},
					esdbclient.EventData{EventType: "noise", ContentType: esdbclient.ContentTypeBinary, Data: []byte("n")})
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		f := follow(t, s, 0)
		var results []eventstore.AppendResult
		for i := range 6 {
			noise()
			results = append(results, mustAppend(t, s, fmt.Sprintf("pool-%d", i%2), eventstore.Any, ev("t"), ev("t")))
			mustAppend(t, other, "pool-0", eventstore.Any, ev("other"))
		}
		noise()
		for i, r := range results {
			if want := eventstore.Position(2*i + 2); r.Position != want {
				t.Errorf("append %d: position %d, want %d", i, r.Position, want)
			}
		}
		recs := readAll(t, s, 0)
		checkPositions(t, "ReadAll", recs, 1)
		checkPositions(t, "ReadAll(after 5)", readAll(t, s, 5), 6)
		checkPositions(t, "Subscribe", f.take(t, 12), 1)
		checkPositions(t, "other store's ReadAll", readAll(t, other, 0), 1)
		if h, err := s.Head(testCtx(t)); err != nil || h != 12 {
			t.Errorf("Head = %d, %v; want 12", h, err)
		}
		// A new store on the prefix builds its own index and agrees.
		fresh := openStore(t, url, esdb.Config{Prefix: prefix})
		checkPositions(t, "Subscribe(after 7) on a fresh store", follow(t, fresh, 7).take(t, 5), 8)
		again := readAll(t, fresh, 0)
		for i := range recs {
			if i >= len(again) || again[i].ID != recs[i].ID || again[i].Position != recs[i].Position {
				t.Fatalf("a fresh store reads %d records that differ from the first store's at %d", len(again), i)
			}
		}
		for r, err := range fresh.ReadStream(testCtx(t), "pool-1", 2) {
			if err != nil {
				t.Fatal(err)
			}
			if want := recs[r.Position-1]; want.Stream != "pool-1" || want.Version != r.Version || want.ID != r.ID {
				t.Errorf("ReadStream(pool-1) on a fresh store: %s@%d#%d does not match ReadAll", r.Stream, r.Version, r.Position)
			}
		}
	})
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		cfg     esdb.Config
		invalid bool
	}{
		{"no_url", esdb.Config{}, true},
		{"bad_url", esdb.Config{URL: "http://localhost:2113"}, true},
		{"system_prefix", esdb.Config{URL: "esdb://localhost:2113?tls=false", Prefix: "$respool."}, true},
		{"negative_page", esdb.Config{URL: "esdb://localhost:2113?tls=false", PageSize: -1}, true},
		{"nobody_listens", esdb.Config{URL: "esdb://127.0.0.1:1?tls=false&maxDiscoverAttempts=1&discoveryInterval=1"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := esdb.Open(testCtx(t), tc.cfg)
			if err == nil {
				_ = s.Close()
				t.Fatal("Open succeeded")
			}
			if errors.Is(err, eventstore.ErrInvalid) != tc.invalid {
				t.Errorf("Open: %v; ErrInvalid: %v, want %v", err, !tc.invalid, tc.invalid)
			}
		})
	}
}

// Calls after Close fail with ErrClosed, Close included.
func TestStoreAfterClose(t *testing.T) {
	t.Parallel()
	s := openStore(t, esdbtest.Start(t).URL(), esdb.Config{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Head(testCtx(t)); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("Head after Close: %v", err)
	}
	for _, err := range s.ReadStream(testCtx(t), "a", 0) {
		if !errors.Is(err, eventstore.ErrClosed) {
			t.Errorf("ReadStream after Close: %v", err)
		}
	}
	if err := s.Close(); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
}
