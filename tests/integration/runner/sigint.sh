#!/bin/sh
# SIGINT and SIGTERM stop a run cleanly: every sandbox torn down, no process,
# mount, cgroup or temporary directory left behind, exit status 128 + the
# signal (130, 143).
. "$(dirname "$0")/lib.sh"
token="sleep 3$$"
cat > slow.yaml <<Y
tests:
  - { name: a, run: "$token & $token" }
  - { name: b, run: "$token" }
  - { name: c, run: "$token" }
Y
for sig in INT TERM; do
	"$SMOLTEST" run slow.yaml -j2 --json r.jsonl >out 2>err &
	pid=$!
	i=0
	until [ "$(pgrep -fc "$token")" -ge 3 ] || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
	[ $i -lt 100 ] || fail "the tests never started"
	kill -$sig $pid
	set +e
	wait $pid
	rc=$?
	set -e
	want=130
	[ $sig = TERM ] && want=143
	[ $rc = $want ] || { cat err; fail "SIG$sig: exit $rc, expected $want"; }
	grep -q "interrupted by SIG$sig" err || fail "no interruption message: $(cat err)"
	expect_status r.jsonl a skip
	expect_status r.jsonl c skip
	check_clean "$token"
done
echo PASS
