#!/bin/sh
# Tests that attack their own environment are contained by the vm backend
# (issue 14 item 3), each with its expected status, and the test after
# them starts clean: a fork bomb, allocating past the VM's RAM (reported
# as killed by the OOM killer, promptly: the agent's ceiling on the test's
# cgroup and its EXIT flag OOM from there; the agent keeps its
# oom_score_adj -1000 and the next test runs),
# filling / and /tmp (the guest's tmpfs, half its RAM each: ENOSPC, not an
# OOM kill), a double-forked daemon, kill -9 -1, and artifacts past
# artifacts_max. Nothing outside the artifact directory is written on the
# host. Escapes from a virtio-fs share are hostile_fs.sh. Inside ci/vmhost
# (TCG, outer load about 10) the OOM case took 28 s and the fill 9 s
# with a limit the test set itself; past the whole RAM under the agent's
# ceiling, 8 s.
. "$(dirname "$0")/lib.sh"
# the fork bomb may silence the agent on purpose: not a hung VM to keep
# (ci/test sets SMOLTEST_KEEP_HUNG for the tier)
unset SMOLTEST_KEEP_HUNG
cat > h.yaml <<Y
name: hostile
backend: vm
parallel: 1
timeout: 60s
artifacts_max: 1M
vm: { memory: 128M }
tests:
  - name: fork-bomb
    timeout: 3s
    run: "b() { b | b & }; b; sleep 60"
  - name: oom
    timeout: 120s
    # past the whole VM's RAM: the agent's ceiling on the test's own cgroup
    # (what the guest had available, less a reserve) ends it in one reclaim
    # pass. Without it, a 128M guest without swap evicted the page cache of
    # every binary first and thrashed for over 2 minutes under the emulated
    # CPU before the global OOM killer fired (once in four runs); exit 3
    # says the ceiling is missing.
    run: |
      cg=/sys/fs/cgroup\$(sed -n 's/^0:://p' /proc/self/cgroup)
      echo "ceiling \$(cat "\$cg/memory.max")"; grep -E '^Mem(Total|Available):' /proc/meminfo
      test "\$(cat "\$cg/memory.max")" != max || exit 3
      head -c 1G /dev/zero | tail > /dev/null
  - name: after-oom
    run: 'test "\$(cat /proc/1/oom_score_adj)" = -1000 && test "\$(cat /proc/self/oom_score_adj)" = 0'
  - name: fill
    timeout: 120s
    run: |
      dd if=/dev/zero of=/tmp/fill bs=1M status=none; a=\$?; rm -f /tmp/fill
      dd if=/dev/zero of=/fill bs=1M status=none; b=\$?
      echo "dd /tmp: \$a, dd /: \$b"; exit \$((a + b))
  - name: after-fill
    run: "test ! -e /fill && test ! -e /tmp/fill && test \$(cat /proc/1/oom_score_adj) = -1000"
  - name: daemon
    run: |
      setsid sh -c 'sleep 600 & echo \$! > /tmp/daemon' &
      i=0; while [ ! -s /tmp/daemon ] && [ \$i -lt 200 ]; do sleep 0.1; i=\$((i + 1)); done
      test -s /tmp/daemon
  - name: kill-all
    run: "kill -9 -1; sleep 30"
  - name: after-all
    cwd: /tmp
    run: |
      set -e
      test "\$(cat /proc/1/oom_score_adj)" = -1000
      test "\$(cat /proc/self/oom_score_adj)" = 0
      test ! -e /fill && test ! -e /tmp/daemon && ! pgrep -x sleep
      head -c 3M /dev/zero > big.bin && echo ok > small.txt
    artifacts: [ "big.bin", "small.txt" ]
