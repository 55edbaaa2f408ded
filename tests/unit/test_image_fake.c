/* Synthetic modules and .deb packages for the image builder tests. */
#include "test_image_fake.h"

#include <archive.h>
#include <archive_entry.h>
#include <check.h>
#include <elf.h>
#include <stdlib.h>
#include <string.h>

static const char shstr[] = "\0.modinfo\0.shstrtab";

void *fake_module(const void *modinfo, size_t mlen, size_t *out_len)
{
	size_t cap = sizeof(Elf64_Ehdr) + mlen + sizeof(shstr) + 8 + 3 * sizeof(Elf64_Shdr);
	unsigned char *buf = calloc(1, cap);
	ck_assert_ptr_nonnull(buf);
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
	size_t off = sizeof(eh), mod_off = off;
	memcpy(buf + off, modinfo, mlen);
	off += mlen;
	size_t str_off = off;
	memcpy(buf + off, shstr, sizeof(shstr));
	off = (off + sizeof(shstr) + 7) & ~(size_t)7;
	eh.e_shoff = off;
	Elf64_Shdr sh[3] = {0};
	sh[1] = (Elf64_Shdr){
	    .sh_name = 1, .sh_type = SHT_PROGBITS, .sh_offset = mod_off, .sh_size = mlen};
	sh[2] = (Elf64_Shdr){
	    .sh_name = 10, .sh_type = SHT_STRTAB, .sh_offset = str_off, .sh_size = sizeof(shstr)};
	memcpy(buf + off, sh, sizeof(sh));
	memcpy(buf, &eh, sizeof(eh));
	*out_len = off + sizeof(sh);
	return buf;
}

void *fake_compress(const char *filter, const void *data, size_t len, size_t *out_len)
{
	size_t cap = len + 4096, used = 0;
	void *out = malloc(cap);
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	ck_assert_int_eq(archive_write_set_format_raw(a), ARCHIVE_OK);
	ck_assert_int_eq(archive_write_add_filter_by_name(a, filter), ARCHIVE_OK);
	ck_assert_int_eq(archive_write_set_bytes_per_block(a, 0), ARCHIVE_OK);
	ck_assert_int_eq(archive_write_open_memory(a, out, cap, &used), ARCHIVE_OK);
	archive_entry_set_pathname(e, "data");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_size(e, (la_int64_t)len);
	ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
	ck_assert_int_eq(archive_write_data(a, data, len), (la_ssize_t)len);
	ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	archive_entry_free(e);
	*out_len = used;
	return out;
}

/* Writes a tar (with the given filter) of files into a malloc'd buffer. */
static void *make_tar(const char *filter, const struct fake_file *files, size_t n, size_t *len)
{
	size_t cap = 1 << 20, used = 0;
	for (size_t i = 0; i < n; i++)
		cap += files[i].len + 1024;
	void *out = malloc(cap);
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_add_filter_by_name(a, filter);
	ck_assert_int_eq(archive_write_open_memory(a, out, cap, &used), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		archive_entry_clear(e);
		archive_entry_set_pathname(e, files[i].path);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)files[i].len);
		ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
		archive_write_data(a, files[i].data, files[i].len);
	}
	ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	archive_entry_free(e);
	*len = used;
	return out;
}

void fake_deb(const char *path, const char *control, const struct fake_file *files, size_t n)
{
	struct fake_file cf = {"./control", control, strlen(control)};
	size_t clen, dlen;
	void *ctar = make_tar("gzip", &cf, 1, &clen);
	void *dtar = make_tar("xz", files, n, &dlen);
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	archive_write_set_format_ar_svr4(a);
	ck_assert_int_eq(archive_write_open_filename(a, path), ARCHIVE_OK);
	const struct fake_file members[] = {
	    {"debian-binary", "2.0\n", 4},
	    {"control.tar.gz", ctar, clen},
	    {"data.tar.xz", dtar, dlen},
	};
	for (size_t i = 0; i < 3; i++) {
		archive_entry_clear(e);
		archive_entry_set_pathname(e, members[i].path);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)members[i].len);
		ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
		archive_write_data(a, members[i].data, members[i].len);
	}
	ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	archive_entry_free(e);
	free(ctar);
	free(dtar);
}

void *fake_bzimage(size_t *out_len)
{
	unsigned char *k = calloc(1, 4096);
	k[0x1fe] = 0x55;
	k[0x1ff] = 0xaa;
	memcpy(k + 0x202, "HdrS", 4);
	*out_len = 4096;
	return k;
}
