/* layer: one opened layer file with its bitmap in memory (internal to disk). */
#ifndef SMOL_DISK_LAYER_H
#define SMOL_DISK_LAYER_H

#include "disk/layer_format.h"
#include "smolvm/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct layer {
	int fd;
	bool writable;
	struct layer_header hdr;
	uint8_t *bitmap; /* hdr.bitmap_len bytes, malloc'd */
	uint64_t nblocks;
	char *path;
};

/* Opens path (O_RDWR when writable, else O_RDONLY), validates the header,
 * that the file is exactly data_offset + disk_size long, and that no bitmap
 * bit lies past the last block; loads the bitmap. A writable layer is locked
 * with flock(LOCK_EX | LOCK_NB) so that two VMs never write one layer
 * (-EBUSY). On failure l is left closed (fd -1) and err says why. */
int layer_load(struct layer *l, const char *path, bool writable, struct vmm_err *err);

/* Closes and frees; safe on a closed layer (fd -1) or after a failed load. */
void layer_close(struct layer *l);

static inline bool layer_has(const struct layer *l, uint64_t blk)
{
	return (l->bitmap[blk / 8] >> (blk % 8)) & 1;
}

static inline void layer_set(struct layer *l, uint64_t blk)
{
	l->bitmap[blk / 8] |= (uint8_t)(1u << (blk % 8));
}

/* Writes bitmap bytes covering blocks [first, last] back to the file. */
int layer_store_bits(struct layer *l, uint64_t first, uint64_t last);

#endif
