#include "disk/disk.h"

#include "disk/disk_io.h"
#include "disk/layer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define BS LAYER_BLOCK_SIZE

struct disk {
	int base_fd;
	bool base_writable; /* raw mode: no layers, not read-only */
	bool read_only;
	uint64_t size;
	uint8_t base_id[LAYER_ID_LEN];
	size_t n_layers;
	struct layer layers[DISK_MAX_LAYERS];
	uint8_t *scratch; /* one block, for copy-up */
};

static struct layer *top(struct disk *d)
{
	return d->n_layers ? &d->layers[d->n_layers - 1] : NULL;
}

static int check_stack(struct disk *d, const struct disk_config *cfg, struct vmm_err *err)
{
	for (size_t i = 0; i < d->n_layers; i++) {
		const struct layer *l = &d->layers[i];
		bool is_top = i + 1 == d->n_layers;
		if (l->hdr.disk_size != d->size)
			return vmm_errf(
			    err, -EINVAL,
			    "disk layer %s: made for a %llu-byte disk, the base %s has %llu bytes",
			    l->path, (unsigned long long)l->hdr.disk_size, cfg->base_path,
			    (unsigned long long)d->size);
		if (i == 0 && (l->hdr.lower_kind != LAYER_LOWER_BASE ||
			       memcmp(l->hdr.lower_id, d->base_id, LAYER_ID_LEN) != 0))
			return vmm_errf(err, -EINVAL,
					"disk layer %s was not created on base %s (identity "
					"mismatch); use the base it was made from",
					l->path, cfg->base_path);
		if (i > 0 &&
		    (l->hdr.lower_kind != LAYER_LOWER_LAYER ||
		     memcmp(l->hdr.lower_id, d->layers[i - 1].hdr.layer_id, LAYER_ID_LEN) != 0))
			return vmm_errf(err, -EINVAL,
					"disk layer %s was not created on layer %s; list layers "
					"bottom to top as created",
					l->path, d->layers[i - 1].path);
		if (!is_top && !(l->hdr.flags & LAYER_FLAG_FROZEN))
			return vmm_errf(err, -EINVAL,
					"disk layer %s is below another layer but not frozen; run "
					"`smolvm disk freeze %s` first",
					l->path, l->path);
		if (is_top && !cfg->read_only && (l->hdr.flags & LAYER_FLAG_FROZEN))
			return vmm_errf(
			    err, -EROFS,
			    "disk layer %s is frozen; add a new layer on top or give the disk `ro`",
			    l->path);
	}
	return 0;
}

