package simulator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/respool/respool"
	"github.com/respool/respool/simulator"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/golden from the current output")

const examplesDir = "../examples/scenarios"

// exampleFiles returns the scenario files of examples/scenarios (not the
// shared catalog).
func exampleFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(examplesDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files = slices.DeleteFunc(files, func(f string) bool { return strings.HasPrefix(filepath.Base(f), "catalog") })
	if len(files) < 5 {
		t.Fatalf("want at least 5 example scenarios, found %d", len(files))
	}
	return files
}

func run(t testing.TB, path string, opt simulator.Options) *simulator.Report {
	t.Helper()
	sc, err := simulator.Load(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	rep, err := simulator.Run(context.Background(), sc, opt)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rep
}

// TestExamples runs every example scenario and compares its JSON report
// with testdata/golden (go test -update rewrites them), after checking what
// SPEC section 9 says of every report.
func TestExamples(t *testing.T) {
	for _, path := range exampleFiles(t) {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rep := run(t, path, simulator.Options{})
			var buf bytes.Buffer
			if err := rep.WriteJSON(&buf); err != nil {
				t.Fatal(err)
			}
			checkSpecJSON(t, buf.Bytes())
			if check := stories[name]; check != nil {
				check(t, rep)
			} else {
				t.Errorf("no story check for example %s", name)
			}
			golden := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("the report of %s differs from %s (go test -update rewrites it):\n%s", path, golden, firstDiff(string(want), buf.String()))
			}
		})
	}
}

// firstDiff shows the first differing line of two texts.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) && i < len(gl); i++ {
		if wl[i] != gl[i] {
			return "line " + itoa(i+1) + ":\n  want " + wl[i] + "\n  got  " + gl[i]
		}
	}
	return "lengths differ: want " + itoa(len(wl)) + " lines, got " + itoa(len(gl))
}

func itoa(i int) string { return strconv.Itoa(i) }

// specCodes are the error codes of SPEC section 8.
var specCodes = []string{"invalid_name", "invalid_description", "invalid_nodes", "unknown_flavor", "flavor_sold_out",
	"quota_exceeded", "invalid_duration", "region_not_supported", "invalid_network", "invalid_az", "scaling_not_supported",
	"delete_not_supported", "pool_not_running", "pool_gone", "unknown_node", "last_node", "not_found",
	"renewal_not_supported", "insufficient_balance", "in_arrears", "conflict"}

var specActions = []string{"create", "scale_out", "scale_in", "delete", "renew", "auto_renew", "fault", "recover", "top_up"}

var specStatuses = []string{"running", "abnormal", "expired", "frozen", "deleted"}

// checkSpecJSON checks the document against SPEC section 9, key by key,
// reading it as a script would: generic JSON.
func checkSpecJSON(t *testing.T, doc []byte) {
	t.Helper()
	var r map[string]any
	if err := json.Unmarshal(doc, &r); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if _, ok := r["scenario"].(string); !ok {
		t.Errorf("scenario is not a string: %v", r["scenario"])
	}
	variants, ok := r["variants"].([]any)
	if !ok || len(variants) == 0 {
		t.Fatalf("variants: %v", r["variants"])
	}
	for i, vv := range variants {
		v := vv.(map[string]any)
		if i == 0 && v["name"] != "base" {
			t.Errorf("the first variant is %v, want base", v["name"])
		}
		for _, k := range []string{"name", "currency", "total"} {
			if _, ok := v[k].(string); !ok {
				t.Errorf("variant %d: %s is not a string: %v", i, k, v[k])
			}
		}
		pools, ok1 := v["pools"].([]any)
		rejected, ok2 := v["rejected"].([]any)
		if !ok1 || !ok2 {
			t.Fatalf("variant %v: pools or rejected is not a list", v["name"])
		}
		sum := decimalOf(t, "0")
		for _, pp := range pools {
			p := pp.(map[string]any)
			for _, k := range []string{"id", "billing", "status", "charged"} {
				if _, ok := p[k].(string); !ok {
					t.Errorf("pool %v: %s is not a string", p["id"], k)
				}
			}
			for _, k := range []string{"nodes", "renewals"} {
				if _, ok := p[k].(float64); !ok {
					t.Errorf("pool %v: %s is not a number", p["id"], k)
				}
			}
			if !slices.Contains(specStatuses, p["status"].(string)) {
				t.Errorf("pool %v: status %v is not one of section 7", p["id"], p["status"])
			}
			if p["status"] == "deleted" && p["nodes"].(float64) != 0 {
				t.Errorf("pool %v is deleted with %v nodes", p["id"], p["nodes"])
			}
			checkAmount(t, p["charged"].(string))
			sum = sum.Add(decimalOf(t, p["charged"].(string)))
		}
		checkAmount(t, v["total"].(string))
		if !sum.Equal(decimalOf(t, v["total"].(string))) {
			t.Errorf("variant %v: total %v is not the sum of the pools' charged (%s)", v["name"], v["total"], sum)
		}
		for _, xx := range rejected {
			x := xx.(map[string]any)
			for _, k := range []string{"at", "pool", "action", "code"} {
				if _, ok := x[k].(string); !ok {
					t.Errorf("rejection %v: %s is not a string", x, k)
				}
			}
			if !slices.Contains(specCodes, x["code"].(string)) {
				t.Errorf("rejection code %v is not one of section 8", x["code"])
			}
			if !slices.Contains(specActions, x["action"].(string)) {
				t.Errorf("rejection action %v is not one of section 9", x["action"])
			}
			if !strings.Contains(x["at"].(string), "+08:00") {
				t.Errorf("rejection at %v is not in the billing zone", x["at"])
			}
		}
	}
}

