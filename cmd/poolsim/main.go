// Command poolsim simulates dedicated resource pools from a scenario file
// and compares what-if variants: "is a year up front cheaper than
// pay-per-use?".
//
//	poolsim run FILE [--format table|json|csv|html] [--out FILE] [--tick 1h]
//	             [--store memory|sqlite:LOG] [--overwrite]
//	poolsim replay LOG [--format table|json|csv|html] [--out FILE]
//	poolsim validate FILE
//
// A scenario is a YAML file (SPEC section 9; see examples/scenarios/). run
// prints a table by default; --format json prints the JSON report of SPEC
// section 9, csv one long table, html a self-contained page with charts.
// validate checks the file and tells which steps the rules would reject.
//
// By default a run's events live in memory and are gone when it ends.
// With --store sqlite:LOG, run keeps every variant's event log in the
// SQLite file LOG (each variant under its own stream prefix, with a
// simulation-run stream that describes the run: see package simulator),
// and replay LOG rebuilds the very report run printed from those events
// alone, without the scenario file. run writes LOG only once the run has
// succeeded; it refuses a file that already holds a run unless
// --overwrite is given, and never replaces a file that is not a poolsim
// log.
//
// Exit codes: 0 success, 1 a bad scenario, a failed run, or a log that
// cannot be replayed (missing, not a poolsim log, corrupt), 2 bad usage.
// Problems are written to stderr, each naming the file, line and key and
// how to fix it; a scenario with any problem produces no report at all.
// While a long run goes, a progress bar is drawn on stderr if it is a
// terminal; otherwise nothing is drawn.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/respool/respool"
	"github.com/respool/respool/simulator"
)

// Exit codes.
const (
	exitOK       = 0
	exitScenario = 1
	exitUsage    = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	tty := isatty.IsTerminal(os.Stderr.Fd()) || isatty.IsCygwinTerminal(os.Stderr.Fd())
	os.Exit(cli{stdout: os.Stdout, stderr: os.Stderr, tty: tty}.main(ctx, os.Args[1:]))
}

// cli is the command line, with its streams, so that tests can run it.
type cli struct {
	stdout, stderr io.Writer
	tty            bool // stderr is a terminal: draw progress
	// inspect, if set, is run's simulator.Options.Inspect (for tests).
	inspect func(variant string, svc *respool.Service) error
}

const usage = `poolsim simulates dedicated resource pools from a scenario file and
compares what-if variants ("is a year up front cheaper than pay-per-use?").

Usage:
  poolsim run FILE [flags]     simulate FILE and print a report
  poolsim replay LOG [flags]   print the report of a run kept in LOG (run --store sqlite:LOG)
  poolsim validate FILE        check FILE without printing a report
  poolsim help [COMMAND]       show help

A scenario is a YAML file: see examples/scenarios/ for stories to start from.
Run 'poolsim COMMAND --help' for a command's flags.

Exit codes: 0 success, 1 a bad scenario, a failed run or a log that cannot
be replayed, 2 bad usage.
`

