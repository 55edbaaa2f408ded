/* Unit tests for the ELF section reader and the .modinfo parser, on
 * synthetic modules: a well-formed one, then truncated and corrupted ones. */
#include "elfread.h"
#include "modinfo.h"

#include "check_main.h"
#include <check.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A minimal ELF64 ET_REL: header, .modinfo contents, .shstrtab, then three
 * section headers (null, .modinfo, .shstrtab). */
struct fake {
	unsigned char buf[4096];
	size_t len;
	size_t shoff;
};

static const char shstr[] = "\0.modinfo\0.shstrtab";

static void build(struct fake *f, const void *modinfo, size_t mlen)
{
	memset(f, 0, sizeof(*f));
	Elf64_Ehdr eh = {0};
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_REL;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_ehsize = sizeof(eh);
	eh.e_shentsize = sizeof(Elf64_Shdr);
	eh.e_shnum = 3;
	eh.e_shstrndx = 2;
	size_t off = sizeof(eh);
	size_t mod_off = off;
	memcpy(f->buf + off, modinfo, mlen);
	off += mlen;
	size_t str_off = off;
	memcpy(f->buf + off, shstr, sizeof(shstr));
	off += sizeof(shstr);
	off = (off + 7) & ~(size_t)7;
	eh.e_shoff = off;
	f->shoff = off;
	Elf64_Shdr sh[3] = {0};
	sh[1].sh_name = 1;
	sh[1].sh_type = SHT_PROGBITS;
	sh[1].sh_offset = mod_off;
	sh[1].sh_size = mlen;
	sh[2].sh_name = 10;
	sh[2].sh_type = SHT_STRTAB;
	sh[2].sh_offset = str_off;
	sh[2].sh_size = sizeof(shstr);
	memcpy(f->buf + off, sh, sizeof(sh));
	off += sizeof(sh);
	memcpy(f->buf, &eh, sizeof(eh));
	f->len = off;
}

#define MI(s) build(&f, s, sizeof(s)) /* includes the final NUL */

static Elf64_Shdr *shdr(struct fake *f, int i)
{
	return (Elf64_Shdr *)(f->buf + f->shoff + (size_t)i * sizeof(Elf64_Shdr));
}

static int parse(struct fake *f, struct modinfo **mi, char *err)
{
	return modinfo_parse(f->buf, f->len, mi, err, 200);
}

START_TEST(happy_path)
{
	struct fake f;
	struct modinfo *mi = NULL;
	char err[200] = "";
	MI("license=GPL\0\0\0depends=virtio,vmw-vsock_virtio_transport_common,virtio\0"
	   "name=vmw_vsock_virtio_transport\0vermagic=6.1.0-56-cloud-amd64 SMP mod_unload ");
	ck_assert_int_eq(parse(&f, &mi, err), 0);
	ck_assert_str_eq(mi->name, "vmw_vsock_virtio_transport");
	ck_assert_uint_eq(mi->ndepends, 2); /* duplicate dropped */
	ck_assert_str_eq(mi->depends[0], "virtio");
	ck_assert_str_eq(mi->depends[1], "vmw_vsock_virtio_transport_common"); /* '-' -> '_' */
	ck_assert_str_eq(mi->vermagic, "6.1.0-56-cloud-amd64 SMP mod_unload ");
	modinfo_destroy(mi);
	modinfo_destroy(NULL);
}
END_TEST

START_TEST(empty_and_missing_depends)
{
	struct fake f;
	struct modinfo *mi = NULL;
	char err[200];
	MI("depends=\0name=fuse");
	ck_assert_int_eq(parse(&f, &mi, err), 0);
	ck_assert_uint_eq(mi->ndepends, 0);
	ck_assert_ptr_null(mi->vermagic);
	modinfo_destroy(mi);
	MI("license=GPL");
	ck_assert_int_eq(parse(&f, &mi, err), 0);
	ck_assert_str_eq(mi->name, "");
	ck_assert_uint_eq(mi->ndepends, 0);
	modinfo_destroy(mi);
}
END_TEST

