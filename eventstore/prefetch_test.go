package eventstore

import (
	"testing"
	"time"
	"unsafe"
)

// ready waits for p's goroutine to have made an array ready.
func ready[T any](t *testing.T, p *prefetched[T]) []T {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if r := p.ready.Load(); r != nil && !p.busy.Load() {
			return *r
		}
	}
	t.Fatal("no array was made ready")
	return nil
}

func zero[T comparable](t *testing.T, a []T) {
	t.Helper()
	var z T
	for i, v := range a {
		if v != z {
			t.Fatalf("element %d of %d is %v, want zero", i, len(a), v)
		}
	}
}

// The next array is made ready, zeroed, and handed out by the next take of
// its length; one of another length is not handed out.
func TestPrefetchedHandsOutWhatItMadeReady(t *testing.T) {
	var p prefetched[slot]
	first := p.take(chunkSize, chunkSize)
	if len(first) != chunkSize {
		t.Fatalf("len %d", len(first))
	}
	zero(t, first)
	next := ready(t, &p)
	got := p.take(chunkSize, 0) // 0: make nothing ready after it
	if unsafe.SliceData(got) != unsafe.SliceData(next) || len(got) != chunkSize {
		t.Fatal("take did not hand out the array made ready")
	}
	zero(t, got)
	if p.busy.Load() || p.ready.Load() != nil {
		t.Fatal("take with next 0 made another array ready")
	}

	var b prefetched[byte]
	b.take(100<<10, 200<<10)
	made := ready(t, &b)
	if len(made) != 200<<10 {
		t.Fatalf("made ready %d bytes, want %d", len(made), 200<<10)
	}
	other := b.take(300<<10, 0) // too large for what is ready: made afresh
	if len(other) != 300<<10 || unsafe.SliceData(other) == unsafe.SliceData(made) {
		t.Fatal("take handed out an array of another length")
	}
	zero(t, other)
}