// checkAmount: "rounded to 0.01": two decimals, never negative (R31).
func checkAmount(t *testing.T, s string) {
	t.Helper()
	i := strings.IndexByte(s, '.')
	if i < 1 || len(s)-i != 3 || strings.HasPrefix(s, "-") {
		t.Errorf("amount %q is not a non-negative amount with two decimals", s)
	}
}

func pool(t *testing.T, v simulator.VariantReport, id string) simulator.PoolReport {
	t.Helper()
	for _, p := range v.Pools {
		if p.ID == id {
			return p
		}
	}
	t.Fatalf("variant %s has no pool %s", v.Name, id)
	return simulator.PoolReport{}
}

func variant(t *testing.T, r *simulator.Report, name string) simulator.VariantReport {
	t.Helper()
	for _, v := range r.Variants {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no variant %s", name)
	return simulator.VariantReport{}
}

func codes(v simulator.VariantReport) []string {
	var out []string
	for _, x := range v.Rejected {
		out = append(out, x.Action+" "+x.Pool+" "+x.Code)
	}
	return out
}

func equalAmount(t *testing.T, what string, got simulator.Amount, want string) {
	t.Helper()
	if !got.Decimal().Equal(decimalOf(t, want)) {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

// stories checks what each example is there to show, so that a golden file
// regenerated by mistake cannot hide a wrong story.
var stories = map[string]func(*testing.T, *simulator.Report){
	"training-year": func(t *testing.T, r *simulator.Report) {
		base, monthly, yearly := variant(t, r, "base"), variant(t, r, "monthly"), variant(t, r, "yearly")
		equalAmount(t, "base", base.Total, "438000")     // 4 nodes x 12.50 x 8760 h (R28)
		equalAmount(t, "yearly", yearly.Total, "248000") // 4 x 10 x 6200 (R8)
		equalAmount(t, "monthly", monthly.Total, "322400")
		if p := pool(t, monthly, "train-a"); p.Renewals != 12 { // 11 in the year, and January 2027 charged 7 days ahead (R24)
			t.Errorf("monthly renewals = %d, want 12", p.Renewals)
		}
		if x := yearly.Insight.VsBase; x == nil || x.Cheaper != "yearly" || x.AfterMonths < 6 || x.AfterMonths > 7 {
			t.Errorf("yearly vs base: %+v", x)
		}
		if be := yearly.Insight.BreakEven; len(be) != 1 || be[0].AfterMonths != 6.8 {
			t.Errorf("break-even: %+v", be)
		}
	},
	"deployment-azs": func(t *testing.T, r *simulator.Report) {
		base := variant(t, r, "base")
		if got := codes(base); !slices.Equal(got, []string{"create infer-sg region_not_supported", "scale_out infer-prod scaling_not_supported"}) {
			t.Errorf("base rejections: %v", got)
		}
		if azs := pool(t, base, "infer-prod").AZs; azs["az1"] != 2 || azs["az2"] != 2 || azs["az3"] != 2 {
			t.Errorf("infer-prod AZs = %v, want 2 in each (R11)", azs)
		}
		if azs := pool(t, base, "infer-canary").AZs; azs["az2"] != 3 || len(azs) != 1 {
			t.Errorf("infer-canary AZs = %v, want 3 in az2", azs)
		}
		if v := variant(t, r, "all-pay-per-use"); len(v.Rejected) != 0 || len(v.Pools) != 3 {
			t.Errorf("all-pay-per-use: %v rejected, %d pools", codes(v), len(v.Pools))
		}
	},
	"gpu-contention": func(t *testing.T, r *simulator.Report) {
		base := variant(t, r, "base")
		want := []string{"create nlp-train flavor_sold_out", "scale_out vision-train flavor_sold_out", "scale_out nlp-small quota_exceeded"}
		if got := codes(base); !slices.Equal(got, want) {
			t.Errorf("base rejections: %v, want %v", got, want)
		}
		if p := pool(t, base, "nlp-small"); p.Nodes != 4 {
			t.Errorf("nlp-small has %d nodes, want 4 (it took vision's 2)", p.Nodes)
		}
		if got := codes(variant(t, r, "vision-prepaid")); !slices.Contains(got, "delete vision-train delete_not_supported") {
			t.Errorf("vision-prepaid rejections: %v", got)
		}
	},
	"balance-runs-out": func(t *testing.T, r *simulator.Report) {
		base := variant(t, r, "base")
		p := pool(t, base, "train-m")
		if p.Status != "deleted" || p.Renewals != 2 || p.RenewalsFailed == 0 {
			t.Errorf("train-m: %s, %d renewals, %d failed; want deleted after 2 renewals and some failures", p.Status, p.Renewals, p.RenewalsFailed)
		}
		var path []string
		for _, h := range p.History {
			path = append(path, h.Status)
		}
		if !slices.Equal(path, []string{"expired", "frozen", "deleted"}) {
			t.Errorf("train-m went through %v, want expired, frozen, deleted (R26)", path)
		}
		lab := pool(t, base, "lab-dev")
		path = nil
		for _, h := range lab.History {
			path = append(path, h.Status+"/"+h.Reason)
		}
		if !slices.Equal(path, []string{"expired/arrears", "frozen/retention", "running/arrears_paid"}) || lab.Status != "running" {
			t.Errorf("lab-dev went through %v to %s; want arrears, retention, back to running (R27)", path, lab.Status)
		}
		equalAmount(t, "train-m", p.Charged, "37200") // three terms of 12,400
	},
	"seasonal-scaling": func(t *testing.T, r *simulator.Report) {
		base := variant(t, r, "base")
		if p := pool(t, base, "season"); p.Status != "deleted" || len(base.Rejected) != 0 {
			t.Errorf("season: %s, rejections %v", p.Status, codes(base))
		}
		all := variant(t, r, "all-prepaid")
		want := []string{"scale_out season scaling_not_supported", "scale_in season scaling_not_supported",
			"scale_out season scaling_not_supported", "scale_in season scaling_not_supported", "delete season delete_not_supported"}
		if got := codes(all); !slices.Equal(got, want) {
			t.Errorf("all-prepaid rejections: %v", got)
		}
		if v := variant(t, r, "steady-yearly"); v.Insight.SavingVsBase.Decimal().Sign() <= 0 {
			t.Errorf("steady-yearly saves %s", v.Insight.SavingVsBase)
		}
	},
}

// TestTicksDoNotChangeResults runs the examples with ticks of 1h and 1d
// (SPEC section 9), and the one richest in time-driven transitions
// (renewal attempts at 03:00, expiry, grace, retention, deletion, hourly
// arrears) with 1m as well, sampling at every tick, and checks that the
// events written and the report (but for its sampled series) are the same.
func TestTicksDoNotChangeResults(t *testing.T) {
	for _, path := range exampleFiles(t) {
		ticks := []string{"1d", "1h"}
		if strings.HasSuffix(path, "balance-runs-out.yaml") && !testing.Short() {
			ticks = append(ticks, "1m")
		}
		t.Run(strings.TrimSuffix(filepath.Base(path), ".yaml"), func(t *testing.T) {
			t.Parallel()
			var ref, refEvents string
			for _, tick := range ticks {
				d, _ := simulator.ParseDuration(tick)
				logs := map[string]string{}
				var mu sync.Mutex
				opt := simulator.Options{Tick: d, MaxPoints: 1 << 30, Inspect: func(v string, svc *respool.Service) error {
					s, err := eventLog(svc)
					mu.Lock()
					logs[v] = s
					mu.Unlock()
					return err
				}}
				rep := run(t, path, opt)
				for i := range rep.Variants {
					if n := len(rep.Variants[i].Cumulative.Values); tick == "1d" && n < 2 {
						t.Errorf("a series of %d samples", n)
					}
					rep.Variants[i].Cumulative = simulator.Series{}
				}
				rep.Tick = ""
				var buf bytes.Buffer
				if err := rep.WriteJSON(&buf); err != nil {
					t.Fatal(err)
				}
				keys := make([]string, 0, len(logs))
				for k := range logs {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				var events strings.Builder
				for _, k := range keys {
					events.WriteString(k + "\n" + logs[k])
				}
				if ref == "" {
					ref, refEvents = buf.String(), events.String()
					continue
				}
				if buf.String() != ref {
					t.Errorf("tick %s changes the report:\n%s", tick, firstDiff(ref, buf.String()))
				}
				if events.String() != refEvents {
					t.Errorf("tick %s changes the events:\n%s", tick, firstDiff(refEvents, events.String()))
				}
			}
		})
	}
}

// eventLog writes a run's whole log, one event a line.
func eventLog(svc *respool.Service) (string, error) {
	var b strings.Builder
	for rec, err := range svc.Store().ReadAll(context.Background(), 0) {
		if err != nil {
			return "", err
		}
		b.WriteString(rec.Stream + " " + rec.Type + " " + rec.Time.UTC().Format("2006-01-02T15:04:05.000000000Z") + " " + string(rec.Data) + "\n")
	}
	return b.String(), nil
}

func decimalOf(t *testing.T, s string) decimal.Decimal {
	t.Helper()
	d, err := decimal.NewFromString(s)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return d
}
