#!/bin/sh
# Bad input for the vm backend is refused before any VM starts, with one
# line naming the field or file and exit 3: vm.memory too small to boot, a
# share directory that does not exist, a vm.kernel that is not there, a
# vm.rootfs that is missing, not a file or no ext4/erofs image, and
# no kernel package at all (then auto falls back to the sandbox with its
# one warning line), a boot or restore deadline that is not a duration. No
# KVM needed.
set -eu
: "${SMOL_BUILD_DIR:?run through ctest}"
SMOLTEST="$SMOL_BUILD_DIR/smoltest"
fail() { echo "FAIL: $*" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/smoltest-vmbad.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
export TMPDIR="$WORK/tmp" XDG_CACHE_HOME="$WORK/cache" SMOL_KERNEL_CACHE="$WORK/no-kernels"
mkdir -p "$TMPDIR" "$SMOL_KERNEL_CACHE"

# refused WHAT YAML-LINE...: the run exits 3 with exactly one line on
# stderr that contains WHAT
refused() {
	what=$1
	shift
	printf '%s\n' "name: bad" "backend: vm" "$@" "tests: [ { name: t, run: \"true\" } ]" > s.yaml
	set +e
	timeout 60 "$SMOLTEST" run s.yaml >out 2>err
	rc=$?
	set -e
	[ $rc = 3 ] || { cat out err; fail "$what: exit $rc, expected 3"; }
	[ "$(wc -l < err)" = 1 ] || { cat err; fail "$what: more than one line on stderr"; }
	grep -q -- "$what" err || { cat err; fail "the refusal does not say '$what'"; }
}

refused "s.yaml: vm.memory 64M is too small to boot the guest" "vm: { memory: 64M }"
# a missing share host is a suite error (exit 2) found when the suite is
# loaded, before any backend: tests/integration/runner/cli.sh covers it
refused "vm.kernel $WORK/missing-vmlinuz: No such file or directory" \
	"vm: { kernel: $WORK/missing-vmlinuz, initrd: $WORK/missing-initrd }"
refused "vm.kernel is given without vm.initrd" "vm: { kernel: /bin/true }"
refused "vm.rootfs missing.img: No such file or directory" "vm: { rootfs: missing.img }"
echo "not a file system" > text.img
refused "vm.rootfs text.img is neither an ext4 nor an erofs image" "vm: { rootfs: text.img }"
mkdir dir.img
refused "vm.rootfs dir.img is not a regular file" "vm: { rootfs: dir.img }"
refused "run ci/fetch-kernel to download one" "vm: { cpus: 1 }"
grep -q "$SMOL_KERNEL_CACHE" err || fail "the missing kernel message does not name the directory"
SMOLTEST_VM_BOOT_TIMEOUT=soon refused "SMOLTEST_VM_BOOT_TIMEOUT=soon is not a duration" "vm: { cpus: 1 }"
SMOLTEST_VM_RESTORE_TIMEOUT=0s refused "SMOLTEST_VM_RESTORE_TIMEOUT=0s is not a duration" "vm: { cpus: 1 }"
SMOLTEST_KEEP_HUNG=hung refused "SMOLTEST_KEEP_HUNG=hung: not an absolute path to a writable directory" "vm: { cpus: 1 }"
SMOLTEST_KEEP_HUNG=$WORK/missing refused "SMOLTEST_KEEP_HUNG=$WORK/missing: not an absolute path" "vm: { cpus: 1 }"

# auto without a kernel (or without /dev/kvm): the sandbox, one warning line
if [ "$(id -u)" = 0 ] && grep -qw overlay /proc/filesystems; then
	printf '%s\n' "name: auto" "tests: [ { name: t, run: \"true\" } ]" > a.yaml
	timeout 60 "$SMOLTEST" run a.yaml >out 2>err || { cat out err; fail "auto did not fall back"; }
	[ "$(grep -c 'warning: backend auto: using the sandbox backend' err)" = 1 ] ||
		{ cat err; fail "auto: no single warning line"; }
	grep -q "/dev/kvm\|ci/fetch-kernel" err || fail "the warning does not say why: $(cat err)"
	grep -q '(backend sandbox' out || fail "auto did not run the sandbox: $(cat out)"
fi
echo PASS
