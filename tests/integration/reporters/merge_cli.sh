#!/usr/bin/env bash
# `smoltest report merge` end to end: shards' counts add up, the result is
# valid JUnit (xmllint + schema), hostile or malformed inputs are refused with
# one line naming the file, exit status 2, and no output file.
# Usage: merge_cli.sh SMOLTEST_BINARY REPLAY_BINARY
set -euo pipefail
smoltest=$1
replay=$2
src=${SMOL_SOURCE_DIR:?run through ctest}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v xmllint >/dev/null || { echo "SKIP: xmllint is not installed (libxml2-utils)"; exit 77; }

"$replay" --junit "$tmp/shard1.xml"
cp "$src/tests/fuzz/corpus/junit_merge/bare_suite.xml" "$tmp/shard2.xml"
"$smoltest" report merge "$tmp/shard1.xml" "$tmp/shard2.xml" -o "$tmp/all.xml" 2>"$tmp/err"
grep -q "2 reports, 2 suites: 10 tests, 5 failures, 1 errors, 1 skipped" "$tmp/err" || { cat "$tmp/err" >&2; fail "merge summary"; }
xmllint --noout --schema "$src/tests/unit/golden/junit.xsd" "$tmp/all.xml" 2>/dev/null || fail "merged report is not valid JUnit"
head -n2 "$tmp/all.xml" | grep -q '<testsuites name="hello" tests="10" failures="5" errors="1" skipped="1"' \
  || { head -n2 "$tmp/all.xml" >&2; fail "merged root counts"; }
[ "$(grep -c '<testcase ' "$tmp/all.xml")" = 10 ] || fail "merged testcase count"

# To stdout as well.
"$smoltest" report merge "$tmp/shard1.xml" 2>/dev/null | xmllint --noout - || fail "merge to stdout"

refuse() { # FILE EXPECTED-TEXT
  rm -f "$tmp/out.xml"
  local rc=0
  "$smoltest" report merge "$tmp/shard1.xml" "$1" -o "$tmp/out.xml" 2>"$tmp/err" || rc=$?
  [ "$rc" = 2 ] || fail "merge of $1 exited $rc, want 2"
  [ "$(wc -l <"$tmp/err")" = 1 ] || { cat "$tmp/err" >&2; fail "error for $1 is not one line"; }
  grep -q -- "$1" "$tmp/err" || fail "error does not name $1"
  grep -q -- "$2" "$tmp/err" || { cat "$tmp/err" >&2; fail "error for $1 does not say '$2'"; }
  [ ! -e "$tmp/out.xml" ] || fail "output written although $1 was refused"
}
c=$src/tests/fuzz/corpus/junit_merge
refuse "$c/entity_bomb.xml" "DOCTYPE"
refuse "$c/external_dtd.xml" "DOCTYPE"
refuse "$c/truncated.xml" "not well-formed"
printf '<rss version="2.0"/>' >"$tmp/rss.xml"
refuse "$tmp/rss.xml" "not a JUnit report"
refuse "$tmp/missing.xml" "cannot read"
truncate -s 65M "$tmp/huge.xml"
refuse "$tmp/huge.xml" "64 MiB"

rc=0; "$smoltest" report merge 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "merge without inputs exited $rc, want 2"
rc=0; "$smoltest" report frobnicate 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "unknown report subcommand exited $rc, want 2"
echo "ok: report merge"
