package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

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
	err := s.r.QueryRowContext(ctx, `SELECT position FROM respool_checkpoints WHERE name = ?`, name).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, s.fail(ctx, "checkpoint", err)
	}
	return eventstore.Position(p), nil
}

// InTx runs fn in one write transaction on the store's database and commits
// it if fn returns nil; if fn fails (or panics) it rolls back and returns
// fn's error. Use it to update a read model kept in tables of the same file
// together with its checkpoint ([Store.SaveCheckpointTx]): both change, or
// neither does.
//
// Writes are serialised: InTx waits for running appends and blocks appends
// until it returns. fn must not call Append or InTx on the same Store (that
// would wait for itself forever); reads through the Store are fine, but they
// do not see fn's uncommitted writes (use tx for that). fn must not keep tx
// after it returns.
func (s *Store) InTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shut.Load() {
		return eventstore.ErrClosed
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(ctx, "begin", err)
	}
	defer tx.Rollback() // after Commit, a no-op
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.fail(ctx, "commit", err)
	}
	return nil
}

// SaveCheckpointTx saves pos as the checkpoint called name, in tx (from
// [Store.InTx]): it becomes visible when, and only if, tx commits.
func (s *Store) SaveCheckpointTx(ctx context.Context, tx *sql.Tx, name string, pos eventstore.Position) error {
	if name == "" {
		return fmt.Errorf("%w: empty checkpoint name", eventstore.ErrInvalid)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO respool_checkpoints (name, position) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET position = excluded.position`, name, int64(pos))
	if err != nil {
		return s.fail(ctx, "save checkpoint", err)
	}
	return nil
}
