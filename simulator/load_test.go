package simulator_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/respool/respool/domain"
	"github.com/respool/respool/simulator"
)

// valid is a small scenario every case of the loader tests starts from.
const valid = `name: small
start: 2026-01-01T00:00:00+08:00
end:   2026-03-01T00:00:00+08:00
catalog:
  currency: CNY
  flavors:
    - id: modelarts.vm.gpu.t4u8
      kind: gpu
      hourly: "12.50"
      monthly: "6200"
      regions: [cn-north-4]
accounts:
  - id: acme
    quota: {modelarts.vm.gpu.t4u8: 16}
    balance: "100000"
pools:
  - id: train-a
    account: acme
    name: train_a
    type: training
    billing: pay-per-use
    flavor: modelarts.vm.gpu.t4u8
    region: cn-north-4
    nodes: 4
actions:
  - {at: 2026-02-01T00:00:00+08:00, account: acme, pool: train-a, scale_out: 2}
variants:
  - name: yearly
    pools: {train-a: {billing: prepaid, months: 12}}
`

func parse(t *testing.T, src string) (*simulator.Scenario, []simulator.Problem) {
	t.Helper()
	sc, err := simulator.Parse("s.yaml", []byte(src), nil)
	if err == nil {
		return sc, nil
	}
	var se *simulator.ScenarioError
	if !errors.As(err, &se) {
		t.Fatalf("Parse returned %T (%v), want *ScenarioError", err, err)
	}
	if sc != nil {
		t.Fatalf("Parse returned a scenario and an error")
	}
	if len(se.Problems) == 0 {
		t.Fatalf("a ScenarioError without problems")
	}
	return nil, se.Problems
}

func TestParseValid(t *testing.T) {
	t.Parallel()
	sc, probs := parse(t, valid)
	if probs != nil {
		t.Fatalf("problems: %v", probs)
	}
	if sc.Name != "small" || sc.Tick != time.Hour || len(sc.Pools) != 1 || len(sc.Actions) != 1 {
		t.Fatalf("scenario: %+v", sc)
	}
	if len(sc.Variants) != 2 || sc.Variants[0].Name != "base" || sc.Variants[1].Name != "yearly" {
		t.Fatalf("variants: %+v", sc.Variants)
	}
	if p := sc.Variants[1].Pools[0]; p.Billing != domain.Prepaid || p.Months != 12 || p.Nodes != 4 {
		t.Fatalf("the variant's pool: %+v", p)
	}
	if p := sc.Pools[0]; p.Billing != domain.PayPerUse || p.Months != 0 {
		t.Fatalf("a variant changed the base pool: %+v", p)
	}
	if got := sc.Variants[1].Changes; len(got) != 1 || got[0] != "train-a: billing=prepaid months=12" {
		t.Fatalf("changes: %q", got)
	}
	if sc.Accounts[0].Balance == nil || !sc.Accounts[0].Balance.Equal(domain.MustMoney("100000")) {
		t.Fatalf("balance: %v", sc.Accounts[0].Balance)
	}
	if !sc.Pools[0].At.Equal(sc.Start) {
		t.Fatalf("a pool without at is bought at start, got %v", sc.Pools[0].At)
	}
}