int disk_open(struct disk **out, const struct disk_config *cfg, struct vmm_err *err)
{
	struct disk *d;
	int rc;

	*out = NULL;
	if (cfg->n_layers > DISK_MAX_LAYERS)
		return vmm_errf(err, -E2BIG, "disk %s: %zu layers, at most %d are supported",
				cfg->base_path, cfg->n_layers, DISK_MAX_LAYERS);
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	for (size_t i = 0; i < DISK_MAX_LAYERS; i++)
		d->layers[i].fd = -1;
	d->read_only = cfg->read_only;
	d->base_writable = !cfg->read_only && cfg->n_layers == 0;
	d->base_fd = open(cfg->base_path, (d->base_writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (d->base_fd < 0) {
		rc = vmm_errf(err, -errno, "disk %s: cannot open: %s", cfg->base_path,
			      strerror(errno));
		goto fail;
	}
	if (d->base_writable && flock(d->base_fd, LOCK_EX | LOCK_NB)) {
		rc = vmm_errf(err, -EBUSY, "disk %s is in use by another process", cfg->base_path);
		goto fail;
	}
	rc = dio_size(d->base_fd, &d->size);
	if (rc || d->size == 0 || d->size % 512 || d->size > LAYER_MAX_DISK_SIZE) {
		rc = vmm_errf(err, rc ? rc : -EINVAL,
			      "disk %s: size %llu is not a non-zero multiple of 512 up to 16 TiB; "
			      "pad it with truncate -s",
			      cfg->base_path, (unsigned long long)d->size);
		goto fail;
	}
	rc = layer_base_identity(d->base_fd, d->size, d->base_id);
	if (rc) {
		vmm_errf(err, rc, "disk %s: cannot read: %s", cfg->base_path, strerror(-rc));
		goto fail;
	}
	for (size_t i = 0; i < cfg->n_layers; i++) {
		bool writable = !cfg->read_only && i + 1 == cfg->n_layers;
		rc = layer_load(&d->layers[i], cfg->layers[i], writable, err);
		if (rc)
			goto fail;
		d->n_layers = i + 1;
	}
	rc = check_stack(d, cfg, err);
	if (rc)
		goto fail;
	d->scratch = malloc(BS);
	if (!d->scratch) {
		rc = -ENOMEM;
		goto fail;
	}
	*out = d;
	return 0;
fail:
	disk_destroy(d);
	return rc;
}

void disk_destroy(struct disk *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < DISK_MAX_LAYERS; i++)
		layer_close(&d->layers[i]);
	if (d->base_fd >= 0)
		close(d->base_fd);
	free(d->scratch);
	free(d);
}

uint64_t disk_size(const struct disk *d)
{
	return d->size;
}

bool disk_read_only(const struct disk *d)
{
	return d->read_only;
}

void disk_serial(const struct disk *d, uint8_t out[20])
{
	char hex[2 * LAYER_ID_LEN + 1];
	layer_id_format(d->n_layers ? d->layers[d->n_layers - 1].hdr.layer_id : d->base_id, hex);
	/* Not NUL-terminated when all 20 bytes are used (virtio 1.2 §5.2.6). */
	memcpy(out, "smol-", 5); /* NOLINT(bugprone-not-null-terminated-result) */
	memcpy(out + 5, hex, 15);
}

static bool in_range(const struct disk *d, uint64_t off, uint64_t len)
{
	return off <= d->size && len <= d->size - off;
}

static uint64_t block_len(const struct disk *d, uint64_t blk)
{
	uint64_t start = blk * BS;
	return d->size - start < BS ? d->size - start : BS;
}

/* Index + 1 of the topmost layer holding blk, 0 for the base. */
static size_t source_of(const struct disk *d, uint64_t blk)
{
	for (size_t i = d->n_layers; i > 0; i--)
		if (layer_has(&d->layers[i - 1], blk))
			return i;
	return 0;
}

static int read_from(const struct disk *d, size_t src, void *buf, size_t len, uint64_t off)
{
	if (src == 0)
		return dio_pread(d->base_fd, buf, len, off);
	const struct layer *l = &d->layers[src - 1];
	return dio_pread(l->fd, buf, len, l->hdr.data_offset + off);
}

int disk_read(struct disk *d, uint64_t off, void *buf, size_t len)
{
	char *p = buf;

	if (!in_range(d, off, len))
		return -EINVAL;
	while (len) {
		uint64_t blk = off / BS;
		size_t src = source_of(d, blk);
		size_t run = (size_t)((blk + 1) * BS - off);
		if (run > len)
			run = len;
		/* Extend over following blocks served by the same file. */
		while (run < len && source_of(d, (off + run) / BS) == src)
			run += len - run < BS ? len - run : BS;
		int rc = read_from(d, src, p, run, off);
		if (rc)
			return rc;
		p += run;
		off += run;
		len -= run;
	}
	return 0;
}

/* Copies block blk up into the top layer if the top does not hold it yet. */
static int copy_up(struct disk *d, uint64_t blk)
{
	struct layer *t = top(d);
	size_t n = (size_t)block_len(d, blk);
	int rc;

	if (layer_has(t, blk))
		return 0;
	rc = disk_read(d, blk * BS, d->scratch, n);
	if (!rc)
		rc = dio_pwrite(t->fd, d->scratch, n, t->hdr.data_offset + blk * BS);
	if (!rc) {
		layer_set(t, blk);
		rc = layer_store_bits(t, blk, blk);
	}
	return rc;
}

/* Writes into the top layer: partial blocks are copied up first, data goes
 * to the file before the bitmap says it is there (so a crash never exposes
 * unwritten blocks). */
int disk_write(struct disk *d, uint64_t off, const void *buf, size_t len)
{
	struct layer *t = top(d);
	uint64_t first, last;
	int rc;

	if (!in_range(d, off, len))
		return -EINVAL;
	if (d->read_only)
		return -EROFS;
	if (len == 0)
		return 0;
	if (!t)
		return dio_pwrite(d->base_fd, buf, len, off);
	first = off / BS;
	last = (off + len - 1) / BS;
	if (off % BS) {
		rc = copy_up(d, first);
		if (rc)
			return rc;
	}
	if ((off + len) % BS && (off + len) != d->size) {
		rc = copy_up(d, last);
		if (rc)
			return rc;
	}
	rc = dio_pwrite(t->fd, buf, len, t->hdr.data_offset + off);
	if (rc)
		return rc;
	/* Only touch the on-disk bitmap when a bit really changes: rewrites
	 * of present blocks are then a single pwrite. */
	bool changed = false;
	for (uint64_t b = first; b <= last; b++) {
		changed |= !layer_has(t, b);
		layer_set(t, b);
	}
	return changed ? layer_store_bits(t, first, last) : 0;
}

/* Ragged ends of a zeroed range: ordinary writes of a zero block. */
static int write_zero_bytes(struct disk *d, uint64_t off, uint64_t len)
{
	static const uint8_t zero[BS];
	while (len) {
		size_t n = len < BS ? (size_t)len : BS;
		int rc = disk_write(d, off, zero, n);
		if (rc)
			return rc;
		off += n;
		len -= n;
	}
	return 0;
}

int disk_write_zeroes(struct disk *d, uint64_t off, uint64_t len)
{
	struct layer *t = top(d);
	uint64_t end = off + len, full_lo, full_hi;
	int rc;

	if (!in_range(d, off, len))
		return -EINVAL;
	if (d->read_only)
		return -EROFS;
	if (len == 0)
		return 0;
	if (!t)
		return dio_zero_range(d->base_fd, off, len);
	/* Whole blocks in [full_lo, full_hi) become present and are punched out;
	 * the ragged ends go through the ordinary copy-up write path. The disk's
	 * last block counts as whole when the range reaches the disk end. */
	full_lo = (off + BS - 1) / BS;
	full_hi = end == d->size ? (end + BS - 1) / BS : end / BS;
	if (full_lo >= full_hi)
		return write_zero_bytes(d, off, len);
	rc = write_zero_bytes(d, off, full_lo * BS - off);
	if (rc)
		return rc;
	uint64_t zlo = full_lo * BS, zhi = full_hi * BS < d->size ? full_hi * BS : d->size;
	rc = dio_zero_range(t->fd, t->hdr.data_offset + zlo, zhi - zlo);
	if (rc)
		return rc;
	for (uint64_t b = full_lo; b < full_hi; b++)
		layer_set(t, b);
	rc = layer_store_bits(t, full_lo, full_hi - 1);
	if (rc)
		return rc;
	return write_zero_bytes(d, zhi, end - zhi);
}

/* Discarded ranges read back as zeroes (virtio-blk lets a device choose;
 * zeroes keep forks deterministic and a lower layer's data must not show
 * through again). */
int disk_discard(struct disk *d, uint64_t off, uint64_t len)
{
	return disk_write_zeroes(d, off, len);
}

int disk_flush(struct disk *d)
{
	struct layer *t = top(d);
	if (d->read_only)
		return 0;
	if (fdatasync(t ? t->fd : d->base_fd))
		return -errno;
	return 0;
}
