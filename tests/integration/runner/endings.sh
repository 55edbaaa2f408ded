#!/bin/sh
# Whatever ends a run, nothing of it is left behind (issue 17):
#  - its console's reader goes away (`| head -1`): SIGPIPE is ignored, the
#    EPIPE cancels the run as SIGINT would (exit 141), the report file is
#    still written;
#  - stdout is closed (`>&-`): the run goes on and nothing it opens takes
#    fd 1 (the report holds JSON only);
#  - SIGKILL, a crash (SIGSEGV) and kill -9 of its whole process group
#    cannot be caught: the next run reaps what the dead run registered
#    and says so in one line.
# SIGHUP is in sigint.sh, with SIGINT and SIGTERM.
. "$(dirname "$0")/lib.sh"
ulimit -c 0 # the crash leaves no core file
token="sleep 4$$"
{ echo tests:; printf '  - { name: %s, run: "%s" }\n' a "$token" b "$token" c "$token"; } >slow.yaml
printf 'tests:\n  - { name: q, run: "true" }\n' >quick.yaml

# -- the reader of stdout and stderr exits after one line (SIGPIPE, EPIPE)
t0=$(date +%s)
{ "$SMOLTEST" run slow.yaml -j1 --json pipe.jsonl 2>&1 && echo 0 >pipe.rc || echo $? >pipe.rc; } |
	head -1 >/dev/null
t1=$(date +%s)
[ "$(cat pipe.rc)" = 141 ] || fail "| head -1: exit $(cat pipe.rc), expected 141 (128 + SIGPIPE)"
# three 4 s tests one at a time take 12 s: cancelled means well under that
[ $((t1 - t0)) -lt 8 ] || fail "| head -1: the run went on for $((t1 - t0)) s after its reader left"
grep -q '"event":"end".*"aborted":true' pipe.jsonl || fail "the report file was not finished: $(cat pipe.jsonl)"
grep -q "reader went away" pipe.jsonl || fail "the report does not say why the run stopped: $(cat pipe.jsonl)"
check_clean "$token"

# -- stdout closed from the start
set +e
"$SMOLTEST" run quick.yaml --json closed.jsonl >&- 2>closed.err
rc=$?
set -e
[ $rc = 0 ] || { cat closed.err; fail ">&-: exit $rc, expected 0"; }
expect_status closed.jsonl q pass
if grep -qv '^{' closed.jsonl; then fail "console output went into the report: $(cat closed.jsonl)"; fi
check_clean "$token"

# -- uncatchable endings, each followed by a run that reaps
# killrun HOW: starts slow.yaml, ends it with HOW once a test runs, checks
# that it left something to reap; $pid is the dead runner
killrun() {
	case $1 in
	group) setsid "$SMOLTEST" run slow.yaml -j2 >kill.out 2>kill.err & ;;
	*) "$SMOLTEST" run slow.yaml -j2 >kill.out 2>kill.err & ;;
	esac
	pid=$!
	wait_procs "$token" 1
	case $1 in
	group) kill -KILL "-$pid" ;;
	*) kill "-$1" "$pid" ;;
	esac
	set +e
	wait "$pid"
	rc=$?
	set -e
	# 128 + the signal; 1 under ASan, whose SIGSEGV handler exits (no cleanup either)
	[ $rc != 0 ] || fail "$1: the run was not killed (exit $rc)"
	[ -n "$(ls "$TMPDIR" | grep '^smoltest-run' || true)" ] ||
		fail "$1: the killed run left no run directory: nothing was tested"
	ls "$RUNS"/*.run >/dev/null 2>&1 || fail "$1: the killed run left no record in $RUNS"
}
for how in KILL SEGV group; do
	killrun $how
	run_st 0 run quick.yaml
	grep -q "run [0-9a-f]* (pid $pid) ended without cleaning up; reaped: .*directory $TMPDIR/smoltest-run" err ||
		{ cat err; fail "$how: the next run did not say it reaped pid $pid's run"; }
	[ "$(grep -c 'ended without cleaning up' err)" = 1 ] || { cat err; fail "$how: one line per reaped run"; }
	check_clean "$token"
done

# -- `smoltest cache prune` reaps too
killrun KILL
"$SMOLTEST" cache prune >prune.out 2>prune.err || { cat prune.err; fail "cache prune failed"; }
grep -q "(pid $pid) ended without cleaning up; reaped" prune.err || { cat prune.err; fail "cache prune did not reap"; }
check_clean "$token"
echo PASS
