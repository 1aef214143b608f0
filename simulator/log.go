package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/respool/respool/domain"
	"github.com/respool/respool/eventstore"
)

// This file keeps a run's event log in a store (Options.Log) and rebuilds
// the report from it (Replay). The layout is in the package documentation
// (Keeping the log).

// LogStream is the stream of a kept log that describes the run.
const LogStream = "simulation-run"

// LogFormat is the version of the layout that Run writes and Replay reads.
const LogFormat = 1

// The event types of LogStream.
const (
	logStarted  = "simulation.started"
	logVariant  = "simulation.variant_finished"
	logFinished = "simulation.finished"
)

// The errors of a kept log, matched with errors.Is.
var (
	// ErrLogNotEmpty: Run was given an Options.Log that already holds
	// events (a run, or anything else). A log holds one run.
	ErrLogNotEmpty = errors.New("simulator: the store for the run's log is not empty")
	// ErrNotLog: the store holds no run (no simulation-run stream that
	// starts with simulation.started): it is empty, or holds other events.
	ErrNotLog = errors.New("simulator: the store holds no simulation run")
	// ErrLogVersion: the run was kept in a layout this version does not
	// read (LogFormat).
	ErrLogVersion = errors.New("simulator: the run's log has an unknown format version")
	// ErrLogUnfinished: the run that wrote the log failed or was stopped
	// before its end.
	ErrLogUnfinished = errors.New("simulator: the run's log is unfinished")
	// ErrLogCorrupt: the log does not hold together: an undecodable
	// record, a stream of no variant, events missing.
	ErrLogCorrupt = errors.New("simulator: the run's log is corrupt")
)

// The JSON payloads of LogStream.
type (
	startedData struct {
		Format   int           `json:"format"`
		Scenario scenarioData  `json:"scenario"`
		Variants []variantData `json:"variants"`
	}
	scenarioData struct {
		Name    string      `json:"name"`
		File    string      `json:"file"`
		Start   time.Time   `json:"start"`
		End     time.Time   `json:"end"`
		Tick    string      `json:"tick"` // time.Duration's String
		Step    string      `json:"step"` // the sampling step
		Zone    zoneData    `json:"zone"`
		Policy  policyData  `json:"policy"`
		Catalog catalogData `json:"catalog"`
	}
	zoneData struct {
		Name   string `json:"name"`   // the location's name
		Offset int    `json:"offset"` // seconds east of UTC at the start
	}
	policyData struct {
		RenewDaysBefore          int      `json:"renew_days_before"`
		GraceDays                int      `json:"grace_days"`
		RetentionDays            int      `json:"retention_days"`
		Rounding                 string   `json:"rounding"`
		TrainingMonths           []int    `json:"training_months"`
		DeploymentMonths         []int    `json:"deployment_months"`
		PrepaidDeploymentRegions []string `json:"prepaid_deployment_regions"`
	}
	catalogData struct {
		Currency string       `json:"currency"`
		Flavors  []flavorData `json:"flavors"`
	}
	flavorData struct {
		ID      string         `json:"id"`
		Kind    string         `json:"kind"`
		Hourly  domain.Money   `json:"hourly"`
		Monthly domain.Money   `json:"monthly"`
		Yearly  domain.Money   `json:"yearly"`
		Regions []string       `json:"regions"`
		Stock   map[string]int `json:"stock,omitempty"`
	}
	variantData struct {
		Name    string   `json:"name"`
		Prefix  string   `json:"prefix"`
		Changes []string `json:"changes"`
		Pools   []string `json:"pools"` // in scenario order
	}
	variantDoneData struct {
		Variant  int         `json:"variant"`
		Events   int         `json:"events"`
		Rejected []Rejection `json:"rejected"`
	}
	finishedData struct {
		Variants int `json:"variants"`
	}
)

// variantPrefix is the stream prefix of variant i.
func variantPrefix(i int) string { return "v" + strconv.Itoa(i) + "/" }

// runLog is a run's log being written.
type runLog struct {
	store eventstore.Store
	views []*prefixStore
	end   time.Time
}