// TestParseProblems feeds the loader what a new user gets wrong, and
// checks that each problem names the file, the line, the key and the fix.
func TestParseProblems(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		src  string
		want []string // each must appear in one problem's text
	}{
		{"misspelled key", strings.Replace(valid, "    flavor: modelarts", "    flavour: modelarts", 1),
			[]string{`s.yaml:22:5: pools[0].flavour: unknown key (did you mean "flavor"?)`}},
		{"misspelled top-level key", strings.Replace(valid, "variants:", "variant:", 1),
			[]string{`s.yaml:27:1: variant: unknown key (did you mean "variants"?); a scenario takes: name, start`}},
		{"pool id used twice", valid + "pools2: x\n",
			[]string{`pools2: unknown key`}},
		{"duplicate pool id", strings.Replace(valid, "actions:", `  - {id: train-a, account: acme, type: training, billing: pay-per-use, flavor: modelarts.vm.gpu.t4u8, region: cn-north-4, nodes: 1}
actions:`, 1),
			[]string{`s.yaml:25:10: pools[1].id: pool id train-a is used twice (first at line 17); give each pool its own id`}},
		{"action on a pool that does not exist", strings.Replace(valid, "pool: train-a, scale_out", "pool: train-b, scale_out", 1),
			[]string{`s.yaml:26:58: actions[0].pool: pool "train-b" is not in pools (did you mean "train-a"?)`}},
		{"end before start", strings.Replace(valid, "end:   2026-03-01", "end:   2025-03-01", 1),
			[]string{`s.yaml:3:8: end: end (2025-03-01T00:00:00+08:00) is not after start`}},
		{"empty file", "", []string{`s.yaml: is empty: a scenario needs at least name, start, end, catalog, accounts and pools`}},
		{"only comments", "# nothing yet\n", []string{`holds only comments`}},
		{"binary file", "\x7fELF\x02\x01\x01\x00\x00\x00", []string{`s.yaml: is not a text file`}},
		{"time without offset", strings.Replace(valid, "start: 2026-01-01T00:00:00+08:00", "start: 2026-01-01T00:00:00", 1),
			[]string{`s.yaml:2:8: start: "2026-01-01T00:00:00" has no offset, so it could be any zone; add one: 2026-01-01T00:00:00+08:00`}},
		{"date without time", strings.Replace(valid, "start: 2026-01-01T00:00:00+08:00", "start: 2026-01-01", 1),
			[]string{`start: "2026-01-01" is a date without a time`}},
		{"bad amount", strings.Replace(valid, `hourly: "12.50"`, `hourly: "12,50"`, 1),
			[]string{`s.yaml:9:15: catalog.flavors[0].hourly: "12,50" is not an amount`}},
		{"negative amount", strings.Replace(valid, `balance: "100000"`, `balance: -5`, 1),
			[]string{`accounts[0].balance: "-5" is not an amount: an amount cannot be negative`}},
		{"bad tick", strings.Replace(valid, "catalog:\n", "tick: 1 hour\ncatalog:\n", 1),
			[]string{`tick: "1 hour" is not a duration`}},
		{"zero tick", strings.Replace(valid, "catalog:\n", "tick: 0s\ncatalog:\n", 1),
			[]string{`tick: "0s": want a duration greater than zero`}},
		{"bad zone", strings.Replace(valid, "catalog:\n", "zone: Asia/Shanghai\ncatalog:\n", 1),
			[]string{`zone: "Asia/Shanghai" is not a zone: want a fixed offset`}},
		{"policy out of range", strings.Replace(valid, "catalog:\n", "policy: {renew_days_before: 9}\ncatalog:\n", 1),
			[]string{`policy.renew_days_before: renew_days_before 9: want 0 to 7 (R24)`}},
		{"unknown flavor", strings.Replace(valid, "    flavor: modelarts.vm.gpu.t4u8", "    flavor: modelarts.vm.gpu.t4u9", 1),
			[]string{`pools[0].flavor: flavor "modelarts.vm.gpu.t4u9" is not in the catalog (did you mean "modelarts.vm.gpu.t4u8"?)`}},
		{"unknown account", strings.Replace(valid, "    account: acme", "    account: acne", 1),
			[]string{`pools[0].account: account "acne" is not in accounts (did you mean "acme"?)`}},
		{"unknown billing", strings.Replace(valid, "billing: pay-per-use", "billing: payg", 1),
			[]string{`pools[0].billing: "payg": want pay-per-use or prepaid`}},
		{"nodes not a number", strings.Replace(valid, "nodes: 4", "nodes: four", 1),
			[]string{`pools[0].nodes: "four" is not a whole number of nodes`}},
		{"two verbs", strings.Replace(valid, "scale_out: 2}", "scale_out: 2, delete: true}", 1),
			[]string{`actions[0]: names 2 verbs (scale_out, delete); an action takes exactly one`}},
		{"no verb", strings.Replace(valid, ", scale_out: 2}", "}", 1),
			[]string{`actions[0]: names no verb`}},
		{"top_up with a pool", strings.Replace(valid, "scale_out: 2}", "top_up: 100}", 1),
			[]string{`actions[0].pool: top_up adds money to an account, not a pool; remove pool`}},
		{"action outside the simulation", strings.Replace(valid, "at: 2026-02-01", "at: 2027-02-01", 1),
			[]string{`actions[0].at: 2027-02-01T00:00:00+08:00 is outside the simulation`}},
		{"variant named base", strings.Replace(valid, "name: yearly", "name: base", 1),
			[]string{`variants[0].name: base is the scenario as written`}},
		{"variant on an unknown pool", strings.Replace(valid, "pools: {train-a: {billing", "pools: {train-x: {billing", 1),
			[]string{`variants[0].pools.train-x: pool "train-x" is not in pools (did you mean "train-a"?)`}},
		{"variant overrides the id", strings.Replace(valid, "{billing: prepaid, months: 12}", "{id: other}", 1),
			[]string{`variants[0].pools.train-a.id: unknown key`}},
		{"prepaid without months", strings.Replace(valid, "{billing: prepaid, months: 12}", "{billing: prepaid}", 1),
			[]string{`pool train-a is prepaid in variant yearly but names no duration; add months`}},
		{"missing required keys", "name: x\n", []string{`a scenario needs "start"`, `a scenario needs "catalog"`, `a scenario needs "pools"`}},
		{"not a mapping", "- a\n- b\n", []string{`is not a scenario: want a mapping of keys`}},
		{"yaml syntax", "name: x\nstart: [\n", []string{`s.yaml:2: not valid YAML: did not find expected node content`}},
		{"two documents", valid + "---\nname: other\n", []string{`holds more than one YAML document`}},
		{"key given twice", strings.Replace(valid, "nodes: 4", "nodes: 4\n    nodes: 5", 1), []string{`s.yaml:25:5: pools[0].nodes: given twice (first at line 24); keep one`}},
		{"catalog file without a reader", strings.Replace(valid, "catalog:\n  currency", "catalog: cat.yaml\nx:\n  currency", 1),
			[]string{`catalog: a catalog file ("cat.yaml") cannot be read here`}},
		{"stock for a region that does not sell", strings.Replace(valid, "regions: [cn-north-4]", "regions: [cn-north-4]\n      stock: {cn-north-9: 3}", 1),
			[]string{`catalog.flavors[0].stock.cn-north-9: unknown key (did you mean "cn-north-4"?)`}},
		{"merge keys", strings.Replace(valid, "    nodes: 4", "    <<: {nodes: 4}", 1), []string{`merge keys (<<) are not supported`}},
		{"fault false", strings.Replace(valid, "scale_out: 2}", "fault: false}", 1), []string{`fault: false does nothing`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, probs := parse(t, c.src)
			if probs == nil {
				t.Fatalf("no problem reported")
			}
			var all []string
			for _, p := range probs {
				if p.File != "s.yaml" {
					t.Errorf("problem names file %q: %s", p.File, p)
				}
				all = append(all, p.String())
			}
			text := strings.Join(all, "\n")
			for _, w := range c.want {
				if !strings.Contains(text, w) {
					t.Errorf("no problem says\n  %s\ngot\n  %s", w, strings.ReplaceAll(text, "\n", "\n  "))
				}
			}
		})
	}
}

