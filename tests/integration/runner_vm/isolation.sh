#!/bin/sh
# Every test runs in its own fork of the warm VM: a test that writes 64 MiB
# to / and to /tmp and renames the host leaves nothing the next test sees;
# artifacts (a 10 MiB file among them) arrive on the host through the
# artifact share, and a missing one is reported.
. "$(dirname "$0")/lib.sh"
mkdir state
cat > iso.yaml <<Y
name: iso
backend: vm
parallel: 1
timeout: 120s
shares: [ { host: $WORK/state, guest: /state, readonly: false } ]
setup:
  - run: echo warm > /etc/iso-warm
tests:
  - name: a-dirty
    run: |
      dd if=/dev/zero of=/big bs=1M count=64 status=none &&
      dd if=/dev/zero of=/tmp/big bs=1M count=64 status=none &&
      hostname dirty && echo dirty >> /etc/iso-warm && hostname > /state/a-host
  - name: b-clean
    run: |
      test ! -e /big && test ! -e /tmp/big && test "\$(cat /etc/iso-warm)" = warm &&
      hostname > /state/b-host && df -k / /tmp > /state/b-df
  - name: c-artifacts
    cwd: /tmp
    run: |
      mkdir -p out && head -c 10485760 /dev/urandom > out/big.bin &&
      md5sum out/big.bin | cut -d' ' -f1 > out/big.md5 && echo hello > out/small.txt
    artifacts: [ "out/*", "never-*.log" ]
Y
run_st 0 run iso.yaml --json r.jsonl --artifacts arts
for t in a-dirty b-clean c-artifacts; do expect_status r.jsonl $t pass; done
[ "$(cat state/a-host)" = dirty ] || fail "a-dirty did not rename its host"
[ "$(cat state/b-host)" = b-clean ] || fail "b-clean saw host name '$(cat state/b-host)'"
[ -f arts/c-artifacts/out/big.bin ] || fail "the 10 MiB artifact did not arrive"
[ "$(stat -c %s arts/c-artifacts/out/big.bin)" = 10485760 ] || fail "the 10 MiB artifact is short"
[ "$(md5sum < arts/c-artifacts/out/big.bin | cut -d' ' -f1)" = "$(cat arts/c-artifacts/out/big.md5)" ] ||
	fail "the 10 MiB artifact differs from what the guest wrote"
[ "$(cat arts/c-artifacts/out/small.txt)" = hello ] || fail "small artifact"
grep '"test":"c-artifacts"' r.jsonl | grep -q '"pattern":"never-\*.log","path":null,"missing":true' ||
	fail "the missing artifact was not reported"
grep '"test":"c-artifacts"' r.jsonl | grep -q 'matched nothing' || fail "no missing-artifact message"
check_clean
done_pass
