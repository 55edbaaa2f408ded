#!/bin/sh
# Escapes from a writable virtio-fs share, from a real Linux guest through
# the vm backend (issue 14 item 4): symlinks to / and climbing ones, '..'
# through a bind mount of a share directory, hard links to host files
# outside the share (the canary, shared read-only at /outside), device nodes and FIFOs made in the share, and
# renames racing the guest's opens: the guest's own (a directory swapped
# for a symlink to /outside) and the host's
# (the same swap, with absolute and climbing symlinks, under the guest's
# cached directory). The canary file outside the share keeps its content
# and mtime, no hard link or device node appears in the share, and nothing
# outside the share is written on the host.
# Opt-in for now (SMOL_STRESS=1 ctest -L stress): inside ci/vmhost the
# escape test ran past its 300 s limit (slow, or stuck: not yet known).
[ "${SMOL_STRESS:-0}" = 1 ] || { echo "SKIP: opt-in: SMOL_STRESS=1 ctest -L stress"; exit 77; }
. "$(dirname "$0")/lib.sh"
mkdir share share/race outside
echo canary > outside/canary
touch -d '2020-01-01 00:00:00' outside/canary
c_sum=$(md5sum < outside/canary) c_mtime=$(stat -c %Y outside/canary)
cat > fs.yaml <<Y
name: fsescape
backend: vm
timeout: 300s
shares:
  - { host: $WORK/share, guest: /share, readonly: false }
  - { host: $WORK/outside, guest: /outside, readonly: true }
tests:
  - name: escape
    cwd: /share
    run: |
      set -u
      no() { if "\$@" 2>/dev/null; then echo "ESCAPED? \$*"; bad=1; else echo "refused: \$*"; fi; }
      bad=0
      ln -s / root && ln -s ../../../../../../.. up && ln -s /outside out
      echo pwn > root/outside/canary; echo pwn > up/outside/canary; echo pwn > out/canary
      mkdir -p sub/deep /mnt/b && mount --bind /share/sub /mnt/b && echo pwn > /mnt/b/../canary
      no ln /outside/canary hard
      no ln root/outside/canary hard2
      no mknod null c 1 3
      no mknod sda b 8 0
      no mknod fifo p
      i=0; while [ \$i -lt 20 ]; do
        mv race race.x 2>/dev/null; ln -sfn /outside race; rm -f race; mv race.x race 2>/dev/null
        i=\$((i + 1)); done &
      i=0; while [ \$i -lt 20 ]; do
        echo pwn > race/canary 2>/dev/null; cat race/canary > /dev/null 2>&1
        true > race/new-\$i 2>/dev/null; i=\$((i + 1)); done
      wait
      touch /share/guest-done
      i=0; while [ \$i -lt 40 ]; do
        echo pwn > race/canary 2>/dev/null; cat race/canary race/x/canary > /dev/null 2>&1
        ls race > /dev/null 2>&1; i=\$((i + 1)); done
      exit \$bad
Y
touch marker
sleep 1
# the host's half of the race: swaps the share's race/ for symlinks that
# leave the share (absolute and climbing) while the guest writes through it
(
	cd "$WORK/share"
	while [ ! -e guest-done ]; do sleep 0.2; [ -e "$WORK/stop-racer" ] && exit 0; done
	i=0
	while [ $i -lt 200 ] && [ ! -e "$WORK/stop-racer" ]; do
		mv race race.h 2>/dev/null; ln -sfn "$WORK/outside" race; rm -f race
		ln -sfn ../outside race; rm -f race; mv race.h race 2>/dev/null
		i=$((i + 1))
	done
) &
BG=$!
set +e
timeout -k 5 500 "$SMOLTEST" run fs.yaml --json r.jsonl >out 2>err
rc=$?
set -e
touch stop-racer
wait $BG || true
BG=""
[ $rc = 0 ] || { cat out err; fail "smoltest run fs.yaml exited $rc, expected 0"; }
expect_status r.jsonl escape pass
# nothing outside the share was read-modified or written
[ "$(md5sum < outside/canary)" = "$c_sum" ] || fail "the canary outside the share was written: $(cat outside/canary)"
[ "$(stat -c %Y outside/canary)" = "$c_mtime" ] || fail "the canary's mtime changed"
[ "$(ls outside)" = canary ] || fail "files appeared next to the canary: $(ls outside)"
[ ! -e share/hard ] && [ ! -e share/hard2 ] || fail "a hard link to a host file outside the share was made"
dev=$(find share \( -type b -o -type c -o -type p \) -print)
[ -z "$dev" ] || fail "device nodes were created in the share: $dev"
[ ! -e share/canary ] || fail "a write through the bind mount's '..' landed in the share"
[ -d share/race ] || fail "share/race is gone"
written=$(find "$WORK" -newer marker ! -type d | grep -v -e "^$WORK/share/" -e "^$WORK/cache/" \
	-e "^$WORK/r.jsonl$" -e "^$WORK/out$" -e "^$WORK/err$" -e "^$WORK/stop-racer$" || true)
[ -z "$written" ] || fail "files were written on the host outside the share: $written"
check_clean
sed -n 's/.*"stdout":"\([^"]*\)".*/\1/p' r.jsonl | sed 's/\\n/\n/g' | grep -E 'refused|ESCAPED' || true
done_pass
