#!/bin/sh
# The agent that goes into guests: static, no interpreter, under 1 MiB, and
# it runs (--help) with an empty environment.   check_static.sh AGENT
set -u
bin=$1
[ -x "$bin" ] || { echo "not ok - $bin missing: build the smoltest_agent target"; exit 1; }
command -v file >/dev/null || { echo "SKIP: file(1) not installed"; exit 77; }
desc=$(file -b "$bin")
fails=0
case "$desc" in
  *"statically linked"*|*"static-pie linked"*) echo "ok - static: $desc" ;;
  *) echo "not ok - not static: $desc"; fails=$((fails + 1)) ;;
esac
size=$(wc -c < "$bin")
if [ "$size" -lt 1048576 ]; then echo "ok - size $size bytes < 1 MiB"
else echo "not ok - size $size bytes >= 1 MiB"; fails=$((fails + 1)); fi
if readelf -l "$bin" 2>/dev/null | grep -q INTERP; then
  echo "not ok - has a program interpreter"; fails=$((fails + 1))
else echo "ok - no program interpreter"; fi
if env -i "$bin" --help >/dev/null 2>&1; then echo "ok - runs with an empty environment"
else echo "not ok - --help failed"; fails=$((fails + 1)); fi
exit $((fails > 0))
