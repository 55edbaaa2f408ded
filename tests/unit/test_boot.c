/* Unit tests for the x86_64 kernel loader, boot_params and e820
 * (vmm/arch/x86_64/kernel.c, bootparams.c): well-formed images next to
 * truncated, garbage and oversized ones. */
#include "arch/x86_64/boot.h"
#include "arch/x86_64/layout.h"
#include "core/gmem.h"

#include "check_main.h"
#include <check.h>
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define RAM    (64ull << 20)
#define BZ_LEN (64u << 10)

static char why[256];

/* A synthetic bzImage: boot protocol 2.15 header, 4 setup sectors. */
static uint8_t *make_bzimage(size_t len)
{
	uint8_t *img = calloc(1, len);
	ck_assert_ptr_nonnull(img);
	img[0x1fe] = 0x55;
	img[0x1ff] = 0xaa;
	struct setup_header h;
	memset(&h, 0, sizeof(h));
	h.setup_sects = 4;
	h.syssize = (uint32_t)((len - 5 * 512) / 16);
	h.boot_flag = 0xaa55;
	h.jump = 0x66eb; /* "jmp short +0x66": the header ends at 0x268 */
	h.header = 0x53726448;
	h.version = 0x020f;
	h.loadflags = LOADED_HIGH;
	h.xloadflags = XLF_KERNEL_64;
	h.relocatable_kernel = 1;
	h.kernel_alignment = 0x200000;
	h.pref_address = 0x1000000;
	h.init_size = 0x400000;
	h.cmdline_size = 2047;
	h.initrd_addr_max = 0x7fffffff;
	memcpy(img + 0x1f1, &h, sizeof(h));
	for (size_t i = 5 * 512; i < len; i++)
		img[i] = (uint8_t)i;
	return img;
}

static struct setup_header *hdr(uint8_t *img)
{
	return (struct setup_header *)(img + 0x1f1);
}

START_TEST(bzimage_ok)
{
	uint8_t *img = make_bzimage(BZ_LEN);
	struct x86_kernel k;
	ck_assert_int_eq(x86_kernel_parse(img, BZ_LEN, RAM, &k, why, sizeof(why)), 0);
	ck_assert(k.bzimage);
	ck_assert_uint_eq(k.entry, 0x1000000 + 0x200);
	ck_assert_uint_eq(k.nseg, 1);
	ck_assert_uint_eq(k.seg[0].file_off, 5 * 512);
	ck_assert_uint_eq(k.seg[0].filesz, BZ_LEN - 5 * 512);
	ck_assert_uint_eq(k.load_end, 0x1000000 + 0x400000);
	ck_assert_uint_eq(k.cmdline_max, 2047);
	struct gmem *gm;
	ck_assert_int_eq(gmem_create(RAM, &gm), 0);
	ck_assert_int_eq(x86_kernel_load(&k, img, gm), 0);
	uint8_t b[4];
	ck_assert_int_eq(gmem_read(gm, 0x1000000, b, 4), 0);
	ck_assert_int_eq(memcmp(b, img + 5 * 512, 4), 0);
	gmem_destroy(gm);
	free(img);
}
END_TEST

