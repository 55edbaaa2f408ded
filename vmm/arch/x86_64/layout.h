/* x86_64 guest physical layout used by the loader, ACPI and devices.
 *
 *   0x00500   GDT (boot CS 0x10, DS 0x18 as the Linux 64-bit boot protocol wants)
 *   0x07000   boot_params ("zero page")
 *   0x09000   PML4, 0x0a000 PDPT, 0x0b000..0x0efff four PDs: identity map of
 *             the first 4 GiB with 2 MiB pages (covers the MMIO hole)
 *   0x20000   kernel command line (up to X86_CMDLINE_MAX)
 *   0x9fc00   EBDA .. 0x100000: reserved; ACPI tables at 0xe0000
 *   0x100000  kernel (ELF segments / bzImage payload at its preferred address)
 *   ...       initrd, placed as high as the kernel allows
 *   0xc0000000 .. 4 GiB: MMIO hole: virtio-mmio windows, IOAPIC, LAPIC */
#ifndef SMOL_X86_LAYOUT_H
#define SMOL_X86_LAYOUT_H

#define X86_GDT_ADDR	0x500ull
#define X86_ZERO_PAGE	0x7000ull
#define X86_PML4	0x9000ull
#define X86_PDPT	0xa000ull
#define X86_PD		0xb000ull /* 4 pages */
#define X86_CMDLINE	0x20000ull
#define X86_CMDLINE_MAX 0x10000ull
#define X86_EBDA	0x9fc00ull
#define X86_ACPI_BASE	0xe0000ull
#define X86_ACPI_MAX	0x20000ull /* up to 1 MiB */
#define X86_HIMEM	0x100000ull
#define X86_BOOT_CS	0x10
#define X86_BOOT_DS	0x18

#define X86_VIRTIO_BASE 0xd0000000ull
#define X86_VIRTIO_MAX	11 /* GSIs 5..15: ISA edge/high defaults apply */
#define X86_VIRTIO_GSI0 5
#define X86_IOAPIC_ADDR 0xfec00000ull
#define X86_LAPIC_ADDR	0xfee00000ull

#define X86_COM1_PORT	    0x3f8
#define X86_COM1_GSI	    4
#define X86_I8042_PORT	    0x60 /* data 0x60, command/status 0x64 */
#define X86_DEBUG_EXIT_PORT 0x501
#define X86_ACPI_SLEEP_PORT 0x600 /* sleep control 0x600, status 0x601 */

#endif
