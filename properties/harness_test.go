package properties_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"hash/fnv"
	"strings"
	"testing"
	"time"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/prop"

	"github.com/respool/respool/respooltest"
)

var (
	seedFlag  = flag.Int64("respool.seed", 0, "seed of every property (0: each property's fixed seed; -1: from the clock)")
	casesFlag = flag.Int("respool.cases", 0, "cases per property (0: 1000, or 100 under the race detector)")
	dstFlag   = flag.Bool("respool.dst", false, "also draw billing zones with daylight saving (SPEC wants fixed ones; Policy accepts any)")
)

// dstZones are billing zones with daylight saving, drawn with -respool.dst:
// a one-hour shift at 02:00 both ways, a 30-minute shift (Lord Howe), and
// a shift at midnight (Santiago), where a day starts at 01:00.
var dstZones = []string{"America/New_York", "Europe/London", "Australia/Lord_Howe", "America/Santiago"}

// genTimeline is respooltest.GenTimeline, with the zones of -respool.dst.
func genTimeline(o respooltest.TimelineOptions) gopter.Gen {
	if *dstFlag && o.Policy.Zones == nil {
		o.Policy.Zones = respooltest.Zones()
		for _, name := range dstZones {
			loc, err := time.LoadLocation(name)
			if err != nil {
				panic(err)
			}
			o.Policy.Zones = append(o.Policy.Zones, loc)
		}
	}
	return respooltest.GenTimeline(o)
}

// defaultCases is the number of cases of each property when
// -respool.cases is not given. The race detector makes the Service about
// ten times slower, so `go test -race ./...` runs a tenth of them; CI runs
// the full 1,000 without it (see doc.go).
func defaultCases() int {
	if raceEnabled {
		return 100
	}
	return 1000
}

// config tunes one property's run.
type config struct {
	// cases scales the default number of cases (for properties whose
	// cases are each many runs); 0 means 1.
	scale float64
	// maxSize is the largest generator size (steps of a timeline). 0: 40.
	maxSize int
}

// check runs a property with gopter: the property's fixed seed (or
// -respool.seed), 1,000 cases (or -respool.cases), and on failure reports
// the seed, the command that reruns it, the shrunk arguments and the
// labels of the failing check.
func check(t *testing.T, p gopter.Prop, cfgs ...config) {
	t.Helper()
	var cfg config
	if len(cfgs) > 0 {
		cfg = cfgs[0]
	}
	seed := *seedFlag
	switch seed {
	case 0:
		h := fnv.New64a()
		h.Write([]byte(t.Name()))
		seed = int64(h.Sum64() >> 1)
	case -1:
		seed = time.Now().UnixNano()
	}
	cases := *casesFlag
	if cases <= 0 {
		cases = defaultCases()
	}
	if cfg.scale > 0 {
		cases = max(1, int(float64(cases)*cfg.scale))
	}
	params := gopter.DefaultTestParametersWithSeed(seed)
	params.MinSuccessfulTests = cases
	params.MaxSize = 40
	if cfg.maxSize > 0 {
		params.MaxSize = cfg.maxSize
	}
	params.MaxShrinkCount = 400
	running = runningCase{name: t.Name(), seed: seed, cases: cases}
	defer func() { running = runningCase{} }()
	var out bytes.Buffer
	props := gopter.NewProperties(params)
	props.Property(t.Name(), p)
	start := time.Now()
	if !props.Run(gopter.NewFormatedReporter(true, 1<<20, &out)) {
		t.Errorf("property failed with seed %d after %s\nrerun: go test ./properties -run '^%s$' -respool.seed=%d -respool.cases=%d\n%s",
			seed, time.Since(start).Round(time.Millisecond), t.Name(), seed, cases, out.String())
		return
	}
	t.Logf("seed %d, %d cases, %s", seed, cases, time.Since(start).Round(time.Millisecond))
}

// runningCase names the property running, for the watchdog.
type runningCase struct {
	name  string
	seed  int64
	cases int
}

var running runningCase

// caseTimeout bounds one case of a property. A case that runs longer has
// hung (a Service that never returns): the watchdog ends the test binary
// with the seed and the timeline, rather than leaving it to go test's
// timeout, which would say neither.
func caseTimeout() time.Duration {
	if raceEnabled {
		return 2 * time.Minute
	}
	return 20 * time.Second
}

// watchdog panics, naming the property, its seed and what describe says,
// unless the returned stop is called within caseTimeout.
func watchdog(describe func() string) (stop func()) {
	r := running
	timer := time.AfterFunc(caseTimeout(), func() {
		panic(fmt.Sprintf("%s: a case ran for more than %s: a hang?\nseed %d; rerun: go test ./properties -run '^%s$' -respool.seed=%d -respool.cases=%d\n%s",
			r.name, caseTimeout(), r.seed, r.name, r.seed, r.cases, describe()))
	})
	return func() { timer.Stop() }
}

// forTimelines is the usual property: for all timelines of the generator,
// execute and check the outcome. The check returns what is wrong, or "".
func forTimelines(o respooltest.TimelineOptions, f func(o *respooltest.Outcome) string) gopter.Prop {
	return prop.ForAll(func(tl respooltest.Timeline) (string, error) {
		defer watchdog(tl.String)() // the check too may hang
		out, err := respooltest.Execute(context.Background(), tl)
		if err != nil {
			return "", err
		}
		if msg := f(out); msg != "" {
			return msg + "\n" + out.String(), nil
		}
		return "", nil
	}, genTimeline(o))
}

// problems collects what a check finds wrong; the first few are reported.
type problems struct{ list []string }

func (p *problems) add(format string, args ...any) {
	if len(p.list) < 8 {
		p.list = append(p.list, fmt.Sprintf(format, args...))
	}
}

func (p *problems) String() string { return strings.Join(p.list, "\n") }

func (p *problems) ok() bool { return len(p.list) == 0 }
