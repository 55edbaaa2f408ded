#!/usr/bin/env bash
# prove reads the TAP of a REAL `smoltest run examples/hello.yaml` and agrees
# with the run's own JSON lines on the number of tests and failures; the JUnit
# file of the same run passes xmllint and the schema.
# Usage: prove_run.sh SMOLTEST_BINARY
set -uo pipefail
smoltest=$1
src=${SMOL_SOURCE_DIR:?run through ctest}
suite=$src/examples/hello.yaml
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
for tool in prove xmllint python3; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
[ -f "$suite" ] || fail "examples/hello.yaml is missing (the runner issue provides it)"

cd "$src"
rc=0
"$smoltest" run examples/hello.yaml --tap "$tmp/run.tap" --tap-version 13 --json "$tmp/run.jsonl" \
  --junit "$tmp/run.xml" --artifacts "$tmp/artifacts" >"$tmp/console" 2>&1 || rc=$?
# hello.yaml has failing tests on purpose: exit 1 is expected.
if [ "$rc" != 1 ]; then
  cat "$tmp/console" >&2
  fail "smoltest run exited $rc, expected 1 (hello.yaml has deliberate failures)"
fi

read -r total bad < <(python3 - "$tmp/run.jsonl" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
end = [e for e in ev if e["event"] == "end"][0]
final = [e for e in ev if e["event"] == "result" and e["final"]]
bad = sum(1 for e in final if e["status"] in ("fail", "timeout", "error"))
assert len(final) == end["total"], (len(final), end["total"])
print(end["total"], bad)
PY
) || fail "the run's JSON lines do not parse"

out=$(prove --exec cat "$tmp/run.tap" 2>&1 || true)
grep -q "Parse errors" <<<"$out" && { echo "$out" >&2; fail "prove reports parse errors"; }
line=$(grep -E "Tests: [0-9]+ Failed: [0-9]+" <<<"$out") || { echo "$out" >&2; fail "prove saw no failures"; }
ptotal=$(sed -E 's/.*Tests: ([0-9]+).*/\1/' <<<"$line")
pfailed=$(sed -E 's/.*Failed: ([0-9]+).*/\1/' <<<"$line")
[ "$ptotal" = "$total" ] || fail "prove counted $ptotal tests, the run's JSON $total"
[ "$pfailed" = "$bad" ] || fail "prove counted $pfailed failures, the run's JSON $bad"
[ "$total" -ge 7 ] || fail "hello.yaml should have at least 7 tests, the run reported $total"

xmllint --noout --schema "$src/tests/unit/golden/junit.xsd" "$tmp/run.xml" 2>"$tmp/xsd" || { cat "$tmp/xsd" >&2; fail "the run's JUnit does not validate"; }
echo "ok: prove and the run agree: $ptotal tests, $pfailed failed"
