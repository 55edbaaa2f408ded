#!/usr/bin/env bash
# Boot, restore, fork and density figures of the Linux path, each next to a
# peer measured in the same run on the same host (issue 13, items 2-4).
#
#   tests/bench/vm/bench_boot.sh BUILD_DIR [BOOTS] [FORKS] [DENSITY]
#
# Needs a /dev/kvm: run it directly on a hardware KVM, or inside the nested
# test host (ci/vmhost -- tests/bench/vm/bench_boot.sh build), where guest
# time is emulated and only the ratios mean anything. BUILD_DIR holds
# smolvm, smoltest and tests/{agentctl,snaptool}; the kernel is the cloud
# kernel that ci/fetch-kernel caches. Prints four tables; not a test.
#
#  1. boot: the same kernel and the same tiny initramfs (busybox; its init
#     prints a marker on the serial console and powers off) under smolvm
#     and under QEMU's microvm (-M microvm -accel kvm, no firmware, direct
#     kernel boot, the same command line); wall time from exec to the
#     marker line, BOOTS runs each, alternating.
#  2. restore: the same tiny guest printing a tick every 10 ms, snapshotted
#     once by each VMM; wall time from exec to the first tick of the
#     restored guest (smolvm restore against QEMU -incoming from a saved
#     migration stream). The 10 ms tick bounds the resolution.
#  3. fork: the smoltest image (agent as init) booted cold to its first
#     EXEC answer, then FORKS restores of its snapshot, each timed from
#     exec to its first EXEC answer (RESUMED, then `smoltest exec true`).
# 3b. where a fork's time goes: process starts, smolvm's restore phases,
#     the agent's round trips on a running fork, and KVM's exit counters of
#     a fork and of a boot (BREAKDOWN=5 forks).
#  4. density: a template whose setup wrote 64 MiB into the guest's page
#     cache (tmpfs), then DENSITY live forks each reading it all again; the
#     host memory of all forks (smaps_rollup) after each one, and the slope
#     per added fork.
set -uo pipefail

B=$(cd "${1:?usage: bench_boot.sh BUILD_DIR [BOOTS] [FORKS] [DENSITY]}" && pwd)
BOOTS=${2:-10} FORKS=${3:-50} DENSITY=${4:-16}
src=$(cd "$(dirname "$0")/../../.." && pwd)
SMOLVM=$B/smolvm SMOLTEST=$B/smoltest AGENTCTL=$B/tests/agentctl SNAPTOOL=$B/tests/snaptool
QEMU=$(command -v qemu-system-x86_64 || true)
die() { echo "bench_boot: $*" >&2; exit 1; }
for t in "$SMOLVM" "$SMOLTEST" "$AGENTCTL" "$SNAPTOOL"; do [ -x "$t" ] || die "$t is missing: build it first"; done
[ -w /dev/kvm ] || die "no usable /dev/kvm here: run it on a KVM host or inside ci/vmhost"
[ -n "$QEMU" ] || die "qemu-system-x86_64 not found (ci/bootstrap installs it): it is the peer"
busybox=$(command -v busybox || echo /bin/busybox)
file -L "$busybox" 2>/dev/null | grep -q 'statically linked' || die "$busybox is not static (Debian: busybox-static)"
deb=$("$src/ci/fetch-kernel" --offline 2>/dev/null) || die "no cloud kernel package cached: run ci/fetch-kernel"

