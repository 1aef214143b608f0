package simulator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/respool/respool"
	"github.com/respool/respool/domain"
	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/eventstore/sqlite"
	"github.com/respool/respool/simulator"
)

// formats writes a report in every format.
func formats(t *testing.T, rep *simulator.Report) map[string]string {
	t.Helper()
	out := map[string]string{}
	for name, write := range map[string]func(*bytes.Buffer) error{
		"json":  func(b *bytes.Buffer) error { return rep.WriteJSON(b) },
		"table": func(b *bytes.Buffer) error { return rep.WriteTable(b) },
		"csv":   func(b *bytes.Buffer) error { return rep.WriteCSV(b) },
		"html":  func(b *bytes.Buffer) error { return rep.WriteHTML(b) },
	} {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = b.String()
	}
	return out
}

func openSQLite(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), sqlite.Config{Path: path, Sync: sqlite.SyncNormal})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestReplayExamples: for every example scenario, a run that keeps its log
// (in memory, and in an SQLite file that is closed and opened again)
// reports what a run without a log reports, in every format, and Replay
// rebuilds that same report from the log alone.
func TestReplayExamples(t *testing.T) {
	for _, path := range exampleFiles(t) {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			sc, err := simulator.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			want := formats(t, run(t, path, simulator.Options{}))
			check := func(what string, rep *simulator.Report) {
				t.Helper()
				got := formats(t, rep)
				for f := range want {
					if got[f] != want[f] {
						t.Errorf("%s: the %s report differs from a run without a log:\n%s", what, f, firstDiff(want[f], got[f]))
					}
				}
			}

			mem := eventstore.NewMemory()
			rep, err := simulator.Run(ctx, sc, simulator.Options{Log: mem})
			if err != nil {
				t.Fatal(err)
			}
			check("run with a log in memory", rep)
			rep, err = simulator.Replay(ctx, mem)
			if err != nil {
				t.Fatal(err)
			}
			check("replay from memory", rep)

			file := filepath.Join(t.TempDir(), "run.db")
			s := openSQLite(t, file)
			if rep, err = simulator.Run(ctx, sc, simulator.Options{Log: s}); err != nil {
				t.Fatal(err)
			}
			check("run with a log in SQLite", rep)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if rep, err = simulator.Replay(ctx, openSQLite(t, file)); err != nil {
				t.Fatal(err)
			}
			check("replay from SQLite", rep)
		})
	}
}

// TestLogLayout: each variant's events are under its prefix, the Service
// a variant runs on sees them without it, and the simulation-run stream
// describes the run.
func TestLogLayout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sc, err := simulator.Load(examplesDir + "/training-year.yaml")
	if err != nil {
		t.Fatal(err)
	}
	mem := eventstore.NewMemory()
	seen := map[string]int{}
	opt := simulator.Options{Log: mem, Parallel: 1, Inspect: func(v string, svc *respool.Service) error {
		for r, err := range svc.Store().ReadAll(ctx, 0) {
			if err != nil {
				return err
			}
			seen[v]++
			if int(r.Position) != seen[v] || strings.Contains(r.Stream, "/") || strings.HasPrefix(r.ID, "v") {
				return errors.New("the variant's store shows the shared layout: " + r.Stream + " " + r.ID)
			}
		}
		return nil
	}}
	rep, err := simulator.Run(ctx, sc, opt)
	if err != nil {
		t.Fatal(err)
	}
	perPrefix := map[string]int{}
	var types []string
	for r, err := range mem.ReadAll(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		if r.Stream == simulator.LogStream {
			types = append(types, r.Type)
			continue
		}
		prefix, _, _ := strings.Cut(r.Stream, "/")
		perPrefix[prefix]++
		if !strings.HasPrefix(r.ID, prefix+"/") {
			t.Errorf("event %s of %s: its id is not under the prefix", r.ID, r.Stream)
		}
	}
	for i, v := range rep.Variants {
		p := "v" + itoa(i)
		if perPrefix[p] != v.Events || seen[v.Name] != v.Events {
			t.Errorf("variant %s: %d events under %s/, %d seen by its Service, report says %d", v.Name, perPrefix[p], p, seen[v.Name], v.Events)
		}
	}
	if want := "[simulation.started simulation.variant_finished simulation.variant_finished simulation.variant_finished simulation.finished]"; strings.Join(types, " ") != strings.Trim(want, "[]") {
		t.Errorf("simulation-run holds %v, want %s", types, want)
	}
	info, err := simulator.ReadLogInfo(ctx, mem)
	if err != nil {
		t.Fatal(err)
	}
	if info.Scenario != sc.Name || info.File != sc.File || !info.Finished || strings.Join(info.Variants, ",") != "base,monthly,yearly" ||
		!info.Start.Equal(sc.Start) || !info.End.Equal(sc.End) {
		t.Errorf("ReadLogInfo: %+v", info)
	}
}

