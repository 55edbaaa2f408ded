#!/bin/sh
# tests_from (issue 15 item 7) on the sandbox backend: a lister run at the
# end of setup names the tests; the names are kept in the cache entry (a
# second run neither sets up nor lists again); --filter, --rerun-failed
# and list work on the listed tests; hostile listers (names that try to
# run a command, repeats, control bytes, 100 001 names, endless output, a
# failing or slow lister) fail setup naming the line, run nothing and
# cache nothing.
. "$(dirname "$0")/lib.sh"
mkdir -p state
cat > s.yaml <<'Y'
shares: [ { host: state, guest: /state } ]
setup:
  - run: |
      echo ran >> /state/setup-ran
      mkdir -p /opt/cases
      for n in alpha beta gamma; do echo "exit 0" > /opt/cases/$n.sh; done
      echo "exit 1" > /opt/cases/broken.sh
tests:
  - { name: plain, run: "true" }
  - name: "case/{name}"
    tests_from:
      run: "echo listed >> /state/lister-ran; ls /opt/cases"
      match: "/^(.+)\\.sh$/"
    run: "echo running {name} in $(pwd); sh /opt/cases/{name}.sh"
    cwd: /opt
    env: { CASE: "{name}" }
    tags: [cases]
  - { name: last, run: "true" }
Y
# before any run, list cannot know the names: it says so
run_st 0 list s.yaml
[ "$(cat out)" = "$(printf 'plain\nlast')" ] || fail "list before a run: $(cat out)"
grep -q "s.yaml:10: tests_from (echo listed" err || fail "list does not name the generator: $(cat err)"
# list --json: the generator as an object without a name
run_st 0 list s.yaml --json
python3 - "$WORK/out" <<'P' || fail "list --json before a run: $(cat out)"
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
gens = [o for o in objs if o["name"] is None]
assert [o["name"] for o in objs if o["name"]] == ["plain", "last"], objs
assert len(gens) == 1 and gens[0]["generator"].endswith("{name}") and gens[0]["line"] == 10, gens
assert gens[0]["tests_from"].startswith("echo listed"), gens
P
run_st 0 validate s.yaml
grep -q "1 tests_from (their tests are known after setup)" out || fail "validate: $(cat out)"

run_st 1 run s.yaml --json r.jsonl
grep -q "tests_from listed 4 tests; 6 of the suite's 6 selected" err || fail "listing: $(cat err)"
expect_status r.jsonl case/alpha pass
expect_status r.jsonl case/broken fail
grep -q 'running gamma in /opt' r.jsonl || fail "{name} not substituted in run/cwd: $(grep gamma r.jsonl)"
[ "$(cat state/setup-ran)" = ran ] && [ "$(cat state/lister-ran)" = listed ] || fail "setup/lister runs"

# a cache hit: neither setup nor the lister runs again, the tests are known
run_st 0 run s.yaml --filter '^case/(alpha|gamma)$' --json h.jsonl
grep -q "from the cache: setup skipped" err || fail "no cache hit: $(cat err)"
grep -q "tests_from listed 4 tests (as kept in the cache entry); 2 of the suite's 6" err ||
	fail "cached names: $(cat err)"
