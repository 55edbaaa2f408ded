# Shared helpers for the vm backend's integration tests (sourced). These
# need /dev/kvm (ctest label kvm: run inside ci/vmhost where the host has
# none) and a cached kernel package (ci/fetch-kernel). Each test has a
# private TMPDIR and XDG_CACHE_HOME; the default guest image is built once
# into $SMOL_BUILD_DIR/vm-test-images and shared by the tests.
set -eu

: "${SMOL_BUILD_DIR:?run through ctest}"
: "${SMOL_SOURCE_DIR:?run through ctest}"
SMOLTEST="$SMOL_BUILD_DIR/smoltest"
SMOLVM="$SMOL_BUILD_DIR/smolvm"

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[ -x "$SMOLTEST" ] || fail "$SMOLTEST is not built"
[ -x "$SMOLVM" ] || fail "$SMOLVM is not built"
[ -e /dev/kvm ] || skip "no /dev/kvm (the kvm tier runs inside ci/vmhost)"
[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "/dev/kvm is not accessible"
deb=$("$SMOL_SOURCE_DIR/ci/fetch-kernel" --offline 2>/dev/null) ||
	skip "no kernel package cached: run ci/fetch-kernel"
export SMOL_KERNEL_CACHE="${deb%/*}"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/smoltest-vm.XXXXXX")
export TMPDIR="$WORK/tmp" XDG_CACHE_HOME="$WORK/cache"
mkdir -p "$TMPDIR" "$XDG_CACHE_HOME/smoltest" "$SMOL_BUILD_DIR/vm-test-images"
ln -s "$SMOL_BUILD_DIR/vm-test-images" "$XDG_CACHE_HOME/smoltest/images"
unset GITHUB_ACTIONS TEST_SHARD_INDEX TEST_TOTAL_SHARDS CI_NODE_INDEX CI_NODE_TOTAL
BG=""
cleanup() {
	for p in $BG; do kill -9 "$p" 2>/dev/null || true; done
	pkill -9 -f "smolvm .*$WORK" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"
T0=$(date +%s)

# run_st EXPECTED_RC ARGS...: runs smoltest (at most 300 s: past the
# runner's own deadline for a test at the default 60 s limit scaled by 4
# inside ci/vmhost, plus 5 s, so that a fork that stops answering is
# reported by the runner, with what its vCPU was doing), output in
# $WORK/out and $WORK/err
run_st() {
	want=$1
	shift
	set +e
	timeout -k 5 300 "$SMOLTEST" "$@" >"$WORK/out" 2>"$WORK/err"
	rc=$?
	set -e
	if [ "$rc" != "$want" ]; then
		echo "---- stdout"; cat "$WORK/out"; echo "---- stderr"; cat "$WORK/err"
		fail "smoltest $* exited $rc, expected $want"
	fi
}

# run_ex [--cold] EXPECTED_RC ARGS...: run_st, and once more when a fork's
# agent stopped answering: the report says so, with what the fork's vCPU
# was doing, and it is printed here in full for the log. Issue 14: inside
# the emulated test host a fork now and then stops answering (CI at stops
# 14 and 15, a CI rehearsal at stop 16: about one fork per kvm tier, early
# in it), cause not found yet; a second silent fork, or any other failure,
# fails the test. The count of smolvm runs starts again for the second
# run, and a test's retry_reset function, when it has one, runs first;
# --cold empties the cache first, for a run that must boot.
run_ex() {
	cold=0
	if [ "$1" = --cold ]; then cold=1; shift; fi
	set +e
	(run_st "$@")
	rc=$?
	set -e
	if grep -q "the agent did not answer" "$WORK/out" "$WORK/err"; then
		echo "run_ex: a fork stopped answering (issue 14); its report:"
		grep -h -B1 -A3 "did not answer" "$WORK/out" "$WORK/err" | head -20
		echo "run_ex: running it again once"
		: >"$WORK/smolvm.calls"
		[ "$cold" = 0 ] || rm -rf "$XDG_CACHE_HOME/smoltest/entries" "$XDG_CACHE_HOME/smoltest/index"
		if command -v retry_reset >/dev/null 2>&1; then retry_reset; fi
		run_st "$@"
	elif [ "$rc" != 0 ]; then
		exit "$rc"
	fi
}

final_status() {
	grep "\"test\":\"$2\"" "$1" | grep '"final":true' | sed 's/.*"status":"\([a-z]*\)".*/\1/'
}

expect_status() {
	got=$(final_status "$1" "$2")
	[ "$got" = "$3" ] || { cat "$1"; fail "test $2: status '$got', expected '$3'"; }
}

# wait_for SECONDS COMMAND...: polls COMMAND every 0.2 s
wait_for() {
	n=$(($1 * 5))
	shift
	while ! "$@"; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.2
	done
}

# No run directory, smolvm process or socket of ours may survive a run.
check_clean() {
	left=$(ls "$TMPDIR" | grep '^smoltest-run' || true)
	[ -z "$left" ] || fail "run directories left behind: $left"
	if pgrep -f "smolvm .*$WORK" >/dev/null; then
		fail "smolvm processes left behind: $(pgrep -af "smolvm .*$WORK")"
	fi
	socks=$(find "$WORK" -type s 2>/dev/null | grep -v "^$XDG_CACHE_HOME" || true)
	[ -z "$socks" ] || fail "sockets left behind: $socks"
}

done_pass() { echo "PASS ($(($(date +%s) - T0)) s)"; }
