#!/bin/sh
# Runner overhead: N trivial tests (`true`) with -jJ through the sandbox
# backend, next to the same N commands run as plain `sh -c true` with the
# same parallelism, in the same invocation.
#   tests/bench/runner/bench.sh [BUILD_DIR] [N] [J] [ROUNDS]
# Prints a table; see tests/bench/README-runner.md for figures.
set -eu
build=${1:-build}
n=${2:-200}
j=${3:-2}
rounds=${4:-3}
smoltest=$(cd "$build" && pwd)/smoltest
[ -x "$smoltest" ] || { echo "build smoltest first ($smoltest)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
{
	echo "name: bench"
	echo "backend: sandbox"
	echo "tests:"
	i=0
	while [ $i -lt "$n" ]; do echo "  - { name: t$i, run: [ \"true\" ] }"; i=$((i + 1)); done
} > "$work/bench.yaml"

now_ms() { date +%s%3N; }

printf '%-28s %6s %10s %10s %14s\n' "what" "tests" "wall (ms)" "tests/s" "ms/test (x$j)"
row() { # label ms
	awk -v l="$1" -v n="$n" -v ms="$2" -v j="$j" 'BEGIN {
		printf "%-28s %6d %10d %10.1f %14.2f\n", l, n, ms, n * 1000 / ms, ms * j / n }'
}
r=1
best_s=0
best_p=0
while [ $r -le "$rounds" ]; do
	t0=$(now_ms)
	XDG_CACHE_HOME=$work/cache "$smoltest" run "$work/bench.yaml" -j"$j" -q \
		--json "$work/r.jsonl" >/dev/null 2>&1 || { echo "smoltest failed" >&2; exit 1; }
	t1=$(now_ms)
	seq "$n" | xargs -P"$j" -I{} sh -c true
	t2=$(now_ms)
	s=$((t1 - t0))
	p=$((t2 - t1))
	row "sandbox, round $r" $s
	row "plain sh -c, round $r" $p
	[ $best_s = 0 ] || [ $s -lt $best_s ] && best_s=$s
	[ $best_p = 0 ] || [ $p -lt $best_p ] && best_p=$p
	r=$((r + 1))
done
passed=$(grep -c '"status":"pass"' "$work/r.jsonl")
[ "$passed" = "$n" ] || { echo "only $passed of $n passed" >&2; exit 1; }
exec_ms=$(grep -o '"duration_ms":[0-9]*' "$work/r.jsonl" | awk -F: '{ s += $2 } END { printf "%.2f", s / NR }')
echo
row "sandbox (best)" $best_s
row "plain sh -c (best)" $best_p
awk -v s="$best_s" -v p="$best_p" -v n="$n" -v j="$j" 'BEGIN {
	printf "sandbox overhead per test: %.2f ms of wall time per slot (x%d slots)\n", (s - p) * j / n, j }'
echo "of which EXEC sent -> EXIT received (agent side, last round): $exec_ms ms per test"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