START_TEST(bzimage_hostile)
{
	struct x86_kernel k;
	uint8_t *img = make_bzimage(BZ_LEN);
	/* every truncation of the header area is refused, never read past */
	for (size_t len = 0; len < 0x1f1 + sizeof(struct setup_header); len += 7) {
		uint8_t *copy = malloc(len ? len : 1);
		memcpy(copy, img, len);
		ck_assert_int_eq(x86_kernel_parse(copy, len, RAM, &k, why, sizeof(why)), -EINVAL);
		free(copy);
	}
	hdr(img)->version = 0x0200;
	ck_assert_int_eq(x86_kernel_parse(img, BZ_LEN, RAM, &k, why, sizeof(why)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "too old"));
	free(img);

	img = make_bzimage(BZ_LEN);
	hdr(img)->xloadflags = 0;
	ck_assert_int_eq(x86_kernel_parse(img, BZ_LEN, RAM, &k, why, sizeof(why)), -EINVAL);
	free(img);

	img = make_bzimage(BZ_LEN);
	hdr(img)->loadflags = 0;
	ck_assert_int_eq(x86_kernel_parse(img, BZ_LEN, RAM, &k, why, sizeof(why)), -EINVAL);
	free(img);

	img = make_bzimage(BZ_LEN);
	hdr(img)->setup_sects = 255; /* setup runs past the file */
	ck_assert_int_eq(x86_kernel_parse(img, BZ_LEN, RAM, &k, why, sizeof(why)), -EINVAL);
	free(img);

	img = make_bzimage(BZ_LEN);
	hdr(img)->syssize = 0x10000000; /* claims a payload far larger than the file */
	ck_assert_int_eq(x86_kernel_parse(img, BZ_LEN, RAM, &k, why, sizeof(why)), -EINVAL);
	free(img);

	img = make_bzimage(BZ_LEN);
	hdr(img)->init_size = 0xfffffff0; /* does not fit in RAM */
	ck_assert_int_eq(x86_kernel_parse(img, BZ_LEN, RAM, &k, why, sizeof(why)), -E2BIG);
	ck_assert_ptr_nonnull(strstr(why, "--mem"));
	free(img);

	img = make_bzimage(BZ_LEN);
	hdr(img)->pref_address = 0xfffffffffffff000ull; /* wraps */
	hdr(img)->relocatable_kernel = 0;
	ck_assert_int_eq(x86_kernel_parse(img, BZ_LEN, RAM, &k, why, sizeof(why)), -E2BIG);
	free(img);

	img = make_bzimage(BZ_LEN);
	hdr(img)->header = 0; /* no "HdrS": not a kernel */
	ck_assert_int_eq(x86_kernel_parse(img, BZ_LEN, RAM, &k, why, sizeof(why)), -EINVAL);
	free(img);
}
END_TEST

struct elf_img {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[2];
	uint8_t code[256];
};

static void make_elf(struct elf_img *e)
{
	memset(e, 0, sizeof(*e));
	memcpy(e->eh.e_ident, ELFMAG, SELFMAG);
	e->eh.e_ident[EI_CLASS] = ELFCLASS64;
	e->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	e->eh.e_type = ET_EXEC;
	e->eh.e_machine = EM_X86_64;
	e->eh.e_entry = 0x100000;
	e->eh.e_phoff = offsetof(struct elf_img, ph);
	e->eh.e_phentsize = sizeof(Elf64_Phdr);
	e->eh.e_phnum = 2;
	e->ph[0] = (Elf64_Phdr){.p_type = PT_LOAD,
				.p_offset = offsetof(struct elf_img, code),
				.p_paddr = 0x100000,
				.p_filesz = 128,
				.p_memsz = 128};
	e->ph[1] = (Elf64_Phdr){.p_type = PT_LOAD,
				.p_offset = offsetof(struct elf_img, code) + 128,
				.p_paddr = 0x200000,
				.p_filesz = 128,
				.p_memsz = 0x10000};
	memset(e->code, 0xcc, sizeof(e->code));
}

static int parse_elf(struct elf_img *e)
{
	struct x86_kernel k;
	return x86_kernel_parse((const uint8_t *)e, sizeof(*e), RAM, &k, why, sizeof(why));
}

START_TEST(elf_ok_and_bss_zeroed)
{
	struct elf_img e;
	make_elf(&e);
	struct x86_kernel k;
	ck_assert_int_eq(
	    x86_kernel_parse((const uint8_t *)&e, sizeof(e), RAM, &k, why, sizeof(why)), 0);
	ck_assert(!k.bzimage);
	ck_assert_uint_eq(k.entry, 0x100000);
	ck_assert_uint_eq(k.nseg, 2);
	ck_assert_uint_eq(k.load_end, 0x210000);
	struct gmem *gm;
	ck_assert_int_eq(gmem_create(RAM, &gm), 0);
	ck_assert_int_eq(gmem_fill(gm, 0x200000, 0x77, 0x10000), 0);
	ck_assert_int_eq(x86_kernel_load(&k, (const uint8_t *)&e, gm), 0);
	uint8_t b;
	ck_assert_int_eq(gmem_read(gm, 0x200000 + 127, &b, 1), 0);
	ck_assert_uint_eq(b, 0xcc);
	ck_assert_int_eq(gmem_read(gm, 0x200000 + 128, &b, 1), 0);
	ck_assert_uint_eq(b, 0); /* bss zeroed */
	ck_assert_int_eq(gmem_read(gm, 0x20ffff, &b, 1), 0);
	ck_assert_uint_eq(b, 0);
	gmem_destroy(gm);
}
END_TEST

