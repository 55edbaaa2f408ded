#!/usr/bin/env bash
# Integration test for `smoltest image rootfs`: a docker-save tarball to ext4,
# an OCI image layout to erofs, a directory to both, each read back with the
# file system's own tools (debugfs rdump, fsck.erofs --extract); then hostile
# tarballs, which must fail without touching anything outside.
#
#   rootfs.sh SMOLTEST
set -euo pipefail

smoltest=$1
fail() { echo "FAIL: $*" >&2; exit 1; }
for tool in mke2fs debugfs mkfs.erofs fsck.erofs tar gzip sha256sum; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (e2fsprogs, erofs-utils)"; exit 77; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/smol-rootfs-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

# Two layers: the second hides a/ of the first (opaque), deletes etc/passwd
# and adds a hard link.
mkdir -p l1/bin l1/etc l1/a/sub l2/a l2/etc
echo sh > l1/bin/sh
echo root > l1/etc/passwd
echo x > l1/a/x
echo y > l1/a/sub/y
ln -s /etc/passwd l1/link
echo z > l2/a/z
: > l2/a/.wh..wh..opq
: > l2/etc/.wh.passwd
tar -C l1 -cf layer1.tar .
tar -C l2 -czf layer2.tar.gz .

# docker save layout.
mkdir -p docker/l1 docker/l2
cp layer1.tar docker/l1/layer.tar
cp layer2.tar.gz docker/l2/layer.tar
printf '[{"Config":"c.json","RepoTags":["t:1"],"Layers":["l1/layer.tar","l2/layer.tar"]}]' > docker/manifest.json
tar -C docker -cf docker.tar .

# OCI image layout (pretty-printed with tabs, like Go writes it).
mkdir -p oci/blobs/sha256
h1=$(sha256sum layer1.tar | cut -d' ' -f1)
h2=$(sha256sum layer2.tar.gz | cut -d' ' -f1)
cp layer1.tar "oci/blobs/sha256/$h1"
cp layer2.tar.gz "oci/blobs/sha256/$h2"
printf '{\n\t"schemaVersion": 2,\n\t"layers": [\n\t\t{"digest": "sha256:%s"},\n\t\t{"digest": "sha256:%s"}\n\t]\n}\n' "$h1" "$h2" > man.json
hm=$(sha256sum man.json | cut -d' ' -f1)
cp man.json "oci/blobs/sha256/$hm"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","platform":{"os":"linux","architecture":"amd64"}}]}' "$hm" > oci/index.json
echo '{"imageLayoutVersion":"1.0.0"}' > oci/oci-layout
tar -C oci -cf oci.tar .

# check_tree DIR: the merged view of the two layers.
check_tree() {
  local d=$1
  [ "$(cat "$d/bin/sh")" = sh ] || fail "$d: bin/sh"
  [ "$(cat "$d/a/z")" = z ] || fail "$d: a/z missing"
  [ ! -e "$d/a/x" ] && [ ! -e "$d/a/sub" ] || fail "$d: opaque a/ still shows the lower layer"
  [ ! -e "$d/etc/passwd" ] && [ -d "$d/etc" ] || fail "$d: etc/passwd was not whited out"
  [ "$(readlink "$d/link")" = /etc/passwd ] || fail "$d: link"
  [ -z "$(find "$d" -name '.wh.*')" ] || fail "$d: whiteout files leaked into the image"
}

"$smoltest" image rootfs --from docker.tar --format ext4 -o docker.ext4
mkdir -p ext && debugfs -R "rdump / $work/ext" docker.ext4 >/dev/null 2>&1
check_tree ext
if [ "$(id -u)" -eq 0 ]; then # owners are kept only when running as root
  debugfs -R "stat /bin/sh" docker.ext4 2>/dev/null | grep -q 'User:     0' || fail "ext4: bin/sh is not owned by root"
fi

"$smoltest" image rootfs --from oci.tar --format erofs -o oci.erofs
fsck.erofs --extract="$work/ero" oci.erofs >/dev/null || fail "fsck.erofs rejects the image"
check_tree ero

