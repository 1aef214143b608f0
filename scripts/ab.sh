#!/usr/bin/env bash
# ab.sh runs one benchmark of two or more compiled test binaries in turn,
# round after round (old, new, old, new...), so that every version sees the
# same spells of a shared machine, and prints each result line with the
# hypervisor's steal over that run (from /proc/stat, Linux only).
#
#   go test -c -o /tmp/old.test ./projections   # at the old commit
#   go test -c -o /tmp/new.test ./projections
#   scripts/ab.sh 'Rebuild/store' 3 /tmp/old.test /tmp/new.test
#
# AB_ARGS adds flags to every run, such as a fixed count of iterations:
#
#   AB_ARGS='-test.benchtime=20000x -test.count=3' scripts/ab.sh ServiceAppend 5 /tmp/old.test /tmp/new.test
set -euo pipefail
if [ $# -lt 3 ]; then
	echo "usage: $0 benchmark-regexp rounds test-binary..." >&2
	exit 2
fi
bench=$1 rounds=$2
shift 2
cpu() { awk '/^cpu /{s=0; for (i=2; i<=9; i++) s+=$i; print $9, s}' /proc/stat; }
for _ in $(seq "$rounds"); do
	for bin in "$@"; do
		read -r s0 t0 < <(cpu)
		out=$("$bin" -test.run '^$' -test.bench "$bench" -test.benchmem -test.count 1 ${AB_ARGS:-} 2>&1 | grep '^Benchmark' || true)
		read -r s1 t1 < <(cpu)
		steal=$(( (s1 - s0) * 100 / (t1 - t0 + 1) ))
		echo "$out" | sed "s|^|$(basename "$bin") steal=${steal}% |"
	done
done
