#!/bin/sh
# The agent's VM-init path, on the host: PID 1 of fresh PID, mount and
# network namespaces with /proc unmounted, as in an initramfs. Checks that it
# mounts the early file systems, brings lo up, reaps orphans, and runs EXECs.
#   vm_init.sh SMOLTEST AGENT
set -u
smoltest=$1
agent=$2
if [ "$(id -u)" != 0 ] || ! unshare --help 2>/dev/null | grep -q -- --kill-child; then
  echo "SKIP: needs root and unshare(1) with --kill-child"
  exit 77
fi
# Not under /tmp, /run or /dev: the agent mounts fresh file systems there.
dir=$(mktemp -d /var/tmp/smol-vm-init-XXXXXX)
sock=$dir/a.sock
unshare --mount --propagation private --pid --fork --kill-child --net --uts \
  sh -c 'umount -l /proc && exec "$0" --listen "unix:$1"' "$agent" "$sock" 2>"$dir/agent.log" &
upid=$!
# unshare ignores SIGTERM while it waits; SIGKILL makes --kill-child kill
# the agent (and with it the PID namespace).
trap 'kill -KILL $upid 2>/dev/null; wait $upid 2>/dev/null; rm -rf "$dir"' EXIT
i=0
while [ ! -S "$sock" ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
if [ ! -S "$sock" ]; then
  if grep -q "Operation not permitted" "$dir/agent.log"; then
    echo "SKIP: namespaces not permitted here"; exit 77
  fi
  echo "not ok - agent did not listen"; cat "$dir/agent.log"; exit 1
fi
fails=0
check() { # NAME WANT SCRIPT
  got=$("$smoltest" exec --agent "unix:$sock" --shell -- "$3" 2>&1)
  if [ "$got" = "$2" ]; then echo "ok - $1"
  else echo "not ok - $1: got '$got' want '$2'"; fails=$((fails + 1)); fi
}
check "agent is PID 1" 1 'tr "\0" "\n" < /proc/1/cmdline | head -1 | grep -c "smoltest-agent[^/]*$"'
# Each early mount is on top of its mount point and was made after /proc
# (our proc: the inherited one was unmounted), i.e. by the agent itself.
for m in "/sys sysfs" "/dev devtmpfs" "/dev/pts devpts" "/dev/shm tmpfs" "/tmp tmpfs" "/run tmpfs" "/sys/fs/cgroup cgroup2"; do
  set -- $m
  check "agent mounted $2 on $1" new "awk -v mp=$1 -v fs=$2 '\$5 == \"/proc\" { p = \$1 + 0 } \$5 == mp { id = \$1 + 0; split(\$0, h, \" - \"); split(h[2], t, \" \"); ty = t[1] } END { print (id >= p && ty == fs) ? \"new\" : \"old \" id \" \" p \" \" ty }' /proc/self/mountinfo"
done
check "proc is this PID namespace's" 1 'ls /proc | grep -c "^1$"'
check "lo is up" 1 'echo $(( $(cat /sys/class/net/lo/flags) & 1 ))'
check "orphans are reaped" 0 '(sleep 0.1 &); (sh -c "sleep 0.1 &" &); sleep 0.5; grep -l "^State:.*Z" /proc/[0-9]*/status 2>/dev/null | wc -l'
check "EXEC in a writable /tmp" ok 'echo ok > /tmp/x && cat /tmp/x'
# SIGTERM does not stop a VM's init (only SHUTDOWN does).
apid=$(cat /proc/$upid/task/$upid/children 2>/dev/null | awk '{print $1}')
if [ -n "$apid" ]; then
  kill -TERM "$apid"
  sleep 0.3
  check "still serving after SIGTERM" ok 'echo ok'
fi
[ $fails -eq 0 ] || { echo "# agent log:"; sed 's/^/#   /' "$dir/agent.log"; }
exit $((fails > 0))
