/* snap_file: an opened, validated .smolsnap file.
 *
 * snap_file_open() reads and validates the header and the section table
 * (everything snap_format.c checks) and nothing else, so it is cheap; section
 * contents are checked when read. The memory section's checksum is checked
 * only by snap_file_verify() (lazy on restore: forks map it, they do not read
 * it), which walks the file's data extents and hashes holes as zeros. */
#ifndef SMOL_SNAP_FILE_H
#define SMOL_SNAP_FILE_H

#include "snap_format.h"

#include <stddef.h>
#include <stdint.h>

/* Largest non-memory section read into memory. */
#define SNAP_SECTION_READ_MAX (64u << 20)

struct snap_file {
	int fd;
	char *path;
	uint64_t size;
	struct snap_header hdr;
	struct snap_section *secs; /* hdr.section_count entries */
};

/* Opens path read-only and validates header and table. *out is owned by the
 * caller (snap_file_close). Errors name the path. */
int snap_file_open(const char *path, struct snap_file **out, struct vmm_err *err);

/* Closes f. NULL is a no-op. */
void snap_file_close(struct snap_file *f);

/* Section by name, or NULL. Borrowed from f. */
const struct snap_section *snap_file_find(const struct snap_file *f, const char *name);

/* Reads section s (not the memory section) into a malloc'd buffer owned by
 * the caller, and checks its checksum and, when want_type is non-zero, its
 * type. Sections larger than SNAP_SECTION_READ_MAX are refused. */
int snap_file_read(const struct snap_file *f, const struct snap_section *s, uint32_t want_type,
		   void **out, size_t *out_len, struct vmm_err *err);

/* Convenience: find by name and read; -ENOENT (with a message) if absent. */
int snap_file_read_named(const struct snap_file *f, const char *name, uint32_t want_type,
			 void **out, size_t *out_len, struct vmm_err *err);

/* Checks every section's checksum, the memory section included. */
int snap_file_verify(const struct snap_file *f, struct vmm_err *err);

/* Maps len bytes of the memory section starting at offset (page aligned,
 * within the section) MAP_PRIVATE, read-write: guest writes stay in this
 * process. Returns the mapping in *out; unmap with munmap. */
int snap_file_map_memory(const struct snap_file *f, uint64_t offset, uint64_t len, void **out,
			 struct vmm_err *err);

/* Allocated (st_blocks * 512) and apparent sizes of the file. */
int snap_file_sizes(const struct snap_file *f, uint64_t *allocated, uint64_t *apparent);

#endif
