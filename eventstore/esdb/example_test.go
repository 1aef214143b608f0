package esdb_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/eventstore/esdb"
	"github.com/respool/respool/eventstore/esdb/esdbtest"
)

// Open a store on a server, append to a pool's stream, and read the global
// log back. The server here is the in-process test double; with a real node,
// use its connection string, such as "esdb://localhost:2113?tls=false".
func ExampleOpen() {
	srv, err := esdbtest.NewServer("127.0.0.1:0", esdbtest.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Stop()

	ctx := context.Background()
	store, err := esdb.Open(ctx, esdb.Config{URL: srv.URL()})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	at := time.Date(2025, 3, 1, 8, 30, 0, 0, time.UTC)
	res, err := store.Append(ctx, "pool-train", eventstore.NoStream,
		eventstore.Event{ID: "cmd-1/0", Type: "pool.created", Data: []byte(`{"nodes":4}`), Time: at},
		eventstore.Event{ID: "cmd-1/1", Type: "pool.node_added", Data: []byte(`{"node":"n1"}`), Time: at},
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("version %d, position %d\n", res.Version, res.Position)

	// A retry of the same command is recognised by its event ids.
	res, err = store.Append(ctx, "pool-train", eventstore.NoStream,
		eventstore.Event{ID: "cmd-1/0", Type: "pool.created", Data: []byte(`{"nodes":4}`), Time: at},
		eventstore.Event{ID: "cmd-1/1", Type: "pool.node_added", Data: []byte(`{"node":"n1"}`), Time: at},
	)
	fmt.Printf("retry: version %d, position %d, error %v\n", res.Version, res.Position, err)

	for r, err := range store.ReadAll(ctx, 0) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(r.Position, r.Stream, r.Version, r.Type, r.ID)
	}
	// Output:
	// version 2, position 2
	// retry: version 2, position 2, error <nil>
	// 1 pool-train 1 pool.created cmd-1/0
	// 2 pool-train 2 pool.node_added cmd-1/1
}