W=$(mktemp -d "${TMPDIR:-/tmp}/bench-boot.XXXXXX")
cleanup() { kill -9 $(jobs -p) 2>/dev/null; pkill -9 -f "$W/" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
cd "$W" || exit 1

now() { date +%s%N; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f\n", (b - a) / 1e6 }'; }
pct() { sort -n | awk -v p="$1" '{ a[NR] = $1 } END { i = int((p * NR + 99) / 100); if (i < 1) i = 1; print a[i] }'; }
# until_line PATTERN CMD...: run CMD with its output on a pipe; print the ms
# from start to the first line matching PATTERN (or "-" if it never came
# within 120 s), then kill CMD.
until_line() {
	local pat=$1 t0 t1=
	shift
	t0=$(now)
	exec 3< <(exec timeout -k 1 120 "$@" 2>&1)
	local cpid=$!
	while IFS= read -r -u 3 l; do
		case "$l" in *"$pat"*) t1=$(now); break ;; esac
	done
	kill -9 "$cpid" 2>/dev/null
	exec 3<&-
	wait "$cpid" 2>/dev/null
	[ -n "$t1" ] && ms "$t0" "$t1" || echo -
}
summary() { # NAME FILE: p50 p90 of the numbers in FILE
	local n
	n=$(grep -c . "$2")
	printf "%-34s %5s %10s %10s\n" "$1" "$n" "$(pct 50 <"$2")" "$(pct 90 <"$2")"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) CPUs;" \
	"$(grep -q hypervisor /proc/cpuinfo && echo 'a VM' || echo 'bare metal');" \
	"load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ)"
echo "command: tests/bench/vm/bench_boot.sh BUILD_DIR $BOOTS $FORKS $DENSITY"

# ---- the images ----
"$SMOLTEST" image build --kernel-deb "$deb" -o img -q || die "smoltest image build failed on $deb"
mkdir -p tiny/bin tiny/dev tiny/proc
cp "$busybox" tiny/bin/busybox
mknod tiny/dev/console c 5 1 || die "mknod /dev/console (needs root)"
cat >tiny/init <<'EOF'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
echo SMOL-BOOT-MARKER
case "$(/bin/busybox cat /proc/cmdline)" in
*bench.tick*)
	i=0
	while :; do echo "tick $i"; i=$((i + 1)); /bin/busybox usleep 10000; done ;;
esac
/bin/busybox poweroff -f
EOF
chmod +x tiny/init
(cd tiny && find . | cpio -o -H newc --quiet) >tiny.cpio || die "cpio of the tiny initramfs failed"
K=img/vmlinuz
cmdline="console=ttyS0 quiet reboot=k panic=-1"
qemu_vm=("$QEMU" -M microvm -accel kvm -cpu host -m 256 -smp 1 -nodefaults -no-user-config
	-display none -serial stdio -no-reboot -kernel "$K" -initrd tiny.cpio)

# ---- 1. boot ----
: >boot.smolvm
: >boot.qemu
for _ in $(seq "$BOOTS"); do
	until_line SMOL-BOOT-MARKER "$SMOLVM" run --kernel "$K" --initrd tiny.cpio --mem 256 --cpus 1 \
		--no-rng --cmdline "$cmdline" --serial stdio >>boot.smolvm
	until_line SMOL-BOOT-MARKER "${qemu_vm[@]}" -append "$cmdline" >>boot.qemu
done
echo
echo "== 1. boot to the init's marker on the serial console (ms, same kernel, initramfs and command line) =="
printf "%-34s %5s %10s %10s\n" "" "runs" "p50" "p90"
grep -v - boot.smolvm >b.s
grep -v - boot.qemu >b.q
summary "smolvm run" b.s
summary "qemu -M microvm -accel kvm" b.q
echo "ratio smolvm/qemu (p50): $(ratio "$(pct 50 <b.s)" "$(pct 50 <b.q)")   (target <= 0.5)"
[ "$(grep -c - boot.smolvm)" -eq 0 ] && [ "$(grep -c - boot.qemu)" -eq 0 ] || echo "missed markers: smolvm $(grep -c - boot.smolvm), qemu $(grep -c - boot.qemu)"

# ---- 2. restore ----
tick="$cmdline bench.tick"
"$SMOLVM" run --kernel "$K" --initrd tiny.cpio --mem 256 --cpus 1 --no-rng --cmdline "$tick" \
	--serial tick.con --control t.ctl </dev/null 2>t.err &
