#!/bin/sh
# End-to-end tests of `smolvm run` with the probe guest.
# usage: vmm_probe.sh SMOLVM PROBE_ELF
set -u
smolvm=$1
probe=$2
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "SKIP: /dev/kvm is missing or not accessible"
	exit 77
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# run NAME WANT_STATUS ARGS...: output in $dir/NAME.out (stdout) and .err
run() {
	name=$1 want=$2
	shift 2
	timeout -k 5 120 "$smolvm" run "$@" </dev/null >"$dir/$name.out" 2>"$dir/$name.err"
	st=$?
	if [ "$st" -ne "$want" ]; then
		bad "$name: exit status $st, want $want"
		sed 's/^/  out: /' "$dir/$name.out"
		sed 's/^/  err: /' "$dir/$name.err"
	fi
}
has() { grep -q -x -F -- "$2" "$dir/$1.out" || bad "$1: no line '$2'"; }

# The issue's command (64 MiB keeps the emulated mem step to about a second).
run all 0 --kernel "$probe" --mem 64 --cmdline probe.run=hello,mem,acpi,rng,irq
for s in hello mem acpi rng irq; do has all "probe: $s ok"; done
has all "probe: done 5 ok 0 failed"

# Two vCPUs: the AP waits for INIT/SIPI and the probe starts it; serial
# to a file.
run smp 0 --kernel "$probe" --cpus 2 --serial "$dir/console.txt" --cmdline probe.run=acpi,irq,smp
grep -q -x 'probe: done 3 ok 0 failed' "$dir/console.txt" || bad "smp: console file lacks the done line"
grep -q 'probe: acpi: 2 LAPIC' "$dir/console.txt" || bad "smp: MADT does not show 2 LAPICs"
grep -q 'probe: smp: 1 AP(s) started' "$dir/console.txt" || bad "smp: the AP did not start"
run smp4 0 --kernel "$probe" --cpus 4 --cmdline probe.run=smp
has smp4 "probe: smp: 3 AP(s) started through INIT/SIPI, BSP APIC ID 0"

# The initrd lands page aligned in RAM with its bytes intact.
printf 'SMOL-PROBE-INITR' >"$dir/initrd.img"
LC_ALL=C awk 'BEGIN { for (i = 16; i < 70000; i++) printf "%c", (i * 7) % 256 }' >>"$dir/initrd.img"
[ "$(wc -c <"$dir/initrd.img")" -eq 70000 ] || bad "initrd: test file is not 70000 bytes"
run initrd 0 --kernel "$probe" --initrd "$dir/initrd.img" --cmdline probe.run=initrd
has initrd "probe: initrd ok"

# i8042 reset ends the VM cleanly with status 0.
run reset 0 --kernel "$probe" --cmdline probe.run=hello,reset
has reset "probe: reset: writing 0xfe to the i8042 command port"
grep -q 'probe: done' "$dir/reset.out" && bad "reset: the guest kept running after the reset"

# A failing step: the guest's debug-exit status (1) is smolvm's.
run failing 1 --kernel "$probe" --cmdline probe.run=hello,nosuchstep
has failing "probe: nosuchstep FAIL unknown step"

# No virtio-rng: the rng step fails cleanly, the ACPI step still passes.
run norng 1 --kernel "$probe" --no-rng --cmdline probe.run=acpi,rng

# Malformed kernels are refused before the VM runs (status 2, one line).
head -c 100 "$probe" >"$dir/trunc.elf"
run trunc 2 --kernel "$dir/trunc.elf"
grep -q 'kernel' "$dir/trunc.err" || bad "trunc: no message naming the kernel"
head -c 4096 /dev/urandom >"$dir/garbage.bin"
run garbage 2 --kernel "$dir/garbage.bin"
run missing 2 --kernel "$dir/does-not-exist"
run badmem 2 --kernel "$probe" --mem 1
run badcpus 2 --kernel "$probe" --cpus 0
run noargs 2
run unknown 2 --kernel "$probe" --frobnicate
# --ready-fd takes an open fd above 2 (the runner's ready pipe), in run and
# restore alike, refused in one line before anything is built
run readystd 2 --kernel "$probe" --ready-fd 2
run readyclosed 2 --kernel "$probe" --ready-fd 77
grep -q -x -F 'smolvm run: --ready-fd 77: give an open fd above 2' "$dir/readyclosed.err" ||
	bad "readyclosed: $(cat "$dir/readyclosed.err")"
"$smolvm" restore "$dir/none.smolsnap" --ready-fd x 2>"$dir/readyrestore.err"
st=$?
[ "$st" -eq 2 ] && grep -q -x -F 'smolvm restore: --ready-fd x: give an open fd above 2' "$dir/readyrestore.err" ||
	bad "restore --ready-fd x: status $st: $(cat "$dir/readyrestore.err")"

[ "$fail" -eq 0 ] && echo "smolvm probe tests passed"
exit "$fail"
