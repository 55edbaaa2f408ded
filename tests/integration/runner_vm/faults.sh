#!/bin/sh
# Faults are named and leave nothing behind: a fork's smolvm killed with -9
# in the middle of a test, a guest kernel panic, SIGINT in the middle of a
# run (exit 130, no process, directory or socket left), SIGHUP (129), a
# console reader that goes away (| head -1: 141), SIGKILL of the runner
# (its forks die with it, the next run reaps), a failing setup
# (exit 3, its output shown, nothing cached), a corrupt cached
# snapshot (refused in one line, rebuilt once), a fork that never
# answers (an ERROR at the restore deadline), a test that keeps the
# guest's one vCPU from its agent (the timeout says what the vCPU did), and
# a fork whose VMM stops in the middle of a test (an ERROR: the agent did
# not answer).
. "$(dirname "$0")/lib.sh"
mkdir state
cat > f.yaml <<Y
name: faults
backend: vm
timeout: 120s
shares: [ { host: $WORK/state, guest: /state, readonly: false } ]
tests:
  - { name: victim, run: "touch /state/victim-started; sleep 100" }
  - { name: panic, run: "echo c > /proc/sysrq-trigger; sleep 60" }
  - { name: quick, run: "true" }
  - name: hog
    run: "echo -1 >/proc/sys/kernel/sched_rt_runtime_us; exec chrt -f 99 sh -c 'while :; do :; done'"
    timeout: 3s
  - { name: frozen, run: "touch /state/frozen-started; sleep 100", timeout: 3s }
  - { name: kallsyms, run: "cat /proc/kallsyms > /state/kallsyms" }
Y
# kill -9 of the fork's VMM in the middle of the test
timeout -k 5 240 "$SMOLTEST" run f.yaml --filter '^victim$' --json k.jsonl >out 2>err &
BG=$!
wait_for 120 test -e state/victim-started || fail "victim never started: $(cat err)"
pkill -9 -f "smolvm restore .*$WORK" || fail "no fork to kill"
set +e; wait $BG; rc=$?; set -e; BG=""
[ $rc = 1 ] || { cat out err; fail "kill -9: exit $rc, expected 1"; }
expect_status k.jsonl victim error
grep '"test":"victim"' k.jsonl | grep -q "test 'victim'.*killed by signal 9" ||
	fail "the error does not name the dead fork: $(grep victim k.jsonl)"
check_clean

# a real-time CPU hog on the guest's one vCPU, RT throttling off: the agent
# never runs again, so the client's own deadline passes (the agent is
# silent) and the runner kills the VM. The timeout names what the vCPU was
# doing then, read twice from the fork's control socket (`vcpus`)
[ -x /usr/bin/chrt ] || fail "no chrt on this host (util-linux): the guest sees the host's /"
# (SMOLTEST_KEEP_HUNG: the silent VM is saved before it is killed, and
# smolvm reads the saved vCPU's stack)
mkdir hung
SMOLTEST_KEEP_HUNG=$WORK/hung run_st 1 run f.yaml --filter '^hog$' --json g.jsonl
expect_status g.jsonl hog timeout
msg=$(grep '"test":"hog"' g.jsonl | grep -o 'timed out after [^"]*' || true)
echo "hog: $msg"
echo "$msg" | grep -q "the agent did not answer by then, so the runner killed the vm; the guest's vCPU 0 was running user code at rip 0x[0-9a-f]* (a process of the test kept the CPU); kept as $WORK/hung/hung-[0-9]*.smolsnap" ||
	fail "the silent agent's timeout does not say the vCPU ran user code and where the VM was kept: $(grep hog g.jsonl)"
