# Shared helpers for the runner's integration tests (sourced).
# Each test runs with a private TMPDIR, XDG_CACHE_HOME and work directory
# so that leftovers can be checked and nothing touches the user's cache.
set -eu

: "${SMOL_BUILD_DIR:?run through ctest}"
: "${SMOL_SOURCE_DIR:?run through ctest}"
SMOLTEST="$SMOL_BUILD_DIR/smoltest"

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[ -x "$SMOLTEST" ] || fail "$SMOLTEST is not built"
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

# final_status FILE TEST: the status of the final attempt in a JSON-lines report
final_status() {
	grep "\"test\":\"$2\"" "$1" | grep '"final":true' | sed 's/.*"status":"\([a-z]*\)".*/\1/'
}

expect_status() {
	got=$(final_status "$1" "$2")
	[ "$got" = "$3" ] || { cat "$1"; fail "test $2: status '$got', expected '$3'"; }
}

# No run directory, process, mount or cgroup of ours may survive a run.
check_clean() {
	left=$(ls "$TMPDIR" | grep '^smoltest-run' || true)
	[ -z "$left" ] || fail "run directories left behind: $left"
	if grep -q "$WORK" /proc/mounts; then fail "mounts left behind: $(grep "$WORK" /proc/mounts)"; fi
	if [ -n "${1:-}" ] && pgrep -f "$1" >/dev/null; then
		fail "processes left behind: $(pgrep -af "$1")"
	fi
	for cg in /sys/fs/cgroup/smoltest-[0-9]* /sys/fs/cgroup/unified/smoltest-[0-9]*; do
		[ -e "$cg" ] || continue
		pid=${cg##*smoltest-}
		[ -d "/proc/$pid" ] || fail "cgroup left behind: $cg"
	done
}
