#!/bin/sh
# The warm-environment cache: the first run executes setup and stores it, the
# second skips setup; --no-cache runs it again; cache ls / rm / prune.
. "$(dirname "$0")/lib.sh"
mkdir state
cat > s.yaml <<Y
shares: [ { host: $WORK/state, guest: /state } ]
setup:
  - run: echo x >> /state/setup-runs && echo warm > /etc/smoltest-cache-test
tests:
  - { name: sees-setup, run: "grep -q warm /etc/smoltest-cache-test" }
  - { name: writes, run: "echo scribble > /etc/smoltest-cache-test" }
  - { name: fresh, run: "grep -q warm /etc/smoltest-cache-test" }
Y
run_st 0 run s.yaml -j1
grep -q 'stored in the cache' err || fail "first run did not store: $(cat err)"
[ "$(wc -l < state/setup-runs)" = 1 ] || fail "setup ran $(wc -l < state/setup-runs) times"
run_st 0 run s.yaml -j2
grep -q 'from the cache: setup skipped' err || fail "second run missed the cache: $(cat err)"
[ "$(wc -l < state/setup-runs)" = 1 ] || fail "setup ran again on a cache hit"
run_st 0 run s.yaml --no-cache
[ "$(wc -l < state/setup-runs)" = 2 ] || fail "--no-cache did not run setup"
run_st 0 cache ls
grep -q '^[0-9a-f]\{32\}  sandbox' out || fail "cache ls: $(cat out)"
key=$(awk 'NR == 2 { print $1 }' out)
# a changed setup is a different key
sed -i 's/echo warm/echo warmer/' s.yaml
sed -i 's/grep -q warm/grep -q warmer/' s.yaml
run_st 0 run s.yaml
grep -q 'stored in the cache' err || fail "a changed setup reused the old entry"
run_st 0 cache rm "$(echo "$key" | cut -c1-8)"
grep -q "removed $key" out || fail "cache rm: $(cat out)"
run_st 0 cache prune --all
grep -q 'removed 1 entry' out || fail "cache prune: $(cat out)"
run_st 2 cache rm ffffffff
run_st 2 cache frob
# two runs building the same new entry at once: both pass, one entry
sed -i 's/echo warmer/echo warmest/; s/grep -q warmer/grep -q warmest/' s.yaml
"$SMOLTEST" run s.yaml -q >c1.out 2>c1.err &
p1=$!
"$SMOLTEST" run s.yaml -q >c2.out 2>c2.err &
p2=$!
wait $p1 || { cat c1.err; fail "concurrent run 1 failed"; }
wait $p2 || { cat c2.err; fail "concurrent run 2 failed"; }
run_st 0 cache ls
[ "$(grep -c '^[0-9a-f]\{32\}' out)" = 1 ] || fail "concurrent runs left $(cat out)"
run_st 0 run s.yaml
grep -q 'from the cache' err || fail "the concurrently built entry is not used"
run_st 0 cache prune --all

# the contents of a read-only share are in the key: one changed byte of a
# shared file (same size, old mtime put back) is a miss that says why
mkdir src
printf 'value=1\n' > src/config
cat > ro.yaml <<Y
shares: [ { host: $WORK/src, guest: /src, readonly: true } ]
setup: [ { run: "cp /src/config /etc/built-config" } ]
tests: [ { name: built-from-current, run: "cmp /etc/built-config /src/config" } ]
Y
run_st 0 run ro.yaml
grep -q 'stored in the cache' err || fail "ro share: first run did not store: $(cat err)"
run_st 0 run ro.yaml -v --json ro.jsonl
grep -q 'from the cache' err || fail "ro share: unchanged share missed: $(cat err)"
grep -q "cache hit: key covers.*share $WORK/src -> /src ro: 2 entries xxh3 " err ||
	fail "-v does not say why it hit: $(cat err)"
grep -q '"cache_why":"key covers' ro.jsonl || fail "JSON has no cache_why: $(cat ro.jsonl)"
touch -r src/config ref
printf 'value=2\n' > src/config
touch -r ref src/config
run_st 0 cache explain ro.yaml
grep -q "1 input changed" out && grep -q "^  changed $WORK/src/config\$" out ||
	fail "cache explain: $(cat out)"
run_st 0 run ro.yaml
grep -q "cache miss: 1 input changed since entry [0-9a-f]* (changed $WORK/src/config)" err ||
	fail "a changed byte in a read-only share did not miss: $(cat err)"
grep -q 'stored in the cache' err || fail "ro share: the rebuilt entry was not stored"
run_st 0 cache explain ro.yaml
grep -q 'matches the suite.s inputs now' out || fail "explain after rebuild: $(cat out)"
run_st 2 cache explain
run_st 2 cache explain nonexistent.yaml
run_st 0 cache prune --all

# a failing setup: one record (the step's), the tests not run, exit 3, nothing cached
cat > f.yaml <<'Y'
setup: [ { run: "echo broken >&2; exit 4" } ]
tests: [ { name: t, run: "true" } ]
Y
run_st 3 run f.yaml --json f.jsonl
grep -q 'setup step 1 of 1 failed after .* (exit status 4)' err || fail "setup failure message: $(cat err)"
grep -q '    | broken' out || fail "setup output not shown: $(cat out)"
# one record, the setup's, not one per test
grep -q '"test":"setup","setup":true,"status":"fail"' f.jsonl || fail "no setup record: $(cat f.jsonl)"
grep -q '"test":"t"' f.jsonl && fail "a test not run has a record"
grep -q '"setup_failed":true,"not_run":1' f.jsonl || fail "the end event: $(tail -1 f.jsonl)"
run_st 0 cache ls
grep -q 'is empty' out || fail "a failed setup was cached"
check_clean
echo PASS
