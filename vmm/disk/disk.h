/* disk: a virtual disk made of a raw base image and copy-on-write layers.
 *
 * The stack is base (raw, never written when layers exist) + layers[0..n-1],
 * bottom to top. Every layer but the top must be frozen; the top receives
 * the writes unless the disk is opened read-only. With no layers and
 * read_only false, writes go straight into the raw base file.
 *
 * Reads take each 4 KiB block from the topmost layer whose bitmap has it,
 * else from the base. A write that covers only part of a block that the top
 * layer does not have yet copies the block up first. Discard and write-zeroes
 * both leave the range reading as zeroes (whole blocks are marked present
 * and punched out of the sparse file, so they cost no space).
 *
 * Not thread-safe: one caller (the device's event loop) at a time. */
#ifndef SMOL_DISK_DISK_H
#define SMOL_DISK_DISK_H

#include "disk/layer_format.h"
#include "smolvm/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DISK_MAX_LAYERS 16

struct disk;

struct disk_config {
	const char *base_path;	   /* raw image; borrowed */
	const char *const *layers; /* bottom to top; borrowed; may be NULL if n_layers == 0 */
	size_t n_layers;
	bool read_only;
};

/* Opens and validates the whole stack: each layer's header, that its disk
 * size equals the base size, that layer 0 sits on this base (identity) and
 * layer i on layer i-1 (id), that all layers below the top are frozen, and
 * that a writable top is not frozen. On failure returns -errno and, when
 * err is not NULL, leaves one line there naming the file and what to do
 * (smolvm/err.h); it never prints. The config's strings are copied. */
int disk_open(struct disk **out, const struct disk_config *cfg, struct vmm_err *err);

/* Closes every file. disk_destroy(NULL) is a no-op. Does not flush. */
void disk_destroy(struct disk *d);

uint64_t disk_size(const struct disk *d);
bool disk_read_only(const struct disk *d);

/* A stable 20-byte serial for VIRTIO_BLK_T_GET_ID: "smol-" and hex digits of
 * the top layer's id (or the base identity). Not NUL-terminated when all 20
 * bytes are used, as the virtio spec allows (virtio 1.2 §5.2.6). */
void disk_serial(const struct disk *d, uint8_t out[20]);

/* I/O. off + len must lie within the disk (-EINVAL otherwise, nothing
 * done). Writes, discards and write-zeroes on a read-only disk return -EROFS.
 * A failing host read/write returns -errno (or -EIO on an unexpected EOF);
 * a failed write may have left part of the range written, as real disks do. */
int disk_read(struct disk *d, uint64_t off, void *buf, size_t len);
int disk_write(struct disk *d, uint64_t off, const void *buf, size_t len);
int disk_write_zeroes(struct disk *d, uint64_t off, uint64_t len);
int disk_discard(struct disk *d, uint64_t off, uint64_t len);
/* fdatasync of the file that takes writes; a no-op for read-only disks. */
int disk_flush(struct disk *d);

/* ---- layer management (the `smolvm disk` subcommands use these) ---- */

/* Creates a new, empty, writable layer at path (which must not exist) over
 * the raw base, or, when lower_layer is non-NULL, over that frozen layer
 * (which must itself sit on this base's size). A random layer id comes from
 * getrandom(). On failure nothing is left at path. */
int disk_layer_create(const char *path, const char *base_path, const char *lower_layer,
		      struct vmm_err *err);

/* Marks a layer frozen (read-only, so further layers may stack on it) and
 * fsyncs it. Freezing a frozen layer is success. */
int disk_layer_freeze(const char *path, struct vmm_err *err);

struct disk_layer_info {
	struct layer_header hdr;
	uint64_t allocated_blocks; /* bits set in the bitmap */
	uint64_t file_bytes;	   /* apparent size of the layer file */
	uint64_t disk_bytes;	   /* space it really uses (st_blocks * 512) */
};

/* Reads and validates a layer's header and counts its bitmap. */
int disk_layer_stat(const char *path, struct disk_layer_info *out, struct vmm_err *err);

#endif
