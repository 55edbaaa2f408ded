#!/bin/sh
# virtio-fs under load from a real Linux guest (issue 14 item 2): every
# stressor of `stress-ng --class filesystem` (one after another, with
# --verify) and four parallel fio jobs with crc32c verification, on a
# writable virtio-fs share and on the guest's tmpfs, in the same run. The
# two must agree: a stressor that passes on tmpfs passes on virtio-fs, fio
# verifies on both, the share holds nothing afterwards that the guest did
# not leave, and no smolvm fork dies. Long (minutes of emulated time), so
# not in the kvm tier and opt-in: SMOL_STRESS=1 ctest -L stress (inside
# ci/vmhost without /dev/kvm). STRESS_SECONDS sets each stressor's time
# (default 1).
[ "${SMOL_STRESS:-0}" = 1 ] || { echo "SKIP: opt-in: SMOL_STRESS=1 ctest -L stress"; exit 77; }
. "$(dirname "$0")/lib.sh"
command -v stress-ng >/dev/null && command -v fio >/dev/null ||
	skip "stress-ng or fio is not installed (ci/bootstrap)"
s=${STRESS_SECONDS:-1}
mkdir share
cat > fs.yaml <<Y
name: fsstress
backend: vm
parallel: 1
timeout: 900s
vm: { memory: 1G }
shares: [ { host: $WORK/share, guest: /share, readonly: false } ]
x-stress: &stress |
  mkdir -p "\$D/ng" && cd "\$D/ng"
  stress-ng --class filesystem --seq 1 -t $s --verify --temp-path "\$D/ng" \
    --exclude binderfs,fanotify,verity,bind-mount,inode-flags,chattr,handle,ioprio \
    --metrics-brief 2>&1 | tee "/share/ng-\$N.log"
x-fio: &fio |
  mkdir -p "\$D/fio" && cd "\$D/fio"
  fio --name=par --directory="\$D/fio" --numjobs=4 --size=8m --bs=4k --rw=randrw \
    --ioengine=psync --verify=crc32c --do_verify=1 --group_reporting \
    --output-format=terse > "/share/fio-\$N.terse" && echo "fio \$N: ok"
tests:
  - { name: stress-tmpfs, env: { D: /tmp/t, N: tmpfs }, run: *stress }
  - { name: stress-virtiofs, env: { D: /share/d, N: virtiofs }, run: *stress }
  - { name: fio-tmpfs, env: { D: /tmp/t, N: tmpfs }, run: *fio }
  - { name: fio-virtiofs, env: { D: /share/d, N: virtiofs }, run: *fio }
Y
set +e
timeout -k 5 1800 "$SMOLTEST" run fs.yaml --json r.jsonl >out 2>err
rc=$?
set -e
cat out
for t in fio-tmpfs fio-virtiofs; do expect_status r.jsonl $t pass; done
# each stressor that failed ("stress-ng: fail: [pid] NAME: ..."), per file system
for f in share/ng-tmpfs.log share/ng-virtiofs.log; do
	[ -s "$f" ] || fail "no stress-ng log $f: $(cat err)"
	grep -q 'run completed' "$f" || fail "stress-ng did not finish: $f"
done
failed() {
	sed -n 's/^stress-ng: fail: *\[[0-9]*\] \([a-z0-9-]*\).*/\1/p' "$1" | sort -u
}
f_tmp=$(failed share/ng-tmpfs.log)
f_vfs=$(failed share/ng-virtiofs.log)
echo "stress-ng: failed on tmpfs: ${f_tmp:-none}; on virtio-fs: ${f_vfs:-none}"
only=$(echo "$f_vfs" | grep -vxF "$f_tmp" | grep . || true)
[ -z "$f_tmp" ] && only=$f_vfs
[ -z "$only" ] || fail "stressors that fail on virtio-fs only: $only (see share/ng-virtiofs.log)"
[ $rc = 0 ] || [ $rc = 1 ] || fail "smoltest exited $rc: $(cat err)"
expect_status r.jsonl stress-virtiofs "$(final_status r.jsonl stress-tmpfs)"
check_clean
done_pass
