# Shared helpers for the runner's integration tests (sourced).
# Each test runs with a private TMPDIR, XDG_CACHE_HOME and work directory
# so that leftovers can be checked and nothing touches the user's cache.
set -eu

: "${SMOL_BUILD_DIR:?run through ctest}"
: "${SMOL_SOURCE_DIR:?run through ctest}"
REAL_SMOLTEST="$SMOL_BUILD_DIR/smoltest"

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[ -x "$REAL_SMOLTEST" ] || fail "$REAL_SMOLTEST is not built"
[ "$(id -u)" = 0 ] || skip "the sandbox backend needs root on this host"
grep -qw overlay /proc/filesystems 2>/dev/null || modprobe overlay 2>/dev/null ||
	skip "no overlayfs in this kernel"
unshare --user --mount --pid --fork true 2>/dev/null || skip "namespaces are not available"
[ -x "${SMOLTEST_AGENT:-$SMOL_BUILD_DIR/fixtures/agent/smoltest-agent}" ] ||
	fail "the agent is not built"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/smoltest-it.XXXXXX")
export TMPDIR="$WORK/tmp" XDG_CACHE_HOME="$WORK/cache"
mkdir -p "$TMPDIR" "$XDG_CACHE_HOME"
unset GITHUB_ACTIONS TEST_SHARD_INDEX TEST_TOTAL_SHARDS CI_NODE_INDEX CI_NODE_TOTAL
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
cd "$WORK"

# $SMOLTEST writes each run's pid to $WORK/pids (exec keeps the pid), so
# that check_clean looks at this test's runs only: another run's leftovers
# cannot fail it, and a leftover of its own still does.
mkdir "$WORK/bin"
printf '#!/bin/sh\necho $$ >>"%s/pids"\nexec "%s" "$@"\n' "$WORK" "$REAL_SMOLTEST" >"$WORK/bin/smoltest"
chmod +x "$WORK/bin/smoltest"
SMOLTEST="$WORK/bin/smoltest"
# where the runner makes its run cgroup smoltest-<pid>: below its own
# cgroup (the test's) on the cgroup2 mount
CG_BASE=$(sed -n 's/^[^ ]* [^ ]* [^ ]* [^ ]* \([^ ]*\) .* - cgroup2 .*/\1/p' /proc/self/mountinfo | head -1)
cg_own=$(sed -n 's/^0:://p' /proc/self/cgroup)
[ "$cg_own" = / ] || CG_BASE="$CG_BASE$cg_own"
RUNS="$XDG_CACHE_HOME/smoltest/runs" # the run registry (runner/cache/runreg.h)

# run_st EXPECTED_RC ARGS...: runs smoltest, output in $WORK/out and $WORK/err
run_st() {
	want=$1
	shift
	set +e
	"$SMOLTEST" "$@" >"$WORK/out" 2>"$WORK/err"
	rc=$?
	set -e
	if [ "$rc" != "$want" ]; then
		echo "---- stdout"; cat "$WORK/out"; echo "---- stderr"; cat "$WORK/err"
		fail "smoltest $* exited $rc, expected $want"
	fi
}

# wait_procs PATTERN N: waits (10 s at most) until N processes match
wait_procs() {
	i=0
	until [ "$(pgrep -fc "$1")" -ge "$2" ] || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
	[ $i -lt 100 ] || fail "the tests never started ($2 processes '$1' expected)"
}

# final_status FILE TEST: the status of the final attempt in a JSON-lines report
final_status() {
	grep "\"test\":\"$2\"" "$1" | grep '"final":true' | sed 's/.*"status":"\([a-z]*\)".*/\1/'
}

expect_status() {
	got=$(final_status "$1" "$2")
	[ "$got" = "$3" ] || { cat "$1"; fail "test $2: status '$got', expected '$3'"; }
}

# No run directory, process, mount, cgroup or run record of this test's
# runs may survive them (check_clean [PROCESS-PATTERN]).
check_clean() {
	left=$(ls "$TMPDIR" | grep '^smoltest-run' || true)
	[ -z "$left" ] || fail "run directories left behind: $left"
	if grep -q "$WORK" /proc/mounts; then fail "mounts left behind: $(grep "$WORK" /proc/mounts)"; fi
	if [ -n "${1:-}" ] && pgrep -f "$1" >/dev/null; then
		fail "processes left behind: $(pgrep -af "$1")"
	fi
	left=$(ls -A "$RUNS" 2>/dev/null || true)
	[ -z "$left" ] || fail "run records left behind (a run did not finish its cleanup): $left"
	[ -s "$WORK/pids" ] || return 0
	while read -r pid; do
		[ ! -e "$CG_BASE/smoltest-$pid" ] || [ -d "/proc/$pid" ] ||
			fail "cgroup left behind: $CG_BASE/smoltest-$pid"
	done <"$WORK/pids"
}
