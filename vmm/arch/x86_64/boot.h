/* boot: loading a kernel into guest memory and describing the machine to
 * it (Linux x86 boot protocol, Documentation/arch/x86/boot.rst).
 *
 * Loading is split so that nothing touches guest memory before the image is
 * known to be sane: x86_kernel_parse() validates every header field and
 * every segment against the RAM layout and only records what to copy;
 * x86_kernel_load() then copies. */
#ifndef SMOL_X86_BOOT_H
#define SMOL_X86_BOOT_H

#include <asm/bootparam.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gmem;

#define X86_KERNEL_MAX_SEGS 16

struct x86_kernel {
	bool bzimage;
	uint64_t entry;	   /* 64-bit entry point (guest physical) */
	uint64_t load_end; /* first byte after everything the kernel may use */
	unsigned nseg;
	struct {
		uint64_t gpa;
		uint64_t file_off;
		uint64_t filesz;
		uint64_t memsz; /* >= filesz; the rest is zeroed */
	} seg[X86_KERNEL_MAX_SEGS];
	/* bzImage: the setup header to copy into boot_params (0x1f1..). */
	struct setup_header hdr;
	uint32_t cmdline_max;	 /* longest command line, without NUL */
	uint64_t initrd_max_end; /* initrd must end at or below this */
};

/* Validates img (len bytes; a bzImage or an ELF64 x86_64 executable) for a
 * guest whose low RAM ends at ram_end (RAM below the MMIO hole). On
 * -EINVAL (malformed) or -E2BIG (does not fit), why gets one line naming
 * the field and value. Touches no guest memory. */
int x86_kernel_parse(const uint8_t *img, size_t len, uint64_t ram_end, struct x86_kernel *k,
		     char *why, size_t whylen);

/* Copies the parsed segments of img into gm and zeroes their bss. k must
 * come from x86_kernel_parse of the same img. */
int x86_kernel_load(const struct x86_kernel *k, const uint8_t *img, struct gmem *gm);

/* Picks the initrd's place: page aligned, as high as allowed, above the
 * kernel. -E2BIG (with why) when it does not fit. */
int x86_initrd_place(const struct x86_kernel *k, uint64_t ram_end, uint64_t size, uint64_t *gpa,
		     char *why, size_t whylen);

/* Fills the e820 map for gm into table (at most max entries): low RAM below
 * the EBDA, the EBDA/BIOS area reserved, RAM from 1 MiB, high RAM above
 * 4 GiB. Returns the entry count. */
unsigned x86_e820_build(const struct gmem *gm, struct boot_e820_entry *table, unsigned max);

struct x86_boot_info {
	uint64_t cmdline_gpa;
	uint32_t cmdline_len;		  /* without the NUL */
	uint64_t initrd_gpa, initrd_size; /* size 0: none */
	uint64_t rsdp_gpa;
};

/* Builds the zero page for k into *bp (zeroed first): the setup header
 * (from the bzImage, or a synthesised one for ELF), loader type, heap,
 * command line, initrd, e820 and the RSDP address. */
void x86_boot_params(const struct x86_kernel *k, const struct gmem *gm,
		     const struct x86_boot_info *info, struct boot_params *bp);

#endif