# A directory, both formats.
mkdir -p tree/usr/bin && echo hello > tree/usr/bin/hello
"$smoltest" image rootfs -q --from tree --format ext4 --size 16M -o tree.ext4
[ "$(stat -c %s tree.ext4)" -eq $((16 << 20)) ] || fail "--size 16M was not honoured"
debugfs -R "cat /usr/bin/hello" tree.ext4 2>/dev/null | grep -q hello || fail "tree.ext4 lacks usr/bin/hello"
"$smoltest" image rootfs -q --from tree --format erofs -o tree.erofs
fsck.erofs --extract="$work/tree-ero" tree.erofs >/dev/null || fail "fsck.erofs rejects tree.erofs"
cmp -s tree/usr/bin/hello tree-ero/usr/bin/hello || fail "tree.erofs lacks usr/bin/hello"

# Hostile inputs: exit 3, a message naming the problem, nothing written
# outside the work directory, no output file, no temporary files left.
mkdir -p victim
expect_fail() { # NAME EXPECTED-MESSAGE ARGS...
  local name=$1 want=$2 msg rc
  shift 2
  set +e
  msg=$("$smoltest" image rootfs "$@" 2>&1); rc=$?
  set -e
  [ "$rc" -eq 3 ] || fail "$name: exit $rc, want 3 ($msg)"
  [[ $msg == *"$want"* ]] || fail "$name: message '$msg' lacks '$want'"
}

# A layer entry with "..".
mkdir -p evil1/l
printf 'x' > evil1/x
tar -C evil1 -cPf evil1/l/layer.tar --transform 's|^x$|../../victim/pwned|' x
printf '[{"Layers":["l/layer.tar"]}]' > evil1/manifest.json
tar -C evil1 -cf evil1.tar manifest.json l
expect_fail dotdot "leaves the root" --from evil1.tar --format ext4 -o evil1.ext4
[ ! -e victim/pwned ] && [ ! -e evil1.ext4 ] || fail "dotdot layer wrote something"

# manifest.json pointing outside the tarball.
mkdir -p evil2 && printf '[{"Layers":["../../../etc/passwd"]}]' > evil2/manifest.json
tar -C evil2 -cf evil2.tar manifest.json
expect_fail traversal "not a clean relative path" --from evil2.tar --format erofs -o evil2.erofs

# A layer that is a symlink to a host file.
mkdir -p evil3/l && ln -s /etc/passwd evil3/l/layer.tar
printf '[{"Layers":["l/layer.tar"]}]' > evil3/manifest.json
tar -C evil3 -cf evil3.tar manifest.json l
expect_fail symlinked-layer "layer l/layer.tar" --from evil3.tar --format ext4 -o evil3.ext4

# An OCI index pointing at a nested index that is malformed.
mkdir -p evil4/blobs/sha256
printf '{"manifests": 5}' > nested.json
hn=$(sha256sum nested.json | cut -d' ' -f1)
cp nested.json "evil4/blobs/sha256/$hn"
printf '{"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:%s"}]}' "$hn" > evil4/index.json
tar -C evil4 -cf evil4.tar .
expect_fail nested-index "blobs/sha256/$hn" --from evil4.tar --format erofs -o evil4.erofs

# Not an image at all, and an unknown format.
expect_fail plain-tar "neither a docker save" --from layer1.tar --format ext4 -o x.ext4
set +e; "$smoltest" image rootfs --from tree --format xfs -o x.img >/dev/null 2>&1; rc=$?; set -e
[ "$rc" -eq 2 ] || fail "--format xfs gave exit $rc, want 2"

[ -z "$(ls -A victim)" ] || fail "something was written into victim/"
[ -z "$(find . -maxdepth 1 -name '.smol-rootfs.*' -o -maxdepth 1 -name '*.tmp.*')" ] ||
  fail "temporary files were left behind"
echo PASS
