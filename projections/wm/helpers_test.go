package wm_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/respool/respool/domain"
	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/projections"
	"github.com/respool/respool/projections/internal/gen"
	"github.com/respool/respool/projections/wm"
)

// startNATS starts a real NATS server with JetStream on a random port of
// 127.0.0.1, storing in a temporary directory, for the length of the test,
// and returns its URL.
func startNATS(t testing.TB) string {
	t.Helper()
	return startServer(t).ClientURL()
}

// startServer is startNATS for a test that stops the server itself.
func startServer(t testing.TB) *server.Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true,
		StoreDir: t.TempDir(), NoLog: true, NoSigs: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

// provision creates the streams and the durable consumer, and returns a
// JetStream context to inspect them.
func provision(t testing.TB, url string, js wm.JetStream) nats.JetStreamContext {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	jsc, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	if err := js.Provision(jsc); err != nil {
		t.Fatal(err)
	}
	return jsc
}

// recorder is a projection that records the positions it applied, and
// fails on one position as often as it is told (-1: for ever).
type recorder struct {
	mu       sync.Mutex
	seen     []eventstore.Position
	failAt   eventstore.Position
	failures int
}

func (r *recorder) Name() string { return "recorder" }

func (r *recorder) Position() eventstore.Position {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.seen) == 0 {
		return 0
	}
	return r.seen[len(r.seen)-1]
}

func (r *recorder) Apply(e projections.Envelope) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := len(r.seen); n > 0 && e.Position <= r.seen[n-1] {
		return nil
	}
	if e.Position == r.failAt && r.failures != 0 {
		r.failures--
		return errors.New("the read model's database is unavailable")
	}
	r.seen = append(r.seen, e.Position)
	return nil
}

func (r *recorder) positions() []eventstore.Position {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]eventstore.Position(nil), r.seen...)
}

func (r *recorder) heal() {
	r.mu.Lock()
	r.failures = 0
	r.mu.Unlock()
}

// checkOnce checks that the recorder applied every position from 1 to head
// but those in skip, once each, in order.
func checkOnce(t testing.TB, r *recorder, head eventstore.Position, skip ...eventstore.Position) {
	t.Helper()
	skipped := map[eventstore.Position]bool{}
	for _, p := range skip {
		skipped[p] = true
	}
	var want []eventstore.Position
	for p := eventstore.Position(1); p <= head; p++ {
		if !skipped[p] {
			want = append(want, p)
		}
	}
	got := r.positions()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("applied %d positions, want %d; first difference at #%d: %d, want %d", len(got), len(want), i, got[i], want[i])
			}
		}
		t.Fatalf("applied %d positions, want %d", len(got), len(want))
	}
}

// models is the projections a consumer feeds in these tests.
type models struct {
	nl  *projections.NodeList
	ch  *projections.Charges
	inv *projections.Inventory
	rec *recorder
}

func newModels() *models {
	return &models{
		nl:  projections.NewNodeList(projections.Options{}),
		ch:  projections.NewCharges(domain.Policy{}, projections.Options{}),
		inv: projections.NewInventory(gen.RateCard(0), projections.Options{}),
		rec: &recorder{},
	}
}

func (m *models) all() []projections.Projection {
	return []projections.Projection{m.nl, m.ch, m.inv, m.rec}
}

// state writes what the read models answer, for comparisons.
func (m *models) state(asOf time.Time) string {
	var b strings.Builder
	for _, p := range m.nl.AllPools() {
		ns, _ := m.nl.Nodes(p.ID)
		a, _ := m.ch.AsOf(p.ID, asOf)
		fmt.Fprintf(&b, "%+v %d %s %s\n", p, len(ns), a.PayPerUse.PriceSeconds(), a.Prepaid)
		for _, mo := range m.ch.Months(p.ID, asOf) {
			fmt.Fprintf(&b, "  %s %d %s %s\n", mo.Month, mo.Records, mo.Unrounded, mo.Total)
		}
	}
	fmt.Fprintf(&b, "%+v\n", m.inv.StockLevels())
	return b.String()
}

// rebuilt is what a rebuild from the store holds, skipping the positions in
// skip (events the consumer poisoned).
func rebuilt(t testing.TB, st eventstore.Store, skip ...eventstore.Position) *models {
	t.Helper()
	m := newModels()
	r := projections.NewRunner(nil, m.all()...)
	skipped := map[eventstore.Position]bool{}
	for _, p := range skip {
		skipped[p] = true
	}
	for rec, err := range st.ReadAll(context.Background(), 0) {
		if err != nil {
			t.Fatal(err)
		}
		if skipped[rec.Position] {
			continue
		}
		if err := r.Apply(rec); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// consumerRun is a consumer running in a watermill router over JetStream.
type consumerRun struct {
	c      *wm.Consumer
	router *message.Router
	sub    message.Subscriber
	done   chan error
}

func startConsumer(t testing.TB, url string, js wm.JetStream, cfg wm.ConsumerConfig) *consumerRun {
	t.Helper()
	c, err := wm.NewConsumer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := js.NewSubscriber(url, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 10 * time.Second}, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	c.AddHandler(router, "projections", js.Subject, sub)
	run := &consumerRun{c: c, router: router, sub: sub, done: make(chan error, 1)}
	go func() { run.done <- router.Run(context.Background()) }()
	select {
	case <-router.Running():
	case err := <-run.done:
		t.Fatalf("router stopped at once: %v", err)
	}
	return run
}

// stop closes the router (and so the subscriber and its connection).
func (r *consumerRun) stop(t testing.TB) {
	t.Helper()
	if err := r.router.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-r.done; err != nil {
		t.Fatal(err)
	}
}

// dispatcherRun is a dispatcher running until stopped.
type dispatcherRun struct {
	d      *wm.Dispatcher
	pub    message.Publisher
	cancel context.CancelFunc
	done   chan error
}

func startDispatcher(t testing.TB, url string, js wm.JetStream, st eventstore.Store, cp projections.Checkpoint) *dispatcherRun {
	t.Helper()
	pub, err := js.NewPublisher(url, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := wm.NewDispatcher(wm.DispatcherConfig{Store: st, Publisher: pub, Topic: js.Subject, Checkpoint: cp})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	run := &dispatcherRun{d: d, pub: pub, cancel: cancel, done: make(chan error, 1)}
	go func() { run.done <- d.Run(ctx) }()
	return run
}

func (r *dispatcherRun) stop(t testing.TB) {
	t.Helper()
	r.cancel()
	if err := <-r.done; !errors.Is(err, context.Canceled) {
		t.Fatalf("dispatcher stopped with %v", err)
	}
	if err := r.pub.Close(); err != nil {
		t.Fatal(err)
	}
}

// waitFor waits until cond holds.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func head(t testing.TB, st eventstore.Store) eventstore.Position {
	t.Helper()
	h, err := st.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h
}
