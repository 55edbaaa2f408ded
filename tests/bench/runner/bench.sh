#!/bin/sh
# Runner overhead: N trivial tests (`true`) with -jJ through the sandbox
# backend, next to the same N commands run as plain `sh -c true` with the
# same parallelism, in the same invocation. With BASE_BUILD_DIR, each round
# also runs that build's smoltest (before/after on the same machine and load).
#   tests/bench/runner/bench.sh [BUILD_DIR] [N] [J] [ROUNDS] [BASE_BUILD_DIR]
# Prints the machine, the load with every figure, a row per run and the
# medians; see tests/bench/README-runner.md for figures. Each row also has
# the CPU time (user + system) of the run and every process it reaped,
# per test: less sensitive to other load on the machine than wall time
# (kernel threads' work, e.g. a namespace's teardown, is not in it).
set -eu
build=${1:-build}
n=${2:-200}
j=${3:-2}
rounds=${4:-3}
base=${5:-}
smoltest=$(cd "$build" && pwd)/smoltest
[ -x "$smoltest" ] || { echo "build smoltest first ($smoltest)" >&2; exit 2; }
builds="$smoltest"
if [ -n "$base" ]; then
	base_smoltest=$(cd "$base" && pwd)/smoltest
	[ -x "$base_smoltest" ] || { echo "build smoltest first ($base_smoltest)" >&2; exit 2; }
	builds="$base_smoltest $smoltest"
fi
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
# cmd...: runs it, CPU ms (user + system, with reaped children) into $work/cpu
cpu_of() {
	/usr/bin/time -f '%U %S' -o "$work/cpu.t" "$@"
	awk '{ printf "%d", ($1 + $2) * 1000 }' "$work/cpu.t" >"$work/cpu"
}
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (Debian: apt-get install time)" >&2; exit 2; }
load() { cut -d' ' -f1 /proc/loadavg; }

echo "machine: $(uname -sr), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "command: $0 $*"
echo "started: $(date -u '+%F %H:%M:%S') UTC, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '%-6s %-36s %9s %8s %11s %11s %8s %9s %6s\n' "round" "what" "wall(ms)" "tests/s" "ms/test(x$j)" "over sh -c" "cpu/test" "cpu over" "load"
row() { # round label ms sh_ms cpu_ms sh_cpu_ms
	awk -v r="$1" -v l="$2" -v n="$n" -v ms="$3" -v p="$4" -v c="$5" -v pc="$6" -v j="$j" -v ld="$(load)" 'BEGIN {
		over = p ? sprintf("%.2f", (ms - p) * j / n) : "-"
		cover = p ? sprintf("%.2f", (c - pc) / n) : "-"
		printf "%-6s %-36s %9d %8.1f %11.2f %11s %8.2f %9s %6s\n", r, l, ms, n * 1000 / ms, ms * j / n, over, c / n, cover, ld }'
}
r=1
while [ $r -le "$rounds" ]; do
	t0=$(now_ms)
	cpu_of sh -c "seq $n | xargs -P$j -I{} sh -c true"
	p=$(($(now_ms) - t0))
	pc=$(cat "$work/cpu")
	row $r "plain sh -c true" $p 0 "$pc" 0
	for sm in $builds; do
		t0=$(now_ms)
		XDG_CACHE_HOME=$work/cache cpu_of "$sm" run "$work/bench.yaml" -j"$j" -q \
			--json "$work/r.jsonl" >/dev/null 2>&1 || { echo "$sm failed" >&2; exit 1; }
		s=$(($(now_ms) - t0))
		c=$(cat "$work/cpu")
		passed=$(grep -c '"status":"pass"' "$work/r.jsonl")
		[ "$passed" = "$n" ] || { echo "only $passed of $n passed ($sm)" >&2; exit 1; }
		row $r "sandbox ${sm%/smoltest}" $s $p "$c" "$pc"
		echo "$sm $(( (s - p) * j * 1000 / n )) $s $p $(( (c - pc) * 1000 / n ))" >>"$work/over"
	done
	r=$((r + 1))
done
exec_ms=$(grep -o '"duration_ms":[0-9]*' "$work/r.jsonl" | awk -F: '{ s += $2 } END { printf "%.2f", s / NR }')
echo
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for sm in $builds; do
	o=$(grep "^$sm " "$work/over" | awk '{ print $2 / 1000 }' | median)
	q=$(grep "^$sm " "$work/over" | awk '{ print $3 / $4 }' | median)
	co=$(grep "^$sm " "$work/over" | awk '{ print $5 / 1000 }' | median)
	printf '%s: median overhead %.2f ms per test and slot (x%d) over sh -c, median wall ratio %.1fx, median CPU over sh -c %.2f ms per test (%d rounds)\n' \
		"${sm%/smoltest}" "$o" "$j" "$q" "$co" "$rounds"
done
echo "EXEC sent -> EXIT received as the runner saw it (last run): $exec_ms ms per test"
echo "finished: $(date -u '+%H:%M:%S') UTC, load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
