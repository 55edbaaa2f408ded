#!/bin/sh
# Escapes from a writable virtio-fs share, from a real Linux guest through
# the vm backend (issue 14 item 4). A canary file sits next to the share on
# the host ($WORK/outside/canary, not shared), and the guest knows its host
# path. The guest tries to reach it through the share: symlinks to / and to
# the canary's host path, climbing ones, '..' through bind mounts of share
# directories, hard links to it, device nodes and FIFOs made in the share,
# setuid files, and renames racing its opens (the guest's own swaps
# of a directory for symlinks out of the share, and the host's, under the
# guest's cached directory). Every attempt must fail in the guest, and on
# the host the canary keeps its content, mtime, atime (nothing read it) and
# link count, nothing appears beside it, the share holds no device node,
# FIFO, socket or setuid/setgid file, and nothing else on the host is
# written. The symlink, hard link and device node checks each fail against
# a server that follows symlinks and makes any node (shown once with
# vfs_lookup_at's openat2 replaced by a following openat, and MKNOD taking
# every mode: 28 ESCAPED lines, the canary's atime, mtime and link count
# changed). '..' through a bind mount and the guest's own renames are
# resolved by the guest's VFS; the server's refusal of '..' and of names
# with '/' is unit/fuse's. Inside ci/vmhost (TCG, one emulated CPU) it
# passed in 30-47 s.
. "$(dirname "$0")/lib.sh"
RACE_S=${HOSTILE_FS_RACE_S:-6}
mkdir share share/race outside
echo canary > outside/canary
c_sum=$(md5sum < outside/canary)
touch -d '2020-01-01 00:00:00' outside/canary outside
c_stat=$(stat -c '%X %Y %h %i' outside/canary)
# The atime check proves nothing where reads leave atime alone (noatime).
echo probe > probe && touch -d '2020-01-01 00:00:00' probe && cat probe > /dev/null
atime_works=0
[ "$(stat -c %X probe)" != "$(stat -c %X outside/canary)" ] && atime_works=1
rm probe
cat > fs.yaml <<Y
name: fsescape
backend: vm
timeout: 120s
shares: [ { host: $WORK/share, guest: /share, readonly: false } ]
tests:
  - name: escape
    cwd: /share
    run: |
      set -u
      W=$WORK
      bad=0
      # Each attempt in a subshell, with builtins where one does the job
      # (read, echo, ':', cd): every exec of a host binary costs dozens
      # of FUSE requests through the root share, slow under an emulated CPU.
      no() { if ( eval "\$1" ) 2>/dev/null; then echo "ESCAPED? \$1"; bad=1; else echo "refused: \$1"; fi; }
      phase() { echo "\$*" >> /share/progress; }
      now() { read -r up _ < /proc/uptime; echo "\${up%.*}"; }
      # The guest's / is the host's, read-only: where \$W shows through it
      # (a TMPDIR outside /tmp), hide it so that only the share can reach it.
      if [ -e "\$W" ]; then mount -t tmpfs hide "\$W"; fi
      phase symlinks \$(now)
      mkdir -p sub/deep sgid || bad=1
      # each on its own: one refused (or failing) must not skip the others
      ln -s / root || bad=1
      ln -s "\$W/outside" abs || bad=1
      ln -s ../outside up1 || bad=1
      ln -s "../../../../../../../../../..\$W/outside" upn || bad=1
      ln -s ../../outside sub/up2 || bad=1
      for x in "root\$W/outside" abs up1 upn sub/up2; do
        no "read -r l < \$x/canary"
        no "echo pwn >> \$x/canary"
        no ": > \$x/new"
        no "cd \$x"
        no "ln \$x/canary hard-\${x##*/}"
      done
      phase bind \$(now)
      mkdir -p /mnt/b && mount --bind /share/sub/deep /mnt/b || bad=1
      no "read -r l < /mnt/b/../../outside/canary"
      no "read -r l < /mnt/b/../../../outside/canary"
      no "cd /mnt/b && read -r l < ../../outside/canary"
      no "cd /mnt/b/../.. && read -r l < outside/canary"
      no "echo pwn >> /mnt/b/../../outside/canary"
      mv /share/sub /share/sub2 || bad=1
      no "read -r l < /mnt/b/../../outside/canary"
      no "cd /mnt/b && echo pwn >> ../../outside/canary"
      umount /mnt/b
      phase nodes \$(now)
      no "mknod null c 1 3"
      no "mknod sda b 8 0"
      no "mknod fifo p"
      : > suid && chmod 6755 suid sgid || bad=1
      phase race \$(now)
      : > /share/race-go
      end=\$((\$(now) + $RACE_S))
      ( while [ \$(now) -lt \$end ]; do
          mv race race.g; ln -sfn ../outside race; ln -sfn "\$W/outside" race
          rm -f race; mv race.g race
        done ) > /dev/null 2>&1 &
      n=0
      while [ \$(now) -lt \$end ]; do
        echo pwn > race/canary; read -r l < race/canary; read -r l < race/x/canary
        true > race/f\$n; n=\$((n + 1)) # not ':': a special builtin's failed redirection ends sh
      done 2> /dev/null
      wait
      : > /share/race-done
      phase done \$(now) \$n
      echo "race: \$n rounds"
      exit \$bad
