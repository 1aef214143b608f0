package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
