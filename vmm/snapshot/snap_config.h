/* snap_config: the "config" section — the VM's shape and the files it needs.
 *
 * Layout (version 1, little-endian):
 *   u32 nr_vcpus, u32 nr_regions, u32 nr_files, u32 reserved (0)
 *   u64 mem_size
 *   nr_regions x { u64 gpa, u64 size, u64 mem_offset }   offset in "memory"
 *   nr_files   x { u32 role, u32 path_len, u64 size, u64 xxh3,
 *                  path_len bytes of path, zero-padded to 8 }
 *
 * Files are the boot artifacts and the read-only disk stack the snapshot
 * depends on. The fork's writable top layer is never listed: each restore
 * brings its own. */
#ifndef SMOL_SNAP_CONFIG_H
#define SMOL_SNAP_CONFIG_H

#include "smolvm/err.h"

#include <stddef.h>
#include <stdint.h>

#define SNAP_CONFIG_VERSION 1
#define SNAP_MAX_VCPUS	    256u
#define SNAP_MAX_REGIONS    16u
#define SNAP_MAX_FILES	    32u
#define SNAP_PATH_MAX	    4096u

enum snap_file_role {
	SNAP_FILE_KERNEL = 1,
	SNAP_FILE_INITRD = 2,
	SNAP_FILE_DISK_BASE = 3,  /* read-only base image */
	SNAP_FILE_DISK_LAYER = 4, /* frozen layer, in stack order above the base */
};

struct snap_region {
	uint64_t gpa, size, mem_offset;
};

struct snap_file_ref {
	uint32_t role;
	uint64_t size;
	uint64_t xxh3; /* 0 when not computed */
	char *path;    /* owned by the config */
};

struct snap_config {
	uint32_t nr_vcpus;
	uint64_t mem_size;
	uint32_t nr_regions;
	struct snap_region regions[SNAP_MAX_REGIONS];
	uint32_t nr_files;
	struct snap_file_ref files[SNAP_MAX_FILES];
};

/* Encodes cfg into a malloc'd buffer owned by the caller. */
int snap_config_encode(const struct snap_config *cfg, uint8_t **out, size_t *out_len);

/* Decodes and validates buf[len] (counts within limits, regions page
 * aligned, non-overlapping, inside mem_size, within memory_len bytes of the
 * memory section; paths non-empty and NUL-free). On success cfg owns its
 * paths (snap_config_release). */
int snap_config_decode(const uint8_t *buf, size_t len, uint64_t memory_len, struct snap_config *cfg,
		       struct vmm_err *err);

/* Adds a file reference (path copied). */
int snap_config_add_file(struct snap_config *cfg, uint32_t role, const char *path, uint64_t size,
			 uint64_t xxh3);

/* Frees the paths; cfg may then be reused. */
void snap_config_release(struct snap_config *cfg);

/* "kernel", "initrd", "disk-base", "disk-layer" or "unknown". Static. */
const char *snap_file_role_name(uint32_t role);

#endif
