package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/eventstore/sqlite"
)

// project applies the log after the checkpoint to a read model table (events
// per stream) and saves the checkpoint, in one transaction; fail makes the
// transaction fail after both writes.
func project(ctx context.Context, s *sqlite.Store, fail error) error {
	from, err := s.Checkpoint(ctx, "counts")
	if err != nil {
		return err
	}
	return s.InTx(ctx, func(tx *sql.Tx) error {
		last := from
		for r, err := range s.ReadAll(ctx, from) {
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO counts (stream, n) VALUES (?, 1)
				ON CONFLICT (stream) DO UPDATE SET n = n + 1`, r.Stream); err != nil {
				return err
			}
			last = r.Position
		}
		if err := s.SaveCheckpointTx(ctx, tx, "counts", last); err != nil {
			return err
		}
		return fail
	})
}

func counts(t *testing.T, s *sqlite.Store) (map[string]int, eventstore.Position) {
	t.Helper()
	ctx := context.Background()
	got := make(map[string]int)
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT stream, n FROM counts`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var stream string
			var n int
			if err := rows.Scan(&stream, &n); err != nil {
				return err
			}
			got[stream] = n
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := s.Checkpoint(ctx, "counts")
	if err != nil {
		t.Fatal(err)
	}
	return got, cp
}

func TestCheckpointInTheReadModelTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := open(t)
	if cp, err := s.Checkpoint(ctx, "counts"); err != nil || cp != 0 {
		t.Fatalf("Checkpoint of a projection that never saved one = %d, %v; want 0, nil", cp, err)
	}
	if err := s.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE counts (stream TEXT PRIMARY KEY, n INTEGER NOT NULL)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	ev := eventstore.Event{Type: "t"}
	s.Append(ctx, "a", eventstore.Any, ev, ev)
	s.Append(ctx, "b", eventstore.Any, ev)
	if err := project(ctx, s, nil); err != nil {
		t.Fatal(err)
	}
	got, cp := counts(t, s)
	if got["a"] != 2 || got["b"] != 1 || cp != 3 {
		t.Fatalf("after projecting: counts %v, checkpoint %d; want a:2 b:1 at 3", got, cp)
	}

	// A failed transaction changes neither the read model nor the checkpoint.
	s.Append(ctx, "a", eventstore.Any, ev)
	boom := errors.New("boom")
	if err := project(ctx, s, boom); !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want fn's error", err)
	}
	got, cp = counts(t, s)
	if got["a"] != 2 || got["b"] != 1 || cp != 3 {
		t.Fatalf("after a failed transaction: counts %v, checkpoint %d; want them unchanged (a:2 b:1 at 3)", got, cp)
	}

	// Nor does one that panics; the store goes on working.
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the panic did not reach the caller")
			}
		}()
		s.InTx(ctx, func(tx *sql.Tx) error {
			if err := s.SaveCheckpointTx(ctx, tx, "counts", 99); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	if _, cp := counts(t, s); cp != 3 {
		t.Fatalf("after a panic in InTx the checkpoint is %d, want 3", cp)
	}

	// Retried, the projection catches up exactly once.
	if err := project(ctx, s, nil); err != nil {
		t.Fatal(err)
	}
	got, cp = counts(t, s)
	if got["a"] != 3 || got["b"] != 1 || cp != 4 {
		t.Fatalf("after the retry: counts %v, checkpoint %d; want a:3 b:1 at 4", got, cp)
	}

	if _, err := s.Checkpoint(ctx, ""); !errors.Is(err, eventstore.ErrInvalid) {
		t.Errorf("Checkpoint(\"\") = %v, want ErrInvalid", err)
	}
	s.Close()
	if err := s.InTx(ctx, func(*sql.Tx) error { return nil }); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("InTx after Close = %v, want ErrClosed", err)
	}
}
