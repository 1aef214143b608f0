package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/eventstore/internal/backendtest"
	"github.com/respool/respool/eventstore/sqlite"
)

// TestHelperWriter is not a test: TestKillWriter runs the test binary with
// it as a child process that appends until it is killed.
func TestHelperWriter(t *testing.T) {
	path := os.Getenv(backendtest.EnvWriter)
	if path == "" {
		t.Skip("only runs as the child process of TestKillWriter")
	}
	ctx := context.Background()
	round := os.Getenv(backendtest.EnvRound)
	sync := sqlite.SyncFull
	if round == "1" {
		sync = sqlite.SyncNormal // survives a crash of the process too
	}
	s, err := sqlite.Open(ctx, sqlite.Config{Path: path, Sync: sync})
	if err != nil {
		t.Fatal(err)
	}
	err = backendtest.Write(ctx, s, round, os.Stdout)
	t.Fatal(err) // Write only returns on error
}

// TestKillWriter SIGKILLs a writer process in the middle of its appends,
// three times (the second with SyncNormal), and checks after each that every
// acknowledged append is in the file, none is partly there, positions are
// gap-free, and the store opens and accepts appends.
func TestKillWriter(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	t.Parallel()
	path := filepath.Join(t.TempDir(), "events.db")
	backendtest.KillWriter(t, "TestHelperWriter", path, 3, 40, func(t *testing.T) eventstore.Store {
		s, err := sqlite.Open(context.Background(), sqlite.Config{Path: path})
		if err != nil {
			t.Fatalf("open after the kill: %v", err)
		}
		return s
	})
}
