/* The zero page and the e820 map (Linux boot protocol, "The 64-bit boot
 * protocol" and "Details of header fields"). */
#include "arch/x86_64/boot.h"
#include "arch/x86_64/layout.h"
#include "core/gmem.h"

#include <string.h>

#define E820_RAM      1
#define E820_RESERVED 2

unsigned x86_e820_build(const struct gmem *gm, struct boot_e820_entry *t, unsigned max)
{
	unsigned n = 0;
	const struct gmem_region *low = &gm->regions[0];
#define ADD(a, s, ty)                                                                              \
	do {                                                                                       \
		if (n < max && (s) > 0)                                                            \
			t[n++] = (struct boot_e820_entry){.addr = (a), .size = (s), .type = (ty)}; \
	} while (0)
	uint64_t low_end = low->gpa + low->size;
	ADD(0, low_end < X86_EBDA ? low_end : X86_EBDA, E820_RAM);
	ADD(X86_EBDA, X86_HIMEM - X86_EBDA, E820_RESERVED);
	if (low_end > X86_HIMEM)
		ADD(X86_HIMEM, low_end - X86_HIMEM, E820_RAM);
	for (unsigned i = 1; i < gm->nregions; i++)
		ADD(gm->regions[i].gpa, gm->regions[i].size, E820_RAM);
#undef ADD
	return n;
}

void x86_boot_params(const struct x86_kernel *k, const struct gmem *gm,
		     const struct x86_boot_info *info, struct boot_params *bp)
{
	memset(bp, 0, sizeof(*bp));
	struct setup_header *h = &bp->hdr;
	if (k->bzimage) {
		*h = k->hdr;
	} else {
		/* An ELF kernel has no setup header: synthesise the fields the
		 * kernel reads (as other VMMs do for vmlinux). */
		h->boot_flag = 0xaa55;
		h->header = 0x53726448;
		h->version = 0x020f;
		h->kernel_alignment = 0x1000000;
		h->cmdline_size = (uint32_t)k->cmdline_max;
		h->initrd_addr_max = (uint32_t)(k->initrd_max_end - 1);
	}
	h->type_of_loader = 0xff; /* undefined loader */
	h->loadflags |= LOADED_HIGH | CAN_USE_HEAP;
	h->heap_end_ptr = 0xfe00;
	h->vid_mode = 0xffff; /* "normal" */
	h->cmd_line_ptr = (uint32_t)info->cmdline_gpa;
	bp->ext_cmd_line_ptr = (uint32_t)(info->cmdline_gpa >> 32);
	h->ramdisk_image = (uint32_t)info->initrd_gpa;
	h->ramdisk_size = (uint32_t)info->initrd_size;
	bp->ext_ramdisk_image = (uint32_t)(info->initrd_gpa >> 32);
	bp->ext_ramdisk_size = (uint32_t)(info->initrd_size >> 32);
	bp->acpi_rsdp_addr = info->rsdp_gpa;
	bp->e820_entries = (uint8_t)x86_e820_build(gm, bp->e820_table, E820_MAX_ENTRIES_ZEROPAGE);
}
