package esdbtest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/respool/respool/eventstore/esdb/esdbtest"
)

// client connects the real client to srv and closes it when the test ends.
func client(t *testing.T, srv *esdbtest.Server) *esdbclient.Client {
	t.Helper()
	conf, err := esdbclient.ParseConnectionString(srv.URL())
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

func ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func event(typ string) esdbclient.EventData {
	return esdbclient.EventData{EventID: uuid.New(), EventType: typ, ContentType: esdbclient.ContentTypeJson, Data: []byte(`{"t":"` + typ + `"}`), Metadata: []byte(`{"m":1}`)}
}

func appendOK(t *testing.T, c *esdbclient.Client, stream string, exp esdbclient.ExpectedRevision, evs ...esdbclient.EventData) *esdbclient.WriteResult {
	t.Helper()
	res, err := c.AppendToStream(ctx(t), stream, esdbclient.AppendToStreamOptions{ExpectedRevision: exp}, evs...)
	if err != nil {
		t.Fatalf("AppendToStream(%s): %v", stream, err)
	}
	return res
}

// drain reads rs to its end.
func drain(rs *esdbclient.ReadStream, err error) ([]*esdbclient.RecordedEvent, error) {
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []*esdbclient.RecordedEvent
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, ev.OriginalEvent())
	}
}

func code(err error) esdbclient.ErrorCode {
	var e *esdbclient.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return -1
}

func TestAppendAndRead(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 8, 30, 0, 123456700, time.UTC)
	srv, err := esdbtest.NewServer("127.0.0.1:0", esdbtest.Config{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	c := client(t, srv)
	a1, a2, b1 := event("a.one"), event("a.two"), event("b.one")
	res := appendOK(t, c, "a", esdbclient.NoStream{}, a1, a2)
	if res.NextExpectedVersion != 1 {
		t.Errorf("append of two events to a new stream: revision %d, want 1", res.NextExpectedVersion)
	}
	appendOK(t, c, "b", esdbclient.Any{}, b1)

	evs, err := drain(c.ReadStream(ctx(t), "a", esdbclient.ReadStreamOptions{}, 10))
	if err != nil || len(evs) != 2 {
		t.Fatalf("ReadStream(a): %d events, %v", len(evs), err)
	}
	for i, want := range []esdbclient.EventData{a1, a2} {
		got := evs[i]
		if got.EventID != want.EventID || got.EventType != want.EventType || string(got.Data) != string(want.Data) ||
			string(got.UserMetadata) != string(want.Metadata) || got.EventNumber != uint64(i) || got.ContentType != "application/json" {
			t.Errorf("event %d: %+v, want %+v at revision %d", i, got, want, i)
		}
		if !got.CreatedDate.Equal(now) {
			t.Errorf("event %d created %v, want %v", i, got.CreatedDate, now)
		}
	}

	all, err := drain(c.ReadAll(ctx(t), esdbclient.ReadAllOptions{}, 10))
	if err != nil || len(all) != 3 {
		t.Fatalf("ReadAll: %d events, %v", len(all), err)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Position.Commit <= all[i-1].Position.Commit+1 {
			t.Errorf("$all positions %v then %v: they should grow by a record's size", all[i-1].Position, all[i].Position)
		}
	}
	// Reads from a position include it; backward reads from the end start
	// with the last event.
	from, err := drain(c.ReadAll(ctx(t), esdbclient.ReadAllOptions{From: all[1].Position}, 10))
	if err != nil || len(from) != 2 || from[0].EventID != all[1].EventID {
		t.Errorf("ReadAll from the second event's position: %d events, %v", len(from), err)
	}
	back, err := drain(c.ReadAll(ctx(t), esdbclient.ReadAllOptions{Direction: esdbclient.Backwards, From: esdbclient.End{}}, 1))
	if err != nil || len(back) != 1 || back[0].EventID != b1.EventID {
		t.Errorf("ReadAll backwards from the end: %d events, %v", len(back), err)
	}
	last, err := drain(c.ReadStream(ctx(t), "a", esdbclient.ReadStreamOptions{Direction: esdbclient.Backwards, From: esdbclient.End{}}, 1))
	if err != nil || len(last) != 1 || last[0].EventNumber != 1 {
		t.Errorf("ReadStream backwards from the end: %d events, %v", len(last), err)
	}
	if _, err := drain(c.ReadStream(ctx(t), "missing", esdbclient.ReadStreamOptions{}, 10)); code(err) != esdbclient.ErrorCodeResourceNotFound {
		t.Errorf("ReadStream of a missing stream: %v, want ErrorCodeResourceNotFound", err)
	}
	if n := srv.Len(); n != 3 {
		t.Errorf("Len = %d, want 3", n)
	}
}

func TestExpectedRevisions(t *testing.T) {
	t.Parallel()
	c := client(t, esdbtest.Start(t))
	appendOK(t, c, "two", esdbclient.NoStream{}, event("x"), event("x"))
	for _, tc := range []struct {
		name   string
		stream string
		exp    esdbclient.ExpectedRevision
		ok     bool
	}{
		{"no_stream_on_missing", "new-1", esdbclient.NoStream{}, true},
		{"no_stream_on_existing", "two", esdbclient.NoStream{}, false},
		{"exists_on_missing", "new-2", esdbclient.StreamExists{}, false},
		{"exists_on_existing", "two", esdbclient.StreamExists{}, true},
		{"any_on_missing", "new-3", esdbclient.Any{}, true},
		{"revision_too_low", "two", esdbclient.Revision(0), false},
		{"revision_too_high", "two", esdbclient.Revision(5), false},
		{"revision_on_missing", "new-4", esdbclient.Revision(0), false},
		{"revision_exact", "two", esdbclient.Revision(2), true}, // after exists_on_existing
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.AppendToStream(ctx(t), tc.stream, esdbclient.AppendToStreamOptions{ExpectedRevision: tc.exp}, event("y"))
			switch {
			case tc.ok && err != nil:
				t.Errorf("append: %v", err)
			case !tc.ok && code(err) != esdbclient.ErrorCodeWrongExpectedVersion:
				t.Errorf("append: %v, want ErrorCodeWrongExpectedVersion", err)
			}
		})
	}
}