START_TEST(bad_values)
{
	struct fake f;
	struct modinfo *mi = NULL;
	char err[200];
	MI("depends=virtio,,fuse");
	ck_assert_int_eq(parse(&f, &mi, err), -EINVAL);
	MI("depends=virtio,");
	ck_assert_int_eq(parse(&f, &mi, err), -EINVAL);
	MI("depends=../etc/passwd");
	ck_assert_int_eq(parse(&f, &mi, err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "depends="));
	MI("name=a b");
	ck_assert_int_eq(parse(&f, &mi, err), -EINVAL);
	MI("name=");
	ck_assert_int_eq(parse(&f, &mi, err), -EINVAL);
	MI("name=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"); /* 56 chars */
	ck_assert_int_eq(parse(&f, &mi, err), -EINVAL);
	MI("name=a\0name=b");
	ck_assert_int_eq(parse(&f, &mi, err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "two name="));
	MI("depends=\0depends=x");
	ck_assert_int_eq(parse(&f, &mi, err), -EINVAL);
	MI("vermagic=1\0vermagic=2");
	ck_assert_int_eq(parse(&f, &mi, err), -EINVAL);
	/* Not NUL-terminated at the end of the section. */
	build(&f, "name=x", 6);
	ck_assert_int_eq(parse(&f, &mi, err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "NUL"));
}
END_TEST

START_TEST(too_many_depends)
{
	char text[3000];
	size_t off = (size_t)sprintf(text, "depends=");
	for (int i = 0; i <= MODINFO_DEPS_MAX; i++)
		off += (size_t)sprintf(text + off, "%sm%d", i ? "," : "", i);
	struct fake f;
	struct modinfo *mi = NULL;
	char err[200];
	build(&f, text, off + 1);
	ck_assert_int_eq(parse(&f, &mi, err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "more than"));
}
END_TEST

START_TEST(truncated_everywhere)
{
	struct fake f;
	struct modinfo *mi = NULL;
	char err[200];
	MI("depends=virtio\0name=virtio_blk");
	size_t full = f.len;
	/* Every proper prefix must be rejected without reading past it. */
	for (size_t l = 0; l < full; l++) {
		unsigned char *copy = malloc(l ? l : 1);
		memcpy(copy, f.buf, l);
		int rc = modinfo_parse(copy, l, &mi, err, sizeof(err));
		ck_assert_msg(rc == -ENOEXEC || rc == -EINVAL, "prefix %zu gave %d", l, rc);
		free(copy);
	}
}
END_TEST

START_TEST(not_elf)
{
	struct fake f;
	struct modinfo *mi = NULL;
	char err[200];
	MI("name=x");
	f.buf[0] = 'X';
	ck_assert_int_eq(parse(&f, &mi, err), -ENOEXEC);
	MI("name=x");
	f.buf[EI_CLASS] = ELFCLASS32;
	ck_assert_int_eq(parse(&f, &mi, err), -ENOEXEC);
	MI("name=x");
	f.buf[EI_DATA] = ELFDATA2MSB;
	ck_assert_int_eq(parse(&f, &mi, err), -ENOEXEC);
}
END_TEST

START_TEST(section_offsets_out_of_range)
{
	struct fake f;
	struct modinfo *mi = NULL;
	char err[200];
	Elf64_Ehdr *eh;

	MI("name=x");
	shdr(&f, 1)->sh_offset = f.len; /* .modinfo past the end */
	ck_assert_int_eq(parse(&f, &mi, err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "outside"));

	MI("name=x");
	shdr(&f, 1)->sh_size = UINT64_MAX; /* offset + size overflows */
	ck_assert_int_eq(parse(&f, &mi, err), -EINVAL);

	MI("name=x");
	shdr(&f, 1)->sh_type = SHT_NOBITS;
	ck_assert_int_eq(parse(&f, &mi, err), -EINVAL);

	MI("name=x");
	shdr(&f, 2)->sh_offset = UINT64_MAX - 4; /* name table out of range */
	ck_assert_int_eq(parse(&f, &mi, err), -EINVAL);

	MI("name=x");
	shdr(&f, 2)->sh_type = SHT_PROGBITS;
	ck_assert_int_eq(parse(&f, &mi, err), -EINVAL);

	MI("name=x");
	shdr(&f, 1)->sh_name = 5000; /* name outside the table */
	ck_assert_int_eq(parse(&f, &mi, err), -EINVAL);

	MI("name=x");
	shdr(&f, 2)->sh_size = 3; /* table cut inside ".modinfo": unterminated */
	ck_assert_int_eq(parse(&f, &mi, err), -EINVAL);

	MI("name=x");
	eh = (Elf64_Ehdr *)f.buf;
	eh->e_shoff = UINT64_MAX - 8;
	ck_assert_int_eq(parse(&f, &mi, err), -EINVAL);

	MI("name=x");
	eh = (Elf64_Ehdr *)f.buf;
	eh->e_shnum = 60000; /* headers run past the end */
	ck_assert_int_eq(parse(&f, &mi, err), -EINVAL);

	MI("name=x");
	eh = (Elf64_Ehdr *)f.buf;
	eh->e_shstrndx = 3;
	ck_assert_int_eq(parse(&f, &mi, err), -EINVAL);

	MI("name=x");
	eh = (Elf64_Ehdr *)f.buf;
	eh->e_shentsize = 32;
	ck_assert_int_eq(parse(&f, &mi, err), -EINVAL);

	MI("name=x");
	eh = (Elf64_Ehdr *)f.buf;
	eh->e_shnum = 0;
	ck_assert_int_eq(parse(&f, &mi, err), -EINVAL);
}
END_TEST

