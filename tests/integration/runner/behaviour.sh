#!/bin/sh
# Scheduling behaviour: parallelism bound, fresh copy per test, timeouts kill
# the whole tree, fail-fast, --retries, bounded output, expectations.
. "$(dirname "$0")/lib.sh"
mkdir share
cat > b.yaml <<Y
shares: [ { host: $WORK/share, guest: /share } ]
tests:
  - name: writer
    run: echo dirty > /etc/smoltest-behaviour
  - name: reader
    run: test ! -e /etc/smoltest-behaviour
  - name: big-output
    run: head -c 5000000 /dev/zero | tr '\\\\0' x; echo; echo END
    expect: { stdout: "/END/" }
  - name: tree-timeout
    run: (while :; do date +%s%N > /share/alive; sleep 0.1; done) & sleep 100
    timeout: 1s
  - { name: par1, run: "sh /share/par.sh" }
  - { name: par2, run: "sh /share/par.sh" }
  - { name: par3, run: "sh /share/par.sh" }
  - { name: par4, run: "sh /share/par.sh" }
  - name: stderr-check
    run: echo oops >&2
    expect: { stderr_not: "/oops/" }
  - name: missing-program
    run: [ /nonexistent/program ]
Y
# each par test records how many par tests run at the same moment
cat > share/par.sh <<'S'
touch /share/run.$SMOLTEST_TEST; sleep 0.4
ls /share/run.* | wc -l > /share/max.$SMOLTEST_TEST; rm /share/run.$SMOLTEST_TEST
S
run_st 1 run b.yaml -j2 --json r.jsonl
for t in par1 par2 par3 par4; do
	expect_status r.jsonl $t pass
	[ "$(cat share/max.$t)" -le 2 ] || fail "$t saw $(cat share/max.$t) tests running with -j2"
done
expect_status r.jsonl writer pass
expect_status r.jsonl reader pass
expect_status r.jsonl big-output pass
grep '"test":"big-output"' r.jsonl | grep -q '"stdout_bytes":5000005,"stdout_truncated":true' ||
	fail "big output not bounded/truncated: $(grep big-output r.jsonl | cut -c1-300)"
expect_status r.jsonl tree-timeout timeout
a=$(cat share/alive); sleep 0.5; b=$(cat share/alive)
[ "$a" = "$b" ] || fail "a background process of the timed-out test survived"
expect_status r.jsonl stderr-check fail
expect_status r.jsonl missing-program fail
check_clean

# --fail-fast: the first failure cancels the rest
cat > ff.yaml <<'Y'
tests:
  - { name: bad, run: "exit 1" }
  - { name: slow, run: "sleep 20" }
  - { name: later1, run: "true" }
  - { name: later2, run: "true" }
Y
start=$(date +%s)
run_st 1 run ff.yaml -j2 --fail-fast --json ff.jsonl
[ $(( $(date +%s) - start )) -lt 15 ] || fail "--fail-fast did not stop the running test"
expect_status ff.jsonl bad fail
expect_status ff.jsonl slow cancelled # it was running: cancelled, not skipped
expect_status ff.jsonl later2 skip
grep -q 'fail-fast' ff.jsonl || fail "no fail-fast reason"

# --retries from the command line; every attempt is a record
cat > rt.yaml <<'Y'
tests: [ { name: always-bad, run: "exit 2" } ]
Y
run_st 1 run rt.yaml --retries 2 --json rt.jsonl
[ "$(grep -c '"test":"always-bad"' rt.jsonl)" = 3 ] || fail "expected 3 attempts"
expect_status rt.jsonl always-bad fail
check_clean

# the environment dies under a running test: ERROR naming the test, not FAIL
cat > die.yaml <<'Y'
tests:
  - { name: victim, run: "sleep 30" }
  - { name: bystander, run: "true" }
Y
"$SMOLTEST" run die.yaml -j1 --json die.jsonl >out 2>err &
pid=$!
i=0
init=
while [ -z "$init" ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
	for m in $(pgrep -P $pid); do init=$(pgrep -P "$m" || true); done
done
[ -n "$init" ] || fail "no sandbox init found"
sleep 0.3
kill -9 $init
set +e
wait $pid
rc=$?
set -e
[ $rc = 1 ] || fail "exit $rc after the sandbox died"
expect_status die.jsonl victim error
grep '"test":"victim"' die.jsonl | grep -q "the sandbox of test 'victim'" || fail "error does not name the test"
expect_status die.jsonl bystander pass
check_clean
echo PASS
