#!/bin/sh
# The VMM's seccomp filter end to end (docs/hardening.md): `smolvm run` and
# `smolvm restore` run the guest in filter mode 2, --no-seccomp and
# SMOLVM_NO_SECCOMP=1 turn it off. That every device, snapshot and fork
# flow still works under the filter is what the other integration tests
# (vmm_probe, probe_devices, snapshot) check, with the filter on.
# usage: seccomp.sh SMOLVM PROBE_ELF
set -u
SMOLVM=$1 PROBE=$2
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "SKIP: /dev/kvm is missing or not accessible"
	exit 77
fi
T=$(mktemp -d)
VMPID=
cleanup() {
	[ -n "$VMPID" ] && kill -9 "$VMPID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# field PID NAME: the value of NAME in /proc/PID/status.
field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" 2>/dev/null; }

# check NAME WANT_SECCOMP: with the VM started in the background as
# $VMPID writing its console to $T/NAME.txt, waits until the guest has
# run its first step (the filter goes in before any guest code runs), then
# checks the process's seccomp mode, and stops the VM.
check() {
	name=$1 want=$2
	for _ in $(seq 200); do
		grep -q "probe: .* ok" "$T/$name.txt" 2>/dev/null && break
		kill -0 "$VMPID" 2>/dev/null || break
		sleep 0.05
	done
	if ! grep -q "probe: .* ok" "$T/$name.txt" 2>/dev/null; then
		bad "$name: the guest did not run"
		sed 's/^/  err: /' "$T/$name.err"
	else
		got=$(field "$VMPID" Seccomp)
		[ "$got" = "$want" ] || bad "$name: Seccomp: '$got', want $want"
		[ "$(field "$VMPID" NoNewPrivs)" = 1 ] || bad "$name: NoNewPrivs is not 1"
	fi
	kill -9 "$VMPID" 2>/dev/null
	wait "$VMPID" 2>/dev/null
	VMPID=
}

RUN="--kernel $PROBE --mem 32 --cmdline probe.run=hello,spin=100000"
"$SMOLVM" run $RUN --serial "$T/run.txt" </dev/null 2>"$T/run.err" &
VMPID=$!
check run 2

"$SMOLVM" run $RUN --no-seccomp --serial "$T/off.txt" </dev/null 2>"$T/off.err" &
VMPID=$!
check off 0

SMOLVM_NO_SECCOMP=1 "$SMOLVM" run $RUN --serial "$T/env.txt" </dev/null 2>"$T/env.err" &
VMPID=$!
check env 0

# restore: a snapshot taken at the checkpoint, restored with the filter
# on (the guest goes on with counter, then spins) and without.
timeout -k 5 120 "$SMOLVM" run --kernel "$PROBE" --mem 32 --cmdline probe.run=checkpoint,counter,spin=100000 \
	--snapshot-on-checkpoint "$T/s.smolsnap" --exit-after-snapshot --serial none \
	</dev/null >"$T/snap.out" 2>&1 || { bad "snapshot for restore failed"; cat "$T/snap.out"; }
"$SMOLVM" restore "$T/s.smolsnap" --serial "$T/restore.txt" </dev/null 2>"$T/restore.err" &
VMPID=$!
check restore 2
"$SMOLVM" restore "$T/s.smolsnap" --no-seccomp --serial "$T/roff.txt" </dev/null 2>"$T/roff.err" &
VMPID=$!
check roff 0

# A whole run to its end under the filter: status 0, clean stderr.
timeout -k 5 120 "$SMOLVM" run --kernel "$PROBE" --mem 32 --cmdline probe.run=hello,rng,irq \
	</dev/null >"$T/full.out" 2>"$T/full.err" || bad "full run: exit status $?"
grep -q -x "probe: done 3 ok 0 failed" "$T/full.out" || bad "full run: no done line"
grep -q seccomp "$T/full.err" && bad "full run: $(cat "$T/full.err")"

# The option is documented where users look.
"$SMOLVM" run --help | grep -q -- --no-seccomp || bad "run --help lacks --no-seccomp"
"$SMOLVM" restore --help | grep -q -- --no-seccomp || bad "restore --help lacks --no-seccomp"

[ "$fail" -eq 0 ] && echo "seccomp integration checks passed"
exit "$fail"
