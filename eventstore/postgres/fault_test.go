package postgres_test

import (
	"context"
	"os"
	"testing"

	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/eventstore/internal/backendtest"
	"github.com/respool/respool/eventstore/postgres"
)

// TestHelperWriter is not a test: TestKillWriter runs the test binary with
// it as a child process that appends until it is killed.
func TestHelperWriter(t *testing.T) {
	schema := os.Getenv(backendtest.EnvWriter)
	if schema == "" {
		t.Skip("only runs as the child process of TestKillWriter")
	}
	ctx := context.Background()
	s, err := postgres.Open(ctx, postgres.Config{ConnString: connString(t), Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	err = backendtest.Write(ctx, s, os.Getenv(backendtest.EnvRound), os.Stdout)
	t.Fatal(err) // Write only returns on error
}

// TestKillWriter SIGKILLs a writer process in the middle of its appends,
// three times, and checks after each that every acknowledged append is in
// the schema, none is partly there, positions are gap-free, and the store
// opens and accepts appends.
func TestKillWriter(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	t.Parallel()
	schema := freshSchema(t)
	cs := connString(t)
	backendtest.KillWriter(t, "TestHelperWriter", schema, 3, 40, func(t *testing.T) eventstore.Store {
		s, err := postgres.Open(context.Background(), postgres.Config{ConnString: cs, Schema: schema})
		if err != nil {
			t.Fatalf("open after the kill: %v", err)
		}
		return s
	})
}
