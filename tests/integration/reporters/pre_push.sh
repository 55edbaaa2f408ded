#!/usr/bin/env bash
# examples/pre-push, run as git runs it, in a scratch repository: a passing
# suite lets the push through, a failing one refuses it with a reason, and
# SMOLTEST_SKIP=1 skips the check.
# Usage: pre_push.sh SMOLTEST_BINARY
set -uo pipefail
smoltest=$1
src=${SMOL_SOURCE_DIR:?run through ctest}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v git >/dev/null || { echo "SKIP: git is not installed"; exit 77; }

git init -q "$tmp/repo" || fail "git init"
cd "$tmp/repo"
cat >smoltest.yaml <<'YAML'
name: prepush
tests:
  - name: passes
    run: "true"
YAML
cat >failing.yaml <<'YAML'
name: prepush-failing
tests:
  - name: fails
    run: "false"
YAML
hook=$src/examples/pre-push

rc=0; SMOLTEST=$smoltest "$hook" origin url </dev/null >"$tmp/out" 2>&1 || rc=$?
[ "$rc" = 0 ] || { cat "$tmp/out" >&2; fail "a passing suite refused the push (exit $rc)"; }

rc=0; SMOLTEST=$smoltest SMOLTEST_SUITE=failing.yaml "$hook" origin url </dev/null >"$tmp/out" 2>&1 || rc=$?
[ "$rc" = 1 ] || { cat "$tmp/out" >&2; fail "a failing suite gave exit $rc, want 1"; }
grep -q "tests failed; push refused" "$tmp/out" || { cat "$tmp/out" >&2; fail "no refusal message"; }

rc=0; SMOLTEST=$smoltest SMOLTEST_SUITE=failing.yaml SMOLTEST_SKIP=1 "$hook" </dev/null >"$tmp/out" 2>&1 || rc=$?
[ "$rc" = 0 ] || fail "SMOLTEST_SKIP=1 did not skip"

rc=0; SMOLTEST=$smoltest SMOLTEST_SUITE=nonexistent.yaml "$hook" </dev/null >"$tmp/out" 2>&1 || rc=$?
[ "$rc" = 2 ] || { cat "$tmp/out" >&2; fail "a missing suite gave exit $rc, want 2"; }
echo "ok: pre-push hook"
