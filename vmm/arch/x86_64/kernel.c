/* Kernel image parsing and loading: bzImage (boot protocol >= 2.12, 64-bit
 * entry) and ELF64 (vmlinux-style; PT_LOAD at physical addresses). */
#include "arch/x86_64/boot.h"
#include "arch/x86_64/layout.h"
#include "core/gmem.h"

#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define BZ_HDR_OFF	0x1f1
#define BZ_MAGIC	0x53726448 /* "HdrS" */
#define BZ_MIN_VERSION	0x020c	   /* xloadflags / XLF_KERNEL_64 */
#define BZ_DEFAULT_LOAD 0x1000000ull
#define ELF_MAX_PHNUM	64

__attribute__((format(printf, 3, 4))) static int fail(char *why, size_t whylen, const char *fmt,
						      ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* [gpa, gpa + len) inside low RAM above the boot structures. */
static bool fits(uint64_t gpa, uint64_t len, uint64_t ram_end)
{
	return gpa >= X86_HIMEM && gpa <= ram_end && len <= ram_end - gpa;
}

static int parse_bzimage(const uint8_t *img, size_t len, uint64_t ram_end, struct x86_kernel *k,
			 char *why, size_t whylen)
{
	struct setup_header h;
	if (len < BZ_HDR_OFF + sizeof(h))
		return fail(why, whylen, "bzImage: %zu bytes is too short for a setup header", len);
	/* The header proper ends at 0x202 + the jump's offset byte; what
	 * follows is setup code, not header fields. */
	size_t hdr_end = 0x202 + (size_t)img[0x201];
	size_t hdr_len = hdr_end - BZ_HDR_OFF < sizeof(h) ? hdr_end - BZ_HDR_OFF : sizeof(h);
	memset(&h, 0, sizeof(h));
	memcpy(&h, img + BZ_HDR_OFF, hdr_len);
	if (h.version < BZ_MIN_VERSION)
		return fail(
		    why, whylen,
		    "bzImage: boot protocol %u.%02u is too old (need 2.12 for the 64-bit entry)",
		    h.version >> 8, h.version & 0xff);
	if (!(h.xloadflags & XLF_KERNEL_64))
		return fail(why, whylen,
			    "bzImage: xloadflags 0x%x lacks XLF_KERNEL_64 (not a 64-bit kernel)",
			    h.xloadflags);
	if (!(h.loadflags & LOADED_HIGH))
		return fail(why, whylen,
			    "bzImage: loadflags 0x%x: a zImage (not loaded high) is not supported",
			    h.loadflags);
	uint64_t setup_sects = h.setup_sects ? h.setup_sects : 4;
	uint64_t setup_size = (setup_sects + 1) * 512;
	if (setup_size >= len)
		return fail(why, whylen,
			    "bzImage: setup_sects %u runs past the end of the %zu-byte file",
			    h.setup_sects, len);
	uint64_t payload = len - setup_size;
	if ((uint64_t)h.syssize * 16 > payload + 15)
		return fail(why, whylen,
			    "bzImage: syssize %u (x16) is larger than the %llu-byte payload",
			    h.syssize, (unsigned long long)payload);
	uint64_t load = h.pref_address ? h.pref_address : BZ_DEFAULT_LOAD;
	if (h.relocatable_kernel && h.kernel_alignment &&
	    (h.kernel_alignment & (h.kernel_alignment - 1)) == 0)
		load = (load + h.kernel_alignment - 1) & ~((uint64_t)h.kernel_alignment - 1);
	uint64_t need = h.init_size > payload ? h.init_size : payload;
	if (!fits(load, need, ram_end)) {
		snprintf(
		    why, whylen,
		    "bzImage: kernel needs %llu MiB at 0x%llx but RAM below the MMIO hole ends at "
		    "0x%llx; give the VM more memory (--mem)",
		    (unsigned long long)(need >> 20), (unsigned long long)load,
		    (unsigned long long)ram_end);
		return -E2BIG;
	}
	memset(k, 0, sizeof(*k));
	k->bzimage = true;
	k->entry = load + 0x200; /* 64-bit entry: startup_64 */
	k->load_end = load + need;
	k->nseg = 1;
	k->seg[0].gpa = load;
	k->seg[0].file_off = setup_size;
	k->seg[0].filesz = payload;
	k->seg[0].memsz = payload;
	k->hdr = h;
	k->cmdline_max = h.version >= 0x0206 ? h.cmdline_size : 255;
	k->initrd_max_end = (uint64_t)h.initrd_addr_max + 1;
	return 0;
}

static int parse_elf(const uint8_t *img, size_t len, uint64_t ram_end, struct x86_kernel *k,
		     char *why, size_t whylen)
{
	Elf64_Ehdr eh;
	if (len < sizeof(eh))
		return fail(why, whylen, "ELF: %zu bytes is too short for an ELF header", len);
	memcpy(&eh, img, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return fail(why, whylen, "ELF: not a little-endian ELF64 file (class %u, data %u)",
			    eh.e_ident[EI_CLASS], eh.e_ident[EI_DATA]);
	if (eh.e_machine != EM_X86_64 || eh.e_type != ET_EXEC)
		return fail(why, whylen, "ELF: e_machine %u / e_type %u: need an x86_64 executable",
			    eh.e_machine, eh.e_type);
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > ELF_MAX_PHNUM)
		return fail(why, whylen, "ELF: e_phentsize %u / e_phnum %u are not sane",
			    eh.e_phentsize, eh.e_phnum);
	if (eh.e_phoff > len || (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > len - eh.e_phoff)
		return fail(why, whylen,
			    "ELF: program headers at 0x%llx run past the end of the file",
			    (unsigned long long)eh.e_phoff);
	memset(k, 0, sizeof(*k));
	bool entry_ok = false;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, img + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_filesz > ph.p_memsz)
			return fail(
			    why, whylen, "ELF: segment %u: p_filesz 0x%llx > p_memsz 0x%llx", i,
			    (unsigned long long)ph.p_filesz, (unsigned long long)ph.p_memsz);
		if (ph.p_offset > len || ph.p_filesz > len - ph.p_offset)
			return fail(why, whylen,
				    "ELF: segment %u: file range 0x%llx+0x%llx is outside the file",
				    i, (unsigned long long)ph.p_offset,
				    (unsigned long long)ph.p_filesz);
		if (!fits(ph.p_paddr, ph.p_memsz, ram_end)) {
			snprintf(why, whylen,
				 "ELF: segment %u: 0x%llx+0x%llx is not inside guest RAM from 1 "
				 "MiB to 0x%llx "
				 "(give the VM more memory, or link the image at 1 MiB or above)",
				 i, (unsigned long long)ph.p_paddr, (unsigned long long)ph.p_memsz,
				 (unsigned long long)ram_end);
			return -E2BIG;
		}
		if (k->nseg == X86_KERNEL_MAX_SEGS)
			return fail(why, whylen, "ELF: more than %d PT_LOAD segments",
				    X86_KERNEL_MAX_SEGS);
		k->seg[k->nseg].gpa = ph.p_paddr;
		k->seg[k->nseg].file_off = ph.p_offset;
		k->seg[k->nseg].filesz = ph.p_filesz;
		k->seg[k->nseg].memsz = ph.p_memsz;
		k->nseg++;
		if (ph.p_paddr + ph.p_memsz > k->load_end)
			k->load_end = ph.p_paddr + ph.p_memsz;
		if (eh.e_entry >= ph.p_paddr && eh.e_entry - ph.p_paddr < ph.p_memsz)
			entry_ok = true;
	}
	if (k->nseg == 0)
		return fail(why, whylen, "ELF: no loadable (PT_LOAD) segment");
	if (!entry_ok)
		return fail(why, whylen, "ELF: entry point 0x%llx is not inside a loaded segment",
			    (unsigned long long)eh.e_entry);
	k->bzimage = false;
	k->entry = eh.e_entry;
	k->cmdline_max = X86_CMDLINE_MAX - 1;
	k->initrd_max_end = 0x80000000ull;
	return 0;
}

