#!/bin/sh
# examples/port/: the ctest, make check, bats, pytest and cargo suites ported to
# smoltest run on the sandbox backend as they are (every test passes, one
# smoltest test per test of the tool), and a copy of each with one test
# broken on purpose fails exactly that test.
. "$(dirname "$0")/lib.sh"
command -v cmake >/dev/null && command -v ctest >/dev/null || skip "no cmake/ctest (ci/bootstrap)"
command -v bats >/dev/null || skip "no bats (ci/bootstrap)"
/usr/bin/python3 -c 'import pytest' 2>/dev/null || skip "no python3-pytest (ci/bootstrap)"
[ -x /usr/bin/cargo ] && [ -x /usr/bin/rustc ] || skip "no cargo (ci/bootstrap)"
PORT="$SMOL_SOURCE_DIR/examples/port"

# tool, its number of tests, the test to break, a sed script (no spaces)
# that breaks it, and the file it edits
while read -r tool n broken script file; do
	run_st 0 run "$PORT/$tool/smoltest.yaml" --json "$tool.jsonl"
	[ "$(grep -c '"final":true' "$tool.jsonl")" = "$n" ] || {
		cat "$tool.jsonl"
		fail "$tool: not $n tests"
	}
	grep '"final":true' "$tool.jsonl" | grep -v '"status":"pass"' && fail "$tool: not all passed"
	cp -r "$PORT/$tool" "b-$tool"
	sed -i "$script" "b-$tool/$file"
	run_st 1 run "b-$tool/smoltest.yaml" --json "b-$tool.jsonl"
	expect_status "b-$tool.jsonl" "$broken" fail
	[ "$(grep '"final":true' "b-$tool.jsonl" | grep -c '"status":"fail"')" = 1 ] ||
		fail "$tool broken: not exactly one failure"
done <<'T'
ctest 3 sub s/a.-.b/a+b/ calc.c
make 3 check-sorted s/apple/zucchini/ data.txt
bats 2 greets-by-name s/${1:-world}/world/ greet.sh
pytest 3 test_calc.py::test_div s|a./.b|a*b| calc.py
cargo 3 tests::subtracts s/a.-.b/a+b/ src/lib.rs
T
check_clean
echo PASS
