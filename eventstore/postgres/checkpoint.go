package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/respool/respool/eventstore"
)

// Checkpoint returns the position saved under name by [Store.SaveCheckpointTx]
// (0 if none was saved): where the projection called name should go on
// reading the global log.
func (s *Store) Checkpoint(ctx context.Context, name string) (eventstore.Position, error) {
	if name == "" {
		return 0, fmt.Errorf("%w: empty checkpoint name", eventstore.ErrInvalid)
	}
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	var p int64
	err := s.pool.QueryRow(ctx, s.q.checkpoint, name).Scan(&p)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, s.fail(ctx, "checkpoint "+name, err)
	}
	return eventstore.Position(p), nil
}

// InTx runs fn in one transaction (READ COMMITTED) on a connection of the
// store's pool and commits it if fn returns nil; if fn fails (or panics) it
// rolls back and returns fn's error. Use it to update a read model kept in
// the same database together with its checkpoint ([Store.SaveCheckpointTx]):
// both change, or neither does.
//
// Appends go on while fn runs (they are not in tx). fn must not keep tx
// after it returns. If the commit itself fails because the connection was
// lost, whether it committed is unknown: read the checkpoint to find out.
func (s *Store) InTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return s.fail(ctx, "begin", err)
	}
	defer tx.Rollback(context.Background()) // after Commit, a no-op
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return s.fail(ctx, "commit", err)
	}
	return nil
}

// SaveCheckpointTx saves pos as the checkpoint called name, in tx (from
// [Store.InTx], or any transaction on the same database): it becomes
// visible when, and only if, tx commits.
func (s *Store) SaveCheckpointTx(ctx context.Context, tx pgx.Tx, name string, pos eventstore.Position) error {
	if name == "" {
		return fmt.Errorf("%w: empty checkpoint name", eventstore.ErrInvalid)
	}
	if _, err := tx.Exec(ctx, s.q.saveCheckpoint, name, clamp(uint64(pos))); err != nil {
		return s.fail(ctx, "save checkpoint "+name, err)
	}
	return nil
}
