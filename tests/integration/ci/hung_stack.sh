#!/bin/sh
# ci/hung-stack (docs/snapshot.md): names a stuck guest's kernel words with
# the kallsyms of another boot, shifted by the snapshot's lstar. Driven here
# with a stand-in for `smolvm snapshot info` (its real output is checked in
# runner_vm_faults, on a live fork kept by SMOLTEST_KEEP_HUNG); refuses a
# kallsyms file without addresses, one without entry_SYSCALL_64, and a
# snapshot without lstar, each in one line.
set -eu
src=$(cd "$(dirname "$0")/../../.." && pwd)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"
fail() { echo "FAIL: $*"; exit 1; }
# this boot: kernel text at 0xffffffff81000000; the snapshot's boot 0x2a00000 higher
cat > kallsyms <<'K'
ffffffff81000000 T _text
ffffffff81001000 T native_queued_spin_lock_slowpath
ffffffff81002000 T entry_SYSCALL_64
ffffffff81003000 t vring_interrupt
ffffffff81004000 D some_data
K
cat > smolvm <<'S'
#!/bin/sh
cat <<I
snapshot $3
vcpu0        rip 0xffffffff83a01069 rsp 0xffffc90000003e60 rflags 0x46 cr3 0x1000 mp_state 0
             rax 0x1 -> 0x0000000000000101
             cr0 0x80050033 cr4 0x370ef0 efer 0xd01 lstar ${LSTAR:-0xffffffff83a02000}
             stack 0xffffc90000003e60: 0xffffffff83a03042
             stack 0xffffc90000003e68: 0x00007ffc12345678
I
S
chmod +x smolvm
hs() { python3 "$src/ci/hung-stack" "$@" --smolvm ./smolvm >out 2>&1; }
hs s.smolsnap --kallsyms kallsyms || { cat out; fail "exit $?"; }
grep -q '^(KALLSYMS + 0x2a00000: the snapshot.s lstar 0xffffffff83a02000 less entry_SYSCALL_64 0xffffffff81002000)$' out ||
	fail "the shift: $(head -1 out)"
grep -q 'rip 0xffffffff83a01069 .*<native_queued_spin_lock_slowpath+0x69>' out || fail "rip not named: $(cat out)"
grep -q 'stack 0xffffc90000003e60: 0xffffffff83a03042   <vring_interrupt+0x42>$' out ||
	fail "stack word not named: $(cat out)"
grep '0x00007ffc12345678' out | grep -q '<' && fail "a user address was named: $(cat out)"
# refusals
printf '0000000000000000 T _text\n0000000000000000 T entry_SYSCALL_64\n' > hidden
hs s.smolsnap --kallsyms hidden && fail "kallsyms without addresses accepted"
grep -q "hidden: no text symbols with addresses (read it as root)" out || fail "$(cat out)"
printf 'ffffffff81000000 T _text\n' > noentry
hs s.smolsnap --kallsyms noentry && fail "kallsyms without entry_SYSCALL_64 accepted"
grep -q "noentry has no entry_SYSCALL_64" out || fail "$(cat out)"
LSTAR=0x0 hs s.smolsnap --kallsyms kallsyms && fail "a snapshot without lstar accepted"
grep -q "s.smolsnap has no lstar" out || fail "$(cat out)"
hs s.smolsnap --kallsyms missing && fail "a missing kallsyms accepted"
grep -q "ci/hung-stack: missing: " out || fail "$(cat out)"
echo "PASS: ci/hung-stack"
