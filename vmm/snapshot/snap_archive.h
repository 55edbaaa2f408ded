/* snap_archive: libarchive for the bundle code, opened with dlopen.
 *
 * Only `smolvm snapshot export/import` use libarchive, but a library linked
 * into smolvm is loaded by every smolvm process, and the runner starts one
 * per test fork: libarchive brings libxml2, ICU, nettle, lzma, bz2, lz4,
 * acl and libstdc++ with it, which cost each process more dynamic loading
 * than the rest of smolvm's start (tests/bench/README-vmm.md has the
 * figures). So smolvm does not link it; the bundle code calls it through
 * this table, filled by snap_archive_open() (systemd's dlopen of optional
 * libraries is the model). archive.h is used for its types only.
 *
 * Every function is listed once, in SNAP_ARCHIVE_FUNCS, with its prototype;
 * tests/unit/test_snap_bundle.c links libarchive and checks each entry
 * against archive.h, so a wrong prototype fails the build there. */
#ifndef SMOL_SNAP_ARCHIVE_H
#define SMOL_SNAP_ARCHIVE_H

#include "smolvm/err.h"

#include <archive.h>
#include <archive_entry.h>

/* libarchive 3.x; its soname has been libarchive.so.13 since 3.0. */
#define SNAP_ARCHIVE_SONAME "libarchive.so.13"
_Static_assert(ARCHIVE_VERSION_NUMBER >= 3000000 && ARCHIVE_VERSION_NUMBER < 4000000,
	       "SNAP_ARCHIVE_SONAME names libarchive 3's soname");

/* X(return type, name, (parameter types)) */
#define SNAP_ARCHIVE_FUNCS(X)                                                                      \
	X(const char *, archive_error_string, (struct archive *))                                  \
	X(struct archive *, archive_write_new, (void))                                             \
	X(int, archive_write_set_format_pax_restricted, (struct archive *))                        \
	X(int, archive_write_add_filter_zstd, (struct archive *))                                  \
	X(int, archive_write_open_filename, (struct archive *, const char *))                      \
	X(int, archive_write_header, (struct archive *, struct archive_entry *))                   \
	X(la_ssize_t, archive_write_data, (struct archive *, const void *, size_t))                \
	X(int, archive_write_close, (struct archive *))                                            \
	X(int, archive_write_free, (struct archive *))                                             \
	X(struct archive *, archive_read_new, (void))                                              \
	X(int, archive_read_support_filter_zstd, (struct archive *))                               \
	X(int, archive_read_support_format_tar, (struct archive *))                                \
	X(int, archive_read_open_filename, (struct archive *, const char *, size_t))               \
	X(int, archive_read_next_header, (struct archive *, struct archive_entry **))              \
	X(la_ssize_t, archive_read_data, (struct archive *, void *, size_t))                       \
	X(int, archive_read_data_block, (struct archive *, const void **, size_t *, la_int64_t *)) \
	X(int, archive_read_free, (struct archive *))                                              \
	X(struct archive_entry *, archive_entry_new, (void))                                       \
	X(void, archive_entry_free, (struct archive_entry *))                                      \
	X(void, archive_entry_set_pathname, (struct archive_entry *, const char *))                \
	X(void, archive_entry_set_filetype, (struct archive_entry *, unsigned int))                \
	X(void, archive_entry_set_perm, (struct archive_entry *, __LA_MODE_T))                     \
	X(void, archive_entry_set_size, (struct archive_entry *, la_int64_t))                      \
	X(void, archive_entry_set_mtime, (struct archive_entry *, time_t, long))                   \
	X(void, archive_entry_sparse_add_entry, (struct archive_entry *, la_int64_t, la_int64_t))  \
	X(void, archive_entry_sparse_clear, (struct archive_entry *))                              \
	X(const char *, archive_entry_pathname, (struct archive_entry *))                          \
	X(__LA_MODE_T, archive_entry_filetype, (struct archive_entry *))                           \
	X(const char *, archive_entry_hardlink, (struct archive_entry *))                          \
	X(const char *, archive_entry_symlink, (struct archive_entry *))                           \
	X(int, archive_entry_size_is_set, (struct archive_entry *))                                \
	X(la_int64_t, archive_entry_size, (struct archive_entry *))

struct snap_archive {
	void *dl; /* dlopen handle */
#define SNAP_ARCHIVE_MEMBER(ret, name, params) ret(*name) params;
	SNAP_ARCHIVE_FUNCS(SNAP_ARCHIVE_MEMBER)
#undef SNAP_ARCHIVE_MEMBER
};

/* Opens libarchive and fills *la. 0, or -ENOSYS with err saying which
 * library or function is missing and which package provides it. */
int snap_archive_open(struct snap_archive *la, struct vmm_err *err);

/* Closes what snap_archive_open() opened; *la becomes empty. */
void snap_archive_close(struct snap_archive *la);

#endif