// copyLog copies the records of from into a new store, skipping those
// for which skip is true and changing each with edit.
func copyLog(t *testing.T, from eventstore.Store, skip func(eventstore.Record) bool, edit func(*eventstore.Record)) eventstore.Store {
	t.Helper()
	ctx := context.Background()
	to := eventstore.NewMemory()
	for r, err := range from.ReadAll(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		if skip != nil && skip(r) {
			continue
		}
		if edit != nil {
			edit(&r)
		}
		if _, err := to.Append(ctx, r.Stream, eventstore.Any, r.Event); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// TestLogErrors: a store that is not empty is refused by Run; a store
// that is not a run's log, a run that did not finish, a log of another
// format or one that does not hold together are refused by Replay, each
// with its own error.
func TestLogErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sc, err := simulator.Load(examplesDir + "/training-year.yaml")
	if err != nil {
		t.Fatal(err)
	}
	good := eventstore.NewMemory()
	if _, err := simulator.Run(ctx, sc, simulator.Options{Log: good}); err != nil {
		t.Fatal(err)
	}

	t.Run("run into a store that holds a run", func(t *testing.T) {
		_, err := simulator.Run(ctx, sc, simulator.Options{Log: good})
		if !errors.Is(err, simulator.ErrLogNotEmpty) {
			t.Errorf("error %v, want ErrLogNotEmpty", err)
		}
	})

	// A store a Service used: pools, but no run.
	pools := eventstore.NewMemory()
	svc, err := respool.New(ctx, respool.Config{Store: pools, Catalog: sc.Catalog})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Handle(ctx, sc.Start, domain.OpenAccount{Cmd: domain.Cmd{ID: "open", Account: "acme"}}); err != nil {
		t.Fatal(err)
	}
	startedFormat := func(format string) func(*eventstore.Record) {
		return func(r *eventstore.Record) {
			if r.Type == "simulation.started" {
				r.Data = bytes.Replace(r.Data, []byte(`"format":1`), []byte(`"format":`+format), 1)
			}
		}
	}
	firstPoolEvent := func() func(eventstore.Record) bool {
		done := false
		return func(r eventstore.Record) bool {
			if !done && strings.HasPrefix(r.Stream, "v1/pool-") && r.Version == 2 {
				done = true
				return true
			}
			return false
		}
	}
	for _, c := range []struct {
		name  string
		store eventstore.Store
		want  error
		text  string
	}{
		{"empty store", eventstore.NewMemory(), simulator.ErrNotLog, "no stream simulation-run"},
		{"a store of pools", pools, simulator.ErrNotLog, "no stream simulation-run"},
		{"unfinished", copyLog(t, good, func(r eventstore.Record) bool { return r.Type == "simulation.finished" }, nil), simulator.ErrLogUnfinished, "3 of 3 variants ended"},
		{"a variant unfinished", copyLog(t, good, func(r eventstore.Record) bool {
			return r.Type != "simulation.started" && r.Stream == simulator.LogStream
		}, nil), simulator.ErrLogUnfinished, "0 of 3 variants"},
		{"a later format", copyLog(t, good, nil, startedFormat("2")), simulator.ErrLogVersion, "format 2"},
		{"a missing event", copyLog(t, good, firstPoolEvent(), nil), simulator.ErrLogCorrupt, "variant monthly wrote 20 events, the log holds 19"},
		{"a stream of no variant", copyLog(t, good, nil, func(r *eventstore.Record) {
			r.Stream = strings.Replace(r.Stream, "v2/", "v7/", 1)
		}), simulator.ErrLogCorrupt, "stream v7/"},
		{"an undecodable event", copyLog(t, good, nil, func(r *eventstore.Record) {
			if r.Stream == "v0/pool-train-a" && r.Version == 1 {
				r.Data = []byte(`{"garbage`)
			}
		}), simulator.ErrLogCorrupt, "variant base"},
		{"an undecodable description", copyLog(t, good, nil, func(r *eventstore.Record) {
			if r.Type == "simulation.started" {
				r.Data = r.Data[:len(r.Data)/2]
			}
		}), simulator.ErrLogCorrupt, "simulation.started"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := simulator.Replay(ctx, c.store)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) {
				t.Errorf("Replay: %v, want %v saying %q", err, c.want, c.text)
			}
		})
	}

	// The good log still replays, as often as asked.
	for range 2 {
		rep, err := simulator.Replay(ctx, good)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct{ Variants []struct{ Total string } }
		var b bytes.Buffer
		if err := rep.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b.Bytes(), &doc); err != nil || doc.Variants[0].Total != "438000.00" {
			t.Errorf("replayed base total: %+v %v", doc, err)
		}
	}
}

// TestReplayPolicy: a run in another billing zone, with its own policy,
// rounding and a tick given at run time, replays to the same report.
func TestReplayPolicy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := string(mustRead(t, examplesDir+"/balance-runs-out.yaml"))
	src = strings.Replace(src, "tick: 1h\n", "tick: 1h\nzone: \"-05:30\"\npolicy: {renew_days_before: 3, grace_days: 4, retention_days: 2, rounding: half-even}\n", 1)
	sc, err := simulator.Parse("policy.yaml", []byte(src), func(string) ([]byte, error) { return mustRead(t, examplesDir+"/catalog.yaml"), nil })
	if err != nil {
		t.Fatal(err)
	}
	opt := simulator.Options{Tick: 24 * time.Hour, MaxPoints: 50}
	plain, err := simulator.Run(ctx, sc, opt)
	if err != nil {
		t.Fatal(err)
	}
	want := formats(t, plain)
	if !strings.Contains(want["json"], `"zone": "-05:30"`) || !strings.Contains(want["json"], `"tick": "1d"`) {
		t.Fatalf("the scenario did not take: %.300s", want["json"])
	}
	mem := eventstore.NewMemory()
	opt.Log = mem
	if _, err := simulator.Run(ctx, sc, opt); err != nil {
		t.Fatal(err)
	}
	rep, err := simulator.Replay(ctx, mem)
	if err != nil {
		t.Fatal(err)
	}
	got := formats(t, rep)
	for f := range want {
		if got[f] != want[f] {
			t.Errorf("the replayed %s report differs:\n%s", f, firstDiff(want[f], got[f]))
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
