#!/bin/sh
# Tests that attack their own environment are contained by the sandbox
# (issue 14 item 3), each with its expected status, and the test after each
# starts clean: a fork bomb, allocating past sandbox.memory, writing to /
# and /tmp, a double-forked daemon, kill -9 -1, and artifacts past
# artifacts_max (copied, or written straight into the artifact share).
# Where this host's cgroup has no pids or memory controller (the runner
# says 'limits NOT enforced'), the fork bomb is bounded (2047 processes)
# and the OOM case is left out, saying so: an unbounded one would take the
# host down with it. Writes to / and /tmp are bounded too: the sandbox's
# overlay upper layer lives in the run directory on the host's disk, with
# no size limit of its own (see the issue's note).
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
	echo "note: no pids/memory controller here: bounded fork bomb, no OOM case"
	bomb='b() { [ $1 -gt 0 ] && { b $(($1 - 1)) & b $(($1 - 1)) & }; sleep 60; }; b 10'
	oom='{ name: oom, skip: "no memory controller on this host", run: "true" }'
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
  - name: fill
    run: |
      dd if=/dev/zero of=/tmp/fill bs=1M count=64 status=none &&
      dd if=/dev/zero of=/fill bs=1M count=64 status=none && exit 1
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
fi
expect_status r.jsonl fill fail
# The daemon outlives the test's command: a LEAK (a pass with a warning),
# and it is killed with the instance (the clean test after it checks).
expect_status r.jsonl daemon leak
grep '"test":"daemon"' r.jsonl | grep -q '"leaked":[1-9]' || fail "daemon: no leaked count: $(grep '"test":"daemon"' r.jsonl)"
expect_status r.jsonl kill-all fail
grep '"test":"kill-all"' r.jsonl | grep -q '"signal":9' || fail "kill-all: not reported as killed by SIGKILL"
expect_status r.jsonl clean pass
expect_status r.jsonl big-artifact pass
expect_status r.jsonl direct-artifact pass
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
grep '"final":true' r.jsonl |
	sed 's/.*"test":"\([^"]*\)".*"status":"\([a-z]*\)".*"message":\("[^"]*"\|null\).*/  \1: \2 \3/'
echo PASS
