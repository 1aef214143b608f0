package wm

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/projections"
)

// DefaultPoisonTopic is the topic undecodable messages go to when none is
// set.
const DefaultPoisonTopic = "respool.poison"

// ErrGap is wrapped by the Consumer's error for a message whose position is
// not the one after its checkpoint: events between them never arrived (the
// subscription started past them, or the transport lost or reordered
// them). Applying it would make the projections silently wrong.
var ErrGap = errors.New("wm: events are missing before this one")

// ErrStopped is wrapped by the error a Consumer returns once it has stopped
// (see Consumer.Err).
var ErrStopped = errors.New("wm: consumer stopped")

// ConsumerConfig configures a Consumer. Projections is required; the rest
// defaults.
type ConsumerConfig struct {
	// Name identifies the consumer in errors, logs and poison messages.
	// "": "respool".
	Name string
	// Projections are fed every event, in position order.
	Projections []projections.Projection
	// Checkpoint keeps the position of the last message handled (applied,
	// skipped or poisoned). nil: in memory, starting at the lowest position
	// of the projections. A saved position below that is moved up to it;
	// one above it is an error (the projections would miss events).
	Checkpoint projections.Checkpoint
	// PoisonPublisher receives the messages that can never be applied
	// (ErrUndecodable), on PoisonTopic, with KeyPoisonReason set; the
	// consumer then acknowledges them and goes on. nil: such messages are
	// failures like any other, and stop the consumer.
	PoisonPublisher message.Publisher
	// PoisonTopic: "": DefaultPoisonTopic.
	PoisonTopic string
	// Backoff retries any other failure (a gap, a projection or checkpoint
	// error, a failed poison publish) before the consumer stops.
	Backoff Backoff
	// Logger logs retries, poison messages and the stop. nil: none.
	Logger watermill.LoggerAdapter
}

// Stats counts what a Consumer did with the messages it was given.
type Stats struct {
	Applied  uint64 // applied to the projections
	Skipped  uint64 // at or below the checkpoint: redeliveries and duplicates
	Poisoned uint64 // sent to the poison topic
	Retries  uint64 // failed attempts that were retried
}

// Consumer applies the events that a Dispatcher published to projections,
// from a watermill Router handler (Handle, or AddHandler to wire it). It
// deduplicates by global position, never by payload (ARCHITECTURE.md: the
// middleware.Deduplicator drops distinct events with equal bodies): a
// message at or below its checkpoint is acknowledged and changes nothing,
// so redeliveries are harmless.
//
// Failures are of two kinds. A message that can never be applied
// (ErrUndecodable) goes to the poison topic and is acknowledged. Anything
// else is retried with backoff; if it still fails, the consumer stops:
// Done is closed, Err says why, the message is not acknowledged, and every
// later message is refused. A billing read model must never silently skip
// an event. The broker delivers the refused message again to the next
// consumer started on the same durable subscription (JetStream: at once if
// the refusal reached it before the subscription closed, otherwise after
// its AckWait).
//
// Handle is safe for concurrent use; messages are applied one at a time,
// in the order of their positions.
type Consumer struct {
	cfg    ConsumerConfig
	runner *projections.Runner

	mu  sync.Mutex
	pos eventstore.Position // last position handled

	stopOnce sync.Once
	done     chan struct{}
	err      atomic.Pointer[error]
	hooksMu  sync.Mutex
	hooks    []func() // run on stop: stop the router handlers added by AddHandler

	applied, skipped, poisoned, retries atomic.Uint64
}

// NewConsumer returns a consumer feeding cfg.Projections.
func NewConsumer(cfg ConsumerConfig) (*Consumer, error) {
	if len(cfg.Projections) == 0 {
		return nil, errors.New("wm: ConsumerConfig.Projections is empty")
	}
	if cfg.Name == "" {
		cfg.Name = "respool"
	}
	if cfg.PoisonTopic == "" {
		cfg.PoisonTopic = DefaultPoisonTopic
	}
	if cfg.Checkpoint == nil {
		cfg.Checkpoint = new(projections.MemCheckpoint)
	}
	if cfg.Logger == nil {
		cfg.Logger = watermill.NopLogger{}
	}
	c := &Consumer{cfg: cfg, runner: projections.NewRunner(nil, cfg.Projections...), done: make(chan struct{})}
	saved, err := cfg.Checkpoint.Load()
	if err != nil {
		return nil, fmt.Errorf("wm: consumer %s: loading the checkpoint: %w", cfg.Name, err)
	}
	low := c.runner.Position()
	if saved > low {
		return nil, fmt.Errorf("wm: consumer %s: checkpoint at position %d is ahead of the projections (the lowest is at %d): "+
			"they would miss events %d to %d; rebuild them from the store or reset the checkpoint", cfg.Name, saved, low, low+1, saved)
	}
	c.pos = low
	return c, nil
}

// Position returns the position of the last message handled.
func (c *Consumer) Position() eventstore.Position {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pos
}

// Stats returns what the consumer has done so far.
func (c *Consumer) Stats() Stats {
	return Stats{Applied: c.applied.Load(), Skipped: c.skipped.Load(), Poisoned: c.poisoned.Load(), Retries: c.retries.Load()}
}

