#!/bin/sh
# The vm backend against the sandbox, both in this one invocation on this
# one host: N trivial tests (`true`) at -jJ, warm (the snapshot cached),
# tests/s, and the per-test overhead of each backend: the wall time of the
# N-test run less that of a J-test run of the same suite (the fixed cost of
# a run: start, cache lookup, the snapshot's verify), per test and slot, so
# (wall_N - wall_J) * J / (N - J); their ratio is the issue's target
# (vm <= 3x the sandbox). Also fork start -> first EXEC byte p50/p90 (the
# runner's EXEC time in the JSON report against the time each
# `smolvm restore` started, logged by a wrapper: forks start in plan order);
# private memory per idle fork (smaps_rollup Private_*) with 8 forks of the
# same snapshot alive, and how much of it is not guest pages the fork wrote
# (the target: <= 2 MiB beyond those).
#   tests/bench/vm/bench_vm.sh [BUILD_DIR] [N] [J]
# Needs /dev/kvm (inside ci/vmhost on machines without one), a kernel from
# ci/fetch-kernel, and root for the sandbox. Figures: tests/bench/README-vm.md.
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

# timed SUITE [ARGS...]: the wall time in ms of one warm run, in $ms
timed() {
	t0=$(now_ms)
	"$smoltest" run "$@" -j"$j" -q >out 2>err || {
		echo "smoltest run $* exited $?:" >&2
		tail -n 30 out err >&2
		exit 1
	}
	ms=$(($(now_ms) - t0))
}
head -n $((4 + j)) vm.yaml > vm-fixed.yaml
head -n $((4 + j)) sb.yaml > sb-fixed.yaml
"$smoltest" run vm.yaml -j"$j" -q >/dev/null 2>err || { echo "vm: the warm-up run failed:" >&2; cat err >&2; exit 1; }
sb=1
"$smoltest" run sb.yaml -j"$j" -q >/dev/null 2>sb.err || sb=0
: > restores
timed vm.yaml --json vm.jsonl
vm_ms=$ms
cp restores restores.n
timed vm-fixed.yaml
vm_fixed=$ms
if [ "$sb" = 1 ]; then
	timed sb.yaml
	sb_ms=$ms
	timed sb-fixed.yaml
	sb_fixed=$ms
fi

echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-10s %6s %10s %10s %12s %16s\n' backend tests "wall (ms)" "tests/s" "fixed (ms)" "overhead ms/test"
row() { awk -v l="$1" -v n="$n" -v ms="$2" -v f="$3" -v j="$j" 'BEGIN {
	printf "%-10s %6d %10d %10.1f %12d %16.2f\n", l, n, ms, n * 1000 / ms, f, (ms - f) * j / (n - j) }'; }
row vm "$vm_ms" "$vm_fixed"
if [ "$sb" = 1 ]; then
	row sandbox "$sb_ms" "$sb_fixed"
	awk -v a="$vm_ms" -v b="$sb_ms" -v fa="$vm_fixed" -v fb="$sb_fixed" 'BEGIN {
		printf "vm / sandbox: wall %.2fx, per-test overhead %.2fx (target <= 3x)\n", a / b, (a - fa) / (b - fb) }'
else
	echo "sandbox    cannot run here: $(tail -1 sb.err)"
fi

# fork start -> first EXEC byte: k-th restore <-> test t<k>
for k in $(seq 0 $((n - 1))); do
	grep "\"test\":\"t$k\"" vm.jsonl | grep '"final":true' |
		sed 's/.*"start_unix_ms":\([0-9]*\).*/\1/'
done > execs
sort -n restores.n > restores.sorted
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
# Per fork: all private pages, the rss, and the private pages of the guest
# RAM mapping (the snapshot file mapped MAP_PRIVATE: the pages the guest
# wrote since the restore). The target counts what is left: the VMM's own.
for p in $pids; do
	awk '/^Private_(Clean|Dirty)/ { s += $2 } /^Rss/ { r = $2 } END { printf "%d %d ", s, r }' \
		/proc/$p/smaps_rollup
	awk '/^[0-9a-f]+-[0-9a-f]+ / { g = index($0, "snapshot.smolsnap") > 0 }
		g && /^Private_(Clean|Dirty)/ { s += $2 } END { print s + 0 }' /proc/$p/smaps
done | awk '{ s += $1; r += $2; w += $3; o = $1 - $3; os += o; if ($1 > m) m = $1; if (o > om) om = o; n++ } END {
	printf "idle fork memory (%d forks): private %.1f MiB avg, %.1f MiB max; rss %.1f MiB avg\n",
		n, s / n / 1024, m / 1024, r / n / 1024
	printf "  of which guest pages written since the restore %.1f MiB avg; the rest (the VMM'"'"'s own) %.2f MiB avg, %.2f MiB max\n",
		w / n / 1024, os / n / 1024, om / 1024 }'
