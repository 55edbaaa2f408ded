#!/bin/bash
# End-to-end snapshot/restore/fork test with the probe guest.
# usage: run.sh SMOLVM PROBE_ELF SNAPTOOL
set -u
# Every VMM and control-socket call is bounded, background ones included
# (killing `timeout` kills the VMM too: smolvm dies with its parent).
bound="timeout -k 5 ${SMOL_TEST_STEP_TIMEOUT:-120}"
SMOLVM="$bound $1" PROBE=$2 TOOL="$bound $3"
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "SKIP: /dev/kvm is missing or not accessible"
	exit 77
fi
W=$(mktemp -d "${TMPDIR:-/tmp}/snapit.XXXXXX")
VMPID=
cleanup() { [ -n "$VMPID" ] && kill -9 "$VMPID" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
cd "$W" || exit 1
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
# expect_err DESC EXPECTED-SUBSTRING CMD...: non-zero exit, one line on stderr
expect_err() {
	local desc=$1 want=$2
	shift 2
	"$@" >out.txt 2>err.txt
	local rc=$?
	if [ $rc -eq 0 ]; then fail "$desc: exit 0"; return; fi
	if [ "$(wc -l <err.txt)" -ne 1 ]; then fail "$desc: $(wc -l <err.txt) error lines:"; cat err.txt; return; fi
	if ! grep -q -- "$want" err.txt; then fail "$desc: error lacks '$want': $(cat err.txt)"; return; fi
	ok "$desc ($(cat err.txt))"
}

# ---- 1. The flow from the issue, exactly ----
$SMOLVM run --kernel "$PROBE" --cmdline probe.run=counter,checkpoint,counter \
	--snapshot-on-checkpoint s.smolsnap --exit-after-snapshot >run.txt 2>&1
rc=$?
if [ $rc -ne 0 ]; then fail "run with checkpoint exited $rc"; cat run.txt; fi
grep -q "probe: counter 1" run.txt || fail "run did not print counter 1"
grep -q "probe: counter 2" run.txt && fail "run went past the checkpoint"
grep -q "probe: checkpoint" run.txt && fail "the checkpoint step finished before the snapshot"
[ -f s.smolsnap ] || { fail "no snapshot written"; exit 1; }
ok "run --snapshot-on-checkpoint --exit-after-snapshot"
# info shows where the vCPU stood: the probe is running (not halted), just
# past its checkpoint's port write
$SMOLVM snapshot info s.smolsnap >info.txt 2>&1 || fail "snapshot info: $(cat info.txt)"
grep -Eq '^vcpu\.0 +rip 0x[0-9a-f]+ rsp 0x[0-9a-f]+ .* mp_state 0$' info.txt &&
	grep -Eq '^ +lapic timer .*; tsc [0-9]+, tsc-deadline' info.txt ||
	fail "snapshot info lacks the vCPU's state: $(cat info.txt)"
# --stack reads the stack through the guest's page tables: the probe's
# checkpoint was called, so a return address into its .text is there
$SMOLVM snapshot info s.smolsnap --stack 64 >stack.txt 2>&1 || fail "snapshot info --stack: $(cat stack.txt)"
rsp=$(sed -n 's/^vcpu\.0 .* rsp \(0x[0-9a-f]*\) .*/\1/p' stack.txt)
text=$(readelf -SW "$PROBE" | sed -n 's/.* \.text  *PROGBITS  *\([0-9a-f]*\) [0-9a-f]* \([0-9a-f]*\) .*/\1 \2/p')
read -r tstart tsize <<<"$text"
ret=0 n=0
while read -r va word; do
	n=$((n + 1))
	[ "$n" = 1 ] && [ "$((va))" != "$((rsp))" ] && fail "the stack dump starts at $va, rsp is $rsp"
	w=$((word))
	[ "$w" -ge "$((0x$tstart))" ] && [ "$w" -lt "$((0x$tstart + 0x$tsize))" ] && ret=$((ret + 1))
done < <(sed -n 's/^ *stack \(0x[0-9a-f]*\): \(0x[0-9a-f]*\)$/\1 \2/p' stack.txt)
grep -Eq '^ +rax 0x[0-9a-f]+' stack.txt && grep -Eq '^ +r15 0x[0-9a-f]+' stack.txt &&
	grep -Eq '^ +cr0 0x[0-9a-f]+ cr4 0x[0-9a-f]+ efer 0x[0-9a-f]+ lstar 0x[0-9a-f]+$' stack.txt &&
	[ "$n" = 64 ] && [ "$ret" -ge 1 ] ||
	fail "snapshot info --stack 64: $n words, $ret into .text ($tstart+$tsize): $(cat stack.txt)"
# a register holding a mapped address shows the word there: rsp's is the
# stack's first word
at_rsp=$(sed -n 's/^ *rsp 0x[0-9a-f]* -> \(0x[0-9a-f]*\)$/\1/p' stack.txt)
first=$(sed -n 's/^ *stack 0x[0-9a-f]*: \(0x[0-9a-f]*\)$/\1/p' stack.txt | head -1)
[ -n "$at_rsp" ] && [ "$at_rsp" = "$first" ] ||
	fail "snapshot info --stack: rsp points at '$at_rsp', the stack starts with '$first'"
expect_err "snapshot info --stack with a bad count" "--stack takes" $SMOLVM snapshot info s.smolsnap --stack lots
# --mem reads any guest virtual address the same way: at rsp, the stack
$SMOLVM snapshot info s.smolsnap --mem "$rsp" 2 >mem.txt 2>&1 || fail "snapshot info --mem: $(cat mem.txt)"
at=$(sed -n "s/^ *mem $rsp: \(0x[0-9a-f]*\)$/\1/p" mem.txt)
[ -n "$at" ] && [ "$at" = "$first" ] || fail "snapshot info --mem $rsp: '$at', the stack starts with '$first'"
expect_err "snapshot info --mem with a decimal address" "--mem takes" $SMOLVM snapshot info s.smolsnap --mem 4096 2

$SMOLVM restore s.smolsnap >r1.txt 2>&1
rc=$?
[ $rc -eq 0 ] || fail "restore exited $rc: $(cat r1.txt)"
grep -q "probe: counter 2" r1.txt || fail "restore did not print counter 2"
grep -q "probe: done 3 ok 0 failed" r1.txt || fail "restore did not finish: $(cat r1.txt)"
grep -q "probe: counter 1" r1.txt && fail "restore re-ran the steps before the checkpoint"
ok "restore continues after the checkpoint"

cp --sparse=always s.smolsnap s.orig
$SMOLVM fork s.smolsnap -n 8 --dir forks/ >fork.txt 2>&1
rc=$?
[ $rc -eq 0 ] || fail "fork exited $rc: $(cat fork.txt)"
n=0
for i in 0 1 2 3 4 5 6 7; do
	grep -q "probe: counter 2" "forks/$i/serial.log" 2>/dev/null && n=$((n + 1))
done
[ $n -eq 8 ] || fail "only $n of 8 forks printed counter 2"
ok "fork -n 8: $n forks printed counter 2"

# ---- 2. Same snapshot twice behaves identically; forks do not touch it ----
$SMOLVM restore s.smolsnap >r2.txt 2>&1
cmp -s r1.txt r2.txt || fail "two restores of one snapshot differ"
cmp -s s.smolsnap s.orig || fail "the snapshot changed while forks ran"
$SMOLVM snapshot verify s.smolsnap >/dev/null || fail "snapshot verify after forks"
ok "restores identical, snapshot untouched"

# ---- 3. Forks that write memory stay private ----
$SMOLVM run --kernel "$PROBE" --cmdline probe.run=counter,checkpoint,dirty=4,counter \
	--snapshot-on-checkpoint d.smolsnap --exit-after-snapshot --serial none || fail "dirty snapshot"
cp --sparse=always d.smolsnap d.orig
$SMOLVM fork d.smolsnap -n 4 --dir dforks/ >/dev/null 2>&1 || fail "dirty forks failed"
for i in 0 1 2 3; do
	grep -q "probe: dirtied 4 MiB" "dforks/$i/serial.log" || fail "fork $i did not dirty"
	grep -q "probe: counter 2" "dforks/$i/serial.log" || fail "fork $i lost the counter"
done
cmp -s d.smolsnap d.orig || fail "a fork's memory writes reached the snapshot"
$SMOLVM restore d.smolsnap --serial d.txt || fail "restore after dirty forks"
grep -q "probe: counter 2" d.txt || fail "restore after dirty forks saw other forks' state"
ok "dirty forks isolated"

# ---- 4. Control socket ----
$SMOLVM run --kernel "$PROBE" --cmdline probe.run=counter,spin=100000,counter \
	--serial c.txt --control c.sock &
VMPID=$!
for _ in $(seq 100); do [ -S c.sock ] && break; sleep 0.05; done
$TOOL ctl c.sock status pause status "snapshot c.smolsnap" status resume status bogus >ctl.txt 2>&1
expected="ok running
ok paused
ok paused
ok c.smolsnap
ok paused
ok running
ok running
error unknown request"
got=$(sed -E 's/^(ok c\.smolsnap).*/\1/; s/^(error unknown request).*/\1/' ctl.txt)
[ "$got" = "$expected" ] || { fail "control socket answers"; cat ctl.txt; }
kill -9 $VMPID 2>/dev/null
wait $VMPID 2>/dev/null
VMPID=
$SMOLVM snapshot verify c.smolsnap >/dev/null || fail "control snapshot does not verify"
grep -q "probe: counter 1" c.txt || fail "control VM did not start"
ok "control socket: status, pause, snapshot, resume, errors"

# --exit-after-snapshot through the control socket: the VMM exits 0.
$SMOLVM run --kernel "$PROBE" --cmdline probe.run=counter,spin=100000 --serial none \
	--control e.sock --exit-after-snapshot &
VMPID=$!
for _ in $(seq 100); do [ -S e.sock ] && break; sleep 0.05; done
$TOOL ctl e.sock "snapshot e.smolsnap" | grep -q "^ok e.smolsnap" || fail "control snapshot with --exit-after-snapshot"
wait $VMPID
rc=$?
VMPID=
[ $rc -eq 0 ] || fail "VMM exited $rc after a control snapshot with --exit-after-snapshot"
[ -S e.sock ] && fail "control socket left behind"
ok "control snapshot with --exit-after-snapshot exits 0"

# A snapshot of a restored VM (its RAM is a private mapping of the first
# snapshot), restored again.
$SMOLVM run --kernel "$PROBE" --cmdline probe.run=counter,checkpoint,counter,spin=100000 \
	--snapshot-on-checkpoint g0.smolsnap --exit-after-snapshot --serial none || fail "g0"
$SMOLVM restore g0.smolsnap --serial g1.txt --control g1.sock &
VMPID=$!
for _ in $(seq 100); do [ -S g1.sock ] && break; sleep 0.05; done
$TOOL ctl g1.sock "snapshot g1.smolsnap" | grep -q "^ok g1.smolsnap" || fail "snapshot of a restored VM"
kill -9 $VMPID 2>/dev/null
wait $VMPID 2>/dev/null
VMPID=
$SMOLVM snapshot verify g1.smolsnap >/dev/null || fail "snapshot of a restored VM does not verify"
$SMOLVM restore g1.smolsnap --serial g2.txt --control g2.sock &
VMPID=$!
for _ in $(seq 100); do [ -S g2.sock ] && break; sleep 0.05; done
[ "$($TOOL ctl g2.sock status)" = "ok running" ] || fail "restore of a restored VM's snapshot"
kill -9 $VMPID 2>/dev/null
wait $VMPID 2>/dev/null
VMPID=
grep -q "probe: counter 2" g1.txt || fail "restored VM did not continue"
ok "snapshot of a restored VM, restored again"

# ---- 5. Bundles ----
$SMOLVM snapshot export s.smolsnap -o m.smolmachine >/dev/null || fail "export"
$SMOLVM snapshot import m.smolmachine -o imported >/dev/null || fail "import"
$SMOLVM restore imported/snapshot.smolsnap --serial imp.txt || fail "restore imported"
grep -q "probe: counter 2" imp.txt || fail "imported snapshot did not continue"
alloc=$(du -k imported/snapshot.smolsnap | cut -f1)
[ "$alloc" -lt 4096 ] || fail "imported snapshot is not sparse (${alloc} KiB)"
ok "export/import/restore (${alloc} KiB allocated)"

# ---- 6. Bad input: one line, non-zero exit ----
cp s.smolsnap t.smolsnap && truncate -s -1 t.smolsnap
expect_err "truncated snapshot" "truncated" $SMOLVM restore t.smolsnap
cp s.smolsnap c1.smolsnap
printf 'XXXX' | dd of=c1.smolsnap bs=1 seek=4300 conv=notrunc 2>/dev/null
expect_err "corrupted vcpu section" "checksum mismatch" $SMOLVM restore c1.smolsnap
cp s.smolsnap v.smolsnap && $TOOL forge v.smolsnap major 2
expect_err "newer major version" "newer" $SMOLVM restore v.smolsnap
cp s.smolsnap h.smolsnap && $TOOL forge h.smolsnap model 0x7f
expect_err "different CPU model" "model" $SMOLVM restore h.smolsnap
# Another stepping restores, with one warning line that the CLI prints
# (the library hands it back instead of printing it).
cp s.smolsnap st.smolsnap && $TOOL forge st.smolsnap stepping "$(($(awk '/^stepping/ { print $3; exit }' /proc/cpuinfo) ^ 1))"
$SMOLVM restore st.smolsnap --serial none >st.out 2>st.err || fail "restore from another stepping exited $?: $(cat st.err)"
if [ "$(wc -l <st.err)" -eq 1 ] && grep -q "^smolvm: st.smolsnap: snapshot was taken on CPU stepping" st.err; then
	ok "another stepping: restored with one warning ($(cat st.err))"
else
	fail "another stepping: want one warning line, got: $(cat st.err)"
fi
cp s.smolsnap h2.smolsnap && $TOOL forge h2.smolsnap vendor GenuineIntel
if grep -q GenuineIntel /proc/cpuinfo; then $TOOL forge h2.smolsnap vendor AuthenticAMD; fi
expect_err "different CPU vendor" "CPU" $SMOLVM restore h2.smolsnap
expect_err "verify finds a corrupt memory page" "memory checksum" \
	bash -c "cp --sparse=always s.smolsnap m2.smolsnap && printf Z | dd of=m2.smolsnap bs=1 seek=200000 conv=notrunc 2>/dev/null && $SMOLVM snapshot verify m2.smolsnap"
expect_err "not a snapshot" "bad magic" $SMOLVM restore "$PROBE"
expect_err "no such snapshot" "No such file" $SMOLVM snapshot verify nonexistent.smolsnap
expect_err "no such snapshot (info)" "No such file" $SMOLVM snapshot info nonexistent.smolsnap
$TOOL evil-bundle evil.smolmachine ../escape
expect_err "bundle with ../ entry" "refusing entry" $SMOLVM snapshot import evil.smolmachine -o evil
[ -e escape ] || [ -e ../escape ] && fail "traversal entry was written"
$TOOL evil-bundle evil2.smolmachine /tmp/abs-escape
expect_err "bundle with absolute entry" "refusing entry" $SMOLVM snapshot import evil2.smolmachine -o evil2
head -c 2000 m.smolmachine >cut.smolmachine
expect_err "truncated bundle" "cut.smolmachine" $SMOLVM snapshot import cut.smolmachine -o cut
[ -e cut ] && fail "a failed import left its directory"
expect_err "disk layer for a diskless snapshot" "has no disk" $SMOLVM restore s.smolsnap --disk-layer x.layer

# ---- 7. A disk: the top layer is frozen into the snapshot, forks stack their own ----
head -c 4194304 /dev/zero >base.img
printf 'base-one' | dd of=base.img conv=notrunc 2>/dev/null
$SMOLVM disk create top.layer --base base.img >/dev/null || fail "disk create"
$SMOLVM run --kernel "$PROBE" --disk base.img,layer=top.layer \
	--cmdline probe.run=counter,checkpoint,counter --snapshot-on-checkpoint k.smolsnap \
	--exit-after-snapshot --serial none || fail "snapshot of a VM with a disk"
$SMOLVM disk info top.layer | grep -q "frozen: *yes" || fail "top layer not frozen: $($SMOLVM disk info top.layer)"
$SMOLVM restore k.smolsnap --disk-layer f1.layer --serial k1.txt || fail "restore with --disk-layer"
grep -q "probe: counter 2" k1.txt || fail "disk restore did not continue"
$SMOLVM fork k.smolsnap -n 2 --dir kforks/ >/dev/null || fail "fork with a disk"
[ -f kforks/0/disk.layer ] && [ -f kforks/1/disk.layer ] || fail "forks have no own disk layer"
$SMOLVM snapshot export k.smolsnap -o k.smolmachine >/dev/null || fail "export with a disk"
$SMOLVM snapshot import k.smolmachine -o kimp >/dev/null || fail "import with a disk"
[ -f kimp/files/1-base.img ] && [ -f kimp/files/2-top.layer ] || fail "bundle lacks the disk: $(ls kimp/files)"
$SMOLVM restore kimp/snapshot.smolsnap --disk-layer kimp.layer --serial kimp.txt || fail "restore imported disk"
grep -q "probe: counter 2" kimp.txt || fail "imported disk snapshot did not continue"
ok "disk: frozen top layer, per-fork layers, bundle round trip"
head -c 4194304 /dev/zero >other.img
printf 'base-two' | dd of=other.img conv=notrunc 2>/dev/null
$SMOLVM disk create wrong.layer --base other.img >/dev/null
expect_err "layer on the wrong base" "wrong.layer" $SMOLVM restore k.smolsnap --disk-layer wrong.layer
expect_err "disk snapshot without a layer for this VM" "disk-layer" $SMOLVM restore k.smolsnap
$SMOLVM disk create top2.layer --base base.img >/dev/null
$SMOLVM run --kernel "$PROBE" --disk base.img,layer=top2.layer \
	--cmdline probe.run=spin=100000 --serial none --control d.sock &
VMPID=$!
for _ in $(seq 100); do [ -S d.sock ] && break; sleep 0.05; done
$TOOL ctl d.sock "snapshot dd.smolsnap" >dctl.txt 2>&1
grep -q "^error .*exit-after-snapshot" dctl.txt || fail "snapshot of a running VM's writable disk: $(cat dctl.txt)"
[ -e dd.smolsnap ] && fail "a refused snapshot left a file"
kill -9 $VMPID 2>/dev/null
wait $VMPID 2>/dev/null
VMPID=

# ---- 8. vsock: each fork gets its own host socket; the device set must match ----
$SMOLVM run --kernel "$PROBE" --vsock 3,v.sock --cmdline probe.run=counter,checkpoint,counter \
	--snapshot-on-checkpoint vs.smolsnap --exit-after-snapshot --serial none || fail "snapshot with vsock"
$SMOLVM fork vs.smolsnap -n 2 --dir vforks/ --vsock-cid 3 >/dev/null || fail "fork with vsock"
grep -q "probe: counter 2" vforks/1/serial.log || fail "vsock fork did not continue"
ok "vsock forks"
mkdir -p share
$SMOLVM run --kernel "$PROBE" --share "probe=$W/share" --vsock 3,v3.sock \
	--cmdline probe.run=counter,checkpoint,counter --snapshot-on-checkpoint fv.smolsnap \
	--exit-after-snapshot --serial none || fail "snapshot with a share and vsock"
$SMOLVM restore fv.smolsnap --vsock 3,v4.sock --share "probe=$W/share" --serial fv.txt ||
	fail "restore with the devices given in another order"
grep -q "probe: counter 2" fv.txt || fail "share+vsock restore did not continue"
ok "devices matched to the snapshot's order"
expect_err "restore without the saved vsock device" "virtio devices" $SMOLVM restore vs.smolsnap
expect_err "restore with a device the snapshot lacks" "virtio devices" $SMOLVM restore s.smolsnap --vsock 3,x.sock
# A device blob whose checksums hold but whose contents do not: refused by
# the check pass over every device before any vCPU or irqchip state is set.
cp vs.smolsnap vc.smolsnap && $TOOL corrupt-dev vc.smolsnap dev.vsock.1 device || fail "corrupt-dev device"
expect_err "corrupt vsock device blob" "section dev.vsock.1: virtio-vsock at 0x[0-9a-f]*: dev.vsock state version 238" \
	$SMOLVM restore vc.smolsnap --vsock 3,vc.sock
cp vs.smolsnap vt.smolsnap && $TOOL corrupt-dev vt.smolsnap dev.rng.0 transport || fail "corrupt-dev transport"
expect_err "corrupt rng transport blob" "section dev.rng.0: virtio-rng at 0x[0-9a-f]*: bad magic" \
	$SMOLVM restore vt.smolsnap --vsock 3,vt.sock

if [ $fails -ne 0 ]; then
	echo "$fails failure(s)"
	exit 1
fi
echo "all snapshot integration checks passed"