Y
touch marker
sleep 1
# The host's half of the race: while the guest races, swap the share's
# race/ for symlinks that leave the share (absolute and climbing) under
# the guest's cached directory. -T everywhere: the guest makes race a
# symlink out of the share too, and a mv or ln into it would follow it.
# Waits with builtins and sleep 1: a polling loop of forks starves the
# guest where the test host has one emulated CPU.
(
	cd "$WORK/share"
	while [ ! -e race-go ]; do
		sleep 1
		[ -e "$WORK/stop-racer" ] && exit 0
	done
	while [ ! -e race-done ] && [ ! -e "$WORK/stop-racer" ]; do
		if mv -T race race.h 2>/dev/null; then
			ln -sT "$WORK/outside" race && rm race
			ln -sT ../outside race && rm race
			mv -T race.h race
		fi
	done
) 2>/dev/null &
BG=$!
set +e
timeout -k 5 300 "$SMOLTEST" run fs.yaml --json r.jsonl >out 2>err
rc=$?
set -e
touch stop-racer
wait $BG || true
BG=""
# what the guest saw, then the host's view; stat first: md5sum reads the
# canary (its atime)
sed -n 's/.*"stdout":"\([^"]*\)".*/\1/p' r.jsonl | sed 's/\\n/\n/g' | grep -E 'refused|ESCAPED|race' || true
[ "$(stat -c '%X %Y %h %i' outside/canary)" = "$c_stat" ] ||
	fail "the canary outside the share was touched: atime mtime links inode $(stat -c '%X %Y %h %i' outside/canary), was $c_stat"
[ "$(md5sum < outside/canary)" = "$c_sum" ] || fail "the canary outside the share was written: $(cat outside/canary)"
[ "$(stat -c %Y outside)" = "$(date -d '2020-01-01 00:00:00' +%s)" ] ||
	fail "the directory beside the share was modified: $(ls -la outside)"
[ "$(ls -A outside)" = canary ] || fail "files appeared next to the canary: $(ls -A outside)"
[ $rc = 0 ] || { cat out err share/progress; fail "smoltest run fs.yaml exited $rc, expected 0"; }
expect_status r.jsonl escape pass
nodes=$(find share \( -type b -o -type c -o -type p -o -type s \) -print)
[ -z "$nodes" ] || fail "device nodes, FIFOs or sockets were created in the share: $nodes"
[ -f share/suid ] || fail "share/suid was not created"
suid=$(find share -type f -perm /6000 -print)
[ -z "$suid" ] || fail "setuid/setgid files in the share: $(ls -l $suid)"
[ "$(stat -c %a share/sgid)" = 2755 ] || fail "share/sgid: mode $(stat -c %a share/sgid), want 2755 (setgid on a directory is kept)"
[ "$(find share -samefile outside/canary | wc -l)" = 0 ] || fail "a hard link to the canary is in the share"
written=$(find "$WORK" -newer marker ! -type d | grep -v -e "^$WORK/share/" -e "^$WORK/cache/" \
	-e "^$WORK/r.jsonl$" -e "^$WORK/out$" -e "^$WORK/err$" -e "^$WORK/stop-racer$" || true)
[ -z "$written" ] || fail "files were written on the host outside the share: $written"
[ $atime_works = 1 ] || echo "note: reads do not update atime here ($(stat -f -c %T .)): the canary's atime proves nothing"
check_clean
done_pass
