#!/bin/sh
# validate/list/partitioning/backends: usage and suite errors exit 2 with
# file:line:column, sharding covers every test exactly once, vm exits 3.
. "$(dirname "$0")/lib.sh"
cat > bad.yaml <<'Y'
name: bad
timeout: forever
tests:
  - name: a
    run: "true"
    expect: { stdout: "/[/" }
  - name: a
    run: "true"
    colour: red
Y
run_st 2 validate bad.yaml
grep -q '^bad.yaml:2:10: timeout must be a positive duration' err || fail "timeout error"
grep -q '^bad.yaml:6:23: expect.stdout: invalid regular expression' err || fail "regex error"
grep -q "^bad.yaml:7:11: duplicate test name 'a'" err || fail "duplicate error"
grep -q "^bad.yaml:9:5: unknown key 'colour'" err || fail "unknown key error"
grep -q '^4 errors in the suite' err || fail "count line"
run_st 2 run bad.yaml
run_st 2 list missing.yaml
run_st 0 validate "$SMOL_SOURCE_DIR/examples/hello.yaml"
run_st 2 run "$SMOL_SOURCE_DIR/examples/hello.yaml" --partition hash:5/4
run_st 2 run "$SMOL_SOURCE_DIR/examples/hello.yaml" --bogus
run_st 2 list "$SMOL_SOURCE_DIR/examples/hello.yaml" --tags 'fast+'
grep -q "^smoltest list: --tags 'fast+': " err || fail "error prefix: $(cat err)"
run_st 2 run "$SMOL_SOURCE_DIR/examples/hello.yaml" --fitler x
grep -q "^smoltest run: unknown option '--fitler': did you mean '--filter'?" err ||
	fail "no suggestion for a flag: $(cat err)"
run_st 2 run "$SMOL_SOURCE_DIR/examples/hello.yaml" -j 0
grep -q "^smoltest run: -j '0': " err || fail "error prefix: $(cat err)"
run_st 2 run "$SMOL_SOURCE_DIR/examples/hello.yaml" --partition 3/2
grep -q "^smoltest run: --partition '3/2': " err || fail "error prefix: $(cat err)"
run_st 2 rnu x.yaml
grep -q "unknown command 'rnu' (did you mean 'run'?)" err || fail "no suggestion for a command"

# share hosts: validate says what run would fail on, with a tidy path
mkdir -p m
echo x > afile
cat > hosts.yaml <<'Y'
shares:
  - { host: m/../does-not-exist, guest: /a, readonly: true }
  - { host: afile, guest: /b }
  - { host: ./created-when-missing/, guest: /c }
tests: [ { name: t, run: "true" } ]
Y
run_st 2 validate hosts.yaml
grep -q "^hosts.yaml:2:5: shares\[\].host '$WORK/does-not-exist' does not exist" err ||
	fail "missing ro share: $(cat err)"
grep -q "^hosts.yaml:3:5: shares\[\].host '$WORK/afile' is not a directory" err ||
	fail "file as share: $(cat err)"
[ "$(grep -c shares err)" = 2 ] || fail "a missing writable share is an error: $(cat err)"
run_st 2 run hosts.yaml

{
	echo "tests:"
	for i in $(seq 1 40); do echo "  - { name: t$i, run: \"true\", tags: [$( [ $((i % 2)) = 0 ] && echo even || echo odd )] }"; done
} > many.yaml
run_st 0 list many.yaml --filter '^t1[0-9]$' --tags even
[ "$(tr '\n' ' ' < out)" = "t10 t12 t14 t16 t18 " ] || fail "filter+tags: $(cat out)"
: > all
for m in 1 2 3; do
	run_st 0 list many.yaml --partition hash:$m/3
	cat out >> all
	TEST_SHARD_INDEX=$((m - 1)) TEST_TOTAL_SHARDS=3 run_st 0 list many.yaml
	grep -q "shard hash:$m/3 (from TEST_SHARD_INDEX)" err || fail "shard line: $(cat err)"
	CI_NODE_INDEX=$m CI_NODE_TOTAL=3 run_st 0 list many.yaml
done
[ "$(sort all | uniq | wc -l)" = 40 ] && [ "$(wc -l < all)" = 40 ] ||
	fail "hash shards do not partition the 40 tests"
# stable: adding tests does not move t1..t40
echo "  - { name: extra, run: \"true\" }" >> many.yaml
: > all2
for m in 1 2 3; do run_st 0 list many.yaml --partition hash:$m/3; grep -v '^extra$' out >> all2; done
[ "$(cat all)" = "$(cat all2)" ] || fail "adding a test moved others between shards"
TEST_SHARD_INDEX=7 TEST_TOTAL_SHARDS=3 run_st 2 list many.yaml

run_st 3 run many.yaml --backend vm
# no /dev/kvm, or no kernel package: one line, exit 3
grep -q 'backend vm: .*\(not available\|run ci/fetch-kernel\)' err || fail "vm message: $(cat err)"
run_st 0 run many.yaml --filter '^t[1-3]$' -q
grep -q 'backend auto: using the sandbox backend' err || fail "no auto warning"
[ "$(grep -c 'backend auto' err)" = 1 ] || fail "the auto warning is not one line"

# nothing selected: exit 4 before any setup runs, unless --allow-no-tests;
# an empty shard is not a typo
cat > setup.yaml <<Y
setup: [ { run: "touch $WORK/setup-ran" } ]
tests: [ { name: only, run: "true", tags: [fast] } ]
Y
run_st 4 run setup.yaml --filter nomatch --no-cache
grep -q "no tests selected (--filter 'nomatch', 0 of 1)" err || fail "no-tests message: $(cat err)"
[ ! -e setup-ran ] || fail "setup ran for an empty selection"
run_st 4 run setup.yaml --tags slow
run_st 0 run setup.yaml --filter nomatch --allow-no-tests --junit none.xml
[ ! -e setup-ran ] || fail "setup ran for an allowed empty selection"
grep -q 'tests="0"' none.xml || fail "no JUnit for an allowed empty selection"
run_st 0 run setup.yaml --partition count:2/2
echo PASS
