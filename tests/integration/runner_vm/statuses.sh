#!/bin/sh
# The vm backend reports what the sandbox does (issue 15 items 5 and 9):
# the agent inside the guest (PID 1) counts a test's leaked processes and
# says so in EXIT (capability LEAK), so a leak is LEAK and `leak: fail` a
# failure of kind leak; TAP numbers follow the suite's order although the
# first test ends last; a fail-fast cancel is 'cancelled' with its output.
. "$(dirname "$0")/lib.sh"

cat >v.yaml <<'Y'
name: vmstatuses
tests:
  - { name: slow-first, run: "sleep 2; echo one" }
  - { name: leaky, run: "sleep 100 & echo started" }
  - { name: strict, run: "sleep 100 >/dev/null 2>&1 &", leak: fail }
  - { name: quick, run: "true" }
Y
run_st 1 run v.yaml --backend vm -j2 --json v.jsonl --tap v.tap
expect_status v.jsonl leaky leak
expect_status v.jsonl strict fail
expect_status v.jsonl slow-first pass
expect_status v.jsonl quick pass
grep '"test":"leaky"' v.jsonl | grep -q '"leaked":1' || fail "leaky: no leaked count"
grep '"test":"strict"' v.jsonl | grep -q '"fail_kind":"leak"' || fail "strict: not a leak failure"
grep -q 'warning: passed, but left 1 process running' out || { cat out; fail "no leak warning"; }
grep -E '^(not )?ok ' v.tap >points
printf '%s\n' "ok 1 - slow-first" "ok 2 - leaky" "not ok 3 - strict" "ok 4 - quick" >want
cmp -s points want || { cat v.tap; fail "TAP points not in suite order"; }
check_clean

cat >c.yaml <<'Y'
tests:
  - { name: long, run: "echo partial-output; sleep 60" }
  - { name: bad, run: "sleep 2; exit 1" }
Y
run_st 1 run c.yaml --backend vm -j2 --fail-fast --json c.jsonl
expect_status c.jsonl long cancelled
grep '"test":"long"' c.jsonl | grep -q 'partial-output' || fail "cancelled: output dropped"
check_clean
done_pass