func (c cli) main(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "run":
		return c.run(ctx, args[1:])
	case "replay":
		return c.replay(ctx, args[1:])
	case "validate":
		return c.validate(ctx, args[1:])
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			return c.main(ctx, []string{args[1], "--help"})
		}
		fmt.Fprint(c.stdout, usage)
		return exitOK
	}
	fmt.Fprintf(c.stderr, "poolsim: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

// parse parses flags anywhere among the arguments (poolsim run FILE
// --format json) and returns the positional ones. It returns exitOK and
// false after --help, exitUsage and false after a bad flag.
func (c cli) parse(fs *flag.FlagSet, args []string) ([]string, int, bool) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(c.stdout)
			fs.Usage()
			return nil, exitOK, false
		}
		if err != nil {
			fmt.Fprintf(c.stderr, "poolsim %s: %v\nRun 'poolsim %s --help' for usage.\n", fs.Name(), err, fs.Name())
			return nil, exitUsage, false
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, exitOK, true
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), exitOK, true
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func (c cli) run(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	format := fs.String("format", "", "report `FORMAT`: table, json, csv or html (default: from --out's extension, else table)")
	out := fs.String("out", "", "write the report to this `FILE` instead of stdout (replaced only once the run succeeds)")
	tick := fs.String("tick", "", "sample the cost every `DURATION` (such as 1h or 1d) instead of the scenario's tick; results do not change")
	storeArg := fs.String("store", "memory", "`STORE` of the run's events: memory (the default; nothing is kept) or sqlite:LOG, an SQLite file that 'poolsim replay LOG' rebuilds the report from")
	overwrite := fs.Bool("overwrite", false, "with --store sqlite:LOG, replace a run LOG already holds")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: poolsim run FILE [flags]

Simulates the scenario FILE from its start to its end, every variant on its
own, and prints what each pool cost, what the rules rejected, and what the
variants save against base.

With --store sqlite:LOG the events of every variant are kept in the SQLite
file LOG, with what the report needs besides them; 'poolsim replay LOG'
prints the same report again from LOG alone. LOG is written only once the
run succeeds. A LOG that already holds a run is refused unless --overwrite
is given; a file that is not a poolsim log is never replaced.

Flags:
`)
		printFlags(fs)
		fmt.Fprint(fs.Output(), `
Examples:
  poolsim run examples/scenarios/training-year.yaml
  poolsim run examples/scenarios/training-year.yaml --format json
  poolsim run examples/scenarios/training-year.yaml --out report.html
  poolsim run examples/scenarios/training-year.yaml --store sqlite:training.db
`)
	}
	pos, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return c.usageError("run", "want one scenario FILE, got %d arguments", len(pos))
	}
	f, ok := reportFormat(*format, *out)
	if !ok {
		return c.usageError("run", "--format %q: want table, json, csv or html", *format)
	}
	var opt simulator.Options
	if *tick != "" {
		d, err := simulator.ParseDuration(*tick)
		if err != nil {
			return c.usageError("run", "--tick: %v", err)
		}
		opt.Tick = d
	}
	spec, err := parseStore(*storeArg)
	if err != nil {
		return c.usageError("run", "--store %v", err)
	}
	if *overwrite && spec.sqlite == "" {
		return c.usageError("run", "--overwrite goes with --store sqlite:LOG")
	}

	sc, err := simulator.Load(pos[0])
	if err != nil {
		return c.scenarioError(err)
	}
	var log *keptLog
	if spec.sqlite != "" {
		if log, err = createLog(ctx, spec.sqlite, *overwrite); err != nil {
			fmt.Fprintf(c.stderr, "poolsim: %v\n", err)
			return exitScenario
		}
		opt.Log = log.store
	}
	bar := newProgressBar(c.stderr, c.tty, time.Now)
	opt.Progress = bar.update
	opt.Inspect = c.inspect
	rep, err := simulator.Run(ctx, sc, opt)
	bar.clear()
	if err != nil {
		if log != nil {
			log.abort()
		}
		fmt.Fprintf(c.stderr, "poolsim: %s: the run failed: %v\n", pos[0], err)
		return exitScenario
	}
	if log != nil {
		if err := log.commit(); err != nil {
			fmt.Fprintf(c.stderr, "poolsim: keeping the log in %s: %v\n", spec.sqlite, err)
			return exitScenario
		}
	}
	if code := c.writeReport(rep, f, *out); code != exitOK {
		return code
	}
	if log != nil {
		fmt.Fprintf(c.stderr, "poolsim: kept the run's events in %s ('poolsim replay %s' prints this report again)\n", spec.sqlite, spec.sqlite)
	}
	return exitOK
}

// reportFormat is the format named by --format, or by --out's extension.
func reportFormat(format, out string) (string, bool) {
	f := strings.ToLower(format)
	if f == "" {
		f = "table"
		switch strings.ToLower(filepath.Ext(out)) {
		case ".json":
			f = "json"
		case ".csv":
			f = "csv"
		case ".html", ".htm":
			f = "html"
		}
	}
	switch f {
	case "table", "text", "json", "csv", "html":
		return f, true
	}
	return "", false
}

// writeReport writes rep in format f to out, or to stdout if out is "".
func (c cli) writeReport(rep *simulator.Report, f, out string) int {
	write := func(w io.Writer) error {
		switch f {
		case "json":
			return rep.WriteJSON(w)
		case "csv":
			return rep.WriteCSV(w)
		case "html":
			return rep.WriteHTML(w)
		}
		return rep.WriteTable(w)
	}
	if out == "" {
		if err := write(c.stdout); err != nil {
			fmt.Fprintf(c.stderr, "poolsim: writing the report: %v\n", err)
			return exitScenario
		}
		return exitOK
	}
	if err := writeFileAtomic(out, write); err != nil {
		fmt.Fprintf(c.stderr, "poolsim: writing %s: %v\n", out, err)
		return exitScenario
	}
	fmt.Fprintf(c.stderr, "poolsim: wrote %s report to %s\n", f, out)
	return exitOK
}

func (c cli) replay(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	format := fs.String("format", "", "report `FORMAT`: table, json, csv or html (default: from --out's extension, else table)")
	out := fs.String("out", "", "write the report to this `FILE` instead of stdout")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: poolsim replay LOG [flags]

Prints the report of the run kept in LOG (written by 'poolsim run FILE
--store sqlite:LOG'), rebuilt from the events in LOG alone: the scenario
file is not read. The report is the one run printed, in any format.

Flags:
`)
		printFlags(fs)
		fmt.Fprint(fs.Output(), `
Examples:
  poolsim run examples/scenarios/training-year.yaml --store sqlite:training.db
  poolsim replay training.db
  poolsim replay training.db --out report.html

Exit code: 0 success; 1 if LOG is missing, is not a poolsim log, is corrupt,
or holds a run that did not finish; 2 for bad usage.
`)
	}
	pos, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return c.usageError("replay", "want one LOG file, got %d arguments", len(pos))
	}
	f, ok := reportFormat(*format, *out)
	if !ok {
		return c.usageError("replay", "--format %q: want table, json, csv or html", *format)
	}
	s, err := openLog(ctx, pos[0])
	if err != nil {
		fmt.Fprintf(c.stderr, "poolsim: %v\n", err)
		return exitScenario
	}
	rep, err := simulator.Replay(ctx, s)
	if cerr := s.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "poolsim: %s\n", replayError(pos[0], err))
		return exitScenario
	}
	return c.writeReport(rep, f, *out)
}