// startLog checks that store is empty, records the run's description and
// returns the variants' views.
func startLog(ctx context.Context, store eventstore.Store, sc *Scenario, tick, step time.Duration) (*runLog, error) {
	head, err := store.Head(ctx)
	if err != nil {
		return nil, fmt.Errorf("simulator: the run's log: %w", err)
	}
	if head != 0 {
		return nil, fmt.Errorf("%w: it holds %d events", ErrLogNotEmpty, head)
	}
	zone := sc.Policy.Zone
	_, off := sc.Start.In(zone).Zone()
	pol := sc.Policy
	d := startedData{Format: LogFormat, Scenario: scenarioData{
		Name: sc.Name, File: sc.File, Start: sc.Start.In(zone), End: sc.End.In(zone),
		Tick: tick.String(), Step: step.String(), Zone: zoneData{Name: zone.String(), Offset: off},
		Policy: policyData{
			RenewDaysBefore: pol.RenewLeadDays(), GraceDays: pol.Grace(), RetentionDays: pol.Retention(),
			Rounding: pol.Rounding.String(), TrainingMonths: pol.AllowedMonths(domain.Training),
			DeploymentMonths: pol.AllowedMonths(domain.Deployment), PrepaidDeploymentRegions: pol.PrepaidRegions(),
		},
		Catalog: catalogData{Currency: sc.Catalog.Currency()},
	}}
	for _, f := range sc.Catalog.Flavors() {
		d.Scenario.Catalog.Flavors = append(d.Scenario.Catalog.Flavors, flavorData{
			ID: string(f.ID), Kind: string(f.Kind), Hourly: f.Hourly, Monthly: f.Monthly, Yearly: f.YearlyPrice(),
			Regions: f.Regions, Stock: f.Stock,
		})
	}
	l := &runLog{store: store, end: sc.End}
	for i, v := range sc.Variants {
		vd := variantData{Name: v.Name, Prefix: variantPrefix(i), Changes: v.Changes, Pools: make([]string, len(v.Pools))}
		for j, p := range v.Pools {
			vd.Pools[j] = string(p.ID)
		}
		d.Variants = append(d.Variants, vd)
		l.views = append(l.views, newPrefixStore(store, vd.Prefix))
	}
	if err := l.append(ctx, eventstore.NoStream, logStarted, "started", sc.Start, d); err != nil {
		if errors.Is(err, eventstore.ErrConflict) {
			return nil, fmt.Errorf("%w: another run started in it", ErrLogNotEmpty)
		}
		return nil, err
	}
	return l, nil
}

func (l *runLog) append(ctx context.Context, exp eventstore.Expected, typ, id string, at time.Time, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("simulator: encoding %s: %w", typ, err)
	}
	ev := eventstore.Event{ID: LogStream + "/" + id, Type: typ, Data: data, Time: at}
	if _, err := l.store.Append(ctx, LogStream, exp, ev); err != nil {
		return fmt.Errorf("simulator: writing the run's log: %w", err)
	}
	return nil
}

// variantDone records what variant i's report needs besides its events.
func (l *runLog) variantDone(ctx context.Context, i int, r *variantRun) error {
	d := variantDoneData{Variant: i, Events: r.charges.Events, Rejected: r.rejected}
	if d.Rejected == nil {
		d.Rejected = []Rejection{}
	}
	return l.append(ctx, eventstore.Any, logVariant, "variant/"+strconv.Itoa(i), l.end, d)
}

// finish marks the run complete.
func (l *runLog) finish(ctx context.Context) error {
	return l.append(ctx, eventstore.Any, logFinished, "finished", l.end, finishedData{Variants: len(l.views)})
}

// LogInfo describes the run a store holds.
type LogInfo struct {
	Scenario string // the scenario's name
	File     string // the file it was loaded from
	Start    time.Time
	End      time.Time
	Variants []string // names, base first
	// Finished: the run ended and its report can be rebuilt (otherwise
	// Replay fails with ErrLogUnfinished).
	Finished bool
}

// ReadLogInfo says which run store holds (Options.Log), reading only its
// simulation-run stream. A store that holds no run is ErrNotLog.
func ReadLogInfo(ctx context.Context, store eventstore.Store) (LogInfo, error) {
	d, _, finished, err := readRunStream(ctx, store)
	if err != nil {
		return LogInfo{}, err
	}
	info := LogInfo{Scenario: d.Scenario.Name, File: d.Scenario.File, Start: d.Scenario.Start, End: d.Scenario.End, Finished: finished}
	for _, v := range d.Variants {
		info.Variants = append(info.Variants, v.Name)
	}
	return info, nil
}

