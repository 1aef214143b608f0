package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/respool/respool/eventstore"
)

// Append events to a stream with optimistic concurrency, lose a race, and
// read the stream back.
func Example() {
	ctx := context.Background()
	store := eventstore.NewMemory()
	defer store.Close()

	at := time.Date(2025, time.March, 1, 9, 0, 0, 0, time.UTC)
	created := eventstore.Event{
		ID:   "0195a3c0-7d1e-7000-8000-000000000001",
		Type: "pool.created",
		Data: []byte(`{"name":"train-a"}`),
		Time: at,
	}
	res, err := store.Append(ctx, "pool-train-a", eventstore.NoStream, created)
	if err != nil {
		panic(err)
	}
	fmt.Println("created at version", res.Version, "position", res.Position)

	// Two writers read version 1 and both try to add a node: the first wins.
	node := func(id, node string) eventstore.Event {
		return eventstore.Event{ID: id, Type: "pool.node_added", Data: []byte(`{"node":"` + node + `"}`), Time: at.Add(time.Minute)}
	}
	_, err = store.Append(ctx, "pool-train-a", eventstore.ExpectVersion(1), node("0195a3c0-7d1e-7000-8000-000000000002", "n-1"))
	fmt.Println("first writer:", err)
	_, err = store.Append(ctx, "pool-train-a", eventstore.ExpectVersion(1), node("0195a3c0-7d1e-7000-8000-000000000003", "n-2"))
	fmt.Println("second writer conflicts:", errors.Is(err, eventstore.ErrConflict))
	var conflict *eventstore.ConflictError
	if errors.As(err, &conflict) {
		fmt.Println("the stream is at version", conflict.Actual)
	}

	for rec, err := range store.ReadStream(ctx, "pool-train-a", 0) {
		if err != nil {
			panic(err)
		}
		fmt.Println(rec.Version, rec.Position, rec.Type, string(rec.Data))
	}
	// Output:
	// created at version 1 position 1
	// first writer: <nil>
	// second writer conflicts: true
	// the stream is at version 2
	// 1 1 pool.created {"name":"train-a"}
	// 2 2 pool.node_added {"node":"n-1"}
}

// A projection follows the global log: first the events already stored, then
// new ones as they are committed. Here it stops after three events; a real
// one runs until its context is cancelled and keeps its last position as a
// checkpoint.
func ExampleMemory_Subscribe() {
	ctx := context.Background()
	store := eventstore.NewMemory()
	defer store.Close()

	at := time.Date(2025, time.March, 1, 9, 0, 0, 0, time.UTC)
	ev := func(typ string) eventstore.Event { return eventstore.Event{Type: typ, Time: at} }
	if _, err := store.Append(ctx, "pool-a", eventstore.NoStream, ev("pool.created"), ev("pool.node_added")); err != nil {
		panic(err)
	}

	go func() {
		// Committed after the subscription has caught up, or before: it
		// arrives once either way.
		time.Sleep(10 * time.Millisecond)
		if _, err := store.Append(ctx, "pool-b", eventstore.NoStream, ev("pool.created")); err != nil {
			panic(err)
		}
	}()

	var checkpoint eventstore.Position
	for rec, err := range store.Subscribe(ctx, checkpoint) {
		if err != nil {
			panic(err)
		}
		fmt.Println(rec.Position, rec.Stream, rec.Type)
		checkpoint = rec.Position
		if checkpoint == 3 {
			break
		}
	}
	// Output:
	// 1 pool-a pool.created
	// 2 pool-a pool.node_added
	// 3 pool-b pool.created
}