// writeFileAtomic writes a file through a temporary file beside it, so that
// a failure leaves no partial report.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func (c cli) validate(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: poolsim validate FILE

Checks the scenario FILE: its keys, times, amounts and durations, and that
every pool, action and variant names things that exist. Every problem is
listed with its file, line and key. Then it tries every variant and lists the
steps the cloud's rules would reject (a sold-out flavor, a quota exceeded,
scaling a prepaid pool...): those are results, not errors, so they do not
fail validation.

Exit code: 0 if the file is valid, 1 if not, 2 for bad usage.
`)
	}
	pos, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return c.usageError("validate", "want one scenario FILE, got %d arguments", len(pos))
	}
	sc, err := simulator.Load(pos[0])
	if err != nil {
		return c.scenarioError(err)
	}
	names := make([]string, len(sc.Variants))
	for i, v := range sc.Variants {
		names[i] = v.Name
	}
	fmt.Fprintf(c.stdout, "%s: valid: %s, %s, %s, %s (%s), %s to %s\n", pos[0],
		plural(len(sc.Accounts), "account"), plural(len(sc.Pools), "pool"), plural(len(sc.Actions), "action"),
		plural(len(sc.Variants), "variant"), strings.Join(names, ", "),
		sc.Start.In(sc.Policy.Zone).Format("2006-01-02 15:04"), sc.End.In(sc.Policy.Zone).Format("2006-01-02 15:04 -07:00"))
	bar := newProgressBar(c.stderr, c.tty, time.Now)
	rep, err := simulator.Run(ctx, sc, simulator.Options{Progress: bar.update, MaxPoints: 2})
	bar.clear()
	if err != nil {
		fmt.Fprintf(c.stderr, "poolsim: %s: the trial run failed: %v\n", pos[0], err)
		return exitScenario
	}
	for _, v := range rep.Variants {
		if len(v.Rejected) == 0 {
			continue
		}
		fmt.Fprintf(c.stdout, "note: in variant %s the rules reject %s (reported by run, not an error):\n", v.Name, plural(len(v.Rejected), "step"))
		for _, x := range v.Rejected {
			what := x.Pool
			if what == "" {
				what = "account " + x.Account
			}
			rule := x.Code
			if x.Rule != "" {
				rule += " (" + x.Rule + ")"
			}
			fmt.Fprintf(c.stdout, "  %s:%d: %s %s at %s: %s: %s\n", pos[0], x.Line, x.Action, what, x.At, rule, x.Message)
		}
	}
	return exitOK
}

// printFlags lists a command's flags the way they are typed: --name VALUE.
func printFlags(fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		if name != "" {
			name = " " + strings.ToUpper(name)
		}
		fmt.Fprintf(fs.Output(), "  --%s%s\n      %s\n", f.Name, name, usage)
	})
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func (c cli) usageError(cmd, format string, args ...any) int {
	fmt.Fprintf(c.stderr, "poolsim %s: %s\nRun 'poolsim %s --help' for usage.\n", cmd, fmt.Sprintf(format, args...), cmd)
	return exitUsage
}

func (c cli) scenarioError(err error) int {
	var se *simulator.ScenarioError
	if errors.As(err, &se) {
		fmt.Fprintln(c.stderr, se.Error())
		n := len(se.Problems) + se.Omitted
		fmt.Fprintf(c.stderr, "poolsim: %s; nothing was run\n", plural(n, "problem"))
		return exitScenario
	}
	fmt.Fprintf(c.stderr, "poolsim: %v\n", err)
	return exitScenario
}
