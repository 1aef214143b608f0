package postgres_test

import (
	"context"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5"

	"github.com/respool/respool/eventstore/postgres"
)

// A projection that keeps its read model and its checkpoint in the same
// database, updated in one transaction: after a crash it resumes exactly
// where its last committed transaction left off.
func Example_projection() {
	ctx := context.Background()
	s, err := postgres.Open(ctx, postgres.Config{ConnString: os.Getenv("RESPOOL_POSTGRES_URL"), Schema: "respool_example"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	from, err := s.Checkpoint(ctx, "node-counts")
	if err != nil {
		fmt.Println(err)
		return
	}
	for r, err := range s.Subscribe(ctx, from) {
		if err != nil {
			fmt.Println(err)
			return
		}
		err = s.InTx(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `UPDATE respool_example.node_counts SET n = n + 1 WHERE pool = $1`, r.Stream); err != nil {
				return err
			}
			return s.SaveCheckpointTx(ctx, tx, "node-counts", r.Position)
		})
		if err != nil {
			fmt.Println(err)
			return
		}
	}
}
