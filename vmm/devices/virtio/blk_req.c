/* vblk request handling (virtio 1.2 §5.2.6), independent of the transport. */
#include "devices/virtio/blk.h"

#include "devices/virtio/queue.h"
#include "devices/virtio/virtio.h"
#include "disk/disk.h"

#include <errno.h>
#include <linux/virtio_blk.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define SECTOR 512u
/* DISCARD / WRITE_ZEROES limits we advertise (§5.2.4). */
#define VBLK_MAX_DWZ_SECTORS (1u << 22) /* 2 GiB per segment */
#define VBLK_MAX_DWZ_SEG     16u
#define VBLK_SEG_MAX	     126u

struct vblk {
	struct disk *disk;
	struct virtio_blk_config cfg;
	struct vq_chain chain; /* large; lives here, not on the stack */
};

int vblk_create(struct disk *disk, struct vblk **out)
{
	struct vblk *b = calloc(1, sizeof(*b));
	if (!b) {
		disk_destroy(disk);
		return -ENOMEM;
	}
	b->disk = disk;
	b->cfg.capacity = disk_size(disk) / SECTOR;
	b->cfg.seg_max = VBLK_SEG_MAX;
	/* The layer granularity is 4 KiB: say so as the physical block size
	 * (§5.2.4 topology) so guests align to it and avoid copy-ups, while the
	 * logical block stays 512 bytes (F_BLK_SIZE would make Linux refuse
	 * anything smaller, breaking file systems with 1 KiB blocks). */
	b->cfg.blk_size = 512;
	b->cfg.physical_block_exp = 3;
	b->cfg.min_io_size = 8;
	b->cfg.max_discard_sectors = VBLK_MAX_DWZ_SECTORS;
	b->cfg.max_discard_seg = VBLK_MAX_DWZ_SEG;
	b->cfg.discard_sector_alignment = 8;
	b->cfg.max_write_zeroes_sectors = VBLK_MAX_DWZ_SECTORS;
	b->cfg.max_write_zeroes_seg = VBLK_MAX_DWZ_SEG;
	b->cfg.write_zeroes_may_unmap = 1;
	*out = b;
	return 0;
}

void vblk_destroy(struct vblk *b)
{
	if (!b)
		return;
	disk_destroy(b->disk);
	free(b);
}

uint64_t vblk_features(const struct vblk *b)
{
	uint64_t f = VIRTIO_FEAT_RING_INDIRECT | VIRTIO_FEAT_RING_EVENT_IDX |
		     VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_TOPOLOGY) |
		     VIRTIO_BIT(VIRTIO_BLK_F_FLUSH);
	if (disk_read_only(b->disk))
		f |= VIRTIO_BIT(VIRTIO_BLK_F_RO);
	else
		f |= VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) | VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
	return f;
}

void vblk_config_read(const struct vblk *b, uint32_t off, void *data, uint32_t len)
{
	memset(data, 0, len);
	if (off >= sizeof(b->cfg))
		return;
	if (len > sizeof(b->cfg) - off)
		len = (uint32_t)(sizeof(b->cfg) - off);
	memcpy(data, (const uint8_t *)&b->cfg + off, len);
}

/* Moves [off, off + len) of the chain's readable (writable == false) or
 * writable part to or from the disk at disk_off, piece by piece. */
static int chain_io(struct vblk *b, bool writable, uint64_t off, uint64_t len, uint64_t disk_off)
{
	struct vq_cursor cur;
	vq_cursor_init(&cur, &b->chain, writable);
	if (vq_cursor_consume(&cur, off) || len > vq_cursor_left(&cur))
		return -EINVAL;
	void *p;
	size_t n;
	while (len && (n = vq_cursor_next(&cur, len, &p)) > 0) {
		/* IN fills device-writable buffers from the disk; OUT takes the
		 * driver's readable buffers to the disk. */
		int rc = writable ? disk_read(b->disk, disk_off, p, n)
				  : disk_write(b->disk, disk_off, p, n);
		if (rc)
			return rc;
		disk_off += n;
		len -= n;
	}
	return 0;
}

/* Sector range check without overflow: [sector, sector + bytes/512). */
static bool range_ok(const struct vblk *b, uint64_t sector, uint64_t bytes)
{
	return sector <= b->cfg.capacity && bytes / SECTOR <= b->cfg.capacity - sector;
}

