package postgres_test

import (
	"testing"

	"github.com/respool/respool/eventstore/internal/backendtest"
	"github.com/respool/respool/eventstore/postgres"
)

// BenchmarkAppend measures appends from one goroutine and from 8, with the
// server's synchronous_commit (on, here).
func BenchmarkAppend(b *testing.B) {
	b.Run("batch=100", func(b *testing.B) { backendtest.BenchAppend(b, open(b, postgres.Config{}), 100) })
	b.Run("batch=1", func(b *testing.B) { backendtest.BenchAppend(b, open(b, postgres.Config{}), 1) })
	b.Run("batch=1/parallel=8", func(b *testing.B) {
		backendtest.BenchAppendParallel(b, open(b, postgres.Config{MaxConns: 10}), 1, 4)
	})
	b.Run("batch=100/parallel=8", func(b *testing.B) {
		backendtest.BenchAppendParallel(b, open(b, postgres.Config{MaxConns: 10}), 100, 4)
	})
}

// BenchmarkReadAll reads a log of 100,000 events.
func BenchmarkReadAll(b *testing.B) {
	const n = 100_000
	s := open(b, postgres.Config{})
	backendtest.FillForRead(b, s, n)
	backendtest.BenchReadAll(b, s, n)
}
