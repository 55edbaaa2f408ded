#!/usr/bin/env bash
# Integration test for `smoltest image build` on the real Debian cloud kernel
# package. The image cannot boot on the development machines (DESIGN.md),
# so it is checked thoroughly on the host, mostly with tools independent of
# the builder: cpio, zstd/gzip, file, binutils' objcopy, dpkg-deb and tar.
#
#   run.sh SMOLTEST CHECK_IMAGE [AGENT]
#
# AGENT is the static smoltest-agent to install as /init; when it is not
# built (or not static), busybox stands in so the builder is still tested.
# Exits 77 (skip) only when the Debian archive cannot be reached and no
# kernel package is cached.
set -euo pipefail

smoltest=$1 checker=$2 agent=${3:-}
src=${SMOL_SOURCE_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)}
busybox=/bin/busybox
fail() { echo "FAIL: $*" >&2; exit 1; }

for tool in cpio zstd gzip file objcopy dpkg-deb tar; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (ci/bootstrap installs it)"; exit 77; }
done
[ -x "$busybox" ] || { echo "SKIP: no static $busybox (install busybox-static)"; exit 77; }
if [ -z "$agent" ] || [ ! -x "$agent" ]; then
  echo "note: smoltest-agent is not built; busybox stands in as /init"
  agent=$busybox
elif ! file -L "$agent" | grep -Eq 'statically linked|static-pie linked'; then
  echo "note: $agent is not static (SMOL_STATIC_AGENT=OFF?); busybox stands in as /init"
  agent=$busybox
fi

# A cached package is enough for the test (asking apt costs seconds); the
# first run downloads it.
set +e
deb=$("$src/ci/fetch-kernel" --offline 2>/dev/null)
rc=$?
[ "$rc" -eq 0 ] || { deb=$("$src/ci/fetch-kernel"); rc=$?; }
set -e
if [ "$rc" -eq 75 ]; then
  echo "SKIP: the Debian archive is unreachable and no kernel package is cached"
  exit 77
fi
[ "$rc" -eq 0 ] || fail "ci/fetch-kernel failed ($rc)"
echo "kernel package: $deb"

work=$(mktemp -d "${TMPDIR:-/tmp}/smol-image-test.XXXXXX")
trap 'rm -rf "$work"' EXIT

required="virtio virtio_ring virtio_mmio virtio_blk vsock vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport fuse virtiofs overlay"