START_TEST(elf_hostile)
{
	struct elf_img e;
	make_elf(&e);
	e.eh.e_ident[EI_CLASS] = ELFCLASS32;
	ck_assert_int_eq(parse_elf(&e), -EINVAL);
	make_elf(&e);
	e.eh.e_machine = EM_AARCH64;
	ck_assert_int_eq(parse_elf(&e), -EINVAL);
	make_elf(&e);
	e.eh.e_type = ET_DYN;
	ck_assert_int_eq(parse_elf(&e), -EINVAL);
	make_elf(&e);
	e.eh.e_phoff = sizeof(e) - 8; /* headers past the end */
	ck_assert_int_eq(parse_elf(&e), -EINVAL);
	make_elf(&e);
	e.eh.e_phoff = UINT64_MAX - 8; /* offset + size overflows */
	ck_assert_int_eq(parse_elf(&e), -EINVAL);
	make_elf(&e);
	e.eh.e_phnum = 0;
	ck_assert_int_eq(parse_elf(&e), -EINVAL);
	make_elf(&e);
	e.eh.e_phentsize = 12;
	ck_assert_int_eq(parse_elf(&e), -EINVAL);
	make_elf(&e);
	e.ph[0].p_filesz = 256; /* filesz > memsz */
	ck_assert_int_eq(parse_elf(&e), -EINVAL);
	make_elf(&e);
	e.ph[1].p_offset = sizeof(e) - 64; /* file range past the end */
	ck_assert_int_eq(parse_elf(&e), -EINVAL);
	make_elf(&e);
	e.ph[1].p_offset = UINT64_MAX - 64;
	ck_assert_int_eq(parse_elf(&e), -EINVAL);
	make_elf(&e);
	e.ph[0].p_paddr = 0x7000; /* over the zero page */
	ck_assert_int_eq(parse_elf(&e), -E2BIG);
	make_elf(&e);
	e.ph[1].p_memsz = RAM; /* past the end of RAM */
	ck_assert_int_eq(parse_elf(&e), -E2BIG);
	make_elf(&e);
	e.ph[1].p_paddr = UINT64_MAX - 0x1000; /* wraps */
	ck_assert_int_eq(parse_elf(&e), -E2BIG);
	make_elf(&e);
	e.eh.e_entry = 0x50000000; /* not in any segment */
	ck_assert_int_eq(parse_elf(&e), -EINVAL);
	make_elf(&e);
	e.ph[0].p_type = PT_NOTE;
	e.ph[1].p_type = PT_NOTE;
	ck_assert_int_eq(parse_elf(&e), -EINVAL);
	/* every truncation fails cleanly */
	make_elf(&e);
	struct x86_kernel k;
	for (size_t len = 0; len < offsetof(struct elf_img, code) + 200; len += 5) {
		uint8_t *copy = malloc(len ? len : 1);
		memcpy(copy, &e, len);
		ck_assert_int_ne(x86_kernel_parse(copy, len, RAM, &k, why, sizeof(why)), 0);
		free(copy);
	}
}
END_TEST

START_TEST(garbage_images)
{
	struct x86_kernel k;
	uint8_t *buf = malloc(8192);
	unsigned seed = 1;
	for (int round = 0; round < 200; round++) {
		for (size_t i = 0; i < 8192; i++)
			buf[i] = (uint8_t)(rand_r(&seed) >> 7);
		size_t len = (size_t)rand_r(&seed) % 8192;
		if (round % 3 == 0)
			memcpy(buf, ELFMAG, SELFMAG);
		ck_assert_int_ne(x86_kernel_parse(buf, len, RAM, &k, why, sizeof(why)), 0);
	}
	free(buf);
}
END_TEST

