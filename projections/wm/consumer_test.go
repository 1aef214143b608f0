package wm_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/projections"
	"github.com/respool/respool/projections/internal/gen"
	"github.com/respool/respool/projections/wm"
)

// capture is a publisher that keeps what it is given, and fails while told.
type capture struct {
	mu    sync.Mutex
	msgs  []*message.Message
	fails int
}

func (c *capture) Publish(topic string, msgs ...*message.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fails != 0 {
		c.fails--
		return errors.New("broker unreachable")
	}
	c.msgs = append(c.msgs, msgs...)
	return nil
}

func (c *capture) Close() error { return nil }

func (c *capture) taken() []*message.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*message.Message(nil), c.msgs...)
}

// logOf returns the messages the dispatcher publishes for a small log.
func logOf(t *testing.T, events int) (eventstore.Store, []*message.Message) {
	t.Helper()
	st := eventstore.NewMemory()
	gen.New(st).Random(8, events)
	var out []*message.Message
	for rec, err := range st.ReadAll(t.Context(), 0) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, wm.Message(rec))
	}
	return st, out
}

func TestMessageRoundTrip(t *testing.T) {
	t.Parallel()
	st, msgs := logOf(t, 20)
	i := 0
	for rec, err := range st.ReadAll(t.Context(), 0) {
		if err != nil {
			t.Fatal(err)
		}
		got, err := wm.RecordOf(msgs[i])
		if err != nil {
			t.Fatal(err)
		}
		if got.Position != rec.Position || got.Stream != rec.Stream || got.Version != rec.Version || got.Type != rec.Type ||
			got.ID != rec.ID || string(got.Data) != string(rec.Data) || !got.Time.Equal(rec.Time) || msgs[i].UUID != rec.ID {
			t.Errorf("record %d: %+v, want %+v", i, got, rec)
		}
		i++
	}
	for _, md := range []message.Metadata{
		{},
		{wm.KeyPosition: "x", wm.KeyVersion: "1", wm.KeyStream: "s", wm.KeyType: "t"},
		{wm.KeyPosition: "1", wm.KeyVersion: "0", wm.KeyStream: "s", wm.KeyType: "t"},
		{wm.KeyPosition: "1", wm.KeyVersion: "1", wm.KeyType: "t"},
		{wm.KeyPosition: "1", wm.KeyVersion: "1", wm.KeyStream: "s", wm.KeyType: "t", wm.KeyTime: "yesterday"},
	} {
		m := message.NewMessage("m", nil)
		m.Metadata = md
		if _, err := wm.RecordOf(m); !errors.Is(err, wm.ErrUndecodable) {
			t.Errorf("metadata %v: err = %v, want ErrUndecodable", md, err)
		}
	}
}

