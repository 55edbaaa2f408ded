#!/bin/sh
# Tests that attack their own environment are contained by the sandbox
# (issue 14 item 3), each with its expected status, and the test after each
# starts clean: a fork bomb, allocating past sandbox.memory, writing to /
# and /tmp, a double-forked daemon, kill -9 -1, and artifacts past
# artifacts_max (copied, or written straight into the artifact share).
# Where this host's cgroup v2 has no pids or memory controller (the runner
# says 'limits NOT enforced' and why), the fork bomb is bounded (2047
# processes) and the OOM case is left out, saying so: an unbounded one
# would take the host down with it. Where it has them, the OOM kill is
# reported as such (the agent's EXIT flag OOM, from the instance cgroup's
# memory.events). Filling / and /tmp runs in a suite of its own without
# sandbox.memory (the writable layer's tmpfs pages count against it): the
# instance's 1 GiB layer is full (ENOSPC), the host's disk never sees it
# (its free space is sampled throughout), and the next test is clean.
. "$(dirname "$0")/lib.sh"
cat > probe.yaml <<Y
backend: sandbox
sandbox: { memory: 128M, pids: 128 }
tests: [ { name: t, run: "true" } ]
Y
run_st 0 run probe.yaml
limits=1
! grep -q 'limits NOT enforced' "$WORK/err" || limits=0
# may the host's root lower an oom_score_adj (CAP_SYS_RESOURCE)?
adj=0
! sh -c 'echo -1000 > /proc/self/oom_score_adj' 2>/dev/null || adj=-1000
if [ $limits = 1 ]; then
	bomb='b() { b | b & }; b; sleep 60'
	oom='{ name: oom, run: "head -c 512M /dev/zero | tail > /dev/null" }'
else
	why=$(grep -o "limits NOT enforced\|the cgroup v2 '[a-z]*' controller is not available at [^ ]*\|cannot create a cgroup under [^ ]*\|no cgroup v2 hierarchy" "$WORK/err" | head -1)
	[ -n "$why" ] || why="sandbox limits not enforced on this host"
	echo "note: sandbox limits not enforced on this host ($why): bounded fork bomb, no OOM case"
	bomb='b() { [ $1 -gt 0 ] && { b $(($1 - 1)) & b $(($1 - 1)) & }; sleep 60; }; b 10'
	oom="{ name: oom, skip: \"$why\", run: \"true\" }"
fi
cat > h.yaml <<Y
name: hostile
backend: sandbox
parallel: 1
timeout: 30s
artifacts_max: 1M
sandbox: { memory: 128M, pids: 128 }
tests:
  - { name: fork-bomb, timeout: 3s, run: "$bomb" }
  - $oom
  - name: after-oom
    run: 'test "\$(cat /proc/1/oom_score_adj)" = $adj && test "\$(cat /proc/self/oom_score_adj)" = 0'
  - name: daemon
    run: "setsid sh -c 'sleep 6543 & echo \$! > /tmp/daemon' & sleep 0.5; test -s /tmp/daemon"
  - { name: kill-all, run: "kill -9 -1; sleep 30" }
  - name: clean
    run: |
      set -e
      test "\$(cat /proc/1/oom_score_adj)" = $adj
      test "\$(cat /proc/self/oom_score_adj)" = 0
      test ! -e /fill && test ! -e /tmp/fill && test ! -e /tmp/daemon && ! pgrep -x sleep
      test "\$(ls /proc | grep -c '^[0-9]')" -lt 10
  - name: big-artifact
    cwd: /tmp
    run: "head -c 3M /dev/zero > big.bin && echo ok > small.txt"
    artifacts: [ "big.bin", "small.txt" ]
  - name: no-host-socket-dir
    run: '! grep -q " /.smoltest/sock " /proc/self/mountinfo && test ! -e /.smoltest/sock'
  - name: direct-artifact
    cwd: /tmp
    run: "head -c 2M /dev/urandom > /.smoltest/artifacts/sneaked && echo ok > small.txt"
    artifacts: [ "small.txt" ]
Y
touch marker
sleep 1
run_st 1 run h.yaml --json r.jsonl --artifacts arts
case $(final_status r.jsonl fork-bomb) in fail | timeout) ;; *) cat r.jsonl; fail "fork-bomb: $(final_status r.jsonl fork-bomb)" ;; esac
if [ $limits = 1 ]; then
	expect_status r.jsonl oom fail
	grep '"test":"oom"' r.jsonl | grep -q '"exit_code":137\|"signal":9' ||
		fail "oom: not killed by SIGKILL: $(grep '"test":"oom"' r.jsonl)"
	# the whole tree goes (memory.oom.group on the instance cgroup), the
	# agent stays (-1000), and the reason names the OOM killer, in the
	# report and on the console
	grep '"test":"oom"' r.jsonl | grep -q 'killed by the OOM killer (signal 9), expected exit 0' ||
		fail "oom: the reason does not name the OOM killer: $(grep '"test":"oom"' r.jsonl)"
	grep -q 'OOM killer' "$WORK/out" || fail "oom: the console does not name the OOM killer"
