#!/bin/sh
# Tests that attack their own environment are contained by the vm backend
# (issue 14 item 3), each with its expected status, and the test after
# them starts clean: a fork bomb, a double-forked daemon, kill -9 -1, and
# artifacts past artifacts_max; allocating past the VM's memory and a full
# / and /tmp with SMOL_HOSTILE_HEAVY=1 (below). Nothing outside the
# artifact directory is written on the host. Escapes from a virtio-fs
# share are hostile_fs.sh.
. "$(dirname "$0")/lib.sh"
# Allocating past the VM's memory and filling / and /tmp write the guest's
# RAM at the emulated CPU's pace (about 2 MB/s in ci/vmhost under TCG: over
# a minute each), so they run only with SMOL_HOSTILE_HEAVY=1 (at hardware
# speed, or by hand); the sandbox's runner_hostile runs them every time.
HEAVY=""
if [ "${SMOL_HOSTILE_HEAVY:-0}" = 1 ]; then
	HEAVY='  - name: oom
    timeout: 600s
    run: |
      exec python3 -c '"'"'l = []
      while True: l.append(b"x" * (1 << 22))'"'"'
  - name: fill
    timeout: 600s
    run: |
      dd if=/dev/zero of=/tmp/fill bs=1M 2>/dev/null; a=$?; rm -f /tmp/fill
      dd if=/dev/zero of=/fill bs=1M 2>/dev/null; b=$?
      echo "dd /tmp: $a, dd /: $b"; [ $a = 0 ] && [ $b = 0 ]
  - name: after-heavy
    run: "test ! -e /fill && test ! -e /tmp/fill && test $(cat /proc/1/oom_score_adj) = -1000"'
fi
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
$HEAVY
Y
touch marker
sleep 1
limit=240
[ -z "$HEAVY" ] || limit=1500
set +e
timeout -k 5 $limit "$SMOLTEST" run h.yaml --json r.jsonl --artifacts arts >out 2>err
rc=$?
set -e
[ $rc = 1 ] || { cat out err; fail "smoltest run h.yaml exited $rc, expected 1"; }
# the expected status of each attack
case $(final_status r.jsonl fork-bomb) in fail | timeout) ;; *) cat r.jsonl; fail "fork-bomb: $(final_status r.jsonl fork-bomb)" ;; esac
if [ -n "$HEAVY" ]; then
	expect_status r.jsonl oom fail
	grep '"test":"oom"' r.jsonl | grep -q '"signal":9' || fail "oom: not killed by SIGKILL: $(grep '"test":"oom"' r.jsonl)"
	expect_status r.jsonl fill fail
	expect_status r.jsonl after-heavy pass
fi
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
	sed 's/.*"test":"\([^"]*\)".*"status":"\([a-z]*\)".*"message":\("[^"]*"\|null\).*/  \1: \2 \3/'
done_pass
