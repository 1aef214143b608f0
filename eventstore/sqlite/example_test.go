package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/eventstore/sqlite"
)

func Example() {
	dir, _ := os.MkdirTemp("", "respool-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	s, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(dir, "pools.db")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	at := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	res, err := s.Append(ctx, "pool-1", eventstore.NoStream,
		eventstore.Event{ID: "e1", Type: "pool.created", Data: []byte(`{"nodes":2}`), Time: at},
		eventstore.Event{ID: "e2", Type: "pool.scaled_out", Data: []byte(`{"nodes":1}`), Time: at.Add(time.Hour)},
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("appended up to version", res.Version, "position", res.Position)

	_, err = s.Append(ctx, "pool-1", eventstore.NoStream, eventstore.Event{ID: "e3", Type: "pool.created"})
	fmt.Println("a second create:", err)

	for r, err := range s.ReadAll(ctx, 0) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(r.Position, r.Stream, r.Version, r.Type, string(r.Data), r.Time.Format(time.RFC3339))
	}
	// Output:
	// appended up to version 2 position 2
	// a second create: eventstore: conflict on stream pool-1: expected version 0, actual 2
	// 1 pool-1 1 pool.created {"nodes":2} 2025-03-01T08:00:00Z
	// 2 pool-1 2 pool.scaled_out {"nodes":1} 2025-03-01T09:00:00Z
}