[ "$(wc -l <state/setup-ran)" = 1 ] || fail "setup ran again"
[ "$(wc -l <state/lister-ran)" = 1 ] || fail "the lister ran again"
[ "$(grep -c '"final":true' h.jsonl)" = 2 ] || fail "--filter on listed tests: $(cat h.jsonl)"
# --rerun-failed selects the listed test that failed
run_st 1 run s.yaml --rerun-failed --json f.jsonl
[ "$(grep '"final":true' f.jsonl | sed 's/.*"test":"\([^"]*\)".*/\1/')" = case/broken ] ||
	fail "--rerun-failed: $(cat f.jsonl)"
# --tags leaves the lister's tests out; list shows the cached names
run_st 0 run s.yaml --tags '!cases'
grep -q "2 tests: 2 passed" out || fail "--tags: $(cat out)"
# in suite order: the listed tests where tests_from is written
run_st 0 list s.yaml
[ "$(cat out | tr '\n' ' ')" = "plain case/alpha case/beta case/broken case/gamma last " ] ||
	fail "list from the cache: $(cat out)"
grep -q "as cache entry [0-9a-f]* keeps them" err || fail "list does not say where: $(cat err)"
run_st 4 run s.yaml --filter '^case/nothing$'
grep -q "no tests selected (--filter '^case/nothing\$', 0 of 6, tests_from's included)" err ||
	fail "no tests: $(cat err)"

# an entry whose list of names is damaged is refused and rebuilt once
entry=$(ls -d "$XDG_CACHE_HOME"/smoltest/entries/*/ | head -1)
printf 'smoltest-listed 1\nfrom 12 1\n1 $(touch /state/pwned)\n' >"$entry/listed"
run_st 1 run s.yaml
grep -q "refused: its list of tests_from names (listed): tests_from 1: bad entry" err ||
	fail "a damaged list was not refused: $(cat err)"
[ "$(wc -l <state/lister-ran)" = 2 ] || fail "the lister did not run again"
[ ! -e state/pwned ] || fail "a name from the damaged list ran"

# hostile listers: each fails setup (exit 3) naming the line, no test runs,
# nothing is cached, and no listed text is ever run by a shell
entries() { ls "$XDG_CACHE_HOME/smoltest/entries" | grep -vc '\.lock$' || true; }
before=$(entries)
cat > h.yaml <<'Y'
shares: [ { host: state, guest: /state } ]
setup_timeout: 2s
tests:
  - { name: "h/{name}", tests_from: "sh /state/lister.sh", run: "echo {name} > /state/ran-{name}" }
Y
hostile() { # WANT, the lister's script on stdin
	cat > state/lister.sh
	run_st 3 run h.yaml
	grep -qF -- "$1" err || fail "hostile lister: '$1' not in: $(cat err) ($(cat state/lister.sh))"
	grep -q "^smoltest: h.yaml:4: tests_from 1 of 1" err || fail "the line is not named: $(cat err)"
	[ "$(entries)" = "$before" ] || fail "a hostile lister was cached: $(cat state/lister.sh)"
	! ls state | grep -q '^ran-' || fail "a test ran after a hostile listing: $(ls state)"
	[ ! -e state/pwned ] || fail "a listed name ran a command: $(cat state/lister.sh)"
}
hostile "line 2 of its output: the name 'b\$(touch /state/pwned)' holds '\$'" <<'L'
echo a; echo 'b$(touch /state/pwned)'
L
hostile "line 1 of its output: the name 'a;touch /state/pwned' holds ';'" <<'L'
echo 'a;touch /state/pwned'
L
hostile "holds '\`'" <<'L'
echo 'a`touch /state/pwned`'
L
hostile "the name 'x -exec touch /state/pwned' holds byte 0x20" <<'L'
echo 'x -exec touch /state/pwned'
L
hostile "line 3 of its output repeats the name 'a' of line 1" <<'L'
printf 'a\nb\na\n'
L
hostile "line 2 of its output: the name 'b\\x0d' holds byte 0x0d" <<'L'
printf 'a\nb\r\n'
L
hostile "line 1 of its output: the name '\\x1b]0;x\\x07' holds byte 0x1b" <<'L'
printf '\033]0;x\007\n'
L
hostile "line 2 of its output holds a NUL byte" <<'L'
printf 'a\nb\000c\n'
L
hostile "it listed more than 100000 tests (line 100001), the limit on a suite's tests" <<'L'
seq -f t%g 1 100001
L
hostile "printed more than 16 MiB, and was killed" <<'L'
yes
L
hostile "tests_from 1 of 1 failed after" <<'L'
echo partial-output; exit 7
L
grep -q "exit status 7" err && grep -q "partial-output" out || fail "a failing lister: $(cat err out)"
hostile "tests_from 1 of 1 failed after" <<'L'
echo a; sleep 60
L
grep -q "timed out after 2.00s: raise setup_timeout" err || fail "a slow lister: $(cat err)"
# 100 000 names are taken; --filter picks one of them
cat > big.yaml <<'Y'
tests: [ { name: "n/{name}", tests_from: "seq -f t%g 1 100000", run: "echo {name}" } ]
Y
run_st 0 run big.yaml --filter '^n/t77777$'
grep -q "PASS  n/t77777" out || fail "100 000 names: $(cat out err)"
# no names: the no-tests path
printf 'tests: [ { tests_from: "true", run: "echo {name}" } ]\n' > e.yaml
run_st 4 run e.yaml
grep -q "no tests selected" err || fail "empty listing: $(cat err)"
run_st 0 run e.yaml --allow-no-tests

# examples/port/ctest/tests-from.yaml: ctest -N names the tests
if command -v cmake >/dev/null && command -v ctest >/dev/null; then
	run_st 0 run "$SMOL_SOURCE_DIR/examples/port/ctest/tests-from.yaml" --json c.jsonl
	[ "$(grep '"final":true' c.jsonl | grep -c '"status":"pass"')" = 3 ] || fail "ctest: $(cat c.jsonl)"
	cp -r "$SMOL_SOURCE_DIR/examples/port/ctest" b-ctest
	sed -i 's/a - b/a + b/' b-ctest/calc.c
	run_st 1 run b-ctest/tests-from.yaml --json b.jsonl
	expect_status b.jsonl sub fail
	[ "$(grep '"final":true' b.jsonl | grep -c '"status":"fail"')" = 1 ] || fail "ctest broken"
fi
check_clean
echo "PASS: tests_from"
