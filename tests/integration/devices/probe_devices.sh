#!/bin/sh
# The probe's vsock, blk and fs steps through `smolvm run`, with the host
# side checked here: the vsock echo of 1 MiB through the hybrid socket, the
# blk pattern landing in the disk's top layer (the base untouched), and the
# files the fs step wrote into the share.
# Usage: probe_devices.sh SMOLVM PROBE_ELF VSOCK_HOST
set -u
SMOLVM=$1 PROBE=$2 VHOST=$3
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "SKIP: /dev/kvm is missing or not accessible"
	exit 77
fi
T=$(mktemp -d /tmp/smol-probe-dev-XXXXXX)
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
has() { grep -q -x -F -- "$2" "$T/$1.out" || { bad "$1: no line '$2'"; sed 's/^/  /' "$T/$1.out"; }; }

# vsock: the guest echoes; we connect, send 1 MiB and compare.
timeout -k 5 120 "$SMOLVM" run --kernel "$PROBE" --mem 64 --vsock "3,$T/v.sock" --cmdline probe.run=vsock \
	</dev/null >"$T/vsock.out" 2>&1 &
PID=$!
if "$VHOST" "$T/v.sock" 1234 1048576 60; then
	wait "$PID"
	st=$?
else
	bad "vsock: the host side of the echo failed"
	kill "$PID" 2>/dev/null
	wait "$PID"
	st=0
fi
PID=
[ $st = 0 ] || bad "vsock: smolvm exited with $st"
has vsock "probe: vsock ok"
[ -e "$T/v.sock" ] && bad "vsock: the socket file was left behind"

# blk: first disk = base + layer (writes must land in the layer), second
# disk read-only.
truncate -s 1M "$T/a.img" "$T/b.img"
"$SMOLVM" disk create "$T/a.layer" --base "$T/a.img" || bad "blk: disk create"
timeout -k 5 120 "$SMOLVM" run --kernel "$PROBE" --mem 64 --disk "$T/a.img,layer=$T/a.layer" --disk "$T/b.img,ro" \
	--cmdline probe.run=blk </dev/null >"$T/blk.out" 2>&1 || bad "blk: smolvm failed"
has blk "probe: blk ok"
"$SMOLVM" disk info "$T/a.layer" | grep -qx 'allocated-blocks: 32' ||
	bad "blk: 256 written sectors should be 32 blocks in the layer"
cmp -s -n 1048576 "$T/a.img" /dev/zero || bad "blk: the base image was written"
cmp -s -n 1048576 "$T/b.img" /dev/zero || bad "blk: the read-only disk was written"

# fs: share tagged probe.
mkdir "$T/share"
printf 'first line from the host\nsecond line\n' >"$T/share/host-to-probe.txt"
timeout -k 5 120 "$SMOLVM" run --kernel "$PROBE" --mem 64 --share "probe=$T/share" --cmdline probe.run=fs \
	</dev/null >"$T/fs.out" 2>&1 || bad "fs: smolvm failed"
has fs "probe: fs read first line from the host"
has fs "probe: fs ok"
[ "$(cat "$T/share/probe-fs.txt" 2>/dev/null)" = "hello from probe" ] || bad "fs: probe-fs.txt content"
[ "$(wc -c <"$T/share/probe-fs.txt")" = 17 ] || bad "fs: probe-fs.txt should be exactly 17 bytes"
[ "$(ls "$T/share/out" | wc -l)" = 100 ] || bad "fs: out/ should hold 100 files"
[ "$(cat "$T/share/out/99.txt" 2>/dev/null)" = 99 ] || bad "fs: out/99.txt content"

# A read-only share: the fs step must fail cleanly at its first write.
timeout -k 5 120 "$SMOLVM" run --kernel "$PROBE" --mem 64 --share "probe=$T/share,ro" --cmdline probe.run=fs \
	</dev/null >"$T/fsro.out" 2>&1
[ $? = 1 ] || bad "fs ro: the step should fail (status 1)"
grep -q 'probe: fs FAIL .*errno 30' "$T/fsro.out" || bad "fs ro: no EROFS failure line"

# Snapshot with all three devices attached, restore as a fork with its own
# disk layer and vsock socket: the fs session and the disk survive, the
# vsock works again after the restore.
mkdir "$T/snapshare"
echo "before the snapshot" >"$T/snapshare/host-to-probe.txt"
truncate -s 1M "$T/s.img"
"$SMOLVM" disk create "$T/s.layer" --base "$T/s.img" || bad "snap: disk create"
timeout -k 5 120 "$SMOLVM" run --kernel "$PROBE" --mem 64 --disk "$T/s.img,layer=$T/s.layer" --vsock "3,$T/s.sock" \
	--share "probe=$T/snapshare" --snapshot-on-checkpoint "$T/snap" --exit-after-snapshot \
	--cmdline probe.run=fs,checkpoint,vsock </dev/null >"$T/snap.out" 2>&1 || bad "snap: the run failed"
has snap "probe: fs ok"
timeout -k 5 120 "$SMOLVM" restore "$T/snap" --disk-layer "$T/fork.layer" --vsock "3,$T/f.sock" \
	--share "probe=$T/snapshare" </dev/null >"$T/fork.out" 2>&1 &
PID=$!
if "$VHOST" "$T/f.sock" 1234 65536 60; then
	wait "$PID"
	st=$?
else
	bad "fork: the vsock echo after restore failed"
	kill "$PID" 2>/dev/null
	wait "$PID"
	st=0
fi
PID=
[ $st = 0 ] || bad "fork: smolvm restore exited with $st"
has fork "probe: vsock ok"
[ -e "$T/fork.layer" ] || bad "fork: no fork layer was created"

[ $fail = 0 ] && echo "probe device tests passed"
exit $fail