func TestRetriedAppendIsIdempotent(t *testing.T) {
	t.Parallel()
	c := client(t, esdbtest.Start(t))
	e1, e2 := event("x"), event("x")
	first := appendOK(t, c, "s", esdbclient.NoStream{}, e1, e2)
	for _, exp := range []esdbclient.ExpectedRevision{esdbclient.NoStream{}, esdbclient.Any{}, esdbclient.StreamExists{}} {
		again := appendOK(t, c, "s", exp, e1, e2)
		if again.NextExpectedVersion != first.NextExpectedVersion || again.CommitPosition != first.CommitPosition {
			t.Errorf("retry with %T: %+v, want %+v", exp, again, first)
		}
	}
	appendOK(t, c, "s", esdbclient.Revision(1), event("x"))
	// The same ids where they already are: the first write, again.
	again := appendOK(t, c, "s", esdbclient.NoStream{}, e1, e2)
	if again.NextExpectedVersion != 1 {
		t.Errorf("retry after a later append: revision %d, want 1", again.NextExpectedVersion)
	}
	// A different event with an expected revision that no longer holds.
	if _, err := c.AppendToStream(ctx(t), "s", esdbclient.AppendToStreamOptions{ExpectedRevision: esdbclient.NoStream{}}, e1, event("x")); code(err) != esdbclient.ErrorCodeWrongExpectedVersion {
		t.Errorf("half a retry: %v, want ErrorCodeWrongExpectedVersion", err)
	}
	evs, err := drain(c.ReadStream(ctx(t), "s", esdbclient.ReadStreamOptions{}, 10))
	if err != nil || len(evs) != 3 {
		t.Errorf("the stream holds %d events (%v), want 3", len(evs), err)
	}
}

// recv returns the next event of sub, skipping checkpoints and caught-up
// notices.
func recv(t *testing.T, sub *esdbclient.Subscription) *esdbclient.RecordedEvent {
	t.Helper()
	got := make(chan *esdbclient.SubscriptionEvent, 1)
	go func() {
		for {
			ev := sub.Recv()
			if ev.EventAppeared != nil || ev.SubscriptionDropped != nil {
				got <- ev
				return
			}
		}
	}()
	select {
	case ev := <-got:
		if ev.SubscriptionDropped != nil {
			t.Fatalf("subscription dropped: %v", ev.SubscriptionDropped.Error)
		}
		return ev.EventAppeared.OriginalEvent()
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
		return nil
	}
}