// TestConsumerDedupesByPosition gives a consumer every message, then all of
// them again in another order: the second round changes nothing.
func TestConsumerDedupesByPosition(t *testing.T) {
	t.Parallel()
	_, msgs := logOf(t, 300)
	m := newModels()
	c, err := wm.NewConsumer(wm.ConsumerConfig{Projections: m.all()})
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range msgs {
		if err := c.Handle(msg); err != nil {
			t.Fatal(err)
		}
	}
	before := m.state(gen.Start.Add(1000 * time.Hour))
	for i := len(msgs) - 1; i >= 0; i-- {
		if err := c.Handle(msgs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if s := c.Stats(); s.Applied != uint64(len(msgs)) || s.Skipped != uint64(len(msgs)) {
		t.Errorf("stats = %+v", s)
	}
	if after := m.state(gen.Start.Add(1000 * time.Hour)); after != before {
		t.Error("duplicates changed the projections")
	}
	checkOnce(t, m.rec, eventstore.Position(len(msgs)))
}

// TestConsumerGap checks that a message after a missing one is retried and
// then stops the consumer with ErrGap, and that one arriving meanwhile
// (out of order, as gochannel delivers) closes the gap.
func TestConsumerGap(t *testing.T) {
	t.Parallel()
	_, msgs := logOf(t, 10)
	t.Run("never filled", func(t *testing.T) {
		c, err := wm.NewConsumer(wm.ConsumerConfig{Projections: newModels().all(), Backoff: wm.Backoff{Retries: 2, Initial: time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		_ = c.Handle(msgs[0])
		err = c.Handle(msgs[2])
		if !errors.Is(err, wm.ErrGap) || !errors.Is(err, wm.ErrStopped) || !strings.Contains(err.Error(), "events 2 to 2 are missing") {
			t.Fatalf("err = %v, want ErrStopped and ErrGap naming event 2", err)
		}
		select {
		case <-c.Done():
		default:
			t.Error("Done is not closed")
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		late := msgs[1].Copy()
		late.SetContext(ctx)
		if err := c.Handle(late); !errors.Is(err, wm.ErrStopped) {
			t.Errorf("a stopped consumer took a message: %v", err)
		}
	})
	t.Run("filled while retrying", func(t *testing.T) {
		m := newModels()
		c, err := wm.NewConsumer(wm.ConsumerConfig{Projections: m.all(), Backoff: wm.Backoff{Retries: 50, Initial: time.Millisecond, Max: 5 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Handle(msgs[1]); err != nil {
				t.Error(err)
			}
		}()
		time.Sleep(5 * time.Millisecond)
		if err := c.Handle(msgs[0]); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		checkOnce(t, m.rec, 2)
	})
}

// TestConsumerWithoutPoisonPublisher checks that an undecodable message
// stops a consumer that has nowhere to put it.
func TestConsumerWithoutPoisonPublisher(t *testing.T) {
	t.Parallel()
	c, err := wm.NewConsumer(wm.ConsumerConfig{Projections: newModels().all(), Backoff: wm.Backoff{Retries: -1}})
	if err != nil {
		t.Fatal(err)
	}
	bad := wm.Message(eventstore.Record{Stream: "pool-p1", Version: 1, Position: 1, Event: eventstore.Event{ID: "e1", Type: "pool.created", Data: []byte("{")}})
	if err := c.Handle(bad); !errors.Is(err, wm.ErrUndecodable) || !errors.Is(err, wm.ErrStopped) {
		t.Errorf("err = %v, want ErrStopped and ErrUndecodable", err)
	}
}

// TestConsumerPoisonsToPublisher checks the poison path without a broker.
func TestConsumerPoisonsToPublisher(t *testing.T) {
	t.Parallel()
	_, msgs := logOf(t, 5)
	poison := &capture{fails: 1}
	m := newModels()
	c, err := wm.NewConsumer(wm.ConsumerConfig{Name: "billing", Projections: m.all(), PoisonPublisher: poison, Backoff: wm.Backoff{Initial: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := wm.RecordOf(msgs[1])
	rec.Data = []byte(`{"v":1}`)
	msgs[1] = wm.Message(rec)
	for _, msg := range msgs {
		if err := c.Handle(msg); err != nil {
			t.Fatal(err)
		}
	}
	got := poison.taken()
	if len(got) != 1 || got[0].UUID != msgs[1].UUID || !strings.Contains(got[0].Metadata.Get(wm.KeyPoisonReason), "cannot be decoded") {
		t.Fatalf("poisoned %d messages: %+v", len(got), got)
	}
	n := eventstore.Position(len(msgs))
	if s := c.Stats(); s.Poisoned != 1 || s.Retries != 1 || c.Position() != n {
		t.Errorf("stats %+v at %d: want 1 poisoned after 1 retry (the poison publish failed once), at %d", s, c.Position(), n)
	}
	checkOnce(t, m.rec, n, 2)
}

// TestConsumerCheckpoint checks where a consumer starts.
func TestConsumerCheckpoint(t *testing.T) {
	t.Parallel()
	st, _ := logOf(t, 50)
	m := newModels()
	if err := projections.NewRunner(st, m.all()...).CatchUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	c, err := wm.NewConsumer(wm.ConsumerConfig{Projections: m.all()})
	if err != nil {
		t.Fatal(err)
	}
	if c.Position() != m.rec.Position() {
		t.Errorf("a consumer of rebuilt projections starts at %d, want %d", c.Position(), m.rec.Position())
	}
	ahead := new(projections.MemCheckpoint)
	_ = ahead.Save(m.rec.Position() + 10)
	if _, err := wm.NewConsumer(wm.ConsumerConfig{Projections: m.all(), Checkpoint: ahead}); err == nil {
		t.Error("a checkpoint ahead of the projections was accepted")
	}
}

// TestDispatcherRetriesThenStops checks that a failed Publish is retried and
// that a lasting failure stops Run with an error, the checkpoint before the
// event.
func TestDispatcherRetriesThenStops(t *testing.T) {
	t.Parallel()
	st, _ := logOf(t, 30)
	pub := &capture{fails: 2}
	cp := new(projections.MemCheckpoint)
	d, err := wm.NewDispatcher(wm.DispatcherConfig{Store: st, Publisher: pub, Checkpoint: cp, Backoff: wm.Backoff{Initial: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	h := head(t, st)
	waitFor(t, "the dispatcher", 10*time.Second, func() bool { return d.Position() == h })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if got := pub.taken(); len(got) != int(h) {
		t.Fatalf("published %d, want %d", len(got), h)
	}
	for i, m := range pub.taken() {
		if rec, _ := wm.RecordOf(m); rec.Position != eventstore.Position(i+1) {
			t.Fatalf("message %d carries position %d", i, rec.Position)
		}
	}

	pub.fails = -1
	_ = cp.Save(h - 3)
	d, _ = wm.NewDispatcher(wm.DispatcherConfig{Store: st, Publisher: pub, Checkpoint: cp, Backoff: wm.Backoff{Retries: 2, Initial: time.Millisecond}})
	err = d.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "broker unreachable") || !strings.Contains(err.Error(), "failed 3 times") {
		t.Errorf("err = %v", err)
	}
	if p, _ := cp.Load(); p != h-3 {
		t.Errorf("checkpoint moved to %d", p)
	}
}