kept=$(echo "$msg" | sed -n 's/.*kept as \([^;]*\.smolsnap\).*/\1/p')
"$SMOLVM" snapshot info "$kept" --stack 4 >info 2>&1 || { cat info; fail "smolvm cannot read the kept VM"; }
grep -q " stack 0x[0-9a-f]*: 0x" info || fail "no stack in the kept VM: $(cat info)"
# ci/hung-stack names kernel words with any boot's kallsyms, shifted by the
# snapshot's lstar: a fork of the same template shares its boot (shift 0)
run_st 0 run f.yaml --filter '^kallsyms$'
python3 "$SMOL_SOURCE_DIR/ci/hung-stack" "$kept" --kallsyms state/kallsyms --smolvm "$SMOLVM" \
	--words 8 >hs 2>&1 || { cat hs; fail "ci/hung-stack failed"; }
grep -q '^(KALLSYMS + 0x0: the snapshot.s lstar 0xffffffff[0-9a-f]* less entry_SYSCALL_64 ' hs ||
	fail "ci/hung-stack: $(head -3 hs)"
rm -r hung state/kallsyms
check_clean

# the fork's VMM stopped (SIGSTOP) in the middle of a test: its agent is
# silent and the VM does not answer 'vcpus' either, so nothing shows the
# test to blame: the environment's ERROR, and the stopped VM is killed
timeout -k 5 240 "$SMOLTEST" run f.yaml --filter '^frozen$' --json z.jsonl >out 2>err &
BG=$!
wait_for 120 test -e state/frozen-started || fail "frozen never started: $(cat err)"
pkill -STOP -f "smolvm restore .*$WORK" || fail "no fork to stop"
set +e; wait $BG; rc=$?; set -e; BG=""
[ $rc = 1 ] || { cat out err; fail "a stopped VMM: exit $rc, expected 1"; }
expect_status z.jsonl frozen error
grep '"test":"frozen"' z.jsonl | grep -q "the agent did not answer: it did not end the test at its limit" ||
	fail "the error does not say the agent was silent: $(grep frozen z.jsonl)"
check_clean

# a guest kernel panic
run_st 1 run f.yaml --filter '^panic$' --json p.jsonl
expect_status p.jsonl panic error
grep '"test":"panic"' p.jsonl | grep -q "test 'panic'.*the guest kernel panicked.*console: " ||
	fail "the panic is not named: $(grep panic p.jsonl)"
check_clean

# SIGINT in the middle of a run
rm -f state/victim-started
timeout -k 5 240 "$SMOLTEST" run f.yaml --filter '^victim$' >out 2>err &
BG=$!
wait_for 120 test -e state/victim-started || fail "victim never started: $(cat err)"
kill -INT $BG
set +e; wait $BG; rc=$?; set -e; BG=""
[ $rc = 130 ] || { cat out err; fail "SIGINT: exit $rc, expected 130"; }
grep -q "interrupted by SIGINT" err || fail "no interruption message: $(cat err)"
check_clean

# SIGHUP (a closed terminal) ends the run as SIGTERM does (issue 17)
rm -f state/victim-started
"$SMOLTEST" run f.yaml --filter '^victim$' >out 2>err &
BG=$!
wait_for 120 test -e state/victim-started || fail "victim never started (SIGHUP): $(cat err)"
kill -HUP $BG
set +e; wait $BG; rc=$?; set -e; BG=""
[ $rc = 129 ] || { cat out err; fail "SIGHUP: exit $rc, expected 129"; }
check_clean

# the console's reader goes away (| head -1): the run is cancelled (141)
rm -f state/victim-started
{ timeout -k 5 240 "$SMOLTEST" run f.yaml --filter '^victim$|^quick$' -j1 --json h.jsonl 2>&1 &&
	echo 0 >h.rc || echo $? >h.rc; } | head -1 >/dev/null
[ "$(cat h.rc)" = 141 ] || fail "| head -1: exit $(cat h.rc), expected 141"
grep -q '"event":"end".*"aborted":true' h.jsonl || fail "| head -1: the report was not finished: $(cat h.jsonl)"
check_clean