# check_build DIR COMPRESS EXTRA_MODULES
check_build() {
  local out=$1 comp=$2 extra=$3
  "$checker" "$out" || fail "check_image found problems in $out"
  cmp -s "$out/vmlinuz" "$ref_vmlinuz" || fail "$out/vmlinuz differs from the package's kernel"

  # Unpack with cpio(1), not libarchive.
  local root=$out.root
  mkdir -p "$root"
  case $comp in
    zstd) zstd -dcq "$out/initrd" ;;
    gzip) gzip -dc "$out/initrd" ;;
  esac > "$out/initrd.cpio"
  head -c 6 "$out/initrd.cpio" | grep -q '^070701$' || fail "initrd is not a newc cpio (magic)"
  cpio -t --quiet < "$out/initrd.cpio" > "$out/list" || fail "cpio -t cannot list the initrd"
  # Device nodes need root to create: leave them out and check the listing.
  (cd "$root" && cpio -idm --quiet --no-absolute-filenames --no-preserve-owner \
    --nonmatching 'dev/console' < "$out/initrd.cpio") || fail "cpio cannot unpack the initrd"
  cpio -tv --quiet < "$out/initrd.cpio" > "$out/listv" || fail "cpio -tv cannot list the initrd"
  grep -Eq '^c.* 5, +1 .* dev/console$' "$out/listv" || fail "/dev/console (char 5:1) is missing"

  [ -x "$root/init" ] || fail "/init is not executable"
  file -L "$root/init" | grep -Eq 'statically linked|static-pie linked' || fail "/init is not static: $(file "$root/init")"
  file -L "$root/bin/busybox" | grep -Eq 'statically linked|static-pie linked' || fail "busybox is not static"
  for d in proc sys dev tmp run mnt etc/smoltest; do
    [ -d "$root/$d" ] || fail "mount point /$d is missing"
  done

  # Every applet busybox reports is a link to it (unless a real file is
  # there). One find for all links instead of a readlink per applet.
  local n=0 applet
  declare -A links=()
  while IFS=' ' read -r applet target; do
    links[$applet]=$target
  done < <(cd "$root" && find . -type l -printf '%P %l\n')
  while read -r applet; do
    [ -n "$applet" ] || continue
    if [ -n "${links[$applet]:-}" ]; then
      [ "${links[$applet]}" = /bin/busybox ] || fail "/$applet does not point to /bin/busybox"
      n=$((n + 1))
    elif [ ! -f "$root/$applet" ]; then
      fail "busybox applet link /$applet is missing"
    fi
  done < <("$busybox" --list-full)
  for a in bin/sh bin/mount sbin/insmod bin/cat; do
    [ -L "$root/$a" ] || fail "/$a is missing"
  done
  echo "busybox: $n applet links"

  # Load order: each module's dependencies (read with objcopy, not the
  # builder's parser) are loaded before it or built into the kernel, every
  # module is byte-identical to the package's, and every wanted module is
  # loaded or built in.
  local pos=0 order="" line name deps dep
  declare -A at=()
  local listed
  while read -r line listed; do
    [ -n "$line" ] || continue
    pos=$((pos + 1))
    [ -f "$root$line" ] || fail "$line is in /etc/smoltest/modules but not in the initrd"
    objcopy -O binary -j .modinfo "$root$line" "$out/modinfo.bin" || fail "objcopy cannot read $line"
    name=$(tr '\0' '\n' < "$out/modinfo.bin" | sed -n 's/^name=//p')
    deps=$(tr '\0' '\n' < "$out/modinfo.bin" | sed -n 's/^depends=//p')
    [ -n "$name" ] || name=$(basename "$line" .ko | tr - _)
    # The dependencies the list gives the agent are the module's own.
    [ "$(echo $listed | tr ' ' '\n' | sort | tr '\n' ,)" = "$(echo ${deps//,/ } | tr ' ' '\n' | sort | tr '\n' ,)" ] ||
      fail "/etc/smoltest/modules gives $name the dependencies '$listed', .modinfo says '$deps'"
    for dep in ${deps//,/ }; do
      dep=${dep//-/_}
      if [ -z "${at[$dep]:-}" ]; then
        grep -Eq "/${dep}\.ko" "$builtin" 2>/dev/null || grep -Eq "/${dep//_/[-_]}\.ko" "$builtin" ||
          fail "module $name is loaded before its dependency $dep"
      fi
    done
    at[$name]=$pos
    order="$order $name"
    local pkgfile
    pkgfile=$(ls "$work"/pkg/{,usr/}lib/modules/*/"${line#/lib/modules/*/}"* 2>/dev/null | head -n1 || true)
    [ -n "$pkgfile" ] || fail "$line has no counterpart in the package"
    case $pkgfile in
      *.ko) cmp -s "$pkgfile" "$root$line" || fail "$line differs from $pkgfile" ;;
      *.ko.xz) xz -dc "$pkgfile" | cmp -s - "$root$line" || fail "$line differs from $pkgfile" ;;
      *.ko.zst) zstd -dcq "$pkgfile" | cmp -s - "$root$line" || fail "$line differs from $pkgfile" ;;
    esac
  done < "$root/etc/smoltest/modules"
  local want
  for want in $required ${extra//,/ }; do
    want=${want//-/_}
    [ -n "${at[$want]:-}" ] && continue
    grep -Eq "/${want//_/[-_]}\.ko" "$builtin" || fail "required module $want is neither loaded nor built in"
    grep -q "^builtin $want\$" "$out/manifest" || fail "built-in $want is not recorded in the manifest"
  done
  echo "load order:$order"
}

# 1. The default image, zstd.
start=$(date +%s.%N)
"$smoltest" image build --kernel-deb "$deb" --agent "$agent" --busybox "$busybox" -o "$work/zstd"
end=$(date +%s.%N)
echo "build (zstd): $(echo "$end - $start" | bc 2>/dev/null || echo "?") s"

# 2. gzip, with extra modules: dependencies found on real data, a dash in a
#    name, and a module that is built into the cloud kernel.
extra="btrfs,virtio-net,dm-mod,ext4"
"$smoltest" image build -q --kernel-deb "$deb" --agent "$agent" --busybox "$busybox" \
  --compress gzip --modules "$extra" -o "$work/gzip"

# The package's own kernel, modules.builtin and the modules both builds took,
# unpacked by dpkg-deb + tar as the reference (one pass, only those files).
mkdir -p "$work/pkg"
{
  sed -n 's/^vmlinuz .* source=\([^ ]*\).*/.\/\1/p' "$work/zstd/manifest"
  sed -n 's/^file .* source=\(lib\/[^ ]*\|usr\/lib\/[^ ]*\).*/.\/\1/p' "$work/zstd/manifest" "$work/gzip/manifest"
  dpkg-deb -c "$deb" | awk '{print $NF}' | grep -E '/modules\.builtin$' || true
} | sort -u > "$work/pkg.list"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work/pkg" -T "$work/pkg.list" ||
  fail "cannot unpack the reference files from $deb"
ref_vmlinuz=$(ls "$work"/pkg/boot/vmlinuz-* | head -n1)
builtin=$(ls "$work"/pkg/lib/modules/*/modules.builtin "$work"/pkg/usr/lib/modules/*/modules.builtin 2>/dev/null | head -n1 || true)
[ -n "$builtin" ] || echo "note: the package has no modules.builtin"
check_build "$work/zstd" zstd ""
check_build "$work/gzip" gzip "$extra"

# 3. The same inputs give the same bytes (the snapshot cache keys on them).
"$smoltest" image build -q --kernel-deb "$deb" --agent "$agent" --busybox "$busybox" -o "$work/again"
cmp -s "$work/zstd/initrd" "$work/again/initrd" || fail "two builds of the same inputs differ"
cmp -s "$work/zstd/manifest" "$work/again/manifest" || fail "two manifests of the same inputs differ"

# 4. Errors: usage (2), a bad module name and a dynamic /init (3), each with
#    a message that names the problem; nothing is left half-written.
set +e
"$smoltest" image build -o "$work/x" > /dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] || fail "missing --kernel-deb gave exit $rc, want 2"
msg=$("$smoltest" image build --kernel-deb "$deb" --agent "$agent" --modules ../x -o "$work/bad" 2>&1); rc=$?
[ "$rc" -eq 3 ] && [[ $msg == *"../x"* ]] || fail "bad module name: exit $rc, '$msg'"
msg=$("$smoltest" image build --kernel-deb "$deb" --agent /bin/true -o "$work/bad" 2>&1); rc=$?
[ "$rc" -eq 3 ] && [[ $msg == *dynamically* ]] || fail "dynamic agent: exit $rc, '$msg'"
msg=$("$smoltest" image build --kernel-deb "$src/README.md" --agent "$agent" -o "$work/bad" 2>&1); rc=$?
[ "$rc" -eq 3 ] && [[ $msg == *README.md* ]] || fail "not a .deb: exit $rc, '$msg'"
set -e
[ ! -e "$work/bad/initrd" ] || fail "a failed build left $work/bad/initrd"
echo "PASS"
