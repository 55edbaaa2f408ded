#!/bin/sh
# tests_from on the vm backend (issue 15 item 7): the lister runs in the
# template after setup, before the snapshot, through the agent's EXEC;
# its names become tests that run in forks; a second run restores the
# cached snapshot, boots nothing, runs neither setup nor the lister, and
# knows the tests; a lister whose output is refused fails setup (exit 3)
# and caches nothing. smolvm runs are counted through a wrapper.
. "$SMOL_SOURCE_DIR/tests/integration/runner_vm/lib.sh"
cat > smolvm-count <<W
#!/bin/sh
echo "\$1" >> "$WORK/smolvm.calls"
exec "$SMOLVM" "\$@"
W
chmod +x smolvm-count
export SMOLTEST_SMOLVM="$WORK/smolvm-count"
mkdir state
cat > s.yaml <<'Y'
backend: vm
shares: [ { host: state, guest: /state } ]
setup:
  - run: "mkdir -p /opt/cases && for n in one two three; do echo $n > /opt/cases/$n.t; done"
tests:
  - name: "vm/{name}"
    tests_from: { run: "echo x >> /state/listed; ls /opt/cases", match: "/^(.+)\\.t$/" }
    run: "test \"$(cat /opt/cases/{name}.t)\" = {name} && echo in-fork {name}"
Y
retry_reset() { : >state/listed; } # the lister runs again on a cold retry
run_ex --cold 0 run s.yaml --json a.jsonl -j2
unset -f retry_reset
for t in one two three; do expect_status a.jsonl "vm/$t" pass; done
grep -q "tests_from listed 3 tests; 3 of the suite's 3 selected" err || fail "listing: $(cat err)"
[ "$(grep -c '^run$' smolvm.calls)" = 1 ] || fail "not one template boot: $(cat smolvm.calls)"
[ "$(wc -l <state/listed)" = 1 ] || fail "the lister ran $(wc -l <state/listed) times"
: >smolvm.calls
run_ex 0 run s.yaml --filter two --json b.jsonl
grep -q "from the cache: setup skipped" err || fail "no cache hit: $(cat err)"
grep -q "tests_from listed 3 tests (as kept in the cache entry); 1 of" err || fail "$(cat err)"
expect_status b.jsonl vm/two pass
! grep -q '^run$' smolvm.calls || fail "a cache hit booted a VM: $(cat smolvm.calls)"
[ "$(wc -l <state/listed)" = 1 ] || fail "the lister ran again on a cache hit"
# a refused name: setup fails like a step, nothing cached
sed -e 's/ls \/opt\/cases/echo a\\\\;b.t/' -e 's/vm\/{name}/bad\/{name}/' s.yaml >bad.yaml
before=$(ls "$XDG_CACHE_HOME/smoltest/entries" | grep -vc '\.lock$')
run_st 3 run bad.yaml
grep -q "bad.yaml:7: tests_from 1 of 1 (.*): line 1 of its output: the name 'a;b' holds ';'" err ||
	fail "refused name: $(cat err)"
[ "$(ls "$XDG_CACHE_HOME/smoltest/entries" | grep -vc '\.lock$')" = "$before" ] ||
	fail "a refused listing was cached"
! pgrep -f "smolvm.*$WORK" >/dev/null || fail "smolvm left running: $(pgrep -af "smolvm.*$WORK")"
echo "PASS: tests_from on the vm backend ($(($(date +%s) - T0)) s)"
