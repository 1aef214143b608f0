package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/respool/respool/eventstore/internal/backendtest"
	"github.com/respool/respool/eventstore/sqlite"
)

func benchStore(b *testing.B, sync sqlite.Sync) *sqlite.Store {
	b.Helper()
	s, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(b.TempDir(), "bench.db"), Sync: sync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkAppend measures appends from one goroutine with the default
// durability (SyncFull: an fsync per commit) and with SyncNormal.
func BenchmarkAppend(b *testing.B) {
	for _, sync := range []struct {
		name string
		s    sqlite.Sync
	}{{"full", sqlite.SyncFull}, {"normal", sqlite.SyncNormal}} {
		b.Run("sync="+sync.name+"/batch=100", func(b *testing.B) { backendtest.BenchAppend(b, benchStore(b, sync.s), 100) })
		b.Run("sync="+sync.name+"/batch=1", func(b *testing.B) { backendtest.BenchAppend(b, benchStore(b, sync.s), 1) })
	}
	b.Run("sync=full/batch=1/parallel=8", func(b *testing.B) {
		backendtest.BenchAppendParallel(b, benchStore(b, sqlite.SyncFull), 1, 4)
	})
}

// BenchmarkReadAll reads a log of 100,000 events.
func BenchmarkReadAll(b *testing.B) {
	const n = 100_000
	s := benchStore(b, sqlite.SyncNormal)
	backendtest.FillForRead(b, s, n)
	backendtest.BenchReadAll(b, s, n)
}
