#!/usr/bin/env bash
# goals.sh measures the speed goals of issues #2 and #3, round after round,
# each benchmark in a process of its own, and prints one line per round:
# the time, the hypervisor's steal over the round, a reference figure that
# shows how fast the machine is at that moment, and each goal's figure with
# "ok" or "MISS" (the append is the median of five runs in one process,
# the others one run each). A shared machine swings 1.5 to 2x from one
# spell to the next; the reference (domain.BenchmarkEncodeNodeAdded, code
# these goals do not change) swings with it, so that a miss can be told
# from a slow spell.
#
#   scripts/goals.sh            # one round
#   scripts/goals.sh 12 300     # twelve rounds, five minutes apart
#
# It compiles the test binaries of the checkout it is in once, at the start.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-1} pause=${2:-0}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go test -c -o "$bin/root.test" .
go test -c -o "$bin/projections.test" ./projections
go test -c -o "$bin/domain.test" ./domain

cpu() { awk '/^cpu /{s=0; for (i=2; i<=9; i++) s+=$i; print $9, s}' /proc/stat; }
# run binary benchmark [flags...]: the benchmark's result lines
run() {
	local b=$1 name=$2
	shift 2
	"$bin/$b" -test.run '^$' -test.bench "$name" -test.benchmem "$@" 2>&1 | grep '^Benchmark'
}
# metric lines unit: the median of the numbers before unit in the lines
metric() {
	awk -v u="$2" '{for (i=2; i<=NF; i++) if ($i == u) print $(i-1)}' <<<"$1" |
		sort -g | awk '{v[NR] = $1} END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
verdict() { awk -v v="$1" -v g="$2" -v dir="$3" 'BEGIN { ok = (dir == "max") ? (v <= g) : (v >= g); print (ok ? "ok" : "MISS") }'; }

printf '%-8s %-6s %-10s %-22s %-22s %-24s %-18s\n' time steal 'ref ns' 'append ns/event<=1000' 'pool1000 us<=200' 'rebuild M/s>=2' 'as-of ns<=10000'
for r in $(seq "$rounds"); do
	read -r s0 t0 < <(cpu)
	ref=$(metric "$(run domain.test 'EncodeNodeAdded$')" ns/op)
	# As BENCHMARKS.md: 20,000 creates, the median of five runs (the first
	# run of a process is the slowest: its heap grows from nothing).
	app=$(metric "$(run root.test 'ServiceAppend$' -test.benchtime 20000x -test.count 5)" ns/event)
	pool=$(metric "$(run root.test 'RebuildPool1000$')" ns/op)
	reb=$(metric "$(run projections.test 'Rebuild/nodes-charges$')" events/s)
	asof=$(metric "$(run projections.test 'AsOf$')" ns/op)
	read -r s1 t1 < <(cpu)
	steal=$(((s1 - s0) * 100 / (t1 - t0 + 1)))
	pool_us=$(awk -v v="$pool" 'BEGIN { printf "%.0f", v / 1000 }')
	reb_m=$(awk -v v="$reb" 'BEGIN { printf "%.2f", v / 1e6 }')
	printf '%-8s %-6s %-10s %-22s %-22s %-24s %-18s\n' "$(date +%H:%M:%S)" "$steal%" "$ref" \
		"$app $(verdict "$app" 1000 max)" "$pool_us $(verdict "$pool_us" 200 max)" \
		"$reb_m $(verdict "$reb_m" 2 min)" "$asof $(verdict "$asof" 10000 max)"
	if [ "$r" -lt "$rounds" ]; then sleep "$pause"; fi
done
