#!/bin/bash
# The Linux guest end to end: the Debian cloud kernel (ci/fetch-kernel) with
# the initramfs of `smoltest image build` (the agent as /init) in smolvm,
# 2 vCPUs, and every device a test run uses:
#   1. the console shows smolvm's firmware (e820, ACPI tables) and no i8042
#      stall;
#   2. agent EXEC over vsock, and both vCPUs online;
#   3. virtio-fs: a read-write and a read-only share through the agent's
#      MOUNT, contents compared by hash both ways, EROFS on the read-only one;
#   4. virtio-blk: an ext4 image under a copy-on-write layer, read and
#      written in the guest, the base image unchanged afterwards;
#   5. a snapshot on the control socket after a setup step (tmpfs, ext4 and
#      a share written), then 3 forks restored from it: each sees the setup's
#      state identically, each keeps its own writes (memory and disk);
#   6. a clean SHUTDOWN: the VMM exits 0, and no smolvm process is left.
# usage: vmm_linux.sh SMOLVM SMOLTEST AGENTCTL SNAPTOOL   (bash)
# env: SMOL_TEST_KERNEL_DEB (default: ci/fetch-kernel --offline),
#      SMOL_TEST_STEP_TIMEOUT (seconds for each guest step, default 240),
#      SMOL_TEST_KEEP=DIR (copy the consoles and VMM errors there at the end)
set -u
SMOLVM=$(readlink -f "$1") SMOLTEST=$(readlink -f "$2") AGENTCTL=$(readlink -f "$3") SNAPTOOL=$(readlink -f "$4")
src=${SMOL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
step=${SMOL_TEST_STEP_TIMEOUT:-180}
# The whole test ends itself before ctest's TIMEOUT (900 s) would kill it:
# ctest kills only the script, and what the script started could hold its
# output pipe open (and ctest waiting) long after.
limit=${SMOL_TEST_LIMIT:-840}

. "$src/tests/integration/linux/need_kvm_kernel.sh"

W=$(mktemp -d "${TMPDIR:-/tmp}/vmlinux.XXXXXX")
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	[ -z "${watchdog:-}" ] || kill "$watchdog" 2>/dev/null
	if [ -n "${SMOL_TEST_KEEP:-}" ]; then
		mkdir -p "$SMOL_TEST_KEEP" && cp "$W"/*.con "$W"/*.err "$SMOL_TEST_KEEP"/ 2>/dev/null
		echo "consoles and VMM errors kept in $SMOL_TEST_KEEP"
	fi
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' TERM INT
# Watchdog: at the limit, end the script's children (a foreground wait
# would delay the TERM trap until they end), then the script.
(
	# (sleep must not hold the output pipe: ctest waits for it to close)
	sleep "$limit" </dev/null >/dev/null 2>&1
	echo "FAIL: the test ran past ${limit}s (SMOL_TEST_LIMIT); stopping it"
	# The TERM trap waits for the foreground command, so end each child
	# (`timeout` passes TERM on to what it runs) until the script is gone.
	while kill -TERM $$ 2>/dev/null; do
		kill -TERM $(pgrep -P $$ | grep -v -x "$BASHPID") 2>/dev/null
		sleep 1
	done
) &
watchdog=$!
cd "$W" || exit 1
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
die() {
	echo "FAIL: $*"
	for f in "$W"/*.con; do [ -f "$f" ] && { echo "--- last lines of $f"; tail -n 25 "$f"; }; done
	exit 1
}
t0=$(date +%s.%N)
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# gexec SOCK CMD: one shell command in the guest behind SOCK.
gexec() { timeout -k 5 "$step" "$SMOLTEST" exec --agent "vsock:$1:1024" --connect-timeout "${step}s" --timeout "${step}s" --shell -- "$2"; }
actl() { local s=$1; shift; timeout -k 5 "$step" "$AGENTCTL" "vsock:$s:1024" -t "$step" "$@"; }
# vmm NAME ARGS...: a smolvm in the background as pid ${pids[-1]}. It is the
# script's own child, so it dies with the script (PR_SET_PDEATHSIG) however
# the script ends.
vmm() {
	local name=$1
	shift
	"$SMOLVM" "$@" --serial "$name.con" </dev/null 2>"$name.err" &
	pids+=($!)
}
# wait_exit PID: the VMM's exit status, or 124 after it was killed for
# taking more than $step seconds to exit.
wait_exit() {
	local n=0
	while kill -0 "$1" 2>/dev/null && [ "$n" -lt $((step * 10)) ]; do
		sleep 0.1
		n=$((n + 1))
	done
	if kill -0 "$1" 2>/dev/null; then
		kill -9 "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		return 124
	fi
	wait "$1"
}

# ---- the guest image and the test's files ----
"$SMOLTEST" image build --kernel-deb "$deb" -o img -q || die "smoltest image build failed on $deb"
mkdir rw ro blkdir
head -c 8M /dev/urandom >ro/big
ro_md5=$(md5sum <ro/big | cut -d' ' -f1)
echo "on the base image" >blkdir/base.txt
mkfs.ext4 -q -F -d blkdir base.img 64M >mkfs.out 2>&1 || die "mkfs.ext4 failed: $(cat mkfs.out)"
base_md5=$(md5sum <base.img)
"$SMOLVM" disk create top.layer --base base.img >/dev/null || die "smolvm disk create failed"
echo "image and files ready after $(elapsed)s"

# ---- 1/2. boot, EXEC over vsock ----
cmdline="console=ttyS0 panic=-1 reboot=k"
vmm t run --kernel img/vmlinuz --initrd img/initrd --mem 256 --cpus 2 --cmdline "$cmdline" \
	--vsock 3,t.sock --control t.ctl --exit-after-snapshot --share rw=rw --share ro=ro,ro \
	--disk base.img,layer=top.layer
tpid=${pids[-1]}
boot0=$(date +%s.%N)
n=$(gexec t.sock 'grep -c ^processor /proc/cpuinfo') || die "no EXEC answer from the booted guest"
boot_s=$(awk -v a="$boot0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
[ "$n" = 2 ] || fail "the guest sees $n CPUs, want 2"
ok "boot to the first EXEC over vsock: ${boot_s}s (2 vCPUs online)"
grep -q 'BIOS-e820: \[mem 0x0000000000100000-' t.con || fail "no e820 map on the console"
grep -q 'ACPI: DSDT .*SMOLVM' t.con || fail "the kernel did not report smolvm's DSDT"
grep -q 'ACPI: APIC .*SMOLVM' t.con || fail "the kernel did not report smolvm's MADT"
# The i8042 answers the kernel's probe: no 1-2 s wait for the CTR, no failed probe.
grep -E "i8042: Can't read CTR|probe of i8042 failed" t.con && fail "the i8042 probe stalled or failed again"
grep -q 'serio: i8042 KBD port' t.con || fail "the kernel did not register the i8042 keyboard port"

# ---- 3. virtio-fs ----
actl t.sock mount rw /mnt/rw rw mount ro /mnt/ro ro || fail "MOUNT of the shares"
got=$(gexec t.sock 'md5sum /mnt/ro/big | cut -d" " -f1')
[ "$got" = "$ro_md5" ] || fail "read-only share: guest md5 $got, host $ro_md5"
gexec t.sock 'head -c 8388608 /dev/urandom >/mnt/rw/big && md5sum /mnt/rw/big | cut -d" " -f1 >/mnt/rw/big.md5 &&
	i=0; while [ $i -lt 100 ]; do echo "file $i" >/mnt/rw/f$i; i=$((i + 1)); done; sync' ||
	fail "writing to the read-write share"
[ "$(md5sum <rw/big | cut -d' ' -f1)" = "$(cat rw/big.md5 2>/dev/null)" ] || fail "read-write share: the host's md5 differs from the guest's"
[ "$(ls rw | grep -c '^f[0-9]*$')" = 100 ] || fail "read-write share: $(ls rw | grep -c '^f[0-9]*$') of 100 files arrived"
[ "$(cat rw/f42 2>/dev/null)" = "file 42" ] || fail "read-write share: f42 has the wrong content"
err=$(gexec t.sock '(echo x >/mnt/ro/new) 2>&1; echo "rc=$?"')
case "$err" in *"Read-only file system"*"rc=1"*) ;; *) fail "write to the read-only share: $err" ;; esac
[ -e ro/new ] && fail "a write to the read-only share reached the host"
ok "virtio-fs: rw and ro shares, 8 MiB hashes both ways, 100 files, EROFS"

# ---- 4. virtio-blk under a copy-on-write layer ----
got=$(gexec t.sock 'mkdir -p /mnt/blk && mount -t ext4 /dev/vda /mnt/blk && cat /mnt/blk/base.txt')
[ "$got" = "on the base image" ] || fail "virtio-blk: base.txt reads '$got'"
ok "virtio-blk: ext4 base image mounted and read"

# ---- 5. setup, snapshot, forks ----
gexec t.sock 'echo "setup in memory" >/tmp/setup.txt && echo "setup on disk" >/mnt/blk/setup.txt &&
	echo "setup on the share" >/mnt/rw/setup.txt && sync' || fail "the setup step"
actl t.sock quiesce || fail "QUIESCE before the snapshot"
s0=$(date +%s.%N)
out=$(timeout -k 5 "$step" "$SNAPTOOL" ctl t.ctl "snapshot $W/s.smolsnap" 2>&1)
case "$out" in "ok $W/s.smolsnap"*) ;; *) die "snapshot on the control socket: $out" ;; esac
snap_s=$(awk -v a="$s0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
# --exit-after-snapshot: the template's disk layer is frozen at the instant
# of the snapshot, and its VMM exits 0.
wait_exit "$tpid"
st=$?
[ "$st" -eq 0 ] || fail "template: the VMM exited $st after the snapshot: $(cat t.err)"
ok "snapshot after setup in ${snap_s}s ($(du -m --apparent-size s.smolsnap | cut -f1) MiB apparent, $(du -m s.smolsnap | cut -f1) MiB allocated)"
"$SMOLVM" snapshot verify s.smolsnap >/dev/null || fail "the snapshot does not verify"

fpids=()
for i in 0 1 2; do
	vmm f$i restore s.smolsnap --vsock "$((10 + i)),f$i.sock" --disk-layer "f$i.layer" \
		--share rw=rw --share ro=ro,ro
	fpids+=("${pids[-1]}")
done
see='cat /tmp/setup.txt /mnt/blk/setup.txt /mnt/rw/setup.txt; ls /tmp /mnt/blk; hostname'
for i in 0 1 2; do
	actl f$i.sock resumed || fail "fork $i: RESUMED"
	gexec f$i.sock "$see" >see.$i 2>&1 || fail "fork $i: reading the setup's state: $(cat see.$i)"
done
grep -q "setup in memory" see.0 && grep -q "setup on disk" see.0 && grep -q "setup on the share" see.0 ||
	fail "fork 0 does not see the setup's state: $(cat see.0)"
cmp -s see.0 see.1 && cmp -s see.0 see.2 || fail "three restores of one snapshot differ: $(diff see.0 see.1; diff see.0 see.2)"
for i in 0 1 2; do
	gexec f$i.sock "echo $i >/tmp/mine-$i && echo $i >/mnt/blk/mine-$i && sync" || fail "fork $i: writing"
done
for i in 0 1 2; do
	got=$(gexec f$i.sock 'ls /tmp /mnt/blk | grep mine- | tr "\n" " "')
	[ "$got" = "mine-$i mine-$i " ] || fail "fork $i sees '$got', want only its own files"
done
ok "3 forks: the setup's state identical in each, private memory and disk writes"

# ---- 6. clean shutdown ----
for i in 0 1 2; do
	actl f$i.sock shutdown || fail "fork $i: SHUTDOWN"
	wait_exit "${fpids[$i]}"
	st=$?
	[ "$st" -eq 0 ] || fail "fork $i: the VMM exited $st after SHUTDOWN: $(cat f$i.err)"
done
pids=()
[ "$(md5sum <base.img)" = "$base_md5" ] || fail "the base disk image changed"
left=$(pgrep -f "$W" || true)
[ -z "$left" ] || fail "smolvm processes left behind: $left"
ok "SHUTDOWN: every VMM exited 0, base image unchanged, nothing left running"

for f in *.err; do
	[ -s "$f" ] && { echo "note: $f:"; sed 's/^/  /' "$f"; }
done
echo "vmm_linux: $fails failure(s), $(elapsed)s in all (boot to EXEC ${boot_s}s, snapshot ${snap_s}s)"
[ "$fails" -eq 0 ]
