#!/bin/sh
# `smolvm disk create|freeze|info` on real files: a layer over a base, a
# second layer over the frozen first, refusals (stacking on an unfrozen
# layer, an existing path, a base whose size is not a multiple of 512).
# Usage: disk_cli.sh SMOLVM
set -u
SMOLVM=${1:?usage: disk_cli.sh SMOLVM}
fail() { echo "FAIL: $*"; exit 1; }
T=$(mktemp -d /tmp/smol-disk-cli-XXXXXX)
trap 'rm -rf "$T"' EXIT

truncate -s 8M "$T/base.img"
"$SMOLVM" disk create "$T/l1" --base "$T/base.img" || fail "create l1"
"$SMOLVM" disk info "$T/l1" > "$T/info1" || fail "info l1"
grep -qx 'frozen: no' "$T/info1" || fail "new layer should not be frozen: $(cat "$T/info1")"
grep -qx 'disk-size: 8388608' "$T/info1" || fail "disk size"
grep -qx 'allocated-blocks: 0' "$T/info1" || fail "a new layer has no blocks"
grep -q '^lower: base ' "$T/info1" || fail "lower should be the base"
"$SMOLVM" disk create "$T/l2" --base "$T/base.img" --lower "$T/l1" 2> "$T/err" &&
	fail "stacked on an unfrozen layer"
grep -q 'not frozen' "$T/err" || fail "message should say not frozen: $(cat "$T/err")"
[ ! -e "$T/l2" ] || fail "a failed create left a file"
"$SMOLVM" disk freeze "$T/l1" || fail "freeze"
"$SMOLVM" disk info "$T/l1" | grep -qx 'frozen: yes' || fail "frozen flag"
"$SMOLVM" disk create "$T/l2" --base "$T/base.img" --lower "$T/l1" || fail "create l2"
id1=$("$SMOLVM" disk info "$T/l1" | sed -n 's/^layer-id: //p')
"$SMOLVM" disk info "$T/l2" | grep -qx "lower: layer $id1" || fail "l2 should name l1 as lower"
"$SMOLVM" disk create "$T/l2" --base "$T/base.img" 2>/dev/null && fail "overwrote an existing layer"
truncate -s 1000 "$T/odd.img"
"$SMOLVM" disk create "$T/l3" --base "$T/odd.img" 2> "$T/err" && fail "odd-sized base accepted"
grep -q 'multiple of 512' "$T/err" || fail "odd-size message: $(cat "$T/err")"
printf 'garbage' > "$T/bad"
"$SMOLVM" disk info "$T/bad" 2> "$T/err" && fail "info on garbage"
grep -q 'bad\|shorter' "$T/err" || fail "garbage message: $(cat "$T/err")"
"$SMOLVM" disk 2>/dev/null; [ $? = 2 ] || fail "no subcommand should be a usage error"
echo "disk cli: ok"