// readRunStream reads and checks the simulation-run stream.
func readRunStream(ctx context.Context, store eventstore.Store) (d *startedData, done map[int]*variantDoneData, finished bool, err error) {
	done = map[int]*variantDoneData{}
	first := true
	for rec, err := range store.ReadStream(ctx, LogStream, 0) {
		if err != nil {
			return nil, nil, false, fmt.Errorf("simulator: reading the run's log: %w", err)
		}
		if first {
			first = false
			if rec.Type != logStarted {
				return nil, nil, false, fmt.Errorf("%w: stream %s starts with %q, not %s", ErrNotLog, LogStream, rec.Type, logStarted)
			}
			var head struct {
				Format int `json:"format"`
			}
			if err := json.Unmarshal(rec.Data, &head); err != nil {
				return nil, nil, false, fmt.Errorf("%w: %s: %v", ErrLogCorrupt, logStarted, err)
			}
			if head.Format != LogFormat {
				return nil, nil, false, fmt.Errorf("%w: the log has format %d, this version reads format %d", ErrLogVersion, head.Format, LogFormat)
			}
			d = new(startedData)
			if err := strictJSON(rec.Data, d); err != nil {
				return nil, nil, false, fmt.Errorf("%w: %s: %v", ErrLogCorrupt, logStarted, err)
			}
			if err := d.check(); err != nil {
				return nil, nil, false, fmt.Errorf("%w: %s: %v", ErrLogCorrupt, logStarted, err)
			}
			continue
		}
		switch rec.Type {
		case logVariant:
			v := new(variantDoneData)
			if err := strictJSON(rec.Data, v); err != nil {
				return nil, nil, false, fmt.Errorf("%w: %s: %v", ErrLogCorrupt, logVariant, err)
			}
			if v.Variant < 0 || v.Variant >= len(d.Variants) || done[v.Variant] != nil {
				return nil, nil, false, fmt.Errorf("%w: %s for variant %d, of %d", ErrLogCorrupt, logVariant, v.Variant, len(d.Variants))
			}
			done[v.Variant] = v
		case logFinished:
			var f finishedData
			if err := strictJSON(rec.Data, &f); err != nil {
				return nil, nil, false, fmt.Errorf("%w: %s: %v", ErrLogCorrupt, logFinished, err)
			}
			if finished || f.Variants != len(d.Variants) || len(done) != len(d.Variants) {
				return nil, nil, false, fmt.Errorf("%w: %s after %d of %d variants", ErrLogCorrupt, logFinished, len(done), len(d.Variants))
			}
			finished = true
		default:
			return nil, nil, false, fmt.Errorf("%w: stream %s holds an event of type %q", ErrLogCorrupt, LogStream, rec.Type)
		}
	}
	if first {
		return nil, nil, false, fmt.Errorf("%w (no stream %s)", ErrNotLog, LogStream)
	}
	return d, done, finished, nil
}

func strictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the JSON document")
	}
	return nil
}

// check says whether a decoded description can be replayed.
func (d *startedData) check() error {
	s := &d.Scenario
	if !s.End.After(s.Start) {
		return fmt.Errorf("end %s is not after start %s", s.End, s.Start)
	}
	for _, dur := range []string{s.Tick, s.Step} {
		if v, err := time.ParseDuration(dur); err != nil || v <= 0 {
			return fmt.Errorf("%q is not a positive duration", dur)
		}
	}
	if len(d.Variants) == 0 {
		return errors.New("no variant")
	}
	for i, v := range d.Variants {
		if v.Prefix != variantPrefix(i) {
			return fmt.Errorf("variant %d has prefix %q, want %q", i, v.Prefix, variantPrefix(i))
		}
	}
	return nil
}

