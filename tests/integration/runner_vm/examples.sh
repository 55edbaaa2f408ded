#!/bin/sh
# The vm backend runs the examples: hello.yaml gives every test the same
# status as in the sandbox (the two JSON reports compared), quickstart.yaml
# and vm.yaml pass, auto picks vm here, and a second run is a cache hit
# that boots no VM (smolvm runs counted through a wrapper).
. "$(dirname "$0")/lib.sh"
EX="$SMOL_SOURCE_DIR/examples"

# every smolvm invocation is logged: "run" boots, "restore" forks
cat > smolvm-count <<W
#!/bin/sh
echo "\$1" >> "$WORK/smolvm.calls"
exec "$SMOLVM" "\$@"
W
chmod +x smolvm-count
export SMOLTEST_SMOLVM="$WORK/smolvm-count"

run_ex --cold 1 run "$EX/hello.yaml" --backend vm --json vm.jsonl --artifacts arts -j2
grep -q '(backend vm' out || fail "the summary does not name the vm backend: $(tail -3 out)"
[ "$(cat arts/artifact/out/report.txt)" = report ] || fail "artifact out/report.txt did not arrive"
grep '"test":"artifact"' vm.jsonl | grep -q '"pattern":"missing-\*.xml","path":null,"missing":true' ||
	fail "the missing artifact was not reported"
[ "$(grep -c '^run$' smolvm.calls)" = 1 ] || fail "expected one template boot: $(cat smolvm.calls)"

# the sandbox where it can run here (not inside ci/vmhost, whose kernel
# refuses the namespaces), else the statuses hello.yaml documents
if [ "$(id -u)" = 0 ] && grep -qw overlay /proc/filesystems &&
	unshare --user --mount --pid --fork true 2>/dev/null; then
	run_st 1 run "$EX/hello.yaml" --backend sandbox \
		--json sb.jsonl -j2
	for t in pass fail-exit-code fail-output timeout artifact skip flaky; do
		a=$(final_status vm.jsonl $t)
		b=$(final_status sb.jsonl $t)
		[ -n "$a" ] && [ "$a" = "$b" ] || fail "test $t: vm says '$a', sandbox says '$b'"
	done
else
	for t in pass artifact; do expect_status vm.jsonl $t pass; done
	expect_status vm.jsonl fail-exit-code fail
	expect_status vm.jsonl timeout timeout
	expect_status vm.jsonl flaky flaky
fi

# the second run: a cache hit, no boot, one fork per test attempt
: > smolvm.calls
run_ex 1 run "$EX/hello.yaml" --backend vm --json vm2.jsonl -j2
grep -q 'from the cache: setup skipped' err || fail "second run missed the cache: $(cat err)"
[ "$(grep -c '^run$' smolvm.calls)" = 0 ] || fail "a cache hit booted a VM: $(cat smolvm.calls)"
# 7 tests, 1 skipped, flaky twice: 7 forks
[ "$(grep -c '^restore$' smolvm.calls)" = 7 ] || fail "expected 7 forks: $(cat smolvm.calls)"

# auto picks vm where /dev/kvm works and a kernel is there
run_ex 0 run "$EX/quickstart.yaml" --json q.jsonl
grep -q '(backend vm' out || fail "auto did not pick vm: $(cat err)"
grep -q 'warning' err && fail "auto warned: $(cat err)"
run_ex 0 run "$EX/vm.yaml" -j2
check_clean
done_pass
