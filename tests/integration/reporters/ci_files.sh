#!/usr/bin/env bash
# The CI integration files parse as YAML and say what the docs promise:
# ci/action.yml (composite action and its inputs), examples/github-workflow.yml
# (matrix sharding with --partition hash:M/N, JUnit publishing),
# .pre-commit-hooks.yaml (the smoltest hook), examples/pre-push (sh syntax).
set -euo pipefail
src=${SMOL_SOURCE_DIR:?run through ctest}
python3 -c 'import yaml' 2>/dev/null || { echo "SKIP: PyYAML (python3-yaml) is not installed"; exit 77; }
sh -n "$src/examples/pre-push" || { echo "FAIL: examples/pre-push is not valid sh" >&2; exit 1; }
[ -x "$src/examples/pre-push" ] || { echo "FAIL: examples/pre-push is not executable" >&2; exit 1; }
exec python3 - "$src" <<'PY'
import sys, yaml
src = sys.argv[1]
def load(p):
    with open(f"{src}/{p}", encoding="utf-8") as f:
        return yaml.safe_load(f)
def check(cond, what):
    if not cond:
        sys.exit(f"FAIL: {what}")

a = load("ci/action.yml")
check(a["runs"]["using"] == "composite", "action.yml is not a composite action")
for i in ("suite", "parallel", "partition", "junit", "tap", "artifacts", "backend", "args"):
    check(i in a["inputs"], f"action.yml lacks input {i}")
for o in ("passed", "failed", "flaky", "skipped", "junit"):
    check(o in a["outputs"], f"action.yml lacks output {o}")
steps = a["runs"]["steps"]
check(all("shell" in s for s in steps if "run" in s), "every run step of a composite action needs shell:")
text = open(f"{src}/ci/action.yml", encoding="utf-8").read()
check('KERNEL=="kvm", GROUP="kvm", MODE="0666"' in text, "action.yml lacks the KVM udev rule")
check("bootstrap" in text, "action.yml does not install dependencies with ci/bootstrap")
check("--target smoltest smoltest_agent" in text, "action.yml must build smoltest and its agent")
up = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact")]
check(up and "steps.name.outputs.name" in up[0]["with"]["name"], "upload needs the shard-unique name")
check("${{ inputs." not in "".join(s.get("run", "") for s in steps),
      "inputs must reach run: scripts through env, not be pasted into them")

w = load("examples/github-workflow.yml")
test = w["jobs"]["test"]
check(test["strategy"]["matrix"]["shard"], "workflow lacks the shard matrix")
wtext = open(f"{src}/examples/github-workflow.yml", encoding="utf-8").read()
check("hash:${{ matrix.shard }}/4" in wtext, "workflow does not partition by hash:${{ matrix.shard }}/N")
check("report merge" in wtext and "publish-unit-test-result-action" in wtext, "workflow lacks merge/publish")

h = load(".pre-commit-hooks.yaml")
hook = [x for x in h if x["id"] == "smoltest"]
check(len(hook) == 1, ".pre-commit-hooks.yaml lacks the smoltest hook")
hook = hook[0]
check(hook["stages"] == ["pre-push", "manual"], "hook stages")
check(hook["pass_filenames"] is False and hook["always_run"] is True, "hook pass_filenames/always_run")
print("ok: ci/action.yml, examples/github-workflow.yml, .pre-commit-hooks.yaml")
PY
