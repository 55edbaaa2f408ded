/* Fuzz target for the kernel image parser (vmm/arch/x86_64/kernel.c):
 * any bytes as a bzImage or ELF64 file. When the parser accepts an image,
 * every segment it would copy must lie inside the file and inside guest RAM
 * from 1 MiB, and loading it into a real guest memory must succeed. */
#include "arch/x86_64/boot.h"
#include "arch/x86_64/layout.h"
#include "core/gmem.h"

#include <stdlib.h>

#define RAM (32ull << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct x86_kernel k;
	char why[256];
	if (x86_kernel_parse(data, size, RAM, &k, why, sizeof(why)) != 0)
		return 0;
	if (k.nseg == 0 || k.nseg > X86_KERNEL_MAX_SEGS)
		abort();
	for (unsigned i = 0; i < k.nseg; i++) {
		if (k.seg[i].filesz > k.seg[i].memsz || k.seg[i].file_off > size ||
		    k.seg[i].filesz > size - k.seg[i].file_off || k.seg[i].gpa < X86_HIMEM ||
		    k.seg[i].gpa > RAM || k.seg[i].memsz > RAM - k.seg[i].gpa)
			abort();
	}
	struct gmem *gm;
	if (gmem_create(RAM, &gm))
		abort();
	if (x86_kernel_load(&k, data, gm))
		abort();
	uint64_t initrd;
	x86_initrd_place(&k, RAM, 4096, &initrd, why, sizeof(why));
	gmem_destroy(gm);
	return 0;
}
