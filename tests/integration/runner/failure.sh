#!/bin/sh
# A failure's output on the console (issue 15 item 3): the tail with an
# explicit "… N lines omitted …" marker, --failure-output tail:N and full,
# -v showing everything kept; --rerun-failed runs exactly what failed when
# the suite last ran, and a test leaves that list only when it passes;
# unmatched artifact patterns on the console and in JUnit (item 6).
. "$(dirname "$0")/lib.sh"
mkdir share
echo 1 > share/broken
cat > f.yaml <<Y
shares: [ { host: $WORK/share, guest: /share } ]
tests:
  - { name: long, run: "echo ROOT CAUSE; seq 2 61; exit 1" }
  - { name: fixable, run: "test ! -e /share/broken" }
  - { name: ok, run: "true" }
  - { name: later, run: "true", tags: [later] }
Y
run_st 1 run f.yaml --tags '!later'
grep -q '… 41 lines omitted (--failure-output full shows them) …' out ||
	{ cat out; fail "no omitted-lines marker in the default tail"; }
grep -q '    | 61$' out || fail "the tail's last line is missing"
grep -q 'ROOT CAUSE' out && fail "the default tail shows the first line"
run_st 1 run f.yaml --tags '!later' --failure-output full
grep -q '    | ROOT CAUSE$' out || fail "--failure-output full lost the first line"
grep -q 'omitted' out && fail "--failure-output full still omits lines"
run_st 1 run f.yaml --tags '!later' --failure-output tail:3
grep -q '… 58 lines omitted' out || fail "tail:3 did not keep 3 lines: $(cat out)"
run_st 1 run f.yaml --tags '!later' -v
grep -q '    | ROOT CAUSE$' out || fail "-v did not show everything kept"
run_st 2 run f.yaml --failure-output tail:0
grep -q "give tail:N" err || fail "tail:0 accepted"

# --rerun-failed: long and fixable failed; later never ran
run_st 1 run f.yaml --rerun-failed --json r.jsonl
grep -q -- '--rerun-failed: 2 of 4 selected tests failed last time' err || fail "$(cat err)"
[ "$(grep -c '"event":"result"' r.jsonl)" = 2 ] || fail "rerun ran $(grep -c '"event":"result"' r.jsonl) tests, not 2"
expect_status r.jsonl long fail
expect_status r.jsonl fixable fail
rm share/broken
run_st 1 run f.yaml --rerun-failed --json r.jsonl
expect_status r.jsonl fixable pass
# a filtered run that does not run 'long' does not forget it
run_st 0 run f.yaml --filter later
run_st 1 run f.yaml --rerun-failed --json r.jsonl
[ "$(grep -c '"event":"result"' r.jsonl)" = 1 ] || fail "after the fix, the rerun was not 'long' alone"
sed -i 's/exit 1/exit 0/' f.yaml
run_st 0 run f.yaml --rerun-failed
# nothing failed last time: no tests selected (4), or 0 when allowed
run_st 4 run f.yaml --rerun-failed
grep -q 'none of them failed last time' err || fail "$(cat err)"
run_st 0 run f.yaml --rerun-failed --allow-no-tests
# no record: a usage error that says what to do
rm -rf "$XDG_CACHE_HOME/smoltest/last-failed"
run_st 2 run f.yaml --rerun-failed
grep -q 'no earlier run of .*f.yaml is recorded' err || fail "$(cat err)"

# artifacts (item 6): a pattern that matched nothing is said on the console
# and in JUnit; each run starts with an empty directory per test
cat > a.yaml <<'Y'
tests:
  - { name: arts, run: "echo x > found.txt", cwd: /tmp, artifacts: [ found.txt, "core.*" ] }
  - { name: plain, run: "true" }
Y
mkdir -p smoltest-artifacts/plain smoltest-artifacts/arts
touch smoltest-artifacts/plain/stale smoltest-artifacts/arts/stale
run_st 0 run a.yaml --junit a.xml
grep -A1 '^PASS  arts' out | grep -q "^  warning: artifact pattern 'core.\*' matched nothing" ||
	fail "no console warning for an unmatched pattern: $(cat out)"
grep -q '<property name="artifact.missing" value="core.\*"/>' a.xml || fail "JUnit: $(cat a.xml)"
grep -q 'classname="a.yaml"' a.xml || fail "JUnit classname is not the suite file"
[ -f smoltest-artifacts/arts/found.txt ] || fail "the artifact was not collected"
[ ! -e smoltest-artifacts/arts/stale ] && [ ! -e smoltest-artifacts/plain/stale ] ||
	fail "an earlier run's artifacts survived: $(find smoltest-artifacts)"
check_clean
echo "PASS: failure output, --rerun-failed, artifacts"
