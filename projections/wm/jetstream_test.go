package wm_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"

	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/projections"
	"github.com/respool/respool/projections/internal/gen"
	"github.com/respool/respool/projections/wm"
)

// TestJetStreamOrderAndRestarts publishes a log through a real JetStream
// and applies it to projections while it grows, killing the dispatcher and
// the consumer in the middle of the stream (each while it has events left
// to handle) and starting them again, the dispatcher with its last 50
// checkpoints lost (so it publishes those events again). It checks that the
// events are applied in order, none lost and none twice, that the broker
// dropped the republished events, and that the projections hold exactly
// what a rebuild from the store holds.
func TestJetStreamOrderAndRestarts(t *testing.T) {
	t.Parallel()
	url := startNATS(t)
	// AckWait: the message in flight when the consumer is closed comes back
	// after it.
	js := wm.JetStream{Durable: "projections", AckWait: 2 * time.Second}.WithDefaults()
	jsc := provision(t, url, js)
	st := eventstore.NewMemory()
	b := gen.New(st)
	b.Random(1, 1500)

	m := newModels()
	ccp, dcp := new(projections.MemCheckpoint), new(projections.MemCheckpoint)
	cfg := wm.ConsumerConfig{Projections: m.all(), Checkpoint: ccp}

	// The dispatcher dies a third of the way through the log.
	d := startDispatcher(t, url, js, st, dcp)
	waitFor(t, "the dispatcher to get a third of the way", 60*time.Second, func() bool { return d.d.Position() >= 500 })
	d.stop(t)
	if p := d.d.Position(); p >= head(t, st) {
		t.Fatalf("the dispatcher published everything (%d) before it was stopped", p)
	}
	// The consumer dies before it has applied all that was published.
	c := startConsumer(t, url, js, cfg)
	waitFor(t, "the consumer to get going", 60*time.Second, func() bool { return c.c.Position() >= 300 })
	c.stop(t)
	if p := c.c.Position(); p >= d.d.Position() {
		t.Fatalf("the consumer applied everything published (%d) before it was stopped", p)
	}
	firstStop := c.c.Position()

	// Both start again, the dispatcher with its last 50 checkpoints lost,
	// while the log grows; then both die again in the middle.
	lost, _ := dcp.Load()
	if err := dcp.Save(lost - 50); err != nil {
		t.Fatal(err)
	}
	d = startDispatcher(t, url, js, st, dcp)
	c = startConsumer(t, url, js, cfg)
	end := b.Random(2, 3500)
	waitFor(t, "the consumer to get further", 60*time.Second, func() bool { return c.c.Position() >= 2000 })
	d.stop(t)
	c.stop(t)
	secondStop := c.c.Position()

	// And once more, to the end.
	d = startDispatcher(t, url, js, st, dcp)
	c = startConsumer(t, url, js, cfg)
	h := head(t, st)
	waitFor(t, "the consumer to reach the head", 120*time.Second, func() bool { return c.c.Position() == h })
	c.stop(t)
	d.stop(t)

	checkOnce(t, m.rec, h)
	info, err := jsc.StreamInfo(js.Stream)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != uint64(h) {
		t.Errorf("the stream holds %d messages for %d events: the republished events were not dropped", info.State.Msgs, h)
	}
	asOf := end.Add(time.Hour)
	if got, want := m.state(asOf), rebuilt(t, st).state(asOf); got != want {
		t.Errorf("projections fed through JetStream differ from a rebuild")
	}
	t.Logf("consumer stopped at %d and %d of %d", firstStop, secondStop, h)
}

