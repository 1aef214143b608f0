package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/respool/respool"
	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/eventstore/sqlite"
	"github.com/respool/respool/simulator"
)

const example = "../../examples/scenarios/training-year.yaml"

// poolsim runs the command line with args and returns its exit code and
// what it wrote.
func poolsim(t *testing.T, tty bool, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cli{stdout: &out, stderr: &errb, tty: tty}.main(context.Background(), args)
	return code, out.String(), errb.String()
}

func TestUsage(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string // must contain
		stderr string // must contain
	}{
		{"no arguments", nil, exitUsage, "", "Usage:"},
		{"unknown command", []string{"simulate", example}, exitUsage, "", `unknown command "simulate"`},
		{"help", []string{"help"}, exitOK, "poolsim run FILE", ""},
		{"--help", []string{"--help"}, exitOK, "poolsim validate FILE", ""},
		{"help run", []string{"help", "run"}, exitOK, "Usage: poolsim run FILE [flags]", ""},
		{"run --help", []string{"run", "--help"}, exitOK, "--format", ""},
		{"run -h", []string{"run", "-h"}, exitOK, "--out FILE", ""},
		{"validate --help", []string{"validate", "--help"}, exitOK, "Usage: poolsim validate FILE", ""},
		{"run without a file", []string{"run"}, exitUsage, "", "want one scenario FILE, got 0 arguments"},
		{"run two files", []string{"run", example, example}, exitUsage, "", "got 2 arguments"},
		{"unknown flag", []string{"run", example, "--fromat", "json"}, exitUsage, "", "flag provided but not defined: -fromat"},
		{"bad format", []string{"run", example, "--format", "xml"}, exitUsage, "", `--format "xml": want table, json, csv or html`},
		{"bad tick", []string{"run", example, "--tick", "0s"}, exitUsage, "", "--tick"},
		{"validate without a file", []string{"validate"}, exitUsage, "", "want one scenario FILE"},
		{"help lists replay", []string{"help"}, exitOK, "poolsim replay LOG", ""},
		{"replay --help", []string{"replay", "--help"}, exitOK, "Usage: poolsim replay LOG [flags]", ""},
		{"help replay", []string{"help", "replay"}, exitOK, "--format", ""},
		{"run --help shows --store", []string{"run", "--help"}, exitOK, "--store sqlite:LOG", ""},
		{"replay without a file", []string{"replay"}, exitUsage, "", "want one LOG file, got 0 arguments"},
		{"replay two files", []string{"replay", "a.db", "b.db"}, exitUsage, "", "got 2 arguments"},
		{"replay bad format", []string{"replay", "a.db", "--format", "xml"}, exitUsage, "", `--format "xml"`},
		{"replay unknown flag", []string{"replay", "a.db", "--store", "memory"}, exitUsage, "", "flag provided but not defined: -store"},
		{"bad store", []string{"run", example, "--store", "disk"}, exitUsage, "", `--store "disk": want memory or sqlite:FILE`},
		{"sqlite store without a file", []string{"run", example, "--store", "sqlite:"}, exitUsage, "", "give the file"},
		{"postgres store", []string{"run", example, "--store", "postgres:postgres://localhost/x"}, exitUsage, "", "memory or in an SQLite file only"},
		{"overwrite without a file", []string{"run", example, "--overwrite"}, exitUsage, "", "--overwrite goes with --store sqlite:LOG"},
		{"missing file", []string{"run", "no/such/scenario.yaml"}, exitScenario, "", "no/such/scenario.yaml: no such file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := poolsim(t, false, c.args...)
			if code != c.code {
				t.Errorf("exit code %d, want %d; stderr: %s", code, c.code, stderr)
			}
			if !strings.Contains(stdout, c.stdout) {
				t.Errorf("stdout lacks %q:\n%s", c.stdout, stdout)
			}
			if !strings.Contains(stderr, c.stderr) {
				t.Errorf("stderr lacks %q:\n%s", c.stderr, stderr)
			}
		})
	}
}

