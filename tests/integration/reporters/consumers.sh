#!/usr/bin/env bash
# The reporters' output, checked by the tools real consumers use:
#   xmllint --noout (and the repository's JUnit schema) on every JUnit file,
#   prove on the TAP (it must agree with the JSON lines on the counts),
#   python3's json module on every JSON line,
#   the GitHub outputs file.
# Usage: consumers.sh REPLAY_BINARY
set -euo pipefail
replay=$1
src=${SMOL_SOURCE_DIR:?run through ctest}
xsd=$src/tests/unit/golden/junit.xsd
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

for tool in xmllint prove python3; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (ci/bootstrap installs it)"; exit 77; }
done

"$replay" --junit "$tmp/junit.xml" --tap "$tmp/t13.tap" --tap-version 13 --json "$tmp/r.jsonl" \
  --github-summary "$tmp/summary.md" --github-output "$tmp/output" 2>"$tmp/gha.log"
"$replay" --tap "$tmp/t14.tap" --tap-version 14
"$replay" --tap "$tmp/bail.tap" --tap-version 13 --bail "fail-fast: exit code failed"

# JUnit: well-formed and valid, like the golden file.
for f in "$tmp/junit.xml" "$src/tests/unit/golden/junit.xml"; do
  xmllint --noout "$f" || fail "xmllint rejects $f"
  xmllint --noout --schema "$xsd" "$f" 2>"$tmp/xsd.log" || { cat "$tmp/xsd.log" >&2; fail "$f does not match junit.xsd"; }
done

# JSON lines: every line parses; the end event has the counts.
python3 - "$tmp/r.jsonl" >"$tmp/counts" <<'PY'
import json, sys
events = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert events[0]["event"] == "begin" and events[-1]["event"] == "end", "begin/end missing"
results = [e for e in events if e["event"] == "result"]
final = [e for e in results if e["final"]]
end = events[-1]
assert len(final) == end["total"], (len(final), end["total"])
bad = sum(1 for e in final if e["status"] in ("fail", "timeout", "error"))
print(end["total"], bad, end["skipped"])
PY
read -r total bad skipped <"$tmp/counts"

# prove: reads the TAP and agrees with the JSON on the counts.
prove_counts() { # FILE -> "tests failed"
  local out
  out=$(prove --exec cat "$1" 2>&1 || true)
  if grep -q "Parse errors" <<<"$out"; then echo "$out" >&2; fail "prove reports parse errors in $1"; fi
  local line
  line=$(grep -E "Tests: [0-9]+ Failed: [0-9]+" <<<"$out" || true)
  if [ -z "$line" ]; then
    # All passed: prove prints "All tests successful" and the total.
    grep -q "All tests successful" <<<"$out" || { echo "$out" >&2; fail "prove output not understood for $1"; }
    echo "$(grep -oE 'Tests=[0-9]+' <<<"$out" | cut -d= -f2) 0"
  else
    sed -E 's/.*Tests: ([0-9]+) Failed: ([0-9]+).*/\1 \2/' <<<"$line"
  fi
}
read -r ptotal pfailed < <(prove_counts "$tmp/t13.tap")
[ "$ptotal" = "$total" ] || fail "prove counted $ptotal tests, the JSON lines $total"
[ "$pfailed" = "$bad" ] || fail "prove counted $pfailed failures, the JSON lines $bad"
skips=$(prove -v --exec cat "$tmp/t13.tap" 2>&1 | grep -c '# SKIP' || true)
[ "$skips" = "$skipped" ] || fail "TAP has $skips skips, the JSON lines $skipped"

# TAP 14 output differs from 13 only in the version line (prove 3.44 knows 13 only).
diff <(tail -n +2 "$tmp/t13.tap") <(tail -n +2 "$tmp/t14.tap") >/dev/null || fail "TAP 13 and 14 bodies differ"
[ "$(head -n1 "$tmp/t14.tap")" = "TAP version 14" ] || fail "TAP 14 version line"

# Bail out!: prove stops and reports it.
out=$(prove --exec cat "$tmp/bail.tap" 2>&1 || true)
grep -q "Bailout called" <<<"$out" || grep -q "Bail out" <<<"$out" || { echo "$out" >&2; fail "prove did not see Bail out!"; }

# GitHub outputs and summary.
grep -qx "passed=2" "$tmp/output" && grep -qx "failed=4" "$tmp/output" && grep -qx "junit=$tmp/junit.xml" "$tmp/output" \
  || { cat "$tmp/output" >&2; fail "GITHUB_OUTPUT content"; }
grep -q '^| 9 | 2 | 4 | 1 | 1 | 1 |' "$tmp/summary.md" || fail "step summary totals"
[ "$(grep -c '^::error ' "$tmp/gha.log")" = 5 ] || fail "expected 5 ::error annotations"

echo "ok: xmllint, prove ($ptotal tests, $pfailed failed), json and GitHub outputs agree"