// TestParseReportsEveryProblem: a file with several problems lists them
// all at once, in line order, not one per run.
func TestParseReportsEveryProblem(t *testing.T) {
	t.Parallel()
	src := strings.NewReplacer(
		"start: 2026-01-01T00:00:00+08:00", "start: 2026-01-01T00:00:00",
		`hourly: "12.50"`, `hourly: twelve`,
		"    flavor: modelarts", "    flavour: modelarts",
		"pool: train-a, scale_out", "pool: train-b, scale_out",
	).Replace(valid)
	_, probs := parse(t, src)
	if len(probs) < 4 {
		t.Fatalf("got %d problems, want at least 4: %v", len(probs), probs)
	}
	for i := 1; i < len(probs); i++ {
		if probs[i].Line < probs[i-1].Line {
			t.Fatalf("problems out of line order: %v", probs)
		}
	}
	for _, p := range probs {
		if p.Line == 0 {
			t.Errorf("a problem without a line: %s", p)
		}
	}
}

func TestParseAliasBomb(t *testing.T) {
	t.Parallel()
	// Nine levels of ten aliases each: 10^9 nodes once expanded, under
	// keys the loader walks.
	src := "name: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for i, key := range []string{"start", "end", "tick", "zone", "policy", "catalog", "accounts", "pools", "actions"} {
		name := string(rune('b' + i))
		src += key + ": &" + name + " [" + strings.Repeat("*"+prev+", ", 9) + "*" + prev + "]\n"
		prev = name
	}
	src += "variants: [{name: v, pools: *" + prev + "}]\n"
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, probs := parse(t, src); probs == nil {
			t.Error("no problem reported")
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("loading nested aliases did not finish")
	}
}

func TestLoadCatalogFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cat := "currency: CNY\nflavors:\n  - {id: f1, kind: gpu, hourly: \"1\", monthly: \"500\", regions: [r1]}\n"
	src := strings.NewReplacer(
		"catalog:\n  currency: CNY\n  flavors:\n    - id: modelarts.vm.gpu.t4u8\n      kind: gpu\n      hourly: \"12.50\"\n      monthly: \"6200\"\n      regions: [cn-north-4]\n",
		"catalog: cat/rates.yaml\n",
		"modelarts.vm.gpu.t4u8", "f1", "cn-north-4", "r1",
	).Replace(valid)
	if err := os.MkdirAll(filepath.Join(dir, "cat"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("s.yaml", src)
	write("cat/rates.yaml", cat)
	sc, err := simulator.Load(filepath.Join(dir, "s.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := sc.Catalog.Flavor("f1"); !ok || !f.Hourly.Equal(domain.MustMoney("1")) {
		t.Fatalf("catalog: %+v", sc.Catalog.Flavors())
	}

	// A problem in the catalog file names that file and its line.
	write("cat/rates.yaml", strings.Replace(cat, `hourly: "1"`, `hourly: "x"`, 1))
	_, err = simulator.Load(filepath.Join(dir, "s.yaml"))
	var se *simulator.ScenarioError
	if !errors.As(err, &se) || !strings.Contains(se.Error(), filepath.Join(dir, "cat/rates.yaml")+":3:") {
		t.Fatalf("want a problem at %s:3, got %v", filepath.Join(dir, "cat/rates.yaml"), err)
	}

	// A missing catalog file is a problem at the catalog key.
	os.Remove(filepath.Join(dir, "cat/rates.yaml"))
	_, err = simulator.Load(filepath.Join(dir, "s.yaml"))
	if !errors.As(err, &se) || !strings.Contains(se.Error(), `s.yaml:4:10: catalog: cannot read the catalog file "cat/rates.yaml": no such file`) {
		t.Fatalf("got %v", err)
	}
}

func TestLoadNotAFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, c := range []struct{ path, want string }{
		{filepath.Join(dir, "missing.yaml"), "missing.yaml: no such file"},
		{dir, "is a directory"},
	} {
		_, err := simulator.Load(c.path)
		var se *simulator.ScenarioError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Load(%s) = %v, want %q", c.path, err, c.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{
		"1h": time.Hour, "15m": 15 * time.Minute, "1d": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "1d12h": 36 * time.Hour,
	} {
		if got, err := simulator.ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0s", "-1h", "1 hour", "d", "1w", "xd"} {
		if _, err := simulator.ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) succeeded", in)
		}
	}
}
