package wm

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/projections"
)

// DefaultTopic is the topic events are published to when none is set.
const DefaultTopic = "respool.events"

// Backoff says how a failed step is retried: up to Retries more attempts,
// waiting Initial before the first, then twice as long each time, up to
// Max. The zero value means 5 retries from 100ms up to 5s; a negative
// Retries means none.
type Backoff struct {
	Retries int
	Initial time.Duration
	Max     time.Duration
}

func (b Backoff) retries() int {
	switch {
	case b.Retries < 0:
		return 0
	case b.Retries == 0:
		return 5
	}
	return b.Retries
}

// delay is the wait before retry n (from 1).
func (b Backoff) delay(n int) time.Duration {
	d, hi := b.Initial, b.Max
	if d <= 0 {
		d = 100 * time.Millisecond
	}
	if hi <= 0 {
		hi = 5 * time.Second
	}
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}

// sleep waits before retry n, or returns ctx's error.
func (b Backoff) sleep(ctx context.Context, n int) error {
	t := time.NewTimer(b.delay(n))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// DispatcherConfig configures a Dispatcher. Store and Publisher are
// required; the rest defaults.
type DispatcherConfig struct {
	// Store is the store whose global log is published.
	Store eventstore.Store
	// Publisher receives one message per event (see Message). It must keep
	// the order of the Publish calls and return only once the message is
	// stored: NATS JetStream (see JetStream), or gochannel only with
	// BlockPublishUntilSubscriberAck (ARCHITECTURE.md: its default mode
	// reorders).
	Publisher message.Publisher
	// Topic is the topic published to. "": DefaultTopic.
	Topic string
	// Checkpoint keeps the position of the last event published, so that
	// a restarted dispatcher resumes after it. nil: in memory (a new
	// dispatcher then publishes the whole log again, which a broker that
	// deduplicates by message id, and the consumers' checkpoints, absorb).
	Checkpoint projections.Checkpoint
	// Backoff retries a failed Publish before Run gives up.
	Backoff Backoff
	// Logger logs retries. nil: none.
	Logger watermill.LoggerAdapter
}

// Validate reports a configuration that cannot work.
func (c DispatcherConfig) Validate() error {
	if c.Store == nil {
		return errors.New("wm: DispatcherConfig.Store is required")
	}
	if c.Publisher == nil {
		return errors.New("wm: DispatcherConfig.Publisher is required")
	}
	return nil
}

// Dispatcher publishes every committed event of a store's global log, in
// position order, to a watermill Publisher: the only way events leave the
// process (nothing publishes from the append path, which would be a dual
// write). It tails the log from its own checkpoint and saves the checkpoint
// after each Publish returns, so a dispatcher stopped at any point and
// started again loses nothing; at worst it publishes the last event again,
// with the same message id, which JetStream with TrackMsgId drops and a
// Consumer skips by position.
type Dispatcher struct {
	cfg       DispatcherConfig
	pos       atomic.Uint64
	published atomic.Uint64
}

// NewDispatcher returns a dispatcher; Run starts it.
func NewDispatcher(cfg DispatcherConfig) (*Dispatcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Topic == "" {
		cfg.Topic = DefaultTopic
	}
	if cfg.Checkpoint == nil {
		cfg.Checkpoint = new(projections.MemCheckpoint)
	}
	if cfg.Logger == nil {
		cfg.Logger = watermill.NopLogger{}
	}
	return &Dispatcher{cfg: cfg}, nil
}

// Position returns the position of the last event published and
// checkpointed by Run.
func (d *Dispatcher) Position() eventstore.Position { return eventstore.Position(d.pos.Load()) }

// Published returns the number of messages Run has published.
func (d *Dispatcher) Published() uint64 { return d.published.Load() }

// Run publishes the log after the checkpoint, then each event as it is
// committed, until ctx is done (it returns ctx's error) or a step fails
// after its retries (it returns the error; nothing after the failed event
// was published). Run must not be called twice at the same time on
// dispatchers sharing a checkpoint.
func (d *Dispatcher) Run(ctx context.Context) error {
	after, err := d.cfg.Checkpoint.Load()
	if err != nil {
		return fmt.Errorf("wm: dispatcher: loading the checkpoint: %w", err)
	}
	d.pos.Store(uint64(after))
	for rec, err := range d.cfg.Store.Subscribe(ctx, after) {
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("wm: dispatcher: following the log after position %d: %w", d.Position(), err)
		}
		if err := d.publish(ctx, rec); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (d *Dispatcher) publish(ctx context.Context, rec eventstore.Record) error {
	for n := 0; ; n++ {
		err := d.cfg.Publisher.Publish(d.cfg.Topic, Message(rec))
		if err == nil {
			d.published.Add(1)
			break
		}
		if n >= d.cfg.Backoff.retries() {
			return fmt.Errorf("wm: dispatcher: publishing position %d (stream %s, version %d) failed %d times: %w",
				rec.Position, rec.Stream, rec.Version, n+1, err)
		}
		d.cfg.Logger.Error("Publishing failed, retrying", err, watermill.LogFields{"position": rec.Position, "retry": n + 1})
		if err := d.cfg.Backoff.sleep(ctx, n+1); err != nil {
			return err
		}
	}
	if err := d.cfg.Checkpoint.Save(rec.Position); err != nil {
		return fmt.Errorf("wm: dispatcher: saving position %d: %w", rec.Position, err)
	}
	d.pos.Store(uint64(rec.Position))
	return nil
}
