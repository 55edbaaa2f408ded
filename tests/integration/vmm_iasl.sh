#!/bin/sh
# Disassembles the ACPI tables libsmolvm builds with `iasl -d` (Debian
# acpica-tools) and fails on any error, warning, bad checksum or invalid
# name. A corrupted copy must be flagged, so the check itself is tested.
# usage: vmm_iasl.sh VMM_ACPI_DUMP
set -u
dump=$1
if ! command -v iasl >/dev/null 2>&1; then
	echo "SKIP: iasl not found (install acpica-tools)"
	exit 77
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
check() { # DIR: 0 if every table disassembles cleanly
	(cd "$1" && for t in xsdt facp apic dsdt; do
		iasl -d "$t.dat" >"$t.log" 2>&1 || { echo "iasl -d $t.dat failed:"; cat "$t.log"; exit 1; }
		if grep -E -i -n 'error|warning|incorrect|invalid' "$t.log" ||
		   grep -n '\*\*\*\*' "$t.dsl"; then
			echo "iasl complained about $t.dat"; exit 1
		fi
	done)
}
for shape in "1 0" "2 3" "8 11"; do
	set -- $shape
	mkdir -p "$dir/$1-$2"
	"$dump" "$dir/$1-$2" "$1" "$2" || exit 1
	check "$dir/$1-$2" || exit 1
	n=$(grep -c '"LNRO0005"' "$dir/$1-$2/dsdt.dsl")
	[ "$n" -eq "$2" ] || { echo "DSDT has $n LNRO0005 devices, want $2"; exit 1; }
	n=$(grep -c 'Processor Local APIC' "$dir/$1-$2/apic.dsl")
	[ "$n" -eq "$1" ] || { echo "MADT has $n local APICs, want $1"; exit 1; }
	# power-off: \_S5_ in the DSDT and the FADT's sleep registers (0x600/0x601)
	grep -q 'Name (\\_S5, Package (0x02)' "$dir/$1-$2/dsdt.dsl" || { echo "DSDT lacks \\_S5_"; exit 1; }
	grep -A5 'Sleep Control Register' "$dir/$1-$2/facp.dsl" | grep -q 'Address : 0000000000000600' ||
		{ echo "FADT lacks the sleep control register at 0x600"; exit 1; }
done
# Negative control: one flipped byte in the DSDT must be reported.
mkdir -p "$dir/bad" && cp "$dir/2-3/"*.dat "$dir/bad/"
printf '\377' | dd of="$dir/bad/dsdt.dat" bs=1 seek=40 conv=notrunc 2>/dev/null
if check "$dir/bad" >/dev/null; then
	echo "a corrupted DSDT was not flagged: the check is broken"
	exit 1
fi
echo "iasl accepts the tables (1, 2 and 8 vCPUs; 0, 3 and 11 virtio windows)"