# SIGKILL of the runner (issue 17): its forks die with it
# (PR_SET_PDEATHSIG), and the next run reaps what it registered, in one line
rm -f state/victim-started
"$SMOLTEST" run f.yaml --filter '^victim$' >out 2>err &
BG=$!
kpid=$BG
wait_for 120 test -e state/victim-started || fail "victim never started (SIGKILL): $(cat err)"
kill -KILL "$kpid"
set +e; wait "$kpid"; set -e; BG=""
# (a function: pgrep would match the command line of an `sh -c` holding its pattern)
no_smolvm() { ! pgrep -f "smolvm .*$WORK" >/dev/null; }
wait_for 30 no_smolvm ||
	fail "smolvm outlived its SIGKILLed runner: $(pgrep -af "smolvm .*$WORK")"
[ -n "$(ls "$TMPDIR" | grep '^smoltest-run' || true)" ] ||
	fail "the SIGKILLed run left no run directory: the reaping below would test nothing"
run_st 0 run f.yaml --filter '^quick$'
grep -q "(pid $kpid) ended without cleaning up; reaped: .*directory $TMPDIR/smoltest-run" err ||
	{ cat err; fail "the next run did not reap pid $kpid's run"; }
check_clean

# a failing setup
cat > s.yaml <<'Y'
name: broken-setup
backend: vm
setup: [ { run: "echo broken >&2; exit 4" } ]
tests: [ { name: t, run: "true" } ]
Y
run_st 3 run s.yaml --json s.jsonl
grep -q 'setup step 1 of 1 failed after .* (exit status 4)' err || fail "setup failure message: $(cat err)"
grep -q '    | broken' out || fail "setup output not shown: $(cat out)"
# one record, the setup's, not one per test
grep -q '"test":"setup","setup":true,"status":"fail"' s.jsonl || fail "no setup record: $(cat s.jsonl)"
grep -q '"test":"t"' s.jsonl && fail "a test not run has a record"
grep -q '"setup_failed":true,"not_run":1' s.jsonl || fail "the end event: $(tail -1 s.jsonl)"
run_st 0 cache ls
grep -q broken-setup out && fail "a failed setup was cached: $(cat out)"
check_clean

# a corrupt cached snapshot: refused, rebuilt once, then used
run_st 0 run f.yaml --filter '^quick$'
snap=$(ls "$XDG_CACHE_HOME"/smoltest/entries/*/snapshot.smolsnap)
printf 'NOTASNAP' | dd of="$snap" conv=notrunc status=none
run_st 0 run f.yaml --filter '^quick$'
grep -q "refused: .*; rebuilding it" err || fail "the corrupt entry was not refused: $(cat err)"
[ "$(grep -c 'refused' err)" = 1 ] || fail "refused more than once: $(cat err)"
grep -q 'stored in the cache' err || fail "the entry was not rebuilt: $(cat err)"
run_st 0 run f.yaml --filter '^quick$'
grep -q 'from the cache' err || fail "the rebuilt entry was not used: $(cat err)"
check_clean

# a fork that never answers (its smolvm never comes up: a wrapper sleeps
# instead of restoring): an ERROR at SMOLTEST_VM_RESTORE_TIMEOUT naming the
# test's unreachable agent; the fork's process group is killed
cat > smolvm-hang <<W
#!/bin/sh
[ "\$1" = restore ] && exec sleep 100017
exec "$SMOLVM" "\$@"
W
chmod +x smolvm-hang
t0=$(date +%s)
SMOLTEST_SMOLVM=$WORK/smolvm-hang SMOLTEST_VM_RESTORE_TIMEOUT=5s \
	run_st 1 run f.yaml --filter '^quick$' --json n.jsonl
took=$(($(date +%s) - t0))
expect_status n.jsonl quick error
grep '"test":"quick"' n.jsonl | grep -q "unreachable" ||
	fail "the error does not name the unreachable agent: $(grep quick n.jsonl)"
# the template boots first (the wrapper is another smolvm to the cache key)
[ "$took" -le 200 ] || fail "a 5 s restore deadline took ${took}s"
pgrep -f "sleep 100017" >/dev/null && fail "the hung fork's process outlived the run"
check_clean
done_pass