Y
touch marker
sleep 1
set +e
timeout -k 5 450 "$SMOLTEST" run h.yaml --json r.jsonl --artifacts arts >out 2>err
rc=$?
set -e
[ $rc = 1 ] || { cat out err; fail "smoltest run h.yaml exited $rc, expected 1"; }
# the expected status of each attack
case $(final_status r.jsonl fork-bomb) in fail | timeout) ;; *) cat r.jsonl; fail "fork-bomb: $(final_status r.jsonl fork-bomb)" ;; esac
# The OOM killer takes the test's whole tree (memory.oom.group), never
# the agent, and says so in the reason, on the console too.
expect_status r.jsonl oom fail
grep '"test":"oom"' r.jsonl | grep '"signal":9' | grep -q 'killed by the OOM killer (signal 9), expected exit 0' ||
	fail "oom: not reported as killed by the OOM killer: $(grep '"test":"oom"' r.jsonl)"
grep -q 'killed by the OOM killer' out || fail "oom: the console does not name the OOM killer"
# the tree the OOM killer took is still freeing its memory when the
# command's exit is seen: dying, not leaked
! grep '"test":"oom"' r.jsonl | grep -q '"leaked"' ||
	fail "oom: the killed tree counted as leaked: $(grep '"test":"oom"' r.jsonl)"
# the ceiling the agent set: below what the guest had available
set -- $(grep '"test":"oom"' r.jsonl |
	sed -n 's/.*"stdout":"ceiling \([0-9]*\)\\nMemTotal: *\([0-9]*\) kB\\nMemAvailable: *\([0-9]*\) kB.*/\1 \2 \3/p')
[ $# = 3 ] && [ "$1" -lt $(($3 * 1024)) ] ||
	fail "oom: no ceiling below MemAvailable in its output: $(grep '"test":"oom"' r.jsonl)"
echo "  oom: memory.max $(($1 >> 10)) KiB, MemAvailable $3 KiB, MemTotal $2 KiB"
expect_status r.jsonl after-oom pass
# Both writes end in ENOSPC (the test's own failure, not the VM's), and the
# next test, a fresh fork, sees neither file.
expect_status r.jsonl fill fail
grep '"test":"fill"' r.jsonl | grep -q 'dd /tmp: 1, dd /: 1' ||
	fail "fill: both writes should fail: $(grep '"test":"fill"' r.jsonl)"
[ "$(grep '"test":"fill"' r.jsonl | grep -o 'No space left on device' | wc -l)" = 2 ] ||
	fail "fill: not ENOSPC twice: $(grep '"test":"fill"' r.jsonl)"
expect_status r.jsonl after-fill pass
# The daemon outlives the test's command: a LEAK (a pass with a warning),
# and it is killed with the instance (the clean test after it checks).
expect_status r.jsonl daemon leak
grep '"test":"daemon"' r.jsonl | grep -q '"leaked":[1-9]' || fail "daemon: no leaked count: $(grep '"test":"daemon"' r.jsonl)"
expect_status r.jsonl kill-all fail
grep '"test":"kill-all"' r.jsonl | grep -q '"signal":9' || fail "kill-all: not reported as killed by SIGKILL"
expect_status r.jsonl after-all pass
grep '"test":"after-all"' r.jsonl | grep -q "artifact 'big.bin' (3072 KiB) not collected.*artifacts_max (1024 KiB)" ||
	fail "the big artifact was not refused by name: $(grep after-all r.jsonl)"
[ ! -e arts/after-all/big.bin ] && [ "$(cat arts/after-all/small.txt)" = ok ] ||
	fail "after-all: wrong files collected: $(ls -R arts)"
grep -q 'warning: artifact .big.bin. (3072 KiB) not collected' out || fail "the console does not say why big.bin is missing"
written=$(find "$WORK" -newer marker ! -type d | grep -v -e "^$WORK/arts/" -e "^$WORK/cache/" \
	-e "^$WORK/r.jsonl$" -e "^$WORK/out$" -e "^$WORK/err$" || true)
[ -z "$written" ] || fail "files were written on the host outside the artifacts: $written"
check_clean
grep '"test"' r.jsonl | grep '"final":true' |
	sed 's/.*"test":"\([^"]*\)".*"status":"\([a-z]*\)".*"message":\("[^"]*"\|null\).*"duration_ms":\([0-9]*\).*/  \1: \2 (\4 ms) \3/'
done_pass
