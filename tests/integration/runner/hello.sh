#!/bin/sh
# examples/hello.yaml through the sandbox: every status, exit 1, artifacts.
. "$(dirname "$0")/lib.sh"
run_st 1 run "$SMOL_SOURCE_DIR/examples/hello.yaml" --json r.jsonl --junit r.xml \
	--artifacts arts -j4
for t in pass artifact; do expect_status r.jsonl $t pass; done
expect_status r.jsonl fail-exit-code fail
expect_status r.jsonl fail-output fail
expect_status r.jsonl timeout timeout
expect_status r.jsonl skip skip
expect_status r.jsonl flaky flaky
grep '"test":"fail-output"' r.jsonl | grep -q '"fail_kind":"output"' || fail "fail-output kind"
grep '"test":"fail-exit-code"' r.jsonl | grep -q '"exit_code":3' || fail "exit code 3 not reported"
grep '"test":"flaky"' r.jsonl | grep -q '"status":"fail".*"final":false\|"final":false.*"status":"fail"' ||
	fail "the failed first attempt of flaky was not reported"
grep '"test":"timeout"' r.jsonl | grep -q 'timed out after' || fail "timeout message"
[ "$(cat arts/artifact/out/report.txt)" = report ] || fail "artifact out/report.txt not copied"
[ -f arts/artifact/test.log ] || fail "artifact test.log not copied"
grep '"test":"artifact"' r.jsonl | grep -q '"pattern":"missing-\*.xml","path":null,"missing":true' ||
	fail "the missing artifact was not reported"
grep -q 'from the cache\|stored in the cache' err || fail "no cache line"
[ -s r.xml ] || fail "no JUnit report"
grep -q "sandbox" out || fail "the backend is not named in the console output"
check_clean
echo PASS
