#!/bin/bash
# vsock under hostile load from a Linux guest (issue 14 item 2): the Debian
# cloud kernel with the agent (`smoltest image build`), the host's / as its
# root over virtio-fs, so the guest runs this host's python3:
#   1. 64 connections from the guest, each streaming BYTES both ways at once
#      while the host reads slowly (nothing for 2 s, then small reads): every
#      byte arrives unchanged both ways, and smolvm's memory outside guest
#      RAM stays bounded (each connection's host-bound buffer is 256 KiB);
#   2. a guest that never reads a connection the host writes to: the host's
#      writes stop being taken (throttled by credit), and the VM still runs
#      an EXEC;
#   3. a guest that floods a connection the host never reads: bounded
#      smolvm memory, and the VM still runs an EXEC;
#   4. kill -9 of smolvm in the middle of it all: it goes, and nothing of
#      it is left.
# usage: vsock_stress.sh SMOLVM SMOLTEST [BYTES]   (bash; label kvm)
set -u
SMOLVM=$(readlink -f "$1") SMOLTEST=$(readlink -f "$2")
bytes=${3:-262144}
src=${SMOL_SOURCE_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)}
py=$src/tests/integration/linux/vsock_stress.py
# bounded growth: 64 connections x 256 KiB of host-bound buffer, plus slack
rss_limit_kib=$((64 * 256 + 16384))

. "$src/tests/integration/linux/need_kvm_kernel.sh"
command -v python3 >/dev/null || { echo "FAIL: python3 is needed on the host (ci/bootstrap)"; exit 1; }

W=$(mktemp -d "${TMPDIR:-/tmp}/vsockstress.XXXXXX")
bg=() ktext="_text: not read yet"
cleanup() {
	local p
	for p in "${bg[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$W"
}
trap cleanup EXIT
cd "$W" || exit 1
# state: where the live VM stands (smolvm snapshot info over its control
# socket: each vCPU, and each virtio queue against the guest's ring indices),
# so that a stall shows whether the VMM or the guest stopped
state() {
	[ -S ctl.sock ] && kill -0 "${vpid:-0}" 2>/dev/null || return 0
	echo "--- the VM's state"
	python3 - "$W/ctl.sock" "$W/stall.smolsnap" <<'P' && "$SMOLVM" snapshot info stall.smolsnap --stack 48 |
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(120)
s.connect(sys.argv[1])
s.sendall(b"snapshot " + sys.argv[2].encode() + b"\n")
r = s.recv(4096).decode()
print(r.strip())
sys.exit(0 if r.startswith("ok") else 1)
P
		grep -E '^(vcpu|dev\.|  queue| +(lapic|r[a-z0-9]+ |cr0|stack))'
	echo "(the guest kernel's $ktext: a stack word minus it is a symbol's offset in that kernel's /proc/kallsyms)"
	# kept for ci/hung-stack (any boot's kallsyms names its words) where
	# the kvm tier asks for silent VMs (ci/test sets SMOLTEST_KEEP_HUNG)
	if [ -n "${SMOLTEST_KEEP_HUNG:-}" ] && [ -d "$SMOLTEST_KEEP_HUNG" ] &&
		cp --sparse=always stall.smolsnap "$SMOLTEST_KEEP_HUNG/vsock_stress-$$.smolsnap"; then
		echo "kept as $SMOLTEST_KEEP_HUNG/vsock_stress-$$.smolsnap"
	fi
	rm -f stall.smolsnap
}
fail() {
	echo "FAIL: $*"
	state
	echo "--- smolvm"; tail -5 vmm.err 2>/dev/null
	echo "--- console"; tail -15 con 2>/dev/null
	exit 1
}
ok() { echo "ok: $*"; }
gexec() { timeout -k 5 300 "$SMOLTEST" exec --agent "vsock:$W/v.sock:1024" --timeout 280s --shell -- "$1"; }
# gpy ARGS...: the guest side of vsock_stress.py, the script on stdin (the
# guest sees the host's / but has its own /tmp, where a checkout may be)
gpy() {
	timeout -k 5 300 "$SMOLTEST" exec --agent "vsock:$W/v.sock:1024" --timeout 280s --stdin -- \
		python3 - "$@" <"$py"
}