func TestRunBadScenario(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(src), "    flavor: modelarts", "    flavour: modelarts", 1)
	bad = strings.Replace(bad, "start: 2026-01-01T00:00:00+08:00", "start: 2026-01-01T00:00:00", 1)
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "catalog.yaml"), mustRead(t, "../../examples/scenarios/catalog.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "report.json")
	for _, args := range [][]string{{"run", path}, {"run", path, "--out", out}, {"validate", path}} {
		code, stdout, stderr := poolsim(t, false, args...)
		if code != exitScenario {
			t.Errorf("%v: exit code %d, want 1", args, code)
		}
		if stdout != "" {
			t.Errorf("%v: a bad scenario printed a report:\n%s", args, stdout)
		}
		for _, want := range []string{path + ":15:8: start:", path + `:28:5: pools[0].flavour: unknown key (did you mean "flavor"?)`, "2 problems; nothing was run"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("%v: stderr lacks %q:\n%s", args, want, stderr)
			}
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a bad scenario left %s behind", out)
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

func TestRunFormats(t *testing.T) {
	t.Parallel()
	t.Run("table", func(t *testing.T) {
		t.Parallel()
		code, stdout, stderr := poolsim(t, false, "run", example)
		if code != exitOK || stderr != "" {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
		for _, want := range []string{"VARIANT", "base", "yearly", "438,000.00", "Cheapest: yearly"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("the table lacks %q:\n%s", want, stdout)
			}
		}
	})
	t.Run("json, flag after the file", func(t *testing.T) {
		t.Parallel()
		code, stdout, _ := poolsim(t, false, "run", example, "--format", "json")
		if code != exitOK {
			t.Fatalf("exit %d", code)
		}
		var doc struct {
			Scenario string
			Variants []struct {
				Name, Total string
			}
		}
		if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
			t.Fatalf("not JSON: %v", err)
		}
		if len(doc.Variants) != 3 || doc.Variants[0].Name != "base" || doc.Variants[0].Total != "438000.00" {
			t.Errorf("report: %+v", doc)
		}
	})
	t.Run("csv", func(t *testing.T) {
		t.Parallel()
		code, stdout, _ := poolsim(t, false, "run", "--format=csv", example)
		if code != exitOK {
			t.Fatalf("exit %d", code)
		}
		rows, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if rows[0][0] != "variant" || len(rows) != 1+3*2 {
			t.Errorf("csv: %v", rows)
		}
	})
	t.Run("html to a file", func(t *testing.T) {
		t.Parallel()
		out := filepath.Join(t.TempDir(), "report.html")
		code, stdout, stderr := poolsim(t, false, "run", example, "--out", out)
		if code != exitOK || stdout != "" {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
		page := string(mustRead(t, out))
		for _, want := range []string{"<!doctype html>", "<svg", "Cumulative cost", "Cost per pool", "cheapest"} {
			if !strings.Contains(page, want) {
				t.Errorf("the page lacks %q", want)
			}
		}
		for _, bad := range []string{"<script", "http://", "https://", "<link"} {
			if strings.Contains(page, bad) {
				t.Errorf("the page is not self-contained: it has %q", bad)
			}
		}
	})
	t.Run("cannot write the file", func(t *testing.T) {
		t.Parallel()
		out := filepath.Join(t.TempDir(), "no", "such", "dir", "r.json")
		code, _, stderr := poolsim(t, false, "run", example, "--out", out)
		if code != exitScenario || !strings.Contains(stderr, "writing") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
}

func TestValidate(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := poolsim(t, false, "validate", "../../examples/scenarios/gpu-contention.yaml")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"valid: 2 accounts, 3 pools, 5 actions, 3 variants (base, vision-buys-4, vision-prepaid)",
		"note: in variant base the rules reject 3 steps", "gpu-contention.yaml:43: create nlp-train at 2026-01-10T10:00:00+08:00: flavor_sold_out (R5)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
}

// TestProgress: nothing on a pipe; on a terminal, a bar once the run has
// taken half a second, erased at the end.
func TestProgress(t *testing.T) {
	t.Parallel()
	code, _, stderr := poolsim(t, false, "run", example)
	if code != exitOK || stderr != "" {
		t.Errorf("not a terminal: exit %d, stderr %q", code, stderr)
	}

	var buf bytes.Buffer
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	bar := newProgressBar(&buf, true, clock)
	bar.update(simulator.Progress{Variant: "base", Done: 0.1})
	if buf.Len() != 0 {
		t.Errorf("drew before half a second: %q", buf.String())
	}
	now = now.Add(time.Second)
	bar.update(simulator.Progress{Variant: "yearly", At: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), Done: 0.5})
	if got := buf.String(); !strings.Contains(got, "[###############...............]  50%  2026-07-01  yearly") {
		t.Errorf("bar: %q", got)
	}
	bar.clear()
	if !strings.HasSuffix(buf.String(), "\r\x1b[K") {
		t.Errorf("the bar was not erased: %q", buf.String())
	}

	buf.Reset()
	off := newProgressBar(&buf, false, clock)
	now = now.Add(time.Hour)
	off.update(simulator.Progress{Done: 0.5})
	off.clear()
	if buf.Len() != 0 {
		t.Errorf("drew on a non-terminal: %q", buf.String())
	}
}

// exampleScenarios are the scenario files of examples/scenarios.
func exampleScenarios(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../examples/scenarios/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		if !strings.HasPrefix(filepath.Base(f), "catalog") {
			out = append(out, f)
		}
	}
	if len(out) < 5 {
		t.Fatalf("found %d example scenarios", len(out))
	}
	return out
}

// TestRunStoreReplay: for every example scenario, the JSON report of
// run --store sqlite:F is the JSON report of a run in memory, and replay F
// prints it again, byte for byte, from F alone; so do the other formats.
func TestRunStoreReplay(t *testing.T) {
	t.Parallel()
	for _, path := range exampleScenarios(t) {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			log := filepath.Join(dir, name+".db")
			code, mem, stderr := poolsim(t, false, "run", path, "--format", "json")
			if code != exitOK {
				t.Fatalf("run: exit %d: %s", code, stderr)
			}
			code, kept, stderr := poolsim(t, false, "run", path, "--format", "json", "--store", "sqlite:"+log)
			if code != exitOK {
				t.Fatalf("run --store: exit %d: %s", code, stderr)
			}
			if !strings.Contains(stderr, "kept the run's events in "+log) {
				t.Errorf("run --store does not say where the log is: %q", stderr)
			}
			if kept != mem {
				t.Errorf("run --store sqlite reports otherwise than in memory:\n%s", firstDiff(mem, kept))
			}
			if files, _ := filepath.Glob(filepath.Join(dir, "*")); len(files) != 1 {
				t.Errorf("the run left %v, want only %s", files, log)
			}
			code, replayed, stderr := poolsim(t, false, "replay", log, "--format", "json")
			if code != exitOK || stderr != "" {
				t.Fatalf("replay: exit %d: %s", code, stderr)
			}
			if replayed != kept {
				t.Errorf("replay prints another report than run did:\n%s", firstDiff(kept, replayed))
			}
			for _, f := range []string{"table", "csv", "html"} {
				_, a, _ := poolsim(t, false, "run", path, "--format", f)
				_, b, _ := poolsim(t, false, "replay", log, "--format", f)
				if a != b || a == "" {
					t.Errorf("replay --format %s differs from run:\n%s", f, firstDiff(a, b))
				}
			}
		})
	}
}

