#!/bin/sh
# A guest whose agent never says HELLO: the template boots a kernel whose
# /init prints one line and sleeps instead of starting the agent. The run
# gives up at its deadline (SMOLTEST_VM_BOOT_TIMEOUT, short here), exits 3
# with one error naming the unreachable agent and the console's last lines,
# and leaves no smolvm process, run directory or socket behind.
. "$(dirname "$0")/lib.sh"
# this guest's silence is the test: not a hung VM to keep (ci/test sets it)
unset SMOLTEST_KEEP_HUNG

bb=$(command -v busybox) || skip "no busybox"
# the package's kernel, unpacked once into the tests' shared image directory
kernel=$SMOL_BUILD_DIR/vm-test-images/noagent-$(basename "$deb" .deb).vmlinuz
if [ ! -s "$kernel" ]; then
	mkdir k
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C k --wildcards './boot/vmlinuz-*'
	mv k/boot/vmlinuz-* "$kernel.$$"
	mv "$kernel.$$" "$kernel"
fi
mkdir -p i/bin i/dev
cp "$bb" i/bin/busybox
printf '%s\n' '#!/bin/busybox sh' \
	'/bin/busybox echo "noagent-init: this guest runs no agent"' \
	'exec /bin/busybox sleep 100000' > i/init
chmod 755 i/init
(cd i && find . | cpio -o -H newc --quiet) > initrd
cat > s.yaml <<Y
name: noagent
backend: vm
vm: { kernel: $kernel, initrd: $WORK/initrd, memory: 256M, cmdline: "loglevel=6" }
tests:
  - { name: never-runs, run: [ "true" ] }
Y
deadline=60
t0=$(date +%s)
SMOLTEST_VM_BOOT_TIMEOUT=${deadline}s run_st 3 run s.yaml
took=$(($(date +%s) - t0))
grep -q "agent of .*template.* is unreachable" err || { cat out err; fail "the error does not name the agent"; }
# the kernel's lines (loglevel=6), and the init's once it ran: how far an
# emulated CPU gets in the deadline varies with the load
grep -q "console: [^ ]" err || { cat out err; fail "the error does not show the console's last lines"; }
# the deadline counts from the VM's start; the run's own start and
# teardown come on top
[ "$took" -le $((deadline + 60)) ] || fail "the run took ${took}s for a ${deadline}s deadline"
check_clean
done_pass