// Done is closed when the consumer stops on a failure.
func (c *Consumer) Done() <-chan struct{} { return c.done }

// Err returns why the consumer stopped, or nil while it runs. The error
// wraps ErrStopped and the failure (ErrGap, a projection's error, ...), and
// names the message's position, stream and version.
func (c *Consumer) Err() error {
	if p := c.err.Load(); p != nil {
		return *p
	}
	return nil
}

func (c *Consumer) stop(err error) {
	c.stopOnce.Do(func() {
		err = fmt.Errorf("%w: %s: %w", ErrStopped, c.cfg.Name, err)
		c.err.Store(&err)
		c.cfg.Logger.Error("Projection consumer stopped", err, nil)
		close(c.done)
		c.hooksMu.Lock()
		hooks := c.hooks
		c.hooksMu.Unlock()
		for _, h := range hooks {
			h()
		}
	})
}

// AddHandler adds Handle to router as a consumer handler of topic from sub,
// and stops that handler when the consumer stops (the router closes itself
// once all its handlers have stopped). The consumer stops only while
// handling a message, so the handler has started by then.
func (c *Consumer) AddHandler(router *message.Router, name, topic string, sub message.Subscriber) *message.Handler {
	h := router.AddConsumerHandler(name, topic, sub, c.Handle)
	c.hooksMu.Lock()
	c.hooks = append(c.hooks, h.Stop)
	c.hooksMu.Unlock()
	return h
}

// Handle applies one message: a watermill message.NoPublishHandlerFunc. It
// returns nil to acknowledge (applied, skipped or poisoned) and an error to
// refuse the message (the consumer has stopped, or the message's context
// ended during a retry).
func (c *Consumer) Handle(msg *message.Message) error {
	ctx := msg.Context()
	if err := c.Err(); err != nil {
		// Refuse without spinning: a transport that redelivers at once on
		// Nack (gochannel) would otherwise loop until the handler stops.
		<-ctx.Done()
		return err
	}
	for n := 0; ; n++ {
		err := c.attempt(msg)
		if err == nil {
			return nil
		}
		if n >= c.cfg.Backoff.retries() {
			c.stop(err)
			return c.Err()
		}
		c.retries.Add(1)
		c.cfg.Logger.Error("Applying an event failed, retrying", err, watermill.LogFields{"message_uuid": msg.UUID, "retry": n + 1})
		if err := c.cfg.Backoff.sleep(ctx, n+1); err != nil {
			return fmt.Errorf("wm: consumer %s: message %s: %w (while retrying)", c.cfg.Name, msg.UUID, err)
		}
		if err := c.Err(); err != nil { // stopped meanwhile by another message
			return err
		}
	}
}

// attempt handles msg once, under the lock: nil if it is done with.
func (c *Consumer) attempt(msg *message.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	rec, err := RecordOf(msg)
	if err != nil {
		return c.poison(msg, 0, err)
	}
	if rec.Position <= c.pos {
		c.skipped.Add(1)
		return nil
	}
	where := fmt.Sprintf("position %d (stream %s, version %d, message %s)", rec.Position, rec.Stream, rec.Version, msg.UUID)
	if rec.Position != c.pos+1 {
		return fmt.Errorf("%w: %s arrived after position %d; events %d to %d are missing",
			ErrGap, where, c.pos, c.pos+1, rec.Position-1)
	}
	e, err := projections.Decode(rec)
	if err != nil {
		return c.poison(msg, rec.Position, fmt.Errorf("%w: %w", ErrUndecodable, err))
	}
	if err := c.runner.ApplyEnvelope(e); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	if err := c.cfg.Checkpoint.Save(rec.Position); err != nil {
		return fmt.Errorf("%s: saving the checkpoint: %w", where, err)
	}
	c.pos = rec.Position
	c.applied.Add(1)
	return nil
}

// poison sends an undecodable message to the poison topic and moves the
// checkpoint past it (pos 0: it carries no position, and the checkpoint
// stays). Without a poison publisher it is a failure like any other.
func (c *Consumer) poison(msg *message.Message, pos eventstore.Position, cause error) error {
	if c.cfg.PoisonPublisher == nil {
		return cause
	}
	p := msg.Copy()
	p.Metadata.Set(KeyPoisonReason, cause.Error())
	p.Metadata.Set(KeyPoisonConsumer, c.cfg.Name)
	if err := c.cfg.PoisonPublisher.Publish(c.cfg.PoisonTopic, p); err != nil {
		return fmt.Errorf("%w; and publishing it to %s failed: %w", cause, c.cfg.PoisonTopic, err)
	}
	if pos > 0 {
		if err := c.cfg.Checkpoint.Save(pos); err != nil {
			return fmt.Errorf("poisoned position %d: saving the checkpoint: %w", pos, err)
		}
		c.pos = pos
	}
	c.poisoned.Add(1)
	c.cfg.Logger.Error("Undecodable message sent to the poison topic", cause, watermill.LogFields{"message_uuid": msg.UUID, "topic": c.cfg.PoisonTopic})
	return nil
}

var _ message.NoPublishHandlerFunc = (*Consumer)(nil).Handle