// TestRedeliveredMessageChangesNothing publishes an event again with
// another message id (so that the broker keeps it, as after a restart of a
// dispatcher that lost its checkpoint beyond the duplicate window): the
// consumer receives it and skips it.
func TestRedeliveredMessageChangesNothing(t *testing.T) {
	t.Parallel()
	url := startNATS(t)
	js := wm.JetStream{Durable: "projections"}.WithDefaults()
	provision(t, url, js)
	st := eventstore.NewMemory()
	end := gen.New(st).Random(3, 300)
	m := newModels()
	d := startDispatcher(t, url, js, st, nil)
	c := startConsumer(t, url, js, wm.ConsumerConfig{Projections: m.all()})
	h := head(t, st)
	waitFor(t, "the consumer to reach the head", 60*time.Second, func() bool { return c.c.Position() == h })
	before := m.state(end)

	var again []eventstore.Record
	for rec, err := range st.ReadAll(t.Context(), 0) {
		if err != nil {
			t.Fatal(err)
		}
		if rec.Position == 5 || rec.Position == h {
			again = append(again, rec)
		}
	}
	pub, err := js.NewPublisher(url, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	for _, rec := range again {
		msg := wm.Message(rec)
		msg.UUID += "/again"
		if err := pub.Publish(js.Subject, msg); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the redelivered messages to be skipped", 30*time.Second, func() bool { return c.c.Stats().Skipped == 2 })
	c.stop(t)
	d.stop(t)
	checkOnce(t, m.rec, h)
	if after := m.state(end); after != before {
		t.Error("a redelivered message changed the projections")
	}
}

// TestUndecodableMessageGoesToPoison puts an event the codec cannot read in
// the log, and publishes a message without respool metadata: both go to
// the poison topic, with the reason, and the consumer goes on.
func TestUndecodableMessageGoesToPoison(t *testing.T) {
	t.Parallel()
	url := startNATS(t)
	js := wm.JetStream{Durable: "projections"}.WithDefaults()
	jsc := provision(t, url, js)
	st := eventstore.NewMemory()
	b := gen.New(st)
	b.Create(gen.Start, "acme", "p1", 2)
	b.AppendRaw("pool-p1", "pool.resized", []byte(`{"v":2,"nodes":7}`), gen.Start.Add(time.Hour))
	bad := head(t, st)
	b.ScaleOut(gen.Start.Add(2*time.Hour), "p1", 1)

	poison, err := js.NewPublisher(url, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	defer poison.Close()
	m := newModels()
	d := startDispatcher(t, url, js, st, nil)
	c := startConsumer(t, url, js, wm.ConsumerConfig{Name: "billing", Projections: m.all(), PoisonPublisher: poison, PoisonTopic: js.PoisonSubject})
	h := head(t, st)
	waitFor(t, "the consumer to reach the head", 60*time.Second, func() bool { return c.c.Position() == h })

	// A foreign message on the topic, without respool metadata.
	if err := poison.Publish(js.Subject, message.NewMessage("foreign-1", []byte("hello"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the foreign message to be poisoned", 30*time.Second, func() bool { return c.c.Stats().Poisoned == 2 })
	c.stop(t)
	d.stop(t)

	checkOnce(t, m.rec, h, bad)
	if ns, _ := m.nl.Nodes("p1"); len(ns) != 3 {
		t.Errorf("p1 has %d nodes, want 3: the consumer did not go on after the poisoned event", len(ns))
	}
	sub, err := jsc.SubscribeSync(js.PoisonSubject, nats.DeliverAll())
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	for _, want := range []string{"pool.resized", "respool-position"} {
		msg, err := sub.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		reason := msg.Header.Get(wm.KeyPoisonReason)
		if !strings.Contains(reason, want) || msg.Header.Get(wm.KeyPoisonConsumer) != "billing" {
			t.Errorf("poison message: reason %q (want it to mention %s), consumer %q", reason, want, msg.Header.Get(wm.KeyPoisonConsumer))
		}
	}
}

// TestFailureRetriesThenStops makes a projection fail on one event. Failing
// twice, it is retried with backoff and the event applied once. Failing for
// ever, the consumer stops with an error naming the event, its router
// closes, the event is not acknowledged, and a consumer started again once
// the projection is healthy applies it: nothing is lost.
func TestFailureRetriesThenStops(t *testing.T) {
	t.Parallel()
	url := startNATS(t)
	st := eventstore.NewMemory()
	gen.New(st).Random(4, 200)
	h := head(t, st)

	t.Run("a passing failure is retried", func(t *testing.T) {
		js := wm.JetStream{Durable: "retried"}.WithDefaults()
		provision(t, url, js)
		m := newModels()
		m.rec.failAt, m.rec.failures = 50, 2
		d := startDispatcher(t, url, js, st, nil)
		c := startConsumer(t, url, js, wm.ConsumerConfig{Projections: m.all(), Backoff: wm.Backoff{Retries: 5, Initial: 5 * time.Millisecond}})
		waitFor(t, "the consumer to reach the head", 60*time.Second, func() bool { return c.c.Position() == h })
		c.stop(t)
		d.stop(t)
		checkOnce(t, m.rec, h)
		if s := c.c.Stats(); s.Retries != 2 || c.c.Err() != nil {
			t.Errorf("stats %+v, err %v: want 2 retries and no error", s, c.c.Err())
		}
	})

	t.Run("a lasting failure stops the projection", func(t *testing.T) {
		// AckWait bounds how long the refused message waits before it is
		// delivered again to the restarted consumer.
		js := wm.JetStream{Durable: "stopped", Stream: "RESPOOL2", Subject: "respool2.events", PoisonStream: "RESPOOL2_POISON",
			PoisonSubject: "respool2.poison", AckWait: 2 * time.Second}.WithDefaults()
		provision(t, url, js)
		m := newModels()
		m.rec.failAt, m.rec.failures = 50, -1
		ccp := new(projections.MemCheckpoint)
		cfg := wm.ConsumerConfig{Projections: m.all(), Checkpoint: ccp, Backoff: wm.Backoff{Retries: 3, Initial: 5 * time.Millisecond}}
		d := startDispatcher(t, url, js, st, nil)
		c := startConsumer(t, url, js, cfg)
		select {
		case <-c.c.Done():
		case <-time.After(60 * time.Second):
			t.Fatal("the consumer did not stop")
		}
		err := c.c.Err()
		if !errors.Is(err, wm.ErrStopped) || !strings.Contains(err.Error(), "position 50") || !strings.Contains(err.Error(), "database is unavailable") {
			t.Errorf("err = %v, want ErrStopped naming position 50 and the cause", err)
		}
		select { // the router closes itself once its only handler stopped
		case err := <-c.done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the router did not close")
		}
		if got := c.c.Position(); got != 49 {
			t.Errorf("consumer at %d, want 49", got)
		}
		if err := c.sub.Close(); err != nil {
			t.Fatal(err)
		}

		m.rec.heal()
		c = startConsumer(t, url, js, cfg)
		waitFor(t, "the restarted consumer to reach the head", 60*time.Second, func() bool { return c.c.Position() == h })
		c.stop(t)
		d.stop(t)
		checkOnce(t, m.rec, h)
	})
}

// TestProvisionIsIdempotent checks that Provision can run on every start
// and that a subscriber never creates its own consumer.
func TestProvisionIsIdempotent(t *testing.T) {
	t.Parallel()
	url := startNATS(t)
	js := wm.JetStream{Durable: "projections"}.WithDefaults()
	jsc := provision(t, url, js)
	if err := js.Provision(jsc); err != nil {
		t.Fatal(err)
	}
	ci, err := jsc.ConsumerInfo("RESPOOL", "projections")
	if err != nil {
		t.Fatal(err)
	}
	if ci.Config.MaxAckPending != 1 || ci.Config.AckPolicy != nats.AckExplicitPolicy || ci.Config.Durable != "projections" {
		t.Errorf("consumer config = %+v", ci.Config)
	}
	other := wm.JetStream{Durable: "never-provisioned"}.WithDefaults()
	sub, err := other.NewSubscriber(url, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	// A failed Subscribe leaves the watermill subscriber's wait group
	// held, so its Close would wait for its whole CloseTimeout: close it
	// without waiting (the server's shutdown ends the connection).
	defer func() { go sub.Close() }()
	_, err = sub.Subscribe(t.Context(), other.Subject)
	if err == nil || !errors.Is(err, nats.ErrConsumerNotFound) && !strings.Contains(err.Error(), "consumer not found") {
		t.Errorf("subscribing without a provisioned durable consumer: %v, want consumer not found", err)
	}
}
