/* vfsdev requests: FUSE requests from virtio chains to the vfs handler. */
#include "devices/virtio/fs.h"

#include "devices/virtio/queue.h"
#include "fs/vfs.h"
#include "smolvm/err.h"
#include "snapshot/snap_codec.h"
#include "strbuf.h"

#include <errno.h>
#include <linux/fuse.h>
#include <linux/virtio_fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VFSDEV_SNAP_VERSION 2u
#define VFSDEV_TAG_MAX	    36

struct vfsdev {
	struct vfs *fs;
	struct virtio_fs_config cfg;
	bool read_only;
	uint8_t *in, *out; /* VFS_BUF_SIZE bounce buffers */
	struct vq_chain chain;
};

/* Snapshot blob, little endian (snap_codec.h): a 44-byte header (u32
 * version, u32 read_only, the 36-byte tag), then the vfs state (FUSE
 * session, node table and handles as paths: vfs_save_state). */
#define VFSDEV_SNAP_HDR_BYTES (8u + VFSDEV_TAG_MAX)

int vfsdev_create(struct vfs *fs, const char *tag, bool read_only, struct vfsdev **out)
{
	size_t n = strlen(tag);
	struct vfsdev *d = NULL;
	if (n == 0 || n > VFSDEV_TAG_MAX)
		goto fail_inval;
	d = calloc(1, sizeof(*d));
	if (!d)
		goto fail_nomem;
	d->in = malloc(VFS_BUF_SIZE);
	d->out = malloc(VFS_BUF_SIZE);
	if (!d->in || !d->out)
		goto fail_nomem;
	d->fs = fs;
	d->read_only = read_only;
	memcpy(d->cfg.tag, tag, n); /* §5.11.4: NUL-padded, not terminated */
	d->cfg.num_request_queues = 1;
	*out = d;
	return 0;
fail_nomem:
	vfs_destroy(fs);
	if (d) {
		free(d->in);
		free(d->out);
		free(d);
	}
	return -ENOMEM;
fail_inval:
	vfs_destroy(fs);
	return -EINVAL;
}

void vfsdev_destroy(struct vfsdev *d)
{
	if (!d)
		return;
	vfs_destroy(d->fs);
	free(d->in);
	free(d->out);
	free(d);
}

void vfsdev_reset(struct vfsdev *d)
{
	vfs_reset(d->fs);
}

void vfsdev_config_read(const struct vfsdev *d, uint32_t off, void *data, uint32_t len)
{
	memset(data, 0, len);
	if (off >= sizeof(d->cfg))
		return;
	memcpy(data, (const uint8_t *)&d->cfg + off,
	       len < sizeof(d->cfg) - off ? len : sizeof(d->cfg) - off);
}

/* Serves one chain; returns the bytes written into its writable part. */
static uint32_t serve(struct vfsdev *d)
{
	const struct vq_chain *c = &d->chain;
	struct fuse_in_header h;
	size_t olen = 0;

	if (c->readable_bytes < sizeof(h) || vq_chain_read(c, 0, &h, sizeof(h)))
		return 0; /* nothing to answer to */
	size_t cap = c->writable_bytes < VFS_BUF_SIZE ? (size_t)c->writable_bytes : VFS_BUF_SIZE;
	/* The header's len must describe the readable part (§5.11.6.1 puts
	 * the whole request there); anything else is answered with EINVAL. */
	int rc = -EINVAL;
	if (h.len >= sizeof(h) && h.len <= c->readable_bytes && h.len <= VFS_BUF_SIZE &&
	    !vq_chain_read(c, 0, d->in, h.len))
		rc = vfs_handle(d->fs, d->in, h.len, d->out, cap, &olen);
	if (rc) {
		if (h.opcode == FUSE_FORGET || h.opcode == FUSE_BATCH_FORGET ||
		    cap < sizeof(struct fuse_out_header))
			return 0;
		struct fuse_out_header oh = {
		    .len = sizeof(oh), .error = -EINVAL, .unique = h.unique};
		memcpy(d->out, &oh, sizeof(oh));
		olen = sizeof(oh);
	}
	if (olen && vq_chain_write(c, 0, d->out, olen))
		return 0;
	return (uint32_t)olen;
}

int vfsdev_process(struct vfsdev *d, struct vq *vq, bool *pushed)
{
	int n;
	*pushed = false;
	while ((n = vq_pop(vq, &d->chain)) == 1) {
		uint32_t written = serve(d);
		if (vq_push(vq, d->chain.head, written))
			return -EIO;
		*pushed = true;
	}
	return n < 0 ? -EIO : 0;
}

int vfsdev_save(const struct vfsdev *d, struct strbuf *out)
{
	struct snap_enc e;
	snap_enc_init(&e, out);
	snap_enc_u32(&e, VFSDEV_SNAP_VERSION);
	snap_enc_u32(&e, d->read_only);
	snap_enc_bytes(&e, d->cfg.tag, VFSDEV_TAG_MAX);
	int rc = snap_enc_error(&e);
	return rc ? rc : vfs_save_state(d->fs, out);
}

/* Checks the header and the share; *out is left at the vfs part. */
static int check_head(const struct vfsdev *d, const void *blob, size_t len, struct snap_dec *out,
		      struct vmm_err *err)
{
	struct snap_dec dec;
	if (len < VFSDEV_SNAP_HDR_BYTES)
		return vmm_errf(err, -EINVAL, "dev.fs state is %zu bytes, shorter than its header",
				len);
	snap_dec_init(&dec, blob, len);
	uint32_t version = snap_dec_u32(&dec), read_only = snap_dec_u32(&dec);
	const uint8_t *tag = snap_dec_bytes(&dec, VFSDEV_TAG_MAX);
	if (version != VFSDEV_SNAP_VERSION)
		return vmm_errf(err, -EINVAL, "dev.fs state version %u, this smolvm reads %u",
				version, VFSDEV_SNAP_VERSION);
	if (memcmp(tag, d->cfg.tag, VFSDEV_TAG_MAX) != 0 || (read_only != 0) != d->read_only)
		return vmm_errf(err, -EINVAL,
				"share '%.36s'%s was saved, this VM has '%.36s'%s; give the same "
				"--share tags and ro flags",
				(const char *)tag, read_only ? " (ro)" : "",
				(const char *)d->cfg.tag, d->read_only ? " (ro)" : "");
	*out = dec;
	return 0;
}

static int share_fail(const struct vfsdev *d, struct vmm_err *err, int rc)
{
	char where[64];
	snprintf(where, sizeof(where), "share '%.36s'", (const char *)d->cfg.tag);
	return vmm_err_prefix(err, rc, where);
}

int vfsdev_check(const struct vfsdev *d, const void *blob, size_t len, struct vmm_err *err)
{
	struct snap_dec dec;
	int rc = check_head(d, blob, len, &dec, err);
	if (rc)
		return rc;
	rc = vfs_check_state(d->fs, dec.p + dec.off, snap_dec_left(&dec), err);
	return rc ? share_fail(d, err, rc) : 0;
}

int vfsdev_restore(struct vfsdev *d, const void *blob, size_t len, struct vmm_err *err)
{
	struct snap_dec dec;
	int rc = check_head(d, blob, len, &dec, err);
	if (rc)
		return rc;
	rc = vfs_restore_state(d->fs, dec.p + dec.off, snap_dec_left(&dec), err);
	return rc ? share_fail(d, err, rc) : 0;
}
