#!/bin/sh
# Setup as a first-class step (issue 15 item 2): the workdir is made when
# missing, each step has its own cwd and the suite's env, durations and output are shown with
# -v and on failure, a failed setup is ONE line and one record (console,
# JUnit, JSON) with the step's output, and the summary gives setup time
# and test time apart.
. "$(dirname "$0")/lib.sh"
cat > s.yaml <<Y
workdir: $WORK/made/by/setup
env: { SUITE_VAR: from-the-suite }
setup:
  - run: pwd > where-setup-ran
  - { run: "pwd > $WORK/made/step2-cwd && test \"\$SUITE_VAR\" = from-the-suite", cwd: $WORK/made }
tests:
  - { name: t1, run: "test -f where-setup-ran && test \$(cat where-setup-ran) = \$(pwd)" }
  - { name: t2, run: "grep -qx $WORK/made $WORK/made/step2-cwd" }
Y
run_st 0 run s.yaml -v --no-cache
grep -q 'setup 1/2 passed in ' err || fail "-v does not give step durations: $(cat err)"
grep -q 'setup 2/2 passed in ' err || fail "-v: no duration of step 2"
grep -Eq '^2 tests: 2 passed.* in [0-9.]+m?s after a [0-9.]+m?s setup \(backend' out ||
	fail "the summary does not give setup time apart: $(tail -1 out)"
[ ! -e "$WORK/made" ] || fail "the workdir was made on the host, not in the instance"

# a failing step: one line, one record, no per-test lines, no Failures
# block, no Slowest; the step's output with an omitted-lines marker
cat > f.yaml <<'Y'
workdir: /build
setup:
  - run: "true"
  - { run: "echo FIRST; seq 2 40; echo oops >&2; exit 2", cwd: /tmp }
tests:
  - { name: t1, run: "true" }
  - { name: t2, run: "true" }
  - { name: t3, run: "true" }
Y
run_st 3 run f.yaml --junit j.xml --json r.jsonl
grep -q 'f.yaml:4: setup step 2 of 2 failed after .* (exit status 2): echo FIRST' err ||
	fail "setup failure line: $(cat err)"
grep -q 'setup 1/2 passed in ' err || fail "the failure does not give earlier steps' durations"
[ "$(grep -c 'SETUP FAILED' out)" = 1 ] || fail "not one setup line: $(cat out)"
grep -q '… 20 lines omitted' out || fail "no omitted marker in the setup output: $(cat out)"
grep -q '    | oops' out || fail "no stderr of the step"
grep -Eq '^(ERROR|FAIL|SKIP) ' out && fail "per-test lines: $(cat out)"
grep -q 'Failures:' out && fail "a Failures block"
grep -q 'Slowest:' out && fail "a Slowest block"
grep -q '^3 tests not run: the suite.s setup failed at step 2 after ' out ||
	fail "the summary: $(tail -1 out)"
grep -q '<testcase classname="[^"]*" name="setup" [^>]*line="4">' j.xml || fail "no setup testcase: $(cat j.xml)"
grep -q '<failure message="setup step 2 of 2 failed' j.xml || fail "setup testcase has no failure"
grep -q 'FIRST' j.xml || fail "JUnit lost the step's output"
grep -q '<property name="tests.not_run" value="3"/>' j.xml || fail "JUnit: tests not run"
[ "$(grep -c '"event":"result"' r.jsonl)" = 1 ] || fail "JSON: not one record"
# a step's cwd that does not exist fails that step, naming it
cat > c.yaml <<'Y'
setup: [ { run: "true", cwd: /does/not/exist } ]
tests: [ { name: t, run: "true" } ]
Y
run_st 3 run c.yaml
grep -q 'could not start in /does/not/exist' err || fail "missing step cwd: $(cat err)"
check_clean
echo "PASS: setup"
