package simulator_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/respool/respool/simulator"
)

// FuzzParse: no input makes the loader panic, and every answer is either a
// complete scenario or a ScenarioError whose problems name the file.
func FuzzParse(f *testing.F) {
	f.Add([]byte(valid))
	files, _ := filepath.Glob(filepath.Join(examplesDir, "*.yaml"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"", "---", "name: [", "\x00\x01", "a: &a [*a]", "pools: {x: 1}", "start: 2026-01-01",
		strings.Replace(valid, "scale_out: 2", "scale_in: [n-0001, n-0002]", 1),
		strings.Replace(valid, "catalog:\n", "catalog: other.yaml\nz:\n", 1),
		strings.Replace(valid, "tick: ", "tick: 1d", 1),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := simulator.Parse("f.yaml", data, nil)
		if err != nil {
			var se *simulator.ScenarioError
			if !errors.As(err, &se) || len(se.Problems) == 0 {
				t.Fatalf("error %T %v", err, err)
			}
			for _, p := range se.Problems {
				if p.File != "f.yaml" || p.Msg == "" {
					t.Fatalf("problem %+v", p)
				}
			}
			if sc != nil {
				t.Fatal("a scenario with an error")
			}
			return
		}
		if sc == nil || sc.Catalog == nil || len(sc.Variants) == 0 || sc.Variants[0].Name != "base" || !sc.End.After(sc.Start) || sc.Tick <= 0 {
			t.Fatalf("an incomplete scenario: %+v", sc)
		}
		for _, v := range sc.Variants {
			if len(v.Pools) != len(sc.Pools) {
				t.Fatalf("variant %s has %d pools, the scenario %d", v.Name, len(v.Pools), len(sc.Pools))
			}
		}
	})
}
