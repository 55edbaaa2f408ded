#!/bin/sh
# Where a run blocks: every context switch into uninterruptible sleep (D)
# during `smoltest run -jJ SUITE`, counted by process name and kernel
# stack (the 7 innermost frames below schedule), most frequent first.
#   tests/bench/runner/offcpu.sh SMOLTEST SUITE [J] [TOP]
# Needs perf and root (system-wide sched:sched_switch with call graphs).
# Counts, not durations: one RCU grace period waited out is one line, but
# a long wait and a short one count the same. README-runner.md has what it
# showed for the sandbox.
set -eu
smoltest=$1
suite=$2
j=${3:-2}
top=${4:-14}
command -v perf >/dev/null || { echo "needs perf (Debian: linux-perf)" >&2; exit 2; }
data=$(mktemp)
trap 'rm -f "$data"' EXIT
perf record -q -o "$data" -a -g -e sched:sched_switch -- "$smoltest" run -j"$j" "$suite" >/dev/null 2>&1 || true
perf script -i "$data" -F comm,event,trace,ip,sym 2>/dev/null | awk -v top="$top" '
function flush() {
	if (blocked) count[who " | " frames]++
	blocked = 0; frames = ""; depth = 0
}
/sched:sched_switch/ { flush(); who = $1; blocked = / prev_state=D /; depth = 0; next }
NF == 0 { flush(); next }
{ depth++; if (depth >= 2 && depth <= 8) frames = frames (depth > 2 ? " < " : "") $2 }
END {
	flush()
	for (k in count) printf "%6d %s\n", count[k], k | ("sort -rn | head -" top)
}'