// firstDiff shows the first differing line of two texts.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) && i < len(gl); i++ {
		if wl[i] != gl[i] {
			return fmt.Sprintf("line %d:\n  want %s\n  got  %s", i+1, wl[i], gl[i])
		}
	}
	return fmt.Sprintf("lengths differ: want %d lines, got %d", len(wl), len(gl))
}

// TestRunStoreRefuses: a file that holds a run is replaced only with
// --overwrite; a file that is not a poolsim log never; a run that fails
// leaves the file as it was and nothing beside it.
func TestRunStoreRefuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	log := filepath.Join(dir, "run.db")
	other := "../../examples/scenarios/gpu-contention.yaml"
	if code, _, stderr := poolsim(t, false, "run", example, "--store", "sqlite:"+log); code != exitOK {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	before := mustRead(t, log)

	code, stdout, stderr := poolsim(t, false, "run", other, "--store", "sqlite:"+log)
	if code != exitScenario || stdout != "" || !strings.Contains(stderr, log+` already holds a run (scenario "training pool`) || !strings.Contains(stderr, "--overwrite") {
		t.Errorf("a second run into the log: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if !bytes.Equal(mustRead(t, log), before) {
		t.Error("the refused run changed the log")
	}

	// A bad scenario or a failed run leaves the log alone, and no file
	// beside it.
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("name: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := poolsim(t, false, "run", bad, "--store", "sqlite:"+log, "--overwrite"); code != exitScenario {
		t.Errorf("a bad scenario: exit %d", code)
	}
	var errb bytes.Buffer
	fail := func(v string, _ *respool.Service) error {
		if v == "vision-prepaid" {
			return errors.New("stopped")
		}
		return nil
	}
	if code := (cli{stdout: io.Discard, stderr: &errb, inspect: fail}).main(ctx, []string{"run", other, "--store", "sqlite:" + log, "--overwrite"}); code != exitScenario || !strings.Contains(errb.String(), "the run failed: variant vision-prepaid: stopped") {
		t.Errorf("a failed run: exit %d, stderr %q", code, errb.String())
	}
	if !bytes.Equal(mustRead(t, log), before) {
		t.Error("a failed run changed the log")
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*")); len(files) != 2 {
		t.Errorf("failed runs left %v", files)
	}

	code, _, stderr = poolsim(t, false, "run", other, "--store", "sqlite:"+log, "--overwrite", "--format", "json")
	if code != exitOK {
		t.Fatalf("run --overwrite: exit %d: %s", code, stderr)
	}
	_, replayed, _ := poolsim(t, false, "replay", log, "--format", "json")
	if !strings.Contains(replayed, `"scenario": "two accounts contending`) {
		t.Errorf("after --overwrite, the log replays %.200s", replayed)
	}

	// Files that are not poolsim logs, with or without --overwrite.
	junk := filepath.Join(dir, "junk.db")
	if err := os.WriteFile(junk, bytes.Repeat([]byte("not a database "), 400), 0o644); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(dir, "pools.db")
	s, err := sqlite.Open(ctx, sqlite.Config{Path: store})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "pool-a", eventstore.NoStream, eventstore.Event{ID: "1", Type: "pool.created", Data: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, c := range []struct{ file, want string }{
		{junk, junk + " is not a poolsim log (it is not an SQLite database)"},
		{store, store + " is a respool event store holding 1 events that are not a poolsim run"},
		{dir, dir + " is a directory"},
	} {
		var before []byte
		if c.file != dir {
			before = mustRead(t, c.file)
		}
		for _, extra := range [][]string{nil, {"--overwrite"}} {
			code, _, stderr := poolsim(t, false, append([]string{"run", example, "--store", "sqlite:" + c.file}, extra...)...)
			if code != exitScenario || !strings.Contains(stderr, c.want) {
				t.Errorf("run into %s %v: exit %d, stderr %q, want %q", c.file, extra, code, stderr, c.want)
			}
		}
		if c.file != dir && !bytes.Equal(mustRead(t, c.file), before) {
			t.Errorf("%s was changed", c.file)
		}
	}

	// An empty file is fine: there is nothing to lose.
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := poolsim(t, false, "run", example, "--store", "sqlite:"+empty); code != exitOK {
		t.Errorf("run into an empty file: exit %d: %s", code, stderr)
	}
}

// TestReplayErrors: a missing file, a file that is not a poolsim log, a
// corrupt one, and a run that did not finish are each a clear error and
// exit code 1.
func TestReplayErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := filepath.Join(dir, "good.db")
	if code, _, stderr := poolsim(t, false, "run", example, "--store", "sqlite:"+good); code != exitOK {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	data := mustRead(t, good)
	// Garbage over the pages that hold the events; page 1 (the schema)
	// stays, so the file opens and the damage shows when it is read.
	damaged := append([]byte(nil), data...)
	for i := 8192; i < len(damaged); i++ {
		damaged[i] = byte(i * 7)
	}
	pools := filepath.Join(dir, "pools.db")
	s, err := sqlite.Open(ctx, sqlite.Config{Path: pools})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "pool-a", eventstore.NoStream, eventstore.Event{ID: "1", Type: "pool.created", Data: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	unfinished := filepath.Join(dir, "unfinished.db")
	s, err = sqlite.Open(ctx, sqlite.Config{Path: unfinished})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := simulator.Load(example)
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	if _, err := simulator.Run(ctx, sc, simulator.Options{Log: s, Parallel: 1, Inspect: func(v string, _ *respool.Service) error {
		if v == "monthly" {
			return stop
		}
		return nil
	}}); !errors.Is(err, stop) {
		t.Fatalf("the run that should stop: %v", err)
	}
	s.Close()

	for _, c := range []struct{ file, want string }{
		{filepath.Join(dir, "missing.db"), "missing.db: no such file"},
		{write("empty.db", nil), "empty.db is not a poolsim log: the file is empty"},
		{write("text.db", []byte("name: a scenario, not a log\n")), "text.db is not a poolsim log: it is not an SQLite database"},
		{write("header.db", data[:50]), "header.db is"},
		{write("truncated.db", data[:len(data)/3]), "truncated.db is corrupt"},
		{write("damaged.db", damaged), "damaged.db is corrupt"},
		{pools, "pools.db is not a poolsim log: it holds no simulation run"},
		{unfinished, "unfinished.db holds a run that did not finish"},
		{dir, "is a directory"},
	} {
		code, stdout, stderr := poolsim(t, false, "replay", c.file)
		if code != exitScenario || stdout != "" || !strings.Contains(stderr, c.want) {
			t.Errorf("replay %s: exit %d, stdout %.80q, stderr %q, want %q", c.file, code, stdout, stderr, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.db")); !os.IsNotExist(err) {
		t.Error("replay created the missing file")
	}
}