func TestSubscriptions(t *testing.T) {
	t.Parallel()
	c := client(t, esdbtest.Start(t))
	appendOK(t, c, "app.a", esdbclient.Any{}, event("one"))
	appendOK(t, c, "other", esdbclient.Any{}, event("noise"))
	third := appendOK(t, c, "app.b", esdbclient.Any{}, event("two"))

	all, err := c.SubscribeToAll(ctx(t), esdbclient.SubscribeToAllOptions{
		From:   esdbclient.Start{},
		Filter: &esdbclient.SubscriptionFilter{Type: esdbclient.StreamFilterType, Prefixes: []string{"app."}},
	})
	if err != nil {
		t.Fatalf("SubscribeToAll: %v", err) // the client needs the confirmation first
	}
	defer all.Close()
	after, err := c.SubscribeToAll(ctx(t), esdbclient.SubscribeToAllOptions{
		From: esdbclient.Position{Commit: third.CommitPosition, Prepare: third.PreparePosition},
	})
	if err != nil {
		t.Fatalf("SubscribeToAll from a position: %v", err)
	}
	defer after.Close()
	stream, err := c.SubscribeToStream(ctx(t), "app.a", esdbclient.SubscribeToStreamOptions{From: esdbclient.Revision(0)})
	if err != nil {
		t.Fatalf("SubscribeToStream: %v", err)
	}
	defer stream.Close()

	if ev := recv(t, all); ev.StreamID != "app.a" {
		t.Errorf("filtered catch-up: first event from %s, want app.a", ev.StreamID)
	}
	if ev := recv(t, all); ev.StreamID != "app.b" {
		t.Errorf("filtered catch-up: second event from %s, want app.b", ev.StreamID)
	}
	appendOK(t, c, "other", esdbclient.Any{}, event("noise"))
	appendOK(t, c, "app.a", esdbclient.Any{}, event("live"))
	if ev := recv(t, all); ev.StreamID != "app.a" || ev.EventType != "live" {
		t.Errorf("filtered live: %s %s, want app.a live", ev.StreamID, ev.EventType)
	}
	// Subscriptions start after the position or revision they are given.
	if ev := recv(t, after); ev.StreamID != "other" {
		t.Errorf("subscription after the third event: first event from %s, want other", ev.StreamID)
	}
	if ev := recv(t, stream); ev.EventType != "live" || ev.EventNumber != 1 {
		t.Errorf("stream subscription after revision 0: %s at %d, want live at 1", ev.EventType, ev.EventNumber)
	}
}

func TestStopAndRestartKeepData(t *testing.T) {
	t.Parallel()
	srv := esdbtest.Start(t)
	c := client(t, srv)
	appendOK(t, c, "s", esdbclient.NoStream{}, event("before"))
	addr := srv.Addr()
	srv.Stop()
	if _, err := c.AppendToStream(ctx(t), "s", esdbclient.AppendToStreamOptions{}, event("down")); err == nil {
		t.Error("append while the server is stopped succeeded")
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Restart(); err == nil {
		t.Error("Restart of a running server succeeded")
	}
	if srv.Addr() != addr {
		t.Errorf("address changed from %s to %s", addr, srv.Addr())
	}
	// The client may need an attempt or two to rediscover the node.
	var err error
	for range 50 {
		if _, err = c.AppendToStream(ctx(t), "s", esdbclient.AppendToStreamOptions{ExpectedRevision: esdbclient.Revision(0)}, event("after")); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("append after restart: %v", err)
	}
	evs, err := drain(c.ReadStream(ctx(t), "s", esdbclient.ReadStreamOptions{}, 10))
	if err != nil || len(evs) != 2 {
		t.Errorf("after restart the stream holds %d events (%v), want 2", len(evs), err)
	}
}

func TestDropSubscriptions(t *testing.T) {
	t.Parallel()
	srv := esdbtest.Start(t)
	c := client(t, srv)
	sub, err := c.SubscribeToAll(ctx(t), esdbclient.SubscribeToAllOptions{From: esdbclient.Start{}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	srv.DropSubscriptions()
	for {
		ev := sub.Recv()
		if ev.SubscriptionDropped != nil {
			break
		}
	}
	appendOK(t, c, "s", esdbclient.Any{}, event("still-works"))
}

// Serve the protocol in-process and use it through the real client.
func ExampleNewServer() {
	srv, err := esdbtest.NewServer("127.0.0.1:0", esdbtest.Config{})
	if err != nil {
		panic(err)
	}
	defer srv.Stop()

	conf, err := esdbclient.ParseConnectionString(srv.URL()) // esdb://127.0.0.1:port?tls=false&...
	if err != nil {
		panic(err)
	}
	conf.Logger = esdbclient.NoopLogging()
	c, err := esdbclient.NewClient(conf)
	if err != nil {
		panic(err)
	}
	defer c.Close()

	ctx := context.Background()
	_, err = c.AppendToStream(ctx, "greetings", esdbclient.AppendToStreamOptions{ExpectedRevision: esdbclient.NoStream{}},
		esdbclient.EventData{EventType: "said", ContentType: esdbclient.ContentTypeJson, Data: []byte(`{"text":"hello"}`)})
	if err != nil {
		panic(err)
	}
	_, err = c.AppendToStream(ctx, "greetings", esdbclient.AppendToStreamOptions{ExpectedRevision: esdbclient.NoStream{}},
		esdbclient.EventData{EventType: "said", ContentType: esdbclient.ContentTypeJson, Data: []byte(`{"text":"again"}`)})
	fmt.Println("second NoStream append:", code(err) == esdbclient.ErrorCodeWrongExpectedVersion)

	rs, err := c.ReadStream(ctx, "greetings", esdbclient.ReadStreamOptions{}, 10)
	if err != nil {
		panic(err)
	}
	defer rs.Close()
	ev, err := rs.Recv()
	if err != nil {
		panic(err)
	}
	fmt.Println(ev.OriginalEvent().EventType, string(ev.OriginalEvent().Data))
	// Output:
	// second NoStream append: true
	// said {"text":"hello"}
}
