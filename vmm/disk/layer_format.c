#include "disk/layer_format.h"

#include "disk/disk_io.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

enum {
	OFF_MAGIC = 0,
	OFF_VERSION = 8,
	OFF_FLAGS = 12,
	OFF_SIZE = 16,
	OFF_BLOCK = 24,
	OFF_BITMAP_OFF = 32,
	OFF_BITMAP_LEN = 40,
	OFF_DATA_OFF = 48,
	OFF_LAYER_ID = 56,
	OFF_LOWER_ID = 72,
	OFF_LOWER_KIND = 88,
	OFF_RESERVED = 92,
	OFF_CHECKSUM = 96,
	HEADER_USED = 104,
};

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t bitmap_len_for(uint64_t disk_size)
{
	uint64_t blocks = (disk_size + LAYER_BLOCK_SIZE - 1) / LAYER_BLOCK_SIZE;
	uint64_t bytes = (blocks + 7) / 8;
	return (bytes + LAYER_HEADER_SIZE - 1) / LAYER_HEADER_SIZE * LAYER_HEADER_SIZE;
}

int layer_header_init(struct layer_header *h, uint64_t disk_size,
		      const uint8_t layer_id[LAYER_ID_LEN], enum layer_lower_kind kind,
		      const uint8_t lower_id[LAYER_ID_LEN])
{
	if (disk_size == 0 || disk_size % 512 || disk_size > LAYER_MAX_DISK_SIZE)
		return -EINVAL;
	if (kind != LAYER_LOWER_BASE && kind != LAYER_LOWER_LAYER)
		return -EINVAL;
	memset(h, 0, sizeof(*h));
	h->version = LAYER_VERSION;
	h->disk_size = disk_size;
	h->bitmap_offset = LAYER_HEADER_SIZE;
	h->bitmap_len = bitmap_len_for(disk_size);
	h->data_offset = h->bitmap_offset + h->bitmap_len;
	memcpy(h->layer_id, layer_id, LAYER_ID_LEN);
	memcpy(h->lower_id, lower_id, LAYER_ID_LEN);
	h->lower_kind = kind;
	return 0;
}

void layer_header_encode(const struct layer_header *h, uint8_t *buf)
{
	memset(buf, 0, LAYER_HEADER_SIZE);
	memcpy(buf + OFF_MAGIC, LAYER_MAGIC, 8); /* NOLINT(bugprone-not-null-terminated-result) */
	put_le32(buf + OFF_VERSION, h->version);
	put_le32(buf + OFF_FLAGS, h->flags);
	put_le64(buf + OFF_SIZE, h->disk_size);
	put_le64(buf + OFF_BLOCK, LAYER_BLOCK_SIZE);
	put_le64(buf + OFF_BITMAP_OFF, h->bitmap_offset);
	put_le64(buf + OFF_BITMAP_LEN, h->bitmap_len);
	put_le64(buf + OFF_DATA_OFF, h->data_offset);
	memcpy(buf + OFF_LAYER_ID, h->layer_id, LAYER_ID_LEN);
	memcpy(buf + OFF_LOWER_ID, h->lower_id, LAYER_ID_LEN);
	put_le32(buf + OFF_LOWER_KIND, h->lower_kind);
	put_le64(buf + OFF_CHECKSUM, XXH3_64bits(buf, LAYER_HEADER_SIZE));
}

static int fail(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return -EINVAL;
}

int layer_header_decode(const uint8_t *buf, size_t len, struct layer_header *h, const char **why)
{
	static const uint8_t zero[LAYER_HEADER_SIZE - HEADER_USED];
	uint8_t copy[LAYER_HEADER_SIZE];

	if (len < LAYER_HEADER_SIZE)
		return fail(why, "file is shorter than the 4096-byte layer header");
	if (memcmp(buf + OFF_MAGIC, LAYER_MAGIC, 8) != 0)
		return fail(why, "bad magic (not a smolvm disk layer)");
	if (get_le32(buf + OFF_VERSION) != LAYER_VERSION)
		return fail(why, "unsupported layer format version (this smolvm reads version 1)");
	memcpy(copy, buf, LAYER_HEADER_SIZE);
	memset(copy + OFF_CHECKSUM, 0, 8);
	if (XXH3_64bits(copy, LAYER_HEADER_SIZE) != get_le64(buf + OFF_CHECKSUM))
		return fail(why, "header checksum mismatch (corrupt layer)");
	if (memcmp(buf + HEADER_USED, zero, sizeof(zero)) != 0 || get_le32(buf + OFF_RESERVED))
		return fail(why, "reserved header bytes are not zero");
	if (get_le32(buf + OFF_FLAGS) & ~LAYER_FLAG_FROZEN)
		return fail(why, "unknown header flags");
	if (get_le64(buf + OFF_BLOCK) != LAYER_BLOCK_SIZE)
		return fail(why, "block size is not 4096");

	struct layer_header t;
	uint32_t kind = get_le32(buf + OFF_LOWER_KIND);
	if (layer_header_init(&t, get_le64(buf + OFF_SIZE), buf + OFF_LAYER_ID, kind,
			      buf + OFF_LOWER_ID))
		return fail(why, "disk size or lower kind out of range");
	if (get_le64(buf + OFF_BITMAP_OFF) != t.bitmap_offset ||
	    get_le64(buf + OFF_BITMAP_LEN) != t.bitmap_len ||
	    get_le64(buf + OFF_DATA_OFF) != t.data_offset)
		return fail(why, "bitmap/data offsets do not match the disk size");
	t.flags = get_le32(buf + OFF_FLAGS);
	*h = t;
	return 0;
}

int layer_base_identity(int fd, uint64_t size, uint8_t out[LAYER_ID_LEN])
{
	enum { SAMPLES = 65, SAMPLE = 4096, HEAD = 65536 };
	uint8_t buf[SAMPLE], le[8];
	XXH3_state_t *st = XXH3_createState();
	int rc = 0;

	if (!st)
		return -ENOMEM;
	XXH3_128bits_reset(st);
	put_le64(le, size);
	XXH3_128bits_update(st, le, sizeof(le));
	for (uint64_t off = 0; off < size && off < HEAD; off += SAMPLE) {
		size_t n = (size_t)(size - off < SAMPLE ? size - off : SAMPLE);
		rc = dio_pread(fd, buf, n, off);
		if (rc)
			goto out;
		XXH3_128bits_update(st, buf, n);
	}
	for (uint64_t i = 0; i < SAMPLES; i++) {
		uint64_t off = size / (SAMPLES - 1) * i;
		off -= off % SAMPLE;
		if (off >= size)
			off = size > SAMPLE ? (size - SAMPLE) : 0;
		size_t n = (size_t)(size - off < SAMPLE ? size - off : SAMPLE);
		rc = dio_pread(fd, buf, n, off);
		if (rc)
			goto out;
		XXH3_128bits_update(st, buf, n);
	}
	XXH128_canonical_t c;
	XXH128_canonicalFromHash(&c, XXH3_128bits_digest(st));
	memcpy(out, c.digest, LAYER_ID_LEN);
out:
	XXH3_freeState(st);
	return rc;
}

void layer_id_format(const uint8_t id[LAYER_ID_LEN], char out[2 * LAYER_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < LAYER_ID_LEN; i++) {
		out[2 * i] = hex[id[i] >> 4];
		out[2 * i + 1] = hex[id[i] & 15];
	}
	out[(size_t)2 * LAYER_ID_LEN] = '\0';
}