vpid=$!
for _ in $(seq 600); do grep -q "tick 20" tick.con 2>/dev/null && break; sleep 0.1; done
"$SNAPTOOL" ctl t.ctl "snapshot $W/tick.smolsnap" >/dev/null || die "smolvm snapshot of the tick guest failed: $(cat t.err)"
kill -9 "$vpid" 2>/dev/null
wait "$vpid" 2>/dev/null
qmon() { python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(300)
def until(p):
    b = b""
    while p not in b:
        b += s.recv(4096)
    return b
until(b"(qemu)")
for c in sys.argv[2:]:
    s.sendall(c.encode() + b"\n")
    until(b"(qemu)")
    while c.startswith("migrate "):
        s.sendall(b"info migrate\n")
        b = until(b"(qemu)")
        if b"Migration status: completed" in b:
            break
        if b"Migration status: failed" in b:
            sys.exit("migration failed")
        time.sleep(0.05)
' "$@"; }
"${qemu_vm[@]}" -append "$tick" -monitor unix:q.mon,server=on,wait=off >q.con 2>&1 </dev/null &
qpid=$!
for _ in $(seq 600); do grep -q "tick 20" q.con 2>/dev/null && break; sleep 0.1; done
qmon q.mon "migrate \"exec:cat > $W/q.mig\"" || die "QEMU's migration to a file failed"
kill -9 "$qpid" 2>/dev/null
wait "$qpid" 2>/dev/null
: >rest.smolvm
: >rest.qemu
for _ in $(seq "$BOOTS"); do
	until_line "tick " "$SMOLVM" restore tick.smolsnap --serial stdio >>rest.smolvm
	until_line "tick " "${qemu_vm[@]}" -append "$tick" -incoming "exec:cat $W/q.mig" >>rest.qemu
done
echo
echo "== 2. restore to the restored guest's first tick (ms; 10 ms tick) =="
printf "%-34s %5s %10s %10s\n" "" "runs" "p50" "p90"
grep -v - rest.smolvm >r.s
grep -v - rest.qemu >r.q
summary "smolvm restore (snapshot file)" r.s
summary "qemu -incoming (migration file)" r.q
echo "snapshot files: smolvm $(du -m --apparent-size tick.smolsnap | cut -f1) MiB apparent," \
	"$(du -m tick.smolsnap | cut -f1) MiB allocated; qemu $(du -m q.mig | cut -f1) MiB"
echo "speed-up of smolvm over qemu (p50): $(ratio "$(pct 50 <r.q)" "$(pct 50 <r.s)")x   (target >= 10x)"

# ---- 3. cold boot and forks to the first EXEC answer ----
step=120
gexec() { timeout -k 5 "$step" "$SMOLTEST" exec --agent "vsock:$1:1024" --connect-timeout "${step}s" --timeout "${step}s" --shell -- "$2"; }
actl() { local s=$1; shift; timeout -k 5 "$step" "$AGENTCTL" "vsock:$s:1024" -t "$step" "$@"; }
# template NAME MEM SETUP: boots the smoltest image, prints the ms to the
# first EXEC answer, runs SETUP, snapshots into NAME.smolsnap.
template() {
	local t0 t1
	rm -f "$1.sock" "$1.ctl"
	t0=$(now)
	"$SMOLVM" run --kernel "$K" --initrd img/initrd --mem "$2" --cpus 1 --cmdline "console=ttyS0 panic=-1" \
		--vsock "3,$1.sock" --control "$1.ctl" --exit-after-snapshot --serial "$1.con" </dev/null 2>"$1.err" &
	local pid=$!
	gexec "$1.sock" true >/dev/null || die "template $1: no EXEC answer: $(tail -3 "$1.con")"
	t1=$(now)
	ms "$t0" "$t1" >"$1.cold"
	gexec "$1.sock" "$3" >/dev/null || die "template $1: setup failed"
	actl "$1.sock" quiesce >/dev/null || die "template $1: QUIESCE failed"
	"$SNAPTOOL" ctl "$1.ctl" "snapshot $W/$1.smolsnap" >/dev/null || die "template $1: snapshot failed"
	wait "$pid"
}
template fork 256 true
: >fork.ms
for i in $(seq "$FORKS"); do
	t0=$(now)
	"$SMOLVM" restore fork.smolsnap --vsock "$((10 + i)),f.sock" --serial none </dev/null 2>f.err &
	fpid=$!
	if actl f.sock resumed >/dev/null && gexec f.sock true >/dev/null; then
		t1=$(now)
		ms "$t0" "$t1" >>fork.ms
	fi
	kill -9 "$fpid" 2>/dev/null
	wait "$fpid" 2>/dev/null
	rm -f f.sock
done
echo
echo "== 3. to the first EXEC answer (ms; smoltest image, 256 MiB, 1 vCPU) =="
printf "%-34s %5s %10s %10s\n" "" "runs" "p50" "p90"
printf "%-34s %5s %10s %10s\n" "cold boot (smolvm run)" 1 "$(cat fork.cold)" ""
summary "fork (smolvm restore)" fork.ms
echo "fork/cold (p50): $(ratio "$(pct 50 <fork.ms)" "$(cat fork.cold)")   (target <= 0.05 nested; <= 5 ms p50 on hardware KVM)"
[ "$(grep -c . fork.ms)" -eq "$FORKS" ] || echo "forks that never answered: $((FORKS - $(grep -c . fork.ms)))"

# ---- 3b. where a fork's time goes ----
# Each step of section 3 on its own, p50 of BREAKDOWN forks: starting a
# process here (the fork's smolvm, agentctl and smoltest exec are three),
# smolvm's own restore phases (SMOLVM_TIMINGS), the RESUMED and first EXEC
# answers, then a second EXEC and a PING on the same fork (the agent's
# round trips once the fork runs), and KVM's exit counters of the last
# fork, shut down by its agent (SMOLVM_TIMINGS prints them at exit) beside
# those of one cold boot of the tiny guest (to its poweroff).
BREAKDOWN=${BREAKDOWN:-5}
spawn5() { local t0 t1; t0=$(now); for _ in 1 2 3 4 5; do "$@" >/dev/null 2>&1; done; t1=$(now); awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 5e6 }'; }
: >bd.tsv
for i in $(seq "$BREAKDOWN"); do
	rm -f b.sock
	t0=$(now)
	SMOLVM_TIMINGS=1 "$SMOLVM" restore fork.smolsnap --vsock "$((60 + i)),b.sock" --serial none </dev/null 2>b.err &
	bpid=$!
	t1= t2= t3= t4=
	actl b.sock resumed >/dev/null && t1=$(now) &&
		gexec b.sock true >/dev/null && t2=$(now) &&
		gexec b.sock true >/dev/null && t3=$(now) &&
		actl b.sock ping >/dev/null && t4=$(now) &&
		actl b.sock shutdown >/dev/null || kill -9 "$bpid" 2>/dev/null
	(sleep 60 && kill -9 "$bpid" 2>/dev/null) &
	wd=$!
	wait "$bpid"
	kill "$wd" 2>/dev/null
	[ -n "$t4" ] || continue
	fe=
	read -r v c st fe < <(sed -n 's/.*restore_validate_us=\([0-9]*\) restore_create_us=\([0-9]*\) restore_state_us=\([0-9]*\) main_to_first_exit_us=\([0-9]*\).*/\1 \2 \3 \4/p' b.err)
	[ -n "${fe:-}" ] && echo "$(ms "$t0" "$t1") $(ms "$t1" "$t2") $(ms "$t2" "$t3") $(ms "$t3" "$t4") $v $c $st $fe" >>bd.tsv
done
col() { awk -v c="$1" -v d="${2:-1}" '{ printf "%.1f\n", $c / d }' bd.tsv | pct 50; }
echo
echo "== 3b. where a fork's time goes (ms, p50 of $(grep -c . bd.tsv) forks; each process start here costs what /bin/true does) =="
echo "process start: /bin/true $(spawn5 /bin/true), smolvm --version $(spawn5 "$SMOLVM" --version)," \
	"smoltest --version $(spawn5 "$SMOLTEST" --version), agentctl (usage) $(spawn5 "$AGENTCTL")"
if [ -s bd.tsv ]; then
	echo "smolvm restore: validate $(col 5 1000), create VM + checks + map $(col 6 1000), set state $(col 7 1000); main -> first guest exit $(col 8 1000)"
	echo "exec -> RESUMED answered (smolvm and agentctl started) $(col 1); -> first EXEC answered (smoltest started) $(col 2)"
	echo "on the running fork: second EXEC $(col 3), PING $(col 4)"
	echo "KVM exits, the last fork (restore, RESUMED, 2 EXEC, PING, SHUTDOWN): $(sed -n 's/^smolvm-kvm-stats: vcpu0 //p' b.err)"
else
	echo "(no fork timed: BREAKDOWN=$BREAKDOWN, or none answered)"
fi
SMOLVM_TIMINGS=1 timeout -k 1 120 "$SMOLVM" run --kernel "$K" --initrd tiny.cpio --mem 256 --cpus 1 \
	--no-rng --cmdline "$cmdline" --serial none </dev/null 2>tb.err >/dev/null
echo "KVM exits, one boot of the tiny guest to its poweroff: $(sed -n 's/^smolvm-kvm-stats: vcpu0 //p' tb.err)"

# ---- 4. density ----
template dense 512 'head -c 67108864 /dev/urandom >/tmp/big && md5sum /tmp/big >/tmp/big.md5'
echo
echo "== 4. density: $DENSITY live forks of a template holding 64 MiB in its page cache (KiB) =="
printf "%6s %12s %16s %12s\n" forks "sum pss" "sum priv. dirty" "sum rss"
dpids=()
: >dense.tsv
for i in $(seq "$DENSITY"); do
	"$SMOLVM" restore dense.smolsnap --vsock "$((100 + i)),d$i.sock" --serial none </dev/null 2>"d$i.err" &
	dpids+=($!)
	actl "d$i.sock" resumed >/dev/null || die "density fork $i: RESUMED failed: $(cat "d$i.err")"
	gexec "d$i.sock" 'md5sum /tmp/big | cmp -s - /tmp/big.md5' || die "density fork $i: /tmp/big differs"
	pss=0 dirty=0 rss=0
	for p in "${dpids[@]}"; do
		read -r a b c < <(awk '/^Pss:/ { s = $2 } /^Private_Dirty:/ { d = $2 } /^Rss:/ { r = $2 } END { print s + 0, d + 0, r + 0 }' "/proc/$p/smaps_rollup")
		pss=$((pss + a)) dirty=$((dirty + b)) rss=$((rss + c))
	done
	printf "%6d %12d %16d %12d\n" "$i" "$pss" "$dirty" "$rss"
	echo "$i $pss $dirty $rss" >>dense.tsv
done
# PSS sums to the host memory the forks really use (a page shared by N
# forks counts 1/N in each); RSS counts every shared page in every fork.
awk '{ n++; x += $1; y += $2; xx += $1 * $1; xy += $1 * $2; yd += $3; xyd += $1 * $3 }
	END { d = n * xx - x * x; if (d == 0) exit;
	printf "slope per added fork: pss %.0f KiB, private dirty %.0f KiB (the file each fork reads: 65536 KiB)\n",
		(n * xy - x * y) / d, (n * xyd - x * yd) / d }' dense.tsv
