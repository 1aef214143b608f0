package wm

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
)

// JetStream is NATS JetStream configured as ARCHITECTURE.md says it must be
// for respool's events to arrive in order and survive restarts:
//
//   - a durable push consumer, created before subscribing (Provision), so
//     that closing a subscriber does not delete it and a restart resumes
//     from the last acknowledged message instead of replaying everything;
//   - MaxAckPending 1, so that the next message is delivered only once the
//     previous one is acknowledged: order is kept even across redeliveries;
//   - TrackMsgId with the event id as message id, so that the broker drops
//     an event published twice (a dispatcher restarted between Publish and
//     its checkpoint) within DuplicateWindow;
//   - manual acknowledgement (nats.ManualAck): without it nats.go
//     acknowledges every message when the callback returns, including one
//     the watermill subscriber gave up on (closing, ack timeout), which
//     would then be lost.
//
// The zero value is usable but for Durable, which a subscriber needs. Each
// consuming process (each set of projections) has its own Durable.
type JetStream struct {
	// Stream is the JetStream stream holding the events. "": "RESPOOL".
	Stream string
	// Subject is the subject (watermill topic) events are published on.
	// "": DefaultTopic.
	Subject string
	// PoisonStream and PoisonSubject hold undecodable messages.
	// "": "RESPOOL_POISON" and DefaultPoisonTopic.
	PoisonStream  string
	PoisonSubject string
	// Durable names the durable consumer a Subscriber binds to.
	Durable string
	// DuplicateWindow is how long the broker remembers message ids to
	// drop duplicates. 0: 2 minutes.
	DuplicateWindow time.Duration
	// AckWait is how long the broker waits for an acknowledgement before
	// delivering a message again; it also bounds how long the watermill
	// subscriber waits for the handler, so it must exceed the consumer's
	// whole Backoff (about 3s by default). It is also how long a restarted
	// consumer waits for the message that was in flight when the last one
	// was killed: with MaxAckPending 1 nothing else is delivered until it
	// comes back. (A Subscriber that is closed gives back the message its
	// callback holds, which comes again at once; only one the server was
	// pushing just as the subscription ended waits for AckWait.) 0: 10s.
	AckWait time.Duration
	// Memory keeps the streams in memory instead of files.
	Memory bool
}

// WithDefaults returns j with every empty field set to its default.
func (j JetStream) WithDefaults() JetStream {
	if j.Stream == "" {
		j.Stream = "RESPOOL"
	}
	if j.Subject == "" {
		j.Subject = DefaultTopic
	}
	if j.PoisonStream == "" {
		j.PoisonStream = "RESPOOL_POISON"
	}
	if j.PoisonSubject == "" {
		j.PoisonSubject = DefaultPoisonTopic
	}
	if j.DuplicateWindow <= 0 {
		j.DuplicateWindow = 2 * time.Minute
	}
	if j.AckWait <= 0 {
		j.AckWait = 10 * time.Second
	}
	return j
}

// DeliverSubject is the subject the durable consumer pushes messages to.
func (j JetStream) DeliverSubject() string {
	return "_respool.deliver." + j.WithDefaults().Stream + "." + j.Durable
}

// Provision creates the event and poison streams if they do not exist and,
// if Durable is set, the durable consumer (MaxAckPending 1, explicit
// acknowledgement, delivering from the first event). Existing streams and
// consumers are left as they are: Provision is safe to call on every start.
func (j JetStream) Provision(js nats.JetStreamManager) error {
	j = j.WithDefaults()
	storage := nats.FileStorage
	if j.Memory {
		storage = nats.MemoryStorage
	}
	for _, s := range []nats.StreamConfig{
		{Name: j.Stream, Subjects: []string{j.Subject}, Storage: storage, Duplicates: j.DuplicateWindow},
		{Name: j.PoisonStream, Subjects: []string{j.PoisonSubject}, Storage: storage, Duplicates: j.DuplicateWindow},
	} {
		if _, err := js.StreamInfo(s.Name); err == nil {
			continue
		} else if !errors.Is(err, nats.ErrStreamNotFound) {
			return fmt.Errorf("wm: jetstream: stream %s: %w", s.Name, err)
		}
		if _, err := js.AddStream(&s); err != nil {
			return fmt.Errorf("wm: jetstream: creating stream %s: %w", s.Name, err)
		}
	}
	if j.Durable == "" {
		return nil
	}
	if _, err := js.ConsumerInfo(j.Stream, j.Durable); err == nil {
		return nil
	} else if !errors.Is(err, nats.ErrConsumerNotFound) {
		return fmt.Errorf("wm: jetstream: consumer %s: %w", j.Durable, err)
	}
	_, err := js.AddConsumer(j.Stream, &nats.ConsumerConfig{
		Durable:        j.Durable,
		DeliverSubject: j.DeliverSubject(),
		DeliverPolicy:  nats.DeliverAllPolicy,
		AckPolicy:      nats.AckExplicitPolicy,
		AckWait:        j.AckWait,
		MaxAckPending:  1,
		FilterSubject:  j.Subject,
		ReplayPolicy:   nats.ReplayInstantPolicy,
	})
	if err != nil {
		return fmt.Errorf("wm: jetstream: creating consumer %s: %w", j.Durable, err)
	}
	return nil
}

