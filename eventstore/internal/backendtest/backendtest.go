// Package backendtest holds the checks that the durable stores' own tests
// share beyond the conformance kit (eventstore/storetest): positions that
// become visible in order under concurrent writers, and a writer process
// killed with SIGKILL in the middle of its appends. It is internal and only
// imported by _test files.
package backendtest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/respool/respool/eventstore"
)

// VisibleInOrder runs 8 writer goroutines that each append appends batches
// (of 1 to 5 events, some to a stream shared by all writers), writer w
// through stores[w%len(stores)], while two followers read the log through
// s: one with repeated ReadAll from its last position, the way a
// checkpointing reader does, one with Subscribe. Each follower must see
// positions 1, 2, 3, ... with no gap and no repetition, and every event
// exactly once. A store whose positions do not become visible in order
// fails: the follower meets a gap (it saw p+1 while p was not yet visible).
// Give several stores over the same data (as several processes would open)
// to have concurrent transactions, not only concurrent calls of one store.
func VisibleInOrder(t *testing.T, s eventstore.Store, stores []eventstore.Store, appends int) {
	const writers = 8
	if len(stores) == 0 {
		stores = []eventstore.Store{s}
	}
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	total := 0
	sizes := func(w, i int) int { return 1 + (w+i)%5 }
	for w := range writers {
		for i := range appends {
			total += sizes(w, i)
		}
	}

	var wg sync.WaitGroup
	errs := make(chan error, writers+2)
	for w := range writers {
		wg.Go(func() {
			own := fmt.Sprintf("order-%d", w)
			for i := range appends {
				evs := make([]eventstore.Event, sizes(w, i))
				for j := range evs {
					evs[j] = eventstore.Event{ID: fmt.Sprintf("w%d-a%d-e%d", w, i, j), Type: "test.ordered", Data: []byte(`{}`)}
				}
				stream, exp := "order-shared", eventstore.Any
				if i%4 != 3 {
					stream = own
					v, err := stores[w%len(stores)].StreamVersion(ctx, own)
					if err != nil {
						errs <- err
						return
					}
					exp = eventstore.ExpectVersion(v)
				}
				if _, err := stores[w%len(stores)].Append(ctx, stream, exp, evs...); err != nil {
					errs <- fmt.Errorf("writer %d append %d: %w", w, i, err)
					cancel() // the followers would wait for ever
					return
				}
			}
		})
	}

	follow := func(name string, read func(after eventstore.Position) (eventstore.Position, error)) {
		defer wg.Done()
		var last eventstore.Position
		for last < eventstore.Position(total) {
			var err error
			if last, err = read(last); err != nil {
				errs <- fmt.Errorf("%s: %w", name, err)
				return
			}
		}
	}
	seenAll := make(map[string]int)
	var seenMu sync.Mutex
	check := func(name string, last eventstore.Position, r eventstore.Record) error {
		if r.Position != last+1 {
			return fmt.Errorf("%s: after position %d the next event seen has position %d: positions did not become visible in order", name, last, r.Position)
		}
		seenMu.Lock()
		seenAll[name+"/"+r.ID]++
		n := seenAll[name+"/"+r.ID]
		seenMu.Unlock()
		if n > 1 {
			return fmt.Errorf("%s: event %s seen twice", name, r.ID)
		}
		return nil
	}
	reads := 0
	wg.Add(2)
	go follow("ReadAll follower", func(last eventstore.Position) (eventstore.Position, error) {
		reads++
		for r, err := range s.ReadAll(ctx, last) {
			if err != nil {
				return last, err
			}
			if err := check("ReadAll follower", last, r); err != nil {
				return last, err
			}
			last = r.Position
		}
		return last, nil
	})
	go follow("Subscribe follower", func(last eventstore.Position) (eventstore.Position, error) {
		for r, err := range s.Subscribe(ctx, last) {
			if err != nil {
				return last, err
			}
			if err := check("Subscribe follower", last, r); err != nil {
				return last, err
			}
			last = r.Position
			if last == eventstore.Position(total) {
				break
			}
		}
		return last, nil
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	if len(seenAll) != 2*total {
		t.Errorf("followers saw %d distinct events, want %d each", len(seenAll)/2, total)
	}
	head, err := s.Head(ctx)
	if err != nil || head != eventstore.Position(total) {
		t.Errorf("Head = %d, %v; want %d", head, err, total)
	}
	t.Logf("%d writers through %d stores appended %d events; the ReadAll follower read the log %d times", writers, len(stores), total, reads)
}

// EnvWriter is the environment variable that turns a test binary into the
// writer child of [KillWriter]; its value says which store to open (each
// backend's test decides its format).
const EnvWriter = "RESPOOL_TEST_WRITER"

// EnvRound is set for the writer child: the round of [KillWriter] it belongs
// to, so that its batch ids and stream are its own.
const EnvRound = "RESPOOL_TEST_WRITER_ROUND"

// batchMeta is the metadata of every event the writer appends.
type batchMeta struct {
	Batch string `json:"batch"` // unique per append
	N     int    `json:"n"`     // events in the append
	I     int    `json:"i"`     // this event's index in it
}

// Write is the writer child's body: it appends batches of 1 to 200 events
// to its own stream, with exact expected versions, forever (until killed),
// and prints "ack BATCH LASTPOSITION N VERSION" to out after each append the
// store acknowledged.
func Write(ctx context.Context, s eventstore.Store, round string, out io.Writer) error {
	stream := "writer-" + round
	v, err := s.StreamVersion(ctx, stream)
	if err != nil {
		return err
	}
	for k := 0; ; k++ {
		n := 1 + (k*37)%200
		batch := fmt.Sprintf("r%s-b%d", round, k)
		evs := make([]eventstore.Event, n)
		for i := range evs {
			meta, _ := json.Marshal(batchMeta{Batch: batch, N: n, I: i})
			evs[i] = eventstore.Event{
				ID: fmt.Sprintf("%s-e%d", batch, i), Type: "test.written",
				Data:     []byte(strings.Repeat("x", 64)),
				Metadata: meta, Time: time.Unix(1700000000, int64(k)*1000).UTC(),
			}
		}
		res, err := s.Append(ctx, stream, eventstore.ExpectVersion(v), evs...)
		if err != nil {
			return err
		}
		v = res.Version
		if _, err := fmt.Fprintf(out, "ack %s %d %d %d\n", batch, res.Position, n, res.Version); err != nil {
			return err
		}
	}
}

// ack is one acknowledged append, as the child printed it.
type ack struct {
	batch   string
	last    eventstore.Position
	n       int
	version eventstore.Version
}

// KillWriter runs the writer child (the test binary itself, running only
// helperTest with env set to EnvWriter's value) rounds times; each time it
// waits for minAcks acknowledged appends and a little more, SIGKILLs the
// child mid-stream, then opens the store with open and checks: every
// acknowledged event is there, no append is partly visible, positions are
// gap-free, the store accepts an append and reopens.
func KillWriter(t *testing.T, helperTest, env string, rounds, minAcks int, open func(t *testing.T) eventstore.Store) {
	t.Helper()
	var acked []ack
	for round := range rounds {
		acked = append(acked, runAndKill(t, helperTest, env, round, minAcks)...)
		s := open(t)
		checkAfterKill(t, s, acked)
		if _, err := s.Append(context.Background(), "after-kill", eventstore.Any, eventstore.Event{ID: fmt.Sprintf("after-%d", round), Type: "test.after"}); err != nil {
			t.Fatalf("round %d: the store refused an append after the kill: %v", round, err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("round %d: close: %v", round, err)
		}
		if t.Failed() {
			return
		}
	}
}

func runAndKill(t *testing.T, helperTest, env string, round, minAcks int) []ack {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+helperTest+"$", "-test.count=1", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), EnvWriter+"="+env, EnvRound+"="+strconv.Itoa(round))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acks []ack
	sc := bufio.NewScanner(stdout)
	killAt := minAcks + round*7 // vary the moment a little between rounds
	killed := false
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 5 || f[0] != "ack" {
			continue // go test's own output
		}
		pos, err1 := strconv.ParseUint(f[2], 10, 64)
		n, err2 := strconv.Atoi(f[3])
		v, err3 := strconv.ParseUint(f[4], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatalf("bad line from the writer: %q", sc.Text())
		}
		acks = append(acks, ack{batch: f[1], last: eventstore.Position(pos), n: n, version: eventstore.Version(v)})
		if len(acks) == killAt && !killed {
			// Kill while it is in the middle of the next appends.
			time.Sleep(time.Duration(round%3) * time.Millisecond)
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("round %d: the writer stopped after %d acks, before it was killed: %v\n%s", round, len(acks), err, stderr.String())
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("round %d: the writer did not die of SIGKILL: %v\n%s", round, err, stderr.String())
	}
	t.Logf("round %d: killed the writer after %d acknowledged appends (it may have acknowledged more before dying: %d read)", round, killAt, len(acks))
	return acks
}

func checkAfterKill(t *testing.T, s eventstore.Store, acked []ack) {
	t.Helper()
	ctx := context.Background()
	type seen struct {
		n, count    int
		first, last eventstore.Position
	}
	batches := make(map[string]*seen)
	var last eventstore.Position
	for r, err := range s.ReadAll(ctx, 0) {
		if err != nil {
			t.Fatalf("ReadAll after the kill: %v", err)
		}
		if r.Position != last+1 {
			t.Fatalf("gap after the kill: position %d follows %d", r.Position, last)
		}
		last = r.Position
		if r.Type != "test.written" {
			continue
		}
		var m batchMeta
		if err := json.Unmarshal(r.Metadata, &m); err != nil {
			t.Fatalf("position %d: metadata %q: %v", r.Position, r.Metadata, err)
		}
		b := batches[m.Batch]
		if b == nil {
			b = &seen{n: m.N, first: r.Position}
			batches[m.Batch] = b
		}
		if m.I != b.count || r.Position != b.first+eventstore.Position(b.count) {
			t.Fatalf("batch %s: event %d at position %d is out of place", m.Batch, m.I, r.Position)
		}
		b.count++
		b.last = r.Position
	}
	for id, b := range batches {
		if b.count != b.n {
			t.Errorf("batch %s is partly visible: %d of its %d events", id, b.count, b.n)
		}
	}
	for _, a := range acked {
		b := batches[a.batch]
		switch {
		case b == nil:
			t.Errorf("acknowledged batch %s (%d events, last at %d) is lost", a.batch, a.n, a.last)
		case b.last != a.last || b.n != a.n:
			t.Errorf("acknowledged batch %s: stored %d events ending at %d, acknowledged %d ending at %d", a.batch, b.n, b.last, a.n, a.last)
		}
	}
	t.Logf("after the kill: %d events, %d whole batches, %d acknowledged", last, len(batches), len(acked))
}

// RoundTrip appends events with edge values (times before 1970 and 2000,
// in year 1 and 9999, in other zones, with nanoseconds; nil, empty and
// binary data and metadata; non-ASCII names) and checks that ReadAll,
// ReadStream and Subscribe give them back as the Store contract says:
// times in UTC, truncated to precision; bytes as they were (nil and empty
// are not told apart).
func RoundTrip(t *testing.T, s eventstore.Store, precision time.Duration) {
	t.Helper()
	ctx := context.Background()
	zone := time.FixedZone("UTC-3:30", -(3*3600 + 1800))
	times := []time.Time{
		{},
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 0, zone),
		time.Date(1999, 12, 31, 23, 59, 59, 500000001, time.UTC),
		time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2000, 1, 1, 0, 0, 0, 1000, zone),
		time.Date(2025, 3, 1, 8, 30, 0, 123456789, time.FixedZone("UTC+8", 8*3600)),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
	}
	blobs := [][]byte{nil, {}, {0}, {0xff, 0x00, 0xfe}, []byte(`{"a":"é"}`)}
	var evs []eventstore.Event
	for i, at := range times {
		evs = append(evs, eventstore.Event{
			ID:       fmt.Sprintf("id-%d-ü", i),
			Type:     "type.ñ",
			Data:     blobs[i%len(blobs)],
			Metadata: blobs[(i+2)%len(blobs)],
			Time:     at,
		})
	}
	const stream = "stream/ü 1"
	if _, err := s.Append(ctx, stream, eventstore.NoStream, evs...); err != nil {
		t.Fatal(err)
	}
	check := func(what string, recs []eventstore.Record) {
		t.Helper()
		if len(recs) != len(evs) {
			t.Fatalf("%s: %d records, want %d", what, len(recs), len(evs))
		}
		for i, r := range recs {
			e := evs[i]
			want := e.Time.Truncate(precision).UTC()
			switch {
			case r.Stream != stream || r.Version != eventstore.Version(i+1) || r.Position != eventstore.Position(i+1):
				t.Errorf("%s: record %d is %q@%d#%d", what, i, r.Stream, r.Version, r.Position)
			case r.ID != e.ID || r.Type != e.Type:
				t.Errorf("%s: record %d has id %q type %q, want %q %q", what, i, r.ID, r.Type, e.ID, e.Type)
			case string(r.Data) != string(e.Data) || string(r.Metadata) != string(e.Metadata):
				t.Errorf("%s: record %d has data %q metadata %q, want %q %q", what, i, r.Data, r.Metadata, e.Data, e.Metadata)
			case !r.Time.Equal(want) || r.Time.Location() != time.UTC:
				t.Errorf("%s: record %d has time %v, want %v", what, i, r.Time, want)
			}
		}
	}
	collect := func(seq func(yield func(eventstore.Record, error) bool), n int) []eventstore.Record {
		var recs []eventstore.Record
		for r, err := range seq {
			if err != nil {
				t.Fatal(err)
			}
			if recs = append(recs, r); len(recs) == n {
				break
			}
		}
		return recs
	}
	check("ReadAll", collect(s.ReadAll(ctx, 0), -1))
	check("ReadStream", collect(s.ReadStream(ctx, stream, 0), -1))
	check("Subscribe", collect(s.Subscribe(ctx, 0), len(evs)))
}
