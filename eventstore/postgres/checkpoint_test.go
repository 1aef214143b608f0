package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/eventstore/postgres"
)

// project applies the log after the checkpoint to a read model table (events
// per stream) and saves the checkpoint, in one transaction; fail makes the
// transaction fail after both writes.
func project(ctx context.Context, s *postgres.Store, table string, fail error) error {
	from, err := s.Checkpoint(ctx, "counts")
	if err != nil {
		return err
	}
	return s.InTx(ctx, func(tx pgx.Tx) error {
		last := from
		for r, err := range s.ReadAll(ctx, from) {
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO `+table+` (stream, n) VALUES ($1, 1)
				ON CONFLICT (stream) DO UPDATE SET n = `+table+`.n + 1`, r.Stream); err != nil {
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

func counts(t *testing.T, s *postgres.Store, table string) (map[string]int, eventstore.Position) {
	t.Helper()
	ctx := context.Background()
	rows, _ := s.Pool().Query(ctx, `SELECT stream, n FROM `+table)
	got := make(map[string]int)
	var stream string
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&stream, &n}, func() error { got[stream] = n; return nil }); err != nil {
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
	s := open(t, postgres.Config{})
	table := pgx.Identifier{s.Schema(), "counts"}.Sanitize()
	if cp, err := s.Checkpoint(ctx, "counts"); err != nil || cp != 0 {
		t.Fatalf("Checkpoint of a projection that never saved one = %d, %v; want 0, nil", cp, err)
	}
	if err := s.InTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `CREATE TABLE `+table+` (stream text PRIMARY KEY, n int NOT NULL)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	ev := eventstore.Event{Type: "t"}
	s.Append(ctx, "a", eventstore.Any, ev, ev)
	s.Append(ctx, "b", eventstore.Any, ev)
	if err := project(ctx, s, table, nil); err != nil {
		t.Fatal(err)
	}
	got, cp := counts(t, s, table)
	if got["a"] != 2 || got["b"] != 1 || cp != 3 {
		t.Fatalf("after projecting: counts %v, checkpoint %d; want a:2 b:1 at 3", got, cp)
	}

	// A failed transaction changes neither the read model nor the checkpoint.
	s.Append(ctx, "a", eventstore.Any, ev)
	boom := errors.New("boom")
	if err := project(ctx, s, table, boom); !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want fn's error", err)
	}
	got, cp = counts(t, s, table)
	if got["a"] != 2 || got["b"] != 1 || cp != 3 {
		t.Fatalf("after a failed transaction: counts %v, checkpoint %d; want them unchanged (a:2 b:1 at 3)", got, cp)
	}

	// Nor does one that panics.
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the panic did not reach the caller")
			}
		}()
		s.InTx(ctx, func(tx pgx.Tx) error {
			if err := s.SaveCheckpointTx(ctx, tx, "counts", 99); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	if _, cp := counts(t, s, table); cp != 3 {
		t.Fatalf("after a panic in InTx the checkpoint is %d, want 3", cp)
	}

	// Retried, the projection catches up exactly once.
	if err := project(ctx, s, table, nil); err != nil {
		t.Fatal(err)
	}
	got, cp = counts(t, s, table)
	if got["a"] != 3 || got["b"] != 1 || cp != 4 {
		t.Fatalf("after the retry: counts %v, checkpoint %d; want a:3 b:1 at 4", got, cp)
	}
	if _, err := s.Checkpoint(ctx, ""); !errors.Is(err, eventstore.ErrInvalid) {
		t.Errorf("Checkpoint(\"\") = %v, want ErrInvalid", err)
	}
}
