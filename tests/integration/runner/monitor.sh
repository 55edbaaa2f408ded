#!/bin/sh
# The sandbox's monitor by itself (`smoltest-agent --sandbox-monitor`,
# runner/backend/sandbox.h), with what a host whose cgroup v2 has the
# memory controller gives it: --memory-events, bound into the sandbox as a
# file under /.smoltest, which nothing else creates when the run has no
# artifacts (a host without that controller never exercised it).
#   monitor.sh SMOLTEST AGENT      (root, overlayfs, namespaces; 77 = skip)
set -u
smoltest=$1
agent=$2
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
grep -q overlay /proc/filesystems || modprobe overlay 2>/dev/null ||
	{ echo "SKIP: no overlayfs"; exit 77; }
dir=$(mktemp -d /tmp/smol-monitor-XXXXXX)
trap 'kill -KILL $mon 2>/dev/null; rm -rf "$dir"' EXIT
fails=0
bad() { echo "not ok - $*"; fails=$((fails + 1)); }
mkdir "$dir/i1"
printf 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 7\n' >"$dir/events"
# the runner's three fds: status pipe, agent log, ready pipe (a fifo here)
mkfifo "$dir/ready"
sh -c '"$0" --sandbox-monitor --parent $$ --rootfs / --inst-dir "$1" --hostname mon \
	--memory-events "$2" --opaque-tmp 3>"$3" 4>"$4" 5>"$5" & wait' \
	"$agent" "$dir/i1" "$dir/events" "$dir/status" "$dir/log" "$dir/ready" &
mon=$!
timeout 30 cat "$dir/ready" >/dev/null # EOF: the agent serves
grep -q '^P[0-9]' "$dir/status" || bad "no init pid on the status pipe: $(cat "$dir/status")"
[ "$(ls -A "$dir/i1")" = agent.sock ] || bad "the host sees more than the socket in i1: $(ls -A "$dir/i1")"
A="--agent unix:$dir/i1/agent.sock"
out=$("$smoltest" exec $A -- sh -c 'grep oom_kill /.smoltest/memory.events; hostname; ls -A /.smoltest' 2>&1)
[ "$out" = "oom_kill 7
mon
memory.events" ] || bad "inside the sandbox: '$out'"
# the bind is read-only
"$smoltest" exec $A -- sh -c 'echo x >> /.smoltest/memory.events' 2>/dev/null &&
	bad "memory.events is writable in the sandbox"
kill -TERM $mon 2>/dev/null
pkill -TERM -f -- "--inst-dir $dir/i1" 2>/dev/null
wait $mon
grep -q '^E' "$dir/status" && bad "the monitor failed: $(grep '^E' "$dir/status")"
[ "$(ls -A "$dir/i1")" = agent.sock ] || bad "the monitor left $(ls -A "$dir/i1") in i1"
grep -q " $dir/" /proc/self/mountinfo && bad "a mount is left in the host's namespace"
[ $fails -eq 0 ] && echo "ok - the monitor with --memory-events" || sed 's/^/# log: /' "$dir/log"
exit $((fails > 0))
