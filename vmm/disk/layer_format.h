/* layer_format: the on-disk header of a copy-on-write disk layer.
 *
 * A layer file is
 *   [0, 4096)                     header (fields below, little-endian, rest zero)
 *   [4096, 4096 + bitmap_len)     allocation bitmap, one bit per 4 KiB block,
 *                                 bit i of byte i/8 (LSB first) = block i present
 *   [data_offset, + disk_size)    sparse data: block i at data_offset + i * 4096
 *
 * Header fields (byte offset: field):
 *    0: magic "SMOLLAYR"           8: u32 version (1)      12: u32 flags (bit 0 frozen)
 *   16: u64 disk size (bytes)      24: u64 block size      32: u64 bitmap offset
 *   40: u64 bitmap length          48: u64 data offset     56: u8[16] layer id
 *   72: u8[16] lower id            88: u32 lower kind      92: u32 reserved (0)
 *   96: u64 checksum: XXH3-64 of the whole 4096-byte header with this field zero
 *
 * The lower id names what the layer sits on: for LAYER_LOWER_BASE the identity
 * of the raw base image (see layer_base_identity()), for LAYER_LOWER_LAYER the
 * layer id of the frozen layer below. A layer is therefore never applied to
 * the wrong base or over a layer it was not created on. */
#ifndef SMOL_DISK_LAYER_FORMAT_H
#define SMOL_DISK_LAYER_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LAYER_MAGIC	  "SMOLLAYR"
#define LAYER_VERSION	  1u
#define LAYER_HEADER_SIZE 4096u
#define LAYER_BLOCK_SIZE  4096u
#define LAYER_FLAG_FROZEN 0x1u
#define LAYER_ID_LEN	  16
/* Disks are capped at 16 TiB: the in-memory bitmap stays below 512 MiB and
 * every offset computation stays far from overflow. */
#define LAYER_MAX_DISK_SIZE (1ull << 44)

enum layer_lower_kind {
	LAYER_LOWER_BASE = 0,
	LAYER_LOWER_LAYER = 1,
};

struct layer_header {
	uint32_t version;
	uint32_t flags;
	uint64_t disk_size;
	uint64_t bitmap_offset;
	uint64_t bitmap_len;
	uint64_t data_offset;
	uint8_t layer_id[LAYER_ID_LEN];
	uint8_t lower_id[LAYER_ID_LEN];
	uint32_t lower_kind;
};

/* Fills a fresh header for a layer of disk_size bytes (which must be a
 * non-zero multiple of 512 no larger than LAYER_MAX_DISK_SIZE; -EINVAL
 * otherwise). layer_id and lower_id are copied. */
int layer_header_init(struct layer_header *h, uint64_t disk_size,
		      const uint8_t layer_id[LAYER_ID_LEN], enum layer_lower_kind kind,
		      const uint8_t lower_id[LAYER_ID_LEN]);

/* Serialises h into buf (LAYER_HEADER_SIZE bytes, written in full). */
void layer_header_encode(const struct layer_header *h, uint8_t *buf);

/* Parses and validates a header from untrusted bytes: magic, version,
 * checksum, block size, and that the bitmap and data areas are where version
 * 1 puts them for the stated disk size. On failure returns -EINVAL and, when
 * why is non-NULL, points it at a static one-line reason. */
int layer_header_decode(const uint8_t *buf, size_t len, struct layer_header *h, const char **why);

/* Identity of a raw base image of `size` bytes read through fd: XXH3-128 of
 * the size and 65 evenly spaced 4 KiB samples plus the first 64 KiB. It is a
 * guard against stacking a layer on the wrong image (a different file, a
 * truncated or regenerated one), not a cryptographic hash: hashing a
 * multi-gigabyte base in full at every fork would cost more than the fork.
 * Returns -errno from pread. */
int layer_base_identity(int fd, uint64_t size, uint8_t out[LAYER_ID_LEN]);

/* Formats an id as 32 lowercase hex digits plus NUL into out[33]. */
void layer_id_format(const uint8_t id[LAYER_ID_LEN], char out[2 * LAYER_ID_LEN + 1]);

#endif
