#!/bin/sh
# FUSE workout: `smolvm fuse-serve` serves a host directory through the
# virtio-fs request handler over /dev/fuse; the same file-system operations
# run on the mount and on a plain reference directory, and the trees must
# come out identical (names, types, modes, sizes, link counts, symlink
# targets, contents, mtimes). Then escape attempts that must fail, and a
# read-only share that must refuse writes.
# Usage: fuse_workout.sh SMOLVM
set -u
SMOLVM=${1:?usage: fuse_workout.sh SMOLVM}

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

[ "$(id -u)" = 0 ] || skip "needs root to mount(2) a FUSE file system"
[ -c /dev/fuse ] || skip "/dev/fuse is missing (modprobe fuse)"
grep -qw fuse /proc/filesystems || skip "the kernel has no fuse file system"

# tmpfs when there is one: creating 10 000 files on a loaded ext4 costs
# seconds, on tmpfs milliseconds.
base=/tmp
[ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
T=$(mktemp -d "$base/smol-fuse-XXXXXX")
HOST=$T/host REF=$T/ref MNT=$T/m/deep/mnt
mkdir -p "$HOST" "$REF" "$MNT" "$T/secret"
echo "top secret" > "$T/secret/s.txt"
PID=
cleanup() {
	umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
	[ -n "$PID" ] && wait "$PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

# Starts fuse-serve on $1 -> $MNT with extra args, waits for the mount.
serve() {
	"$SMOLVM" fuse-serve "$@" "$MNT" > "$T/serve.log" 2>&1 &
	PID=$!
	i=0
	while ! grep -q " $MNT fuse" /proc/mounts; do
		i=$((i + 1))
		if ! kill -0 "$PID" 2>/dev/null; then
			cat "$T/serve.log"
			if grep -q "cannot mount\|/dev/fuse" "$T/serve.log"; then
				skip "mounting FUSE is not allowed here"
			fi
			fail "fuse-serve exited before mounting"
		fi
		[ $i -lt 100 ] || fail "mount did not appear in 10 s"
		sleep 0.1
	done
}

unserve() {
	umount "$MNT" || fail "umount $MNT"
	wait "$PID"
	rc=$?
	PID=
	[ $rc = 0 ] || { cat "$T/serve.log"; fail "fuse-serve exited with $rc after umount"; }
}

# The workout, run once in each directory.
workout() {
	d=$1
	(
	set -e
	cd "$d"
	printf 'hello\n' > a.txt
	[ "$(cat a.txt)" = hello ]
	printf 'more\n' >> a.txt
	head -c 300000 /dev/zero | tr '\0' 'x' > big.txt
	truncate -s 1234 big.txt
	truncate -s 5000 big.txt
	printf 'old\n' > victim
	printf 'new\n' > src
	mv src victim
	[ "$(cat victim)" = new ]
	printf 'still here\n' > open.txt
	exec 3< open.txt
	rm open.txt
	[ "$(cat <&3)" = "still here" ]
	exec 3<&-
	mkdir -p dir/sub
	rmdir dir/sub
	mkdir made
	i=0
	while [ $i -lt 100 ]; do : > "made/f$i"; i=$((i + 1)); done
	ln -s a.txt link
	ln -s ../nowhere dangling
	[ "$(cat link)" = "$(cat a.txt)" ]
	ln a.txt hard
	chmod 0640 a.txt
	chmod 0700 dir
	touch -m -d @1000000000 a.txt
	touch -m -d @1234567890 dir/../victim
	truncate -s 2G sparse
	printf 'end' | dd of=sparse bs=1 seek=1073741824 conv=notrunc 2>/dev/null
	)
}

snapshot() {
	(cd "$1" && find . -path ./many -prune -o -printf '%p %y %m %s %n %l\n' | sort
	 cd "$1" && find . -path ./many -prune -o -type f ! -name sparse -exec md5sum {} + | sort
	 cd "$1" && stat -c '%n %Y' a.txt victim
	 cd "$1" && ls many | sort | md5sum
	 cd "$1" && dd if=sparse bs=1 skip=1073741824 count=3 2>/dev/null; echo)
}

# 1. Reference run and a run through the mount. many/ (10 000 entries, for
# readdir) is made on the host side: creating it through FUSE would only
# measure request round trips.
for d in "$REF" "$HOST"; do
	mkdir "$d/many"
	(cd "$d/many" && seq -f 'f%g' 0 9999 | xargs touch) || fail "making many/ in $d"
done
workout "$REF" || fail "workout on the reference directory failed (host tools?)"
serve "$HOST"
workout "$MNT" || fail "workout through the FUSE mount failed"
n=$(ls "$MNT/many" | wc -l)
[ "$n" = 10000 ] || fail "readdir of many/ gave $n entries, want 10000"
snapshot "$REF" > "$T/ref.txt"
snapshot "$MNT" > "$T/mnt.txt"
diff -u "$T/ref.txt" "$T/mnt.txt" || fail "mount differs from the reference directory"

# 2. Escape attempts through the mount must fail.
ln -s ../secret "$HOST/up"            # climbs out of the share on the host
ln -s "$T/secret" "$HOST/abs"         # absolute, outside the share
mkdir "$HOST/d"
[ -e "$HOST/up/s.txt" ] || fail "test setup: host-side link should reach the secret"
cat "$MNT/up/s.txt" 2>/dev/null && fail "a climbing symlink reached outside the share"
[ "$(readlink "$MNT/up")" = ../secret ] || fail "readlink through the mount"
ln "$T/secret/s.txt" "$MNT/stolen" 2>/dev/null && fail "hard link from outside into the share"
mknod "$MNT/fifo" p 2>/dev/null && fail "mknod of a FIFO was allowed"
ls "$MNT/.." > /dev/null || fail "listing the mount's parent"
ls "$MNT/.." | grep -q secret && fail "the mount's parent shows the share's outside"
# The server never follows symlinks itself: the host sees the text only.
[ -L "$HOST/abs" ] || fail "abs should still be a symlink on the host"
unserve

# 3. Host directory equals the reference (writes really landed there).
snapshot "$HOST" | grep -av '^\. \|^\./up \|^\./abs \|^\./d ' > "$T/host.txt"
grep -av '^\. \|^\./up \|^\./abs \|^\./d ' "$T/ref.txt" > "$T/ref2.txt"
diff -u "$T/ref2.txt" "$T/host.txt" || fail "host directory differs from the reference"
used=$(du -k "$HOST/sparse" | cut -f1)
[ "$used" -lt 1024 ] || fail "sparse file uses $used KiB on the host; holes were filled"

# 4. Read-only share: reads work, every write is refused.
serve "$HOST" --ro
[ "$(head -n1 "$MNT/a.txt")" = hello ] || fail "read from the read-only share"
for op in "touch $MNT/new" "mkdir $MNT/nd" "rm $MNT/a.txt" "chmod 600 $MNT/a.txt" \
	  "ln -s x $MNT/sl" "mv $MNT/a.txt $MNT/b.txt"; do
	sh -c "$op" 2>/dev/null && fail "read-only share allowed: $op"
done
sh -c "echo x >> $MNT/a.txt" 2>/dev/null && fail "read-only share allowed an append"
unserve
echo "fuse workout: ok"
