#!/bin/sh
# vsock echo throughput: the probe guest echoes MiB of data sent by the host
# through the hybrid socket; host-measured wall time of the whole echo.
# Usage: bench_vsock.sh SMOLVM PROBE_ELF VSOCK_HOST [MiB...]
set -u
SMOLVM=$1 PROBE=$2 VHOST=$3
shift 3
[ $# -gt 0 ] || set -- 1 16 64
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
printf '%-8s %s\n' MiB result
for mib in "$@"; do
	"$SMOLVM" run --kernel "$PROBE" --mem 64 --vsock "3,$T/v.sock" --cmdline probe.run=vsock \
		</dev/null >"$T/out" 2>&1 &
	pid=$!
	r=$("$VHOST" "$T/v.sock" 1234 $((mib * 1048576)) 300) || kill $pid
	wait $pid
	printf '%-8s %s\n' "$mib" "$r"
done
