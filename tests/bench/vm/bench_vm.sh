#!/bin/sh
# The vm backend against the sandbox: N trivial tests (`true`) at -jJ,
# warm (the snapshot cached), in one invocation on one host; fork start ->
# first EXEC byte p50/p90 (the runner's EXEC time in the JSON report against
# the time each `smolvm restore` started, logged by a wrapper: forks start
# in plan order); private memory per idle fork (smaps_rollup Private_*)
# with 8 forks of the same snapshot alive.
#   tests/bench/vm/bench_vm.sh [BUILD_DIR] [N] [J]
# Needs /dev/kvm (inside ci/vmhost on machines without one) and a kernel
# from ci/fetch-kernel. Figures: tests/bench/README-vm.md.
set -eu
build=$(cd "${1:-build}" && pwd)
n=${2:-50}
j=${3:-2}
smoltest=$build/smoltest
smolvm=$build/smolvm
[ -x "$smoltest" ] && [ -x "$smolvm" ] || { echo "build smoltest and smolvm first" >&2; exit 2; }
[ -e /dev/kvm ] || { echo "no /dev/kvm: run inside ci/vmhost" >&2; exit 2; }
work=$(mktemp -d)
pids=""
trap 'for p in $pids; do kill -9 $p 2>/dev/null || true; done; rm -rf "$work"' EXIT
cd "$work"
now_ms() { date +%s%3N; }

suite() { # backend
	echo "name: bench-$1"
	echo "backend: $1"
	echo "setup: [ { run: \"true\" } ]"
	echo "tests:"
	i=0
	while [ $i -lt "$n" ]; do echo "  - { name: t$i, run: [ \"true\" ] }"; i=$((i + 1)); done
}
suite vm > vm.yaml
suite sandbox > sb.yaml
cat > smolvm-log <<W
#!/bin/sh
[ "\$1" = restore ] && date +%s%N >> "$work/restores"
exec "$smolvm" "\$@"
W
chmod +x smolvm-log
user_cache=${XDG_CACHE_HOME:-$HOME/.cache}/smoltest
export SMOL_KERNEL_CACHE="${SMOL_KERNEL_CACHE:-$user_cache/kernel}"
export SMOLTEST_SMOLVM="$work/smolvm-log" XDG_CACHE_HOME="$work/cache"
mkdir -p cache/smoltest
[ -d "$user_cache/images" ] && ln -s "$user_cache/images" cache/smoltest/images

"$smoltest" run vm.yaml -j"$j" -q >/dev/null 2>err || { echo "vm: the warm-up run failed:" >&2; cat err >&2; exit 1; }
: > restores
t0=$(now_ms)
"$smoltest" run vm.yaml -j"$j" -q --json vm.jsonl >/dev/null 2>err || { cat err; exit 1; }
vm_ms=$(($(now_ms) - t0))
sb_ms=
if "$smoltest" run sb.yaml -j"$j" -q >/dev/null 2>sb.err; then
	t0=$(now_ms)
	"$smoltest" run sb.yaml -j"$j" -q >/dev/null 2>&1
	sb_ms=$(($(now_ms) - t0))
fi

printf '%-10s %6s %10s %10s %14s\n' backend tests "wall (ms)" "tests/s" "ms/test (x$j)"
row() { awk -v l="$1" -v n="$n" -v ms="$2" -v j="$j" 'BEGIN {
	printf "%-10s %6d %10d %10.1f %14.2f\n", l, n, ms, n * 1000 / ms, ms * j / n }'; }
row vm "$vm_ms"
if [ -n "$sb_ms" ]; then
	row sandbox "$sb_ms"
	awk -v a="$vm_ms" -v b="$sb_ms" 'BEGIN { printf "vm / sandbox wall: %.2fx\n", a / b }'
else
	echo "sandbox    cannot run here: $(tail -1 sb.err)"
fi

# fork start -> first EXEC byte: k-th restore <-> test t<k>
for k in $(seq 0 $((n - 1))); do
	grep "\"test\":\"t$k\"" vm.jsonl | grep '"final":true' |
		sed 's/.*"start_unix_ms":\([0-9]*\).*/\1/'
done > execs
sort -n restores > restores.sorted
paste restores.sorted execs | awk '$2 > 0 { print $2 - $1 / 1e6 }' | sort -n > lat
awk '{ a[NR] = $1 } END { if (NR) printf "fork start -> EXEC (ms, %d forks): p50 %.1f  p90 %.1f  max %.1f\n",
	NR, a[int(NR * 0.5 + 0.5)], a[int(NR * 0.9 + 0.5)], a[NR] }' lat

# private memory per idle fork, 8 alive
snap=$(ls cache/smoltest/entries/*/snapshot.smolsnap | head -1)
mkdir -p empty
for i in 1 2 3 4 5 6 7 8; do
	mkdir -p f$i
	"$smolvm" restore "$snap" --serial none --vsock "3,$work/f$i/v.sock" --share root=/,ro \
		--share artifacts="$work/empty" --fork-dir "$work/f$i" >f$i/log 2>&1 &
	pids="$pids $!"
done
for i in 1 2 3 4 5 6 7 8; do # answered (quiesced: EXEC refused) = restored and idle
	timeout 60 "$smoltest" exec --agent "vsock:$work/f$i/v.sock:1024" -- true >/dev/null 2>&1 || true
done
sleep 2
for p in $pids; do
	awk '/^Private_(Clean|Dirty)/ { s += $2 } /^Rss/ { r = $2 } END { print s, r }' /proc/$p/smaps_rollup
done | awk '{ s += $1; r += $2; if ($1 > m) m = $1; n++ } END {
	printf "idle fork memory (%d forks): private %.1f MiB avg, %.1f MiB max; rss %.1f MiB avg\n",
		n, s / n / 1024, m / 1024, r / n / 1024 }'