// NewPublisher returns a watermill publisher on its own connection to url
// that publishes to JetStream with TrackMsgId (the message UUID, the event
// id, as Nats-Msg-Id) and waits for each message to be stored. Use it for
// the Dispatcher and as the Consumer's PoisonPublisher. Closing it closes
// its connection.
func (j JetStream) NewPublisher(url string, logger watermill.LoggerAdapter, opts ...nats.Option) (*wmnats.Publisher, error) {
	return wmnats.NewPublisher(wmnats.PublisherConfig{
		URL:         url,
		NatsOptions: opts,
		Marshaler:   &wmnats.NATSMarshaler{},
		JetStream:   wmnats.JetStreamConfig{TrackMsgId: true},
	}, logger)
}

// NewSubscriber returns a watermill subscriber on its own connection to
// url, bound to the durable consumer that Provision created (it fails if
// there is none: it never creates one, which would be deleted on close).
// Subscribe to Subject. Closing it closes its connection; the durable
// consumer stays, and the next subscriber resumes where it stopped.
func (j JetStream) NewSubscriber(url string, logger watermill.LoggerAdapter, opts ...nats.Option) (*Subscriber, error) {
	j = j.WithDefaults()
	if j.Durable == "" {
		return nil, errors.New("wm: jetstream: a subscriber needs JetStream.Durable")
	}
	if err := j.waitUnbound(url, 10*time.Second, opts...); err != nil {
		return nil, err
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("wm: jetstream: connecting to %s: %w", url, err)
	}
	if logger == nil {
		logger = watermill.NopLogger{}
	}
	sub, err := wmnats.NewSubscriberWithNatsConn(nc, wmnats.SubscriberSubscriptionConfig{
		Unmarshaler:      &wmnats.NATSMarshaler{},
		SubscribersCount: 1,
		AckWaitTimeout:   j.AckWait,
		CloseTimeout:     10 * time.Second,
		JetStream: wmnats.JetStreamConfig{
			DurablePrefix:    j.Durable,
			SubscribeOptions: []nats.SubOpt{nats.Bind(j.Stream, j.Durable), nats.ManualAck()},
		},
	}, closedConnQuiet{logger})
	if err != nil {
		nc.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Subscriber{Subscriber: sub, nc: nc, ctx: ctx, cancel: cancel, stopping: make(chan struct{})}, nil
}

// Subscriber is a watermill-nats subscriber whose subscriptions end only
// through Close, and close safely. watermill-nats v2.1.3 closes a
// subscription's output channel when the context given to Subscribe ends,
// or on Close, and only then drains its connection, while nats.go may
// still be running a message callback that is about to send to, or blocked
// sending to, that channel: "send on closed channel", which kills the
// process (seen once in CI), or a data race under -race (seen when a
// Router closed, since it cancels its handlers' context before it closes
// their subscribers). So this Subscriber:
//
//   - ends its subscriptions only through Close, never through the
//     library's own reaction to a context;
//   - passes every message through a forwarder that, once Close begins,
//     stops handing messages on and instead takes every message the library
//     sends and gives it back (Nack, for redelivery to the next consumer),
//     so that no callback stays blocked;
//   - owns its NATS connection, and on Close drains it before the library
//     closes anything: the server stops delivering, the callbacks in
//     flight finish (nats.go counts a message as processed only once its
//     callback has returned), and the connection closes. Only then does
//     the library close its channels, when no callback can run any more.
//     A connection that cannot be drained (the server is unreachable) is
//     closed once a barrier shows that the callbacks of every message it
//     had received have returned.
type Subscriber struct {
	*wmnats.Subscriber
	nc       *nats.Conn
	ctx      context.Context // ends after the library has closed
	cancel   context.CancelFunc
	stopping chan struct{} // closed when Close begins
	stopOnce sync.Once
	closeErr error
}

// Subscribe subscribes to topic. When ctx ends, the Subscriber closes (see
// Subscriber): the subscription ends through Close, never through the
// library's own reaction to ctx.
func (s *Subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	in, err := s.Subscriber.Subscribe(s.ctx, topic)
	if err != nil {
		return nil, err
	}
	go func() {
		select {
		case <-ctx.Done():
			_ = s.Close()
		case <-s.ctx.Done():
		}
	}()
	out := make(chan *message.Message)
	go func() {
		defer close(out)
		for m := range in { // until the library closes it
			select {
			case out <- m:
				continue
			case <-s.stopping:
			}
			m.Nack() // closing: not handed on, so given back
		}
	}()
	return out, nil
}

// Close closes the subscriptions and the connection (see Subscriber). A
// second Close, or one running at the same time, waits for the first and
// returns its result.
func (s *Subscriber) Close() error {
	s.stopOnce.Do(func() {
		close(s.stopping)
		s.quiesce()
		err := s.Subscriber.Close()
		if errors.Is(err, nats.ErrConnectionClosed) {
			err = nil // the library drains the connection quiesce closed
		}
		s.closeErr = err
		s.cancel()
	})
	return s.closeErr
}

// quiesce leaves s.nc closed with no message callback running or to come.
func (s *Subscriber) quiesce() {
	patience := s.nc.Opts.DrainTimeout + 5*time.Second
	if s.nc.Status() == nats.CONNECTED && s.nc.Drain() == nil {
		deadline := time.Now().Add(patience)
		for !s.nc.IsClosed() && time.Now().Before(deadline) {
			time.Sleep(2 * time.Millisecond)
		}
		if s.nc.IsClosed() {
			return
		}
	}
	// Not connected: nothing new arrives. A barrier runs once the callbacks
	// of every message received before it have returned.
	done := make(chan struct{})
	if s.nc.Barrier(func() { close(done) }) == nil {
		select {
		case <-done:
		case <-time.After(patience):
		}
	}
	s.nc.Close()
}

// closedConnQuiet drops the library's complaint that it cannot unsubscribe
// from the connection Subscriber.Close has already closed, which would
// otherwise be an error in the log on every close.
type closedConnQuiet struct{ watermill.LoggerAdapter }

func (l closedConnQuiet) Error(msg string, err error, fields watermill.LogFields) {
	if errors.Is(err, nats.ErrConnectionClosed) {
		l.LoggerAdapter.Debug(msg+": "+err.Error(), fields)
		return
	}
	l.LoggerAdapter.Error(msg, err, fields)
}

func (l closedConnQuiet) With(fields watermill.LogFields) watermill.LoggerAdapter {
	return closedConnQuiet{l.LoggerAdapter.With(fields)}
}

// waitUnbound waits until no subscription is bound to the durable consumer.
// A subscriber closed a moment ago stays bound until the server notices,
// and subscribing before then fails ("consumer is already bound"), so a
// consumer restarted at once would stop; watermill-nats cannot retry a
// failed Subscribe cleanly (it leaks its close accounting). A consumer that
// stays bound means another process consumes it: an error, since the
// projections need one ordered consumer.
func (j JetStream) waitUnbound(url string, patience time.Duration, opts ...nats.Option) error {
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return fmt.Errorf("wm: jetstream: connecting to %s: %w", url, err)
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		return fmt.Errorf("wm: jetstream: %w", err)
	}
	deadline := time.Now().Add(patience)
	for delay := 10 * time.Millisecond; ; delay = min(2*delay, 250*time.Millisecond) {
		info, err := js.ConsumerInfo(j.Stream, j.Durable)
		switch {
		case errors.Is(err, nats.ErrConsumerNotFound), errors.Is(err, nats.ErrStreamNotFound):
			return nil // Provision or the subscriber will say so
		case err != nil:
			return fmt.Errorf("wm: jetstream: consumer %s: %w", j.Durable, err)
		case !info.PushBound:
			return nil
		case time.Now().After(deadline):
			return fmt.Errorf("wm: jetstream: consumer %s is still bound to a subscription after %v: is another process consuming it?", j.Durable, patience)
		}
		time.Sleep(delay)
	}
}