static uint8_t do_dwz(struct vblk *b, uint32_t type)
{
	const struct vq_chain *c = &b->chain;
	uint64_t bytes = c->readable_bytes - sizeof(struct virtio_blk_outhdr);
	struct virtio_blk_discard_write_zeroes seg;
	size_t n = sizeof(seg);

	/* §5.2.6.2: the payload is whole segments, at most max_*_seg of them. */
	if (bytes == 0 || bytes % n || bytes / n > VBLK_MAX_DWZ_SEG)
		return VIRTIO_BLK_S_UNSUPP;
	for (uint64_t i = 0; i < bytes / n; i++) {
		if (vq_chain_read(c, sizeof(struct virtio_blk_outhdr) + i * n, &seg, n))
			return VIRTIO_BLK_S_IOERR;
		/* §5.2.6.2: unmap is only meaningful for WRITE_ZEROES; a DISCARD
		 * with it, or any unknown flag, is unsupported. */
		uint32_t allowed =
		    type == VIRTIO_BLK_T_WRITE_ZEROES ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0;
		if (seg.flags & ~allowed)
			return VIRTIO_BLK_S_UNSUPP;
		if (seg.num_sectors > VBLK_MAX_DWZ_SECTORS ||
		    !range_ok(b, seg.sector, (uint64_t)seg.num_sectors * SECTOR))
			return VIRTIO_BLK_S_IOERR;
		int rc = type == VIRTIO_BLK_T_DISCARD
			     ? disk_discard(b->disk, seg.sector * SECTOR,
					    (uint64_t)seg.num_sectors * SECTOR)
			     : disk_write_zeroes(b->disk, seg.sector * SECTOR,
						 (uint64_t)seg.num_sectors * SECTOR);
		if (rc)
			return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

/* Handles the popped chain; returns the status byte and the number of data
 * bytes written into the chain before it (*data). */
static uint8_t handle(struct vblk *b, uint32_t *data)
{
	const struct vq_chain *c = &b->chain;
	struct virtio_blk_outhdr h;
	uint64_t wdata = c->writable_bytes - 1; /* last writable byte: status */

	*data = 0;
	if (vq_chain_read(c, 0, &h, sizeof(h)))
		return VIRTIO_BLK_S_IOERR;
	switch (h.type) {
	case VIRTIO_BLK_T_IN:
		if (wdata % SECTOR || !range_ok(b, h.sector, wdata))
			return VIRTIO_BLK_S_IOERR;
		if (chain_io(b, true, 0, wdata, h.sector * SECTOR))
			return VIRTIO_BLK_S_IOERR;
		*data = (uint32_t)wdata;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_OUT: {
		uint64_t len = c->readable_bytes - sizeof(h);
		if (disk_read_only(b->disk))
			return VIRTIO_BLK_S_IOERR;
		if (len % SECTOR || !range_ok(b, h.sector, len))
			return VIRTIO_BLK_S_IOERR;
		return chain_io(b, false, sizeof(h), len, h.sector * SECTOR) ? VIRTIO_BLK_S_IOERR
									     : VIRTIO_BLK_S_OK;
	}
	case VIRTIO_BLK_T_FLUSH:
		return disk_flush(b->disk) ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID: {
		uint8_t id[VIRTIO_BLK_ID_BYTES];
		uint64_t n = wdata < sizeof(id) ? wdata : sizeof(id);
		disk_serial(b->disk, id);
		if (vq_chain_write(c, 0, id, (size_t)n))
			return VIRTIO_BLK_S_IOERR;
		*data = (uint32_t)n;
		return VIRTIO_BLK_S_OK;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (disk_read_only(b->disk))
			return VIRTIO_BLK_S_IOERR;
		return do_dwz(b, h.type);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

int vblk_process(struct vblk *b, struct vq *vq, bool *pushed)
{
	int n;
	*pushed = false;
	while ((n = vq_pop(vq, &b->chain)) == 1) {
		const struct vq_chain *c = &b->chain;
		uint32_t data = 0;
		/* §5.2.6: a request has at least the 16-byte header (readable)
		 * and the status byte (writable). A chain without a status byte
		 * cannot even be told it failed: complete it with nothing written. */
		if (c->writable_bytes < 1 || c->readable_bytes < sizeof(struct virtio_blk_outhdr)) {
			if (vq_push(vq, c->head, 0))
				return -EIO;
			*pushed = true;
			continue;
		}
		uint8_t status = handle(b, &data);
		if (vq_chain_write(c, c->writable_bytes - 1, &status, 1))
			return -EIO;
		if (vq_push(vq, c->head, data + 1))
			return -EIO;
		*pushed = true;
	}
	return n < 0 ? -EIO : 0;
}