"$SMOLTEST" image build --kernel-deb "$deb" -o img -q || fail "smoltest image build failed on $deb"
"$SMOLVM" run --kernel img/vmlinuz --initrd img/initrd --mem 256 --serial con --vsock "3,$W/v.sock" \
	--control "$W/ctl.sock" --share root=/,ro --cmdline "console=ttyS0 panic=-1 reboot=k smoltest.root=virtiofs:root" \
	</dev/null >vmm.out 2>vmm.err &
vpid=$!
bg+=("$vpid")
t0=$(date +%s)
until "$SMOLTEST" exec --agent "vsock:$W/v.sock:1024" --connect-timeout 5s -- true 2>/dev/null; do
	kill -0 "$vpid" 2>/dev/null || fail "smolvm exited during boot"
	[ $(($(date +%s) - t0)) -lt 300 ] || fail "the agent did not answer within 300 s"
	sleep 1
done
ok "booted to the agent in $(($(date +%s) - t0)) s"
# where KASLR put the kernel, to read a stalled vCPU's stack (state)
ktext=$(gexec "grep -w _text /proc/kallsyms")

# serve N MODE PORT ARGS...: phase N's host side in the background (spid),
# once its socket is there; guest_bg N ARGS...: its guest side (gpy), also
# in the background
serve() {
	local n=$1 mode=$2 port=$3
	shift 3
	python3 "$py" "$mode" "$W/v.sock_$port" "$@" >"host$n.out" 2>&1 &
	spid=$!
	bg+=("$spid")
	until [ -S "v.sock_$port" ]; do sleep 0.1; done
}
guest_bg() {
	local n=$1
	shift
	gpy "$@" >"guest$n.out" 2>&1 &
	bg+=("$!")
}
# alive WHILE: the VM still runs an EXEC
alive() {
	local out
	out=$(gexec "echo alive") || fail "no EXEC $1"
	[ "$out" = alive ] || fail "EXEC $1: '$out'"
}
# rss_bounded FILE WHEN: smolvm's memory outside guest RAM grew by at most
# the bound from the first sample to the largest that FILE reports (growth,
# not the absolute figure: ASan's shadow alone is ~48 MiB)
rss_bounded() {
	first=$(sed -n 's/.* \([0-9]*\) KiB \(before\|at the start\), .*/\1/p' "$1")
	max=$(sed -n 's/.* \([0-9]*\) KiB max$/\1/p' "$1")
	[ -n "$first" ] && [ -n "$max" ] && [ $((max - first)) -le "$rss_limit_kib" ] ||
		fail "smolvm's memory outside guest RAM grew from ${first:-?} to ${max:-?} KiB $2 (bound: $rss_limit_kib KiB of growth)"
}

# ---- 1. 64 connections both ways, slow host reader ----
serve 1 serve-stream 5000 64 "$bytes" "$vpid"
gpy client-stream 5000 64 "$bytes" >guest1.out 2>&1 || { cat guest1.out host1.out; fail "the guest's side of 64 streams"; }
wait "$spid" || { cat guest1.out host1.out; fail "the host's side of 64 streams"; }
cat host1.out guest1.out
rss_bounded host1.out "with 64 streams"
ok "64 connections x $bytes bytes each way, unchanged; smolvm outside guest RAM at most $max KiB"

# ---- 2. a guest that never reads ----
serve 2 serve-stuck 5001 "$vpid" 8
guest_bg 2 client-stuck 5001 60
wait "$spid" || { cat host2.out; fail "the host's writes to a guest that never reads were not throttled"; }
alive "while a guest connection is stuck"
cat host2.out
ok "a guest that never reads: the host is throttled, the VM runs EXEC"

# ---- 3. a guest that floods a connection nobody reads ----
serve 3 serve-sink 5002 "$vpid" 10
guest_bg 3 client-flood 5002 60
sleep 3
alive "while the guest floods a connection"
wait "$spid" || { cat host3.out; fail "the sink"; }
cat host3.out
rss_bounded host3.out "during the flood"
ok "a guest flooding an unread connection: smolvm outside guest RAM at most $max KiB, the VM runs EXEC"

# ---- 4. kill -9 with connections stuck and flooding ----
kill -9 "$vpid"
for _ in $(seq 50); do kill -0 "$vpid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$vpid" 2>/dev/null && fail "smolvm survived kill -9"
wait "$vpid" 2>/dev/null
pgrep -f "smolvm run .*$W" >/dev/null && fail "a smolvm process is left: $(pgrep -af "smolvm run .*$W")"
ok "kill -9 mid-flood: smolvm gone"
echo PASS
