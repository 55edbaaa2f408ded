/* snap_writer: streams a .smolsnap file.
 *
 * Sections are appended as they are produced; the section table and the
 * header are written by snap_writer_commit(), which then renames the
 * temporary file over the target path. Until commit, the target path is
 * untouched; snap_writer_destroy() on an uncommitted writer removes the
 * temporary file. No fsync: a torn file (crash between write and rename)
 * fails its checksums on open, which is what a cache needs. */
#ifndef SMOL_SNAP_WRITER_H
#define SMOL_SNAP_WRITER_H

#include "snap_format.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct snap_writer;

/* One host mapping of guest RAM to be written to the memory section, in
 * order. len must be a multiple of SNAP_PAGE_SIZE. With hole_fd >= 0, host
 * maps hole_fd at hole_off and the writer asks the file system for the
 * file's holes (SEEK_DATA/SEEK_HOLE; memfd and tmpfs support both):
 *  - private_file false: a MAP_SHARED mapping (guest RAM's memfd): pages in
 *    holes are zero and are never read, so a mostly empty guest is cheap;
 *  - private_file true: a MAP_PRIVATE mapping (a restored VM's RAM over its
 *    snapshot): pages in holes are zero unless the process wrote its own
 *    copy, which /proc/self/pagemap tells.
 * With hole_fd -1 and anonymous set (a booted VM's RAM: private anonymous
 * memory), pages /proc/self/pagemap shows never present nor swapped are
 * zero and are never read. Otherwise every page is read. */
struct snap_mem_range {
	const void *host;
	uint64_t len;
	int hole_fd;
	uint64_t hole_off;
	bool private_file;
	bool anonymous;
};

struct snap_mem_stats {
	uint64_t pages_total;
	uint64_t pages_written; /* non-zero pages stored as data */
	uint64_t pages_skipped; /* known zero (holes, untouched pages), never read */
};

/* Opens "<path>.tmp.<pid>" for writing and reserves the header. The path is
 * copied. */
int snap_writer_create(const char *path, struct snap_writer **out, struct vmm_err *err);

/* Appends one section. name must satisfy snap_name_valid() and be unique;
 * data is copied to the file before return. */
int snap_writer_add(struct snap_writer *w, const char *name, uint32_t type, uint32_t version,
		    const void *data, size_t len, struct vmm_err *err);

/* Appends the memory section (named "memory", type SNAP_SEC_MEMORY) at a
 * page-aligned offset: non-zero pages are written, zero pages become holes.
 * The section's checksum covers every byte, holes included. Borrows ranges;
 * the guest must not run while this reads it. stats may be NULL. */
int snap_writer_add_memory(struct snap_writer *w, uint32_t version,
			   const struct snap_mem_range *ranges, size_t nranges,
			   struct snap_mem_stats *stats, struct vmm_err *err);

/* Writes the table and the header (with fp copied into it) and renames the
 * file into place. After commit only snap_writer_destroy() may be called. */
int snap_writer_commit(struct snap_writer *w, const struct snap_fingerprint *fp,
		       struct vmm_err *err);

/* Frees w; removes the temporary file unless committed. NULL is a no-op. */
void snap_writer_destroy(struct snap_writer *w);

#endif
