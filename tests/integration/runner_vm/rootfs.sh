#!/bin/sh
# vm.rootfs (issue 12): an ext4 image from `smoltest image rootfs` is the
# guest's root instead of the host's /: the tests see the image's files and
# none of the host's, setup's writes reach every fork, each fork's writes
# stay its own, the image file is never written, a second run is a cache
# hit (the template's disk layer moved with its cache entry), and an image
# rebuilt with other content is a cache miss. Then an erofs image (whose
# module the default guest image then carries).
. "$(dirname "$0")/lib.sh"

tree=$WORK/tree
mkdir -p "$tree/bin" "$tree/etc"
cp /bin/busybox "$tree/bin/busybox"
for a in sh cat echo grep test touch rm hostname; do ln -s busybox "$tree/bin/$a"; done
echo image-v1 > "$tree/etc/marker"
"$SMOLTEST" image rootfs --from "$tree" --format ext4 -o "$WORK/root.ext4" ||
	fail "smoltest image rootfs (ext4) failed"
sum0=$(cksum < root.ext4)

cat > r.yaml <<YAML
name: rootfs
backend: vm
vm: { rootfs: root.ext4 }
setup:
  - run: "echo warm > /etc/setup-made"
tests:
  - { name: image, run: "grep -qx image-v1 /etc/marker" }
  - { name: not-host, run: "test ! -e $SMOL_SOURCE_DIR/CMakeLists.txt && test ! -e /usr/bin/env" }
  - { name: setup-seen, run: "grep -qx warm /etc/setup-made" }
  - { name: own-writes-1, run: "test ! -e /etc/scratch && echo 1 > /etc/scratch && rm /etc/marker" }
  - { name: own-writes-2, run: "test ! -e /etc/scratch && echo 2 > /etc/scratch && grep -q image /etc/marker" }
YAML
run_st 0 run r.yaml --json r1.jsonl -j2
for t in image not-host setup-seen own-writes-1 own-writes-2; do expect_status r1.jsonl $t pass; done
[ "$(cksum < root.ext4)" = "$sum0" ] || fail "the run wrote into the rootfs image"
layer=$(ls "$XDG_CACHE_HOME"/smoltest/entries/*/rootfs.layer 2>/dev/null | head -n1)
[ -n "$layer" ] || fail "the cache entry has no rootfs.layer: $(ls -R "$XDG_CACHE_HOME/smoltest/entries")"
check_clean

# second run: the entry (renamed from its staging directory) restores
run_st 0 run r.yaml --json r2.jsonl -j2
grep -q 'from the cache: setup skipped' err || fail "second run missed the cache: $(cat err)"
for t in image setup-seen own-writes-1 own-writes-2; do expect_status r2.jsonl $t pass; done

# the image rebuilt with other content: a miss, and the tests see it
echo image-v2 > "$tree/etc/marker"
rm root.ext4
"$SMOLTEST" image rootfs --from "$tree" --format ext4 -o "$WORK/root.ext4" || fail "rebuild failed"
run_st 1 run r.yaml --json r3.jsonl -j2
grep -q 'from the cache' err && fail "a changed rootfs was a cache hit: $(cat err)"
expect_status r3.jsonl image fail
expect_status r3.jsonl setup-seen pass
check_clean

# erofs: read-only by design, the same overlay above it
echo image-erofs > "$tree/etc/marker"
"$SMOLTEST" image rootfs --from "$tree" --format erofs -o "$WORK/root.erofs" ||
	fail "smoltest image rootfs (erofs) failed"
cat > e.yaml <<YAML
name: rootfs-erofs
backend: vm
vm: { rootfs: root.erofs }
tests:
  - { name: image, run: "grep -qx image-erofs /etc/marker && echo w > /etc/w && grep -q erofs /proc/filesystems" }
YAML
run_st 0 run e.yaml --json e.jsonl
expect_status e.jsonl image pass
check_clean
done_pass
