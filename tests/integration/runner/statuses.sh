#!/bin/sh
# Result statuses through the real binary on the sandbox backend, in every
# reporter (issue 15 items 5 and 9):
#  - a test that leaves processes running is LEAK, a pass with a warning;
#    `leak: fail` makes it a failure (kind leak);
#  - a test failing for two reasons (exit status and stdout) says both;
#  - TAP numbers follow the suite's order, whatever order tests end in,
#    and are the same on every run;
#  - a test cancelled while it runs (fail-fast) is CANCELLED, not SKIP,
#    and keeps what it wrote so far;
#  - an agent that does not answer at the test's limit (stopped here with
#    SIGSTOP) is the environment's ERROR, not the test's timeout, and
#    nothing of its sandbox is left.
. "$(dirname "$0")/lib.sh"
# unique sleeps, so that check_clean sees this test's processes only
LEAK="sleep 100.$$"
LONG="sleep 30.$$"
XSD="$SMOL_SOURCE_DIR/tests/unit/golden/junit.xsd"

cat >s.yaml <<YAML
name: statuses
tests:
  - { name: first-slow, run: "sleep 1; echo one" }
  - { name: leaky, run: "$LEAK & echo started" }
  - { name: strict, run: "$LEAK >/dev/null 2>&1 &", leak: fail }
  - { name: two-reasons, run: "echo nope; exit 3", expect: { stdout: "/yes/" } }
  - { name: quick, run: "true" }
YAML
run_st 1 run s.yaml -j4 --tap s.tap --junit s.xml --json s.jsonl
expect_status s.jsonl leaky leak
expect_status s.jsonl strict fail
expect_status s.jsonl first-slow pass
grep '"test":"leaky"' s.jsonl | grep -q '"leaked":1' || fail "leaky: no leaked count: $(cat s.jsonl)"
grep '"test":"strict"' s.jsonl | grep -q '"fail_kind":"leak"' || fail "strict: not a leak failure"
grep '"test":"two-reasons"' s.jsonl |
	grep -q 'exit status 3, expected 0; stdout does not match /yes/' ||
	fail "two-reasons: not both reasons: $(grep two-reasons s.jsonl)"
grep -q '"event":"end".*"leaked":1' s.jsonl || fail "end event: no leaked count"
grep -q '^LEAK  *leaky' out || grep -q 'LEAK leaky' out || { cat out; fail "console: no LEAK line"; }
grep -q 'warning: passed, but left 1 process running' out || { cat out; fail "console: no leak warning"; }
grep -q '1 leaked' out || { cat out; fail "console summary: no leaked count"; }
# TAP: suite order, although first-slow ends last
grep -E '^(not )?ok ' s.tap >points1
printf '%s\n' "ok 1 - first-slow" "ok 2 - leaky" "not ok 3 - strict" "not ok 4 - two-reasons" \
	"ok 5 - quick" >want
cmp -s points1 want || { cat s.tap; fail "TAP points not in suite order"; }
grep -q '^1\.\.5$' s.tap || fail "TAP: no plan 1..5"
grep -q '  severity: warning' s.tap && grep -q '  leaked: 1' s.tap || fail "TAP: no leak diagnostic"
# the same numbers on a second run; prove (TAP 13) finds them in sequence
run_st 1 run s.yaml -j4 --tap s2.tap --tap-version 13
prove_out=$(prove --exec cat s2.tap 2>&1 || true)
if echo "$prove_out" | grep -qi "out of sequence\|parse error"; then fail "prove: $prove_out"; fi
echo "$prove_out" | grep -q "Failed 2/5 subtests" || fail "prove does not count 2 of 5 failed: $prove_out"
grep -E '^(not )?ok ' s2.tap >points2
cmp -s points1 points2 || { diff points1 points2; fail "TAP numbers changed between runs"; }
# JUnit: the leak passes with its properties, the file stays valid
grep -q '<property name="leaked" value="1"/>' s.xml || fail "JUnit: no leaked property"
grep -q '<property name="status" value="leak"/>' s.xml || fail "JUnit: no status property"
xmllint --noout --schema "$XSD" s.xml 2>xml.err || { cat xml.err; fail "JUnit does not validate"; }
check_clean "$LEAK"

# a leak alone passes: exit 0
printf 'tests:\n  - { name: leaky, run: "%s & true" }\n' "$LEAK" >l.yaml
run_st 0 run l.yaml --json l.jsonl
expect_status l.jsonl leaky leak
check_clean "$LEAK"
# a bad value for leak is a suite error naming the line
printf 'tests:\n  - { name: x, run: "true", leak: maybe }\n' >bad.yaml
run_st 2 run bad.yaml
grep -q "bad.yaml:2:.*leak.*'warn'.*'fail'" err || { cat err; fail "leak: maybe: no clear error"; }

# cancelled by fail-fast while running: its own status and its output
cat >c.yaml <<YAML
tests:
  - { name: long, run: "echo partial-output; $LONG" }
  - { name: bad, run: "sleep 1; exit 1" }
YAML
run_st 1 run c.yaml -j2 --fail-fast --json c.jsonl --tap c.tap --junit c.xml
expect_status c.jsonl long cancelled
grep '"test":"long"' c.jsonl | grep -q 'partial-output' || fail "cancelled: output dropped"
grep -q '"event":"end".*"cancelled":1' c.jsonl || fail "end event: no cancelled count"
grep -q 'CANCEL long' out || { cat out; fail "console: no CANCEL line"; }
grep -q 'partial-output' out || { cat out; fail "console: the cancelled test's output is not shown"; }
grep -q '^not ok 1 - long$' c.tap || { cat c.tap; fail "TAP: cancelled is not 'not ok 1'"; }
grep -q 'severity: cancelled' c.tap || fail "TAP: no cancelled severity"
if grep -q 'SKIP' c.tap; then fail "TAP: cancelled reported as SKIP"; fi
grep -q '<skipped message="cancelled while running' c.xml || fail "JUnit: no cancelled skip"
grep -q 'partial-output' c.xml || fail "JUnit: the cancelled test's output is dropped"
xmllint --noout --schema "$XSD" c.xml 2>xml.err || { cat xml.err; fail "JUnit does not validate"; }
check_clean "$LONG"

# The sandbox's agent stopped while its test runs: it cannot end the test at
# its 3 s limit, so the client's own deadline (5 s later) ends it.
SILENT="sleep 31.$$"
cat > silent.yaml <<Y
tests:
  - { name: stuck-agent, run: "$SILENT", timeout: 3s }
Y
"$SMOLTEST" run silent.yaml --json s.jsonl >out 2>err &
bg=$!
wait_procs "^$SILENT\$" 1
cmd=$(pgrep -f "^$SILENT\$")
shim=$(ps -o ppid= -p "$cmd" | tr -d ' ')
agent=$(ps -o ppid= -p "$shim" | tr -d ' ')
grep -q smoltest-agent "/proc/$agent/comm" || fail "no agent above the test: $(ps -o pid,ppid,comm -p "$agent")"
kill -STOP "$agent"
set +e; wait $bg; rc=$?; set -e
[ $rc = 1 ] || { cat out err; fail "a silent agent: exit $rc, expected 1"; }
expect_status s.jsonl stuck-agent error
grep '"test":"stuck-agent"' s.jsonl | grep -q "the agent did not answer: it did not end the test at its limit (3.00s), so the runner killed the sandbox [0-9.]*s after the start" ||
	fail "the error does not say the agent was silent: $(grep stuck-agent s.jsonl)"
check_clean "$SILENT"
echo "ok: statuses"
