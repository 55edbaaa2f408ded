#!/bin/sh
# What a test sees in the sandbox: its own PID 1 (the agent), network (lo
# only), host name, /run and /tmp; the host's rootfs is never written; a
# read-only share cannot be written.
. "$(dirname "$0")/lib.sh"
mkdir ro
echo host > ro/file
cat > iso.yaml <<Y
shares: [ { host: $WORK/ro, guest: /ro, readonly: true } ]
tests:
  - { name: run-is-private, run: "test -z \"\$(ls -A /run)\"" }
  - { name: tmp-is-private, run: "test -z \"\$(ls -A /tmp)\"" }
  - { name: net-is-lo-only, run: "test \"\$(ls /sys/class/net)\" = lo" }
  - { name: pid1-is-agent, run: "case \$(cat /proc/1/comm) in smoltest-agent*) ;; *) exit 1;; esac" }
  - { name: host-name, run: "test \"\$(hostname)\" = host-name" }
  - { name: rootfs-write, run: "echo x > /etc/smoltest-iso-$$ && cat /etc/smoltest-iso-$$" }
  - { name: ro-share, run: "cat /ro/file && ! echo y > /ro/file" }
  - { name: ro-share-new, run: "! touch /ro/new" }
Y
run_st 0 run iso.yaml --json r.jsonl
[ ! -e /etc/smoltest-iso-$$ ] || { rm -f /etc/smoltest-iso-$$; fail "a test wrote the host's /etc"; }
[ "$(cat ro/file)" = host ] && [ ! -e ro/new ] || fail "a read-only share was written"
check_clean
echo PASS