START_TEST(e820_and_boot_params)
{
	struct gmem *gm;
	ck_assert_int_eq(gmem_create(RAM, &gm), 0);
	struct boot_e820_entry t[8];
	unsigned n = x86_e820_build(gm, t, 8);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(t[0].addr, 0);
	ck_assert_uint_eq(t[0].size, X86_EBDA);
	ck_assert_uint_eq(t[0].type, 1);
	ck_assert_uint_eq(t[1].addr, X86_EBDA);
	ck_assert_uint_eq(t[1].type, 2);
	ck_assert_uint_eq(t[1].addr + t[1].size, X86_HIMEM);
	ck_assert_uint_eq(t[2].addr, X86_HIMEM);
	ck_assert_uint_eq(t[2].addr + t[2].size, RAM);
	ck_assert_uint_eq(t[2].type, 1);

	uint8_t *img = make_bzimage(BZ_LEN);
	struct x86_kernel k;
	ck_assert_int_eq(x86_kernel_parse(img, BZ_LEN, RAM, &k, why, sizeof(why)), 0);
	uint64_t initrd;
	ck_assert_int_eq(x86_initrd_place(&k, RAM, 1 << 20, &initrd, why, sizeof(why)), 0);
	ck_assert_uint_eq(initrd, RAM - (1 << 20));
	ck_assert_int_eq(x86_initrd_place(&k, RAM, 0x1001, &initrd, why, sizeof(why)), 0);
	ck_assert_uint_eq(initrd % 4096, 0);
	ck_assert_uint_ge(RAM - initrd, 0x1001);
	ck_assert_int_eq(x86_initrd_place(&k, RAM, RAM - 0x1000000, &initrd, why, sizeof(why)),
			 -E2BIG);
	ck_assert_int_eq(x86_initrd_place(&k, RAM, UINT64_MAX, &initrd, why, sizeof(why)), -E2BIG);

	struct x86_boot_info info = {.cmdline_gpa = X86_CMDLINE,
				     .cmdline_len = 10,
				     .initrd_gpa = initrd,
				     .initrd_size = 0x1001,
				     .rsdp_gpa = X86_ACPI_BASE};
	struct boot_params *bp = malloc(sizeof(*bp));
	x86_boot_params(&k, gm, &info, bp);
	ck_assert_uint_eq(bp->hdr.boot_flag, 0xaa55);
	ck_assert_uint_eq(bp->hdr.version, 0x020f);
	ck_assert_uint_eq(bp->hdr.type_of_loader, 0xff);
	ck_assert(bp->hdr.loadflags & CAN_USE_HEAP);
	ck_assert(bp->hdr.loadflags & LOADED_HIGH);
	ck_assert_uint_eq(bp->hdr.cmd_line_ptr, X86_CMDLINE);
	ck_assert_uint_eq(bp->ext_cmd_line_ptr, 0);
	ck_assert_uint_eq(bp->hdr.ramdisk_image, initrd);
	ck_assert_uint_eq(bp->hdr.ramdisk_size, 0x1001);
	ck_assert_uint_eq(bp->acpi_rsdp_addr, X86_ACPI_BASE);
	ck_assert_uint_eq(bp->e820_entries, 3);
	ck_assert_uint_eq(bp->e820_table[2].addr, X86_HIMEM);
	free(bp);
	free(img);
	gmem_destroy(gm);
}
END_TEST

START_TEST(e820_high_memory)
{
	/* 3.5 GiB: 3 GiB below the MMIO hole, 512 MiB from 4 GiB (sparse,
	 * never touched). */
	struct gmem *gm;
	ck_assert_int_eq(gmem_create(3584ull << 20, &gm), 0);
	struct boot_e820_entry t[8];
	unsigned n = x86_e820_build(gm, t, 8);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(t[2].addr + t[2].size, GMEM_MMIO_HOLE_START);
	ck_assert_uint_eq(t[3].addr, GMEM_4G);
	ck_assert_uint_eq(t[3].size, 512ull << 20);
	gmem_destroy(gm);
}
END_TEST

static Suite *boot_suite(void)
{
	Suite *s = suite_create("boot");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, bzimage_ok);
	tcase_add_test(tc, bzimage_hostile);
	tcase_add_test(tc, elf_ok_and_bss_zeroed);
	tcase_add_test(tc, elf_hostile);
	tcase_add_test(tc, garbage_images);
	tcase_add_test(tc, e820_and_boot_params);
	tcase_add_test(tc, e820_high_memory);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return smol_check_run(boot_suite());
}
