#!/bin/bash
# Snapshot/restore/fork figures for tests/bench/README-fork.md (issue 5).
# usage: bench_fork.sh BUILD_DIR [RESTORES] — BUILD_DIR holds smolvm,
# fixtures/probe/probe.elf and tests/snaptool. Prints tables; not a test.
set -u
B=$(cd "${1:?usage: bench_fork.sh BUILD_DIR [RESTORES]}" && pwd)
RESTORES=${2:-50}
SMOLVM=$B/smolvm PROBE=$B/fixtures/probe/probe.elf TOOL=$B/tests/snaptool
W=$(mktemp -d "${TMPDIR:-/tmp}/snapbench.XXXXXX")
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$W"; }
trap cleanup EXIT
cd "$W" || exit 1

pct() { # pct P < numbers: the P-th percentile (nearest rank)
	sort -n | awk -v p="$1" '{a[NR]=$1} END {i=int((p*NR+99)/100); if (i<1) i=1; print a[i]}'
}
wait_sock() { for _ in $(seq 200); do [ -S "$1" ] && return 0; sleep 0.02; done; return 1; }

echo "== save: 256 MiB guest, snapshot over the control socket =="
printf "%-28s %10s %14s %14s\n" "guest" "save ms" "apparent MiB" "allocated KiB"
for run in "counter,spin=100000" "dirty=16,spin=100000"; do
	rm -f c.sock
	$SMOLVM run --kernel "$PROBE" --cmdline "probe.run=$run" --serial none --control c.sock &
	pid=$!
	wait_sock c.sock
	sleep 0.5 # let dirty=16 finish (about 4096 page writes under the emulator)
	$TOOL ctl c.sock "snapshot save.smolsnap" >reply.txt
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	read -r _ _ app alloc ms <reply.txt
	printf "%-28s %10s %14s %14s\n" "$run" "$ms" "$((app >> 20))" "$((alloc >> 10))"
done

echo
echo "== restore: from 'smolvm restore' start to the guest's first exit, $RESTORES runs =="
$SMOLVM run --kernel "$PROBE" --cmdline probe.run=counter,checkpoint,counter \
	--snapshot-on-checkpoint s.smolsnap --exit-after-snapshot --serial none
: >lat.txt
: >wall.txt
for _ in $(seq "$RESTORES"); do
	t0=$(date +%s%N)
	SMOLVM_TIMINGS=1 $SMOLVM restore s.smolsnap --serial none 2>t.txt
	t1=$(date +%s%N)
	sed -n 's/.*main_to_first_exit_us=\([0-9]*\).*/\1/p' t.txt >>lat.txt
	echo $(((t1 - t0) / 1000)) >>wall.txt
	sed -n 's/.*restore_validate_us=\([0-9]*\) restore_create_us=\([0-9]*\) restore_state_us=\([0-9]*\).*/\1 \2 \3/p' t.txt >>phases.txt
done
printf "%-44s %8s %8s\n" "" "p50 us" "p90 us"
printf "%-44s %8s %8s\n" "restore start -> first guest exit" "$(pct 50 <lat.txt)" "$(pct 90 <lat.txt)"
printf "%-44s %8s %8s\n" "  validate (open, read, decode sections)" "$(cut -d' ' -f1 phases.txt | pct 50)" "$(cut -d' ' -f1 phases.txt | pct 90)"
printf "%-44s %8s %8s\n" "  create VM + checks + map RAM" "$(cut -d' ' -f2 phases.txt | pct 50)" "$(cut -d' ' -f2 phases.txt | pct 90)"
printf "%-44s %8s %8s\n" "  set vCPU/VM/device state" "$(cut -d' ' -f3 phases.txt | pct 50)" "$(cut -d' ' -f3 phases.txt | pct 90)"
printf "%-44s %8s %8s\n" "whole process (exec .. guest done .. exit)" "$(pct 50 <wall.txt)" "$(pct 90 <wall.txt)"

echo
echo "== fork throughput: smolvm fork -n N (each fork restores, finishes the probe, exits) =="
printf "%6s %12s %12s\n" "N" "wall ms" "forks/s"
for n in 1 8 32; do
	t0=$(date +%s%N)
	$SMOLVM fork s.smolsnap -n $n --dir "forks$n" >/dev/null || echo "fork -n $n failed"
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	printf "%6s %12s %12s\n" $n $ms "$(awk -v n=$n -v ms=$ms 'BEGIN {printf "%.0f", n * 1000 / (ms ? ms : 1)}')"
done

echo
echo "== memory per fork: 8 live forks of a 256 MiB guest (smaps_rollup, KiB) =="
printf "%-30s %10s %10s %10s %10s\n" "guest after restore" "Rss" "Pss" "Private" "Shared"
for run in "checkpoint,spin=100000" "checkpoint,dirty=16,spin=100000"; do
	rm -f m.smolsnap
	$SMOLVM run --kernel "$PROBE" --cmdline "probe.run=$run" --snapshot-on-checkpoint m.smolsnap \
		--exit-after-snapshot --serial none
	PIDS=()
	for i in 0 1 2 3 4 5 6 7; do
		$SMOLVM restore m.smolsnap --serial none &
		PIDS+=($!)
	done
	sleep 1.5 # dirty=16 is done well within this under the emulator
	tot_rss=0 tot_pss=0 tot_priv=0 tot_sh=0
	for p in "${PIDS[@]}"; do
		read -r rss pss priv sh < <(awk '/^Rss:/{r=$2} /^Pss:/{p=$2} /^Private_(Clean|Dirty):/{v+=$2} /^Shared_(Clean|Dirty):/{s+=$2} END{print r, p, v, s}' "/proc/$p/smaps_rollup")
		tot_rss=$((tot_rss + rss)) tot_pss=$((tot_pss + pss)) tot_priv=$((tot_priv + priv)) tot_sh=$((tot_sh + sh))
	done
	label=$([ "${run#*dirty}" != "$run" ] && echo "dirty=16 (16 MiB written)" || echo "idle")
	printf "%-30s %10s %10s %10s %10s\n" "$label (mean of 8)" $((tot_rss / 8)) $((tot_pss / 8)) $((tot_priv / 8)) $((tot_sh / 8))
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	PIDS=()
done
