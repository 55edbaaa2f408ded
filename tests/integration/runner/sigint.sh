#!/bin/sh
# SIGINT, SIGTERM and SIGHUP (a closed terminal) stop a run cleanly: every
# sandbox torn down, no process, mount, cgroup, run record or temporary
# directory left behind, exit status 128 + the signal (130, 143, 129).
. "$(dirname "$0")/lib.sh"
token="sleep 3$$"
cat > slow.yaml <<Y
tests:
  - { name: a, run: "$token & $token" }
  - { name: b, run: "$token" }
  - { name: c, run: "$token" }
Y
for sig in INT TERM HUP; do
	"$SMOLTEST" run slow.yaml -j2 --json r.jsonl >out 2>err &
	pid=$!
	wait_procs "$token" 3
	kill -$sig $pid
	set +e
	wait $pid
	rc=$?
	set -e
	case $sig in INT) want=130 ;; TERM) want=143 ;; HUP) want=129 ;; esac
	[ $rc = $want ] || { cat err; fail "SIG$sig: exit $rc, expected $want"; }
	grep -q "interrupted by SIG$sig" err || fail "no interruption message: $(cat err)"
	expect_status r.jsonl a cancelled # running when the signal came
	expect_status r.jsonl c skip
	check_clean "$token"
done
echo PASS
