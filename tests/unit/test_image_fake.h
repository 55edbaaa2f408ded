/* Synthetic inputs for the image builder's tests: kernel modules (ELF64
 * ET_REL with a .modinfo section) and Debian packages written with
 * libarchive, so hostile variants are easy to make. */
#ifndef SMOL_TEST_IMAGE_FAKE_H
#define SMOL_TEST_IMAGE_FAKE_H

#include <stddef.h>

/* Builds a module whose .modinfo holds the given NUL-separated text (mlen
 * bytes, normally ending in NUL). Returns a malloc'd buffer. */
void *fake_module(const void *modinfo, size_t mlen, size_t *out_len);

/* Compresses data with libarchive's raw writer and the named filter
 * ("xz", "zstd", "gzip"). Returns a malloc'd buffer. */
void *fake_compress(const char *filter, const void *data, size_t len, size_t *out_len);

struct fake_file {
	const char *path; /* e.g. "./boot/vmlinuz-1.0" */
	const void *data;
	size_t len;
};

/* Writes a .deb to path: debian-binary "2.0\n", control.tar.gz with the
 * given control text, and data.tar.xz with the files. */
void fake_deb(const char *path, const char *control, const struct fake_file *files, size_t n);

/* A small fake bzImage (boot flag and "HdrS" in place). */
void *fake_bzimage(size_t *out_len);

#endif
