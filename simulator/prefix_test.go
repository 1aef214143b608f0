package simulator

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/eventstore/sqlite"
	"github.com/respool/respool/eventstore/storetest"
)

// TestPrefixStoreConformance runs the conformance kit on variant views.
// Every subtest's view shares one store with the views of the subtests
// running beside it, so each view keeps its own gap-free log from 1 while
// the shared log interleaves them all. Not parallel: one of the kit's
// subtests counts goroutines.
func TestPrefixStoreConformance(t *testing.T) {
	shared := map[string]func(t *testing.T) (eventstore.Store, storetest.Features){
		"memory": func(t *testing.T) (eventstore.Store, storetest.Features) {
			return eventstore.NewMemory(), storetest.Features{PreservesMetadata: true, TimePrecision: time.Nanosecond}
		},
		"sqlite": func(t *testing.T) (eventstore.Store, storetest.Features) {
			s, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "shared.db"), Sync: sqlite.SyncNormal})
			if err != nil {
				t.Fatal(err)
			}
			// Reads come from the view's copy in memory: times are exact.
			return s, storetest.Features{PreservesMetadata: true, TimePrecision: time.Nanosecond}
		},
	}
	for _, name := range []string{"memory", "sqlite"} {
		t.Run(name, func(t *testing.T) {
			under, f := shared[name](t)
			t.Cleanup(func() { under.Close() })
			var n atomic.Int64
			storetest.Run(t, func(t *testing.T) eventstore.Store {
				return newPrefixStore(under, fmt.Sprintf("v%d/", n.Add(1)))
			}, f)
		})
	}
}

// TestPrefixStoreLayout: what a view writes is in the shared store under
// its prefix, ids included, and comes back without it.
func TestPrefixStoreLayout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	under := eventstore.NewMemory()
	a, b := newPrefixStore(under, "v0/"), newPrefixStore(under, "v1/")
	ev := func(id string) eventstore.Event {
		return eventstore.Event{ID: id, Type: "test.x", Data: []byte(`{}`), Time: time.Unix(0, 0)}
	}
	for _, step := range []struct {
		s  *prefixStore
		id string
	}{{a, "e1"}, {b, "e1"}, {b, "e2"}, {a, "e2"}} {
		if _, err := step.s.Append(ctx, "pool-x", eventstore.Any, ev(step.id)); err != nil {
			t.Fatal(err)
		}
	}
	var shared []string
	for r, err := range under.ReadAll(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		shared = append(shared, fmt.Sprintf("%d %s v%d %s", r.Position, r.Stream, r.Version, r.ID))
	}
	want := []string{"1 v0/pool-x v1 v0/e1", "2 v1/pool-x v1 v1/e1", "3 v1/pool-x v2 v1/e2", "4 v0/pool-x v2 v0/e2"}
	if fmt.Sprint(shared) != fmt.Sprint(want) {
		t.Errorf("shared log %q, want %q", shared, want)
	}
	var got []string
	for r, err := range a.ReadAll(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d %s v%d %s", r.Position, r.Stream, r.Version, r.ID))
	}
	if want := []string{"1 pool-x v1 e1", "2 pool-x v2 e2"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("view v0/ reads %q, want %q", got, want)
	}
	_, err := a.Append(ctx, "pool-x", eventstore.ExpectVersion(1), ev("e3"))
	var ce *eventstore.ConflictError
	if !errors.As(err, &ce) || ce.Stream != "pool-x" || ce.Actual != 2 {
		t.Errorf("conflict: %v, want one on pool-x at version 2", err)
	}

	// Another writer under the view's prefix is reported, not folded in.
	if _, err := under.Append(ctx, "v0/pool-x", eventstore.Any, ev("intruder")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Append(ctx, "pool-x", eventstore.Any, ev("e3")); err == nil || !strings.Contains(err.Error(), `another writer use prefix "v0/"`) {
		t.Errorf("a foreign event under the view's prefix: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Head(ctx); err != nil {
		t.Errorf("closing one view closed another: %v", err)
	}
	if _, err := under.Head(ctx); err != nil {
		t.Errorf("closing a view closed the shared store: %v", err)
	}
}