START_TEST(missing_and_duplicate_section)
{
	struct fake f;
	struct modinfo *mi = NULL;
	char err[200];
	MI("name=x");
	shdr(&f, 1)->sh_name = 10; /* now called .shstrtab: no .modinfo */
	ck_assert_int_eq(parse(&f, &mi, err), -ENOENT);
	MI("name=x");
	memcpy(shdr(&f, 0), shdr(&f, 1), sizeof(Elf64_Shdr)); /* two .modinfo */
	ck_assert_int_eq(parse(&f, &mi, err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "two"));
}
END_TEST

START_TEST(names)
{
	char out[MODINFO_NAME_MAX];
	ck_assert_int_eq(modinfo_name_from_path("kernel/fs/fuse/virtio-fs.ko.xz", out), 0);
	ck_assert_str_eq(out, "virtio_fs");
	ck_assert_int_eq(modinfo_name_from_path("fuse.ko", out), 0);
	ck_assert_str_eq(out, "fuse");
	ck_assert_int_eq(modinfo_name_from_path("kernel/fuse.kox", out), -EINVAL);
	ck_assert_int_eq(modinfo_name_from_path("kernel/.ko", out), -EINVAL);
	ck_assert_int_eq(modinfo_name_from_path("kernel/fuse", out), -EINVAL);
	ck_assert_int_eq(modinfo_normalise_name("a/b", 3, out), -EINVAL);
}
END_TEST

START_TEST(exec_info)
{
	bool st;
	char err[200];
	struct fake f;
	MI("name=x");
	/* A relocatable module is not an executable. */
	ck_assert_int_eq(elf_exec_info(f.buf, f.len, &st, err, sizeof(err)), -ENOEXEC);

	unsigned char exe[sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr)] = {0};
	Elf64_Ehdr eh = {0};
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_phoff = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = 2;
	Elf64_Phdr ph[2] = {{.p_type = PT_LOAD}, {.p_type = PT_NOTE}};
	memcpy(exe, &eh, sizeof(eh));
	memcpy(exe + sizeof(eh), ph, sizeof(ph));
	ck_assert_int_eq(elf_exec_info(exe, sizeof(exe), &st, err, sizeof(err)), 0);
	ck_assert(st);
	ph[1].p_type = PT_INTERP;
	memcpy(exe + sizeof(eh), ph, sizeof(ph));
	ck_assert_int_eq(elf_exec_info(exe, sizeof(exe), &st, err, sizeof(err)), 0);
	ck_assert(!st);
	/* Program headers past the end. */
	ck_assert_int_eq(elf_exec_info(exe, sizeof(exe) - 1, &st, err, sizeof(err)), -EINVAL);
	eh.e_machine = EM_AARCH64;
	memcpy(exe, &eh, sizeof(eh));
	ck_assert_int_eq(elf_exec_info(exe, sizeof(exe), &st, err, sizeof(err)), -ENOEXEC);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("modinfo");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, happy_path);
	tcase_add_test(tc, empty_and_missing_depends);
	tcase_add_test(tc, bad_values);
	tcase_add_test(tc, too_many_depends);
	tcase_add_test(tc, truncated_everywhere);
	tcase_add_test(tc, not_elf);
	tcase_add_test(tc, section_offsets_out_of_range);
	tcase_add_test(tc, missing_and_duplicate_section);
	tcase_add_test(tc, names);
	tcase_add_test(tc, exec_info);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return smol_check_run(suite());
}