fi
expect_status r.jsonl after-oom pass
# The daemon outlives the test's command: a LEAK (a pass with a warning),
# and it is killed with the instance (the clean test after it checks).
expect_status r.jsonl daemon leak
grep '"test":"daemon"' r.jsonl | grep -q '"leaked":[1-9]' || fail "daemon: no leaked count: $(grep '"test":"daemon"' r.jsonl)"
expect_status r.jsonl kill-all fail
grep '"test":"kill-all"' r.jsonl | grep -q '"signal":9' || fail "kill-all: not reported as killed by SIGKILL"
expect_status r.jsonl clean pass
expect_status r.jsonl big-artifact pass
expect_status r.jsonl direct-artifact pass
# the agent's socket is an fd from the monitor: no host directory for it
# is bound in the sandbox, where a test could write to the host's disk
expect_status r.jsonl no-host-socket-dir pass
grep '"test":"big-artifact"' r.jsonl | grep -q "artifact 'big.bin' (3072 KiB) not collected.*artifacts_max (1024 KiB)" ||
	fail "the big artifact was not refused by name: $(grep big-artifact r.jsonl)"
[ ! -e arts/big-artifact/big.bin ] && [ "$(cat arts/big-artifact/small.txt)" = ok ] ||
	fail "big-artifact: wrong files collected: $(ls -R arts)"
grep -q "warning: artifact 'big.bin' (3072 KiB) not collected" "$WORK/out" ||
	fail "the console does not say why big.bin is missing"
grep '"test":"direct-artifact"' r.jsonl | grep -q "artifacts removed: .* over artifacts_max" ||
	fail "a 2 MiB file written into the artifact share was not removed: $(grep direct-artifact r.jsonl)"
[ ! -e arts/direct-artifact ] || fail "direct-artifact: its directory is still there: $(ls -R arts)"
written=$(find "$WORK" -newer marker ! -type d | grep -v -e "^$WORK/arts/" -e "^$WORK/cache/" \
	-e "^$WORK/r.jsonl$" -e "^$WORK/out$" -e "^$WORK/err$" -e "^$WORK/pids$" || true)
[ -z "$written" ] || fail "files were written on the host outside the artifacts: $written"
check_clean "sleep 6543"

# Filling / and /tmp (no sandbox.memory, see above): each write ends in
# ENOSPC at the instance's 1 GiB, the test fails with dd's own message,
# the host's free space never drops by the gigabyte written, and the next
# test (a fresh instance) sees neither file.
cat > fill.yaml <<Y
name: fill
backend: sandbox
parallel: 1
timeout: 120s
tests:
  - name: fill
    run: |
      dd if=/dev/zero of=/tmp/fill bs=1M status=none; t=\$?
      dd if=/dev/zero of=/fill bs=1M status=none; r=\$?
      echo "tmp: \$t root: \$r written: \$(du -smc /tmp/fill /fill | tail -1)"
      exit \$((t + r))
  - name: next
    run: "test ! -e /tmp/fill && test ! -e /fill && test \$(df -Pk / | awk 'NR == 2 { print \$3 }') -lt 1024"
Y
free_kib() { df -Pk "$WORK" | awk 'NR == 2 { print $4 }'; }
before=$(free_kib)
(while :; do free_kib; sleep 0.05; done) >free.log &
sampler=$!
trap 'kill $sampler 2>/dev/null || true; cleanup' EXIT
touch marker
sleep 1
run_st 1 run fill.yaml --json f.jsonl --artifacts arts
kill $sampler
wait $sampler 2>/dev/null || true
trap cleanup EXIT
expect_status f.jsonl fill fail
expect_status f.jsonl next pass
grep '"test":"fill"' f.jsonl | grep -q 'No space left on device' ||
	fail "fill: dd did not fail with ENOSPC: $(grep '"test":"fill"' f.jsonl)"
grep '"test":"fill"' f.jsonl | grep -q 'tmp: 1 root: 1 written: 10[0-9][0-9]' ||
	fail "fill: both writes should fail, after 1 GiB: $(grep '"test":"fill"' f.jsonl)"
least=$(sort -n free.log | head -1)
[ $((before - least)) -lt 262144 ] ||
	fail "the host's free space dropped by $(((before - least) / 1024)) MiB while the test filled its layer"
echo "host free space: $((before / 1024)) MiB before, $((least / 1024)) MiB at the least during the fill ($(wc -l <free.log) samples)"
written=$(find "$WORK" -newer marker ! -type d | grep -v -e "^$WORK/arts/" -e "^$WORK/cache/" \
	-e "^$WORK/f.jsonl$" -e "^$WORK/out$" -e "^$WORK/err$" -e "^$WORK/pids$" -e "^$WORK/free.log$" || true)
[ -z "$written" ] || fail "files were written on the host outside the artifacts: $written"
check_clean
cat f.jsonl >>r.jsonl
grep '"final":true' r.jsonl |
	sed 's/.*"test":"\([^"]*\)".*"status":"\([a-z]*\)".*"message":\("[^"]*"\|null\).*/  \1: \2 \3/'
echo PASS
