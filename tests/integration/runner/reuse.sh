#!/bin/sh
# Less YAML (issue 15 item 7): defaults:, anchors, aliases and merge keys
# run through the sandbox as written; a billion laughs is one error (exit
# 2); list --json gives one object per selected test; list and validate
# refuse the options of run they would ignore (exit 2, one line).
. "$(dirname "$0")/lib.sh"
cat > s.yaml <<'Y'
name: reuse
backend: sandbox
env: { WHO: suite }
x-base: &base
  run: 'echo "$WHO $GREETING" && pwd'
defaults:
  cwd: /tmp
  tags: [all]
  timeout: 20s
  env: { GREETING: hello }
  expect: { stdout: "/^(suite|test) hello\n\/tmp$/", stderr_not: DENIED }
tests:
  - { <<: *base, name: plain }
  - { <<: *base, name: own-env, env: { WHO: test }, tags: [fast] }
  - { <<: *base, name: own-cwd, cwd: /, expect: { stdout: "/^suite hello\n\/$/" } }
  - { name: default-expect-fails, run: "echo DENIED >&2; echo suite hello; pwd" }
Y
run_st 1 run s.yaml --json r.jsonl
expect_status r.jsonl plain pass
expect_status r.jsonl own-env pass
expect_status r.jsonl own-cwd pass
expect_status r.jsonl default-expect-fails fail

run_st 0 list s.yaml --tags fast
[ "$(cat out)" = own-env ] || fail "list --tags fast: $(cat out)"
run_st 0 list s.yaml --json --filter own
python3 - "$WORK/out" <<'P' || fail "list --json: $(cat out)"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [r["name"] for r in rows] == ["own-env", "own-cwd"], rows
a, b = rows
assert a["tags"] == ["all", "fast"] and a["cwd"] == "/tmp" and a["timeout_ms"] == 20000, a
assert a["env"] == {"WHO": "test", "GREETING": "hello"}, a["env"]
assert a["run"].startswith('echo "$WHO'), a["run"]
assert b["cwd"] == "/" and b["expect"]["stderr_not"] == "DENIED", b
assert a["file"] == "s.yaml" and a["line"] == 14, a
P
for opt in "--junit j.xml" "-j 2" "--fail-fast" "--tap -" "-q"; do
	# shellcheck disable=SC2086 # the option and its value are two words
	run_st 2 list s.yaml $opt
	[ "$(wc -l <err)" = 1 ] || fail "list $opt: $(cat err)"
	grep -q "^smoltest list: .* is an option of run, which list would ignore" err ||
		fail "list $opt: $(cat err)"
done
[ ! -e j.xml ] || fail "list wrote a JUnit file"
run_st 2 validate s.yaml --tags fast
grep -q "^smoltest validate: --tags is an option of run" err || fail "validate: $(cat err)"

# nine levels of nine aliases: 387 million nodes from 400 bytes
{
	echo 'l0: &l0 [x, x, x, x, x, x, x, x, x]'
	for i in 1 2 3 4 5 6 7 8 9; do
		p=$((i - 1))
		echo "l$i: &l$i [*l$p, *l$p, *l$p, *l$p, *l$p, *l$p, *l$p, *l$p, *l$p]"
	done
	echo 'tests: [ { name: a, run: "true", tags: *l9 } ]'
} >laughs.yaml
start=$(date +%s)
run_st 2 validate laughs.yaml
[ $(($(date +%s) - start)) -le 5 ] || fail "the billion laughs took more than 5 s"
grep -q "^laughs.yaml:[0-9]*:[0-9]*: aliases expand this value to more than" err ||
	fail "billion laughs: $(cat err)"
grep -q "^1 error in the suite" err || fail "billion laughs: not one error: $(cat err)"
run_st 2 run laughs.yaml
check_clean
echo PASS