// scenario rebuilds what buildReport reads of the scenario.
func (d *startedData) scenario() (*Scenario, time.Duration, time.Duration, error) {
	s := &d.Scenario
	zone := time.FixedZone(s.Zone.Name, s.Zone.Offset)
	if s.Zone.Name != "" && s.Zone.Name != "Local" {
		if loc, err := time.LoadLocation(s.Zone.Name); err == nil {
			zone = loc
		}
	}
	rounding, err := domain.ParseRounding(s.Policy.Rounding)
	if err != nil {
		return nil, 0, 0, err
	}
	pol := domain.Policy{
		Zone: zone, RenewDaysBefore: domain.Int(s.Policy.RenewDaysBefore), GraceDays: domain.Int(s.Policy.GraceDays),
		RetentionDays: domain.Int(s.Policy.RetentionDays), Rounding: rounding,
		TrainingMonths: s.Policy.TrainingMonths, DeploymentMonths: s.Policy.DeploymentMonths,
		PrepaidDeploymentRegions: s.Policy.PrepaidDeploymentRegions,
	}
	if err := pol.Validate(); err != nil {
		return nil, 0, 0, err
	}
	var flavors []domain.Flavor
	for _, f := range s.Catalog.Flavors {
		flavors = append(flavors, domain.Flavor{ID: domain.FlavorID(f.ID), Kind: domain.Kind(f.Kind), Hourly: f.Hourly,
			Monthly: f.Monthly, Yearly: f.Yearly, Regions: f.Regions, Stock: f.Stock})
	}
	rc, err := domain.NewRateCard(s.Catalog.Currency, flavors...)
	if err != nil {
		return nil, 0, 0, err
	}
	tick, _ := time.ParseDuration(s.Tick) // checked by check
	step, _ := time.ParseDuration(s.Step)
	sc := &Scenario{File: s.File, Name: s.Name, Start: s.Start, End: s.End, Tick: tick, Policy: pol, Catalog: rc}
	for _, v := range d.Variants {
		vr := Variant{Name: v.Name, Changes: v.Changes}
		for _, id := range v.Pools {
			vr.Pools = append(vr.Pools, Pool{ID: domain.PoolID(id)})
		}
		sc.Variants = append(sc.Variants, vr)
	}
	return sc, tick, step, nil
}

// Replay rebuilds the report of a run kept in store (Options.Log) from the
// store alone: the run's description from the simulation-run stream, and
// each variant's pools, charges and curves from its events, fed through
// the projections in log order, as Run feeds them. The report is the one
// Run returned: the same JSON, table, CSV and HTML. It reads the store's
// log once and writes nothing.
//
// A store that holds no run is ErrNotLog; a run kept in another layout
// ErrLogVersion; a run that did not finish ErrLogUnfinished; a log that
// does not hold together (an undecodable record, events missing, streams
// of no variant) ErrLogCorrupt.
func Replay(ctx context.Context, store eventstore.Store) (*Report, error) {
	d, done, finished, err := readRunStream(ctx, store)
	if err != nil {
		return nil, err
	}
	if !finished {
		return nil, fmt.Errorf("%w: %d of %d variants ended, and the run did not", ErrLogUnfinished, len(done), len(d.Variants))
	}
	sc, tick, step, err := d.scenario()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrLogCorrupt, logStarted, err)
	}
	folds := make([]*fold, len(d.Variants))
	byPrefix := make(map[string]int, len(d.Variants))
	for i, v := range d.Variants {
		folds[i] = newFold(sc.Policy, sc.End, true)
		byPrefix[v.Prefix] = i
	}
	for rec, err := range store.ReadAll(ctx, 0) {
		if err != nil {
			return nil, fmt.Errorf("simulator: reading the run's log: %w", err)
		}
		if rec.Stream == LogStream {
			continue
		}
		slash := strings.IndexByte(rec.Stream, '/')
		i, ok := byPrefix[rec.Stream[:slash+1]]
		if slash < 0 || !ok {
			return nil, fmt.Errorf("%w: stream %s belongs to no variant of the run", ErrLogCorrupt, rec.Stream)
		}
		f := folds[i]
		rec.Stream = rec.Stream[slash+1:]
		rec.ID = strings.TrimPrefix(rec.ID, d.Variants[i].Prefix)
		rec.Position = eventstore.Position(f.n + 1) // the variant's own log, as Run read it
		if err := f.add(rec); err != nil {
			return nil, fmt.Errorf("%w: variant %s: %v", ErrLogCorrupt, d.Variants[i].Name, err)
		}
	}
	runs := make([]*variantRun, len(d.Variants))
	for i, f := range folds {
		if got, want := f.n, done[i].Events; got != want {
			return nil, fmt.Errorf("%w: variant %s wrote %d events, the log holds %d", ErrLogCorrupt, d.Variants[i].Name, want, got)
		}
		r := &variantRun{variant: sc.Variants[i], rejected: done[i].Rejected, states: map[domain.PoolID]domain.Pool{}}
		for id, st := range f.states {
			if st.Exists() {
				r.states[id] = *st
			}
		}
		r.charges = f.charges(sc.Start)
		runs[i] = r
	}
	samples := sampleTimes(sc.Start, sc.End, step)
	return buildReport(sc, tick, step, samples, runs), nil
}
