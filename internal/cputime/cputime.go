// Package cputime measures the CPU time a process spends, for benchmarks
// that run on shared virtual machines. There the hypervisor may take a
// core away ("steal" time) for a third of a run or more, which stretches
// wall-clock figures by as much and by a different amount on every run; CPU
// time (user and system, all threads, garbage collection included) counts
// only what the process really ran. Benchmarks report it beside ns/op, as
// cpu-ns/op, and BENCHMARKS.md gives both.
package cputime

import (
	"testing"
	"time"
)

// Meter measures the CPU time spent between Start and Report.
type Meter struct{ start time.Duration }

// Start begins a measurement; call it just before the timed loop.
func Start() Meter { return Meter{start: Process()} }

// Report adds the CPU time per op (and per unit, when per > 1) to b's
// results. It reports nothing where the CPU time cannot be read.
func (m Meter) Report(b *testing.B, per int, unit string) {
	end := Process()
	if m.start < 0 || end < 0 || b.N == 0 {
		return
	}
	d := float64(end-m.start) / float64(b.N)
	b.ReportMetric(d, "cpu-ns/op")
	if per > 1 {
		b.ReportMetric(d/float64(per), "cpu-ns/"+unit)
	}
}