int x86_kernel_parse(const uint8_t *img, size_t len, uint64_t ram_end, struct x86_kernel *k,
		     char *why, size_t whylen)
{
	if (len >= 4 && memcmp(img, ELFMAG, SELFMAG) == 0)
		return parse_elf(img, len, ram_end, k, why, whylen);
	if (len >= 0x206 && img[0x1fe] == 0x55 && img[0x1ff] == 0xaa) {
		uint32_t magic;
		memcpy(&magic, img + 0x202, 4);
		if (magic == BZ_MAGIC)
			return parse_bzimage(img, len, ram_end, k, why, whylen);
	}
	return fail(why, whylen,
		    "not a kernel image: neither ELF magic nor a bzImage boot sector with \"HdrS\" "
		    "(%zu bytes)",
		    len);
}

int x86_kernel_load(const struct x86_kernel *k, const uint8_t *img, struct gmem *gm)
{
	for (unsigned i = 0; i < k->nseg; i++) {
		int err = gmem_write(gm, k->seg[i].gpa, img + k->seg[i].file_off, k->seg[i].filesz);
		if (!err)
			err = gmem_fill(gm, k->seg[i].gpa + k->seg[i].filesz, 0,
					k->seg[i].memsz - k->seg[i].filesz);
		if (err)
			return err;
	}
	return 0;
}

int x86_initrd_place(const struct x86_kernel *k, uint64_t ram_end, uint64_t size, uint64_t *gpa,
		     char *why, size_t whylen)
{
	uint64_t top = ram_end < k->initrd_max_end ? ram_end : k->initrd_max_end;
	uint64_t bottom = (k->load_end + GMEM_PAGE_SIZE - 1) & ~(GMEM_PAGE_SIZE - 1);
	if (size > top || ((top - size) & ~(GMEM_PAGE_SIZE - 1)) < bottom) {
		snprintf(
		    why, whylen,
		    "initrd of %llu MiB does not fit between the kernel (ends 0x%llx) and 0x%llx; "
		    "give the VM more memory (--mem)",
		    (unsigned long long)(size >> 20), (unsigned long long)bottom,
		    (unsigned long long)top);
		return -E2BIG;
	}
	*gpa = (top - size) & ~(GMEM_PAGE_SIZE - 1);
	return 0;
}
