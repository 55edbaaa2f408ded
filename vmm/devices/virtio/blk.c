/* vblk: virtio ops table, `--disk` parsing and snapshot hooks (blk.h). */
#include "devices/virtio/blk.h"

#include "devices/virtio/mmio.h"
#include "disk/disk.h"
#include "snapshot/snap_codec.h"
#include "strbuf.h"

#include "smolvm/err.h"
#include "smolvm/vm.h"

#include <errno.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>
#include <stdlib.h>
#include <string.h>

#define VBLK_SNAP_VERSION 1u

/* Snapshot blob (16 bytes, little endian, snap_codec.h): u32 version,
 * u32 read_only, u64 capacity in sectors. The layer stack itself is the VM
 * configuration's business (a fork brings its own top layer); the blob pins
 * what the guest driver has already seen, so a restore onto a disk of
 * another size or writability is refused. */
#define VBLK_SNAP_BYTES 16u

struct vblk_dev {
	struct vblk *b;
	uint64_t capacity;
	bool read_only;
};

static uint64_t ops_features(void *dev)
{
	return vblk_features(((struct vblk_dev *)dev)->b);
}

static void ops_config_read(void *dev, uint32_t off, void *data, uint32_t len)
{
	vblk_config_read(((struct vblk_dev *)dev)->b, off, data, len);
}

static void ops_config_write(void *dev, uint32_t off, const void *data, uint32_t len)
{
	/* writeback toggling (CONFIG_WCE) is not offered: nothing is writable. */
}

static int ops_activate(void *dev, struct vmmio *t, uint64_t features)
{
	return 0;
}

static void ops_notify(void *dev, struct vmmio *t, unsigned q)
{
	struct vblk_dev *d = dev;
	bool pushed = false;
	struct vq *vq = vmmio_queue(t, q);
	if (!vq)
		return;
	if (vblk_process(d->b, vq, &pushed))
		vmmio_set_needs_reset(t, "virtio-blk: malformed request queue");
	if (pushed)
		vmmio_signal_used(t, q);
}

int vblk_state_save(uint64_t capacity, bool read_only, struct strbuf *out)
{
	struct snap_enc e;
	snap_enc_init(&e, out);
	snap_enc_u32(&e, VBLK_SNAP_VERSION);
	snap_enc_u32(&e, read_only);
	snap_enc_u64(&e, capacity);
	return snap_enc_error(&e);
}

int vblk_state_check(const void *blob, size_t len, uint64_t disk_capacity, bool disk_read_only,
		     struct vmm_err *err)
{
	struct snap_dec dec;
	if (len != VBLK_SNAP_BYTES)
		return vmm_errf(err, -EINVAL, "dev.blk state is %zu bytes, expected %u", len,
				VBLK_SNAP_BYTES);
	snap_dec_init(&dec, blob, len);
	uint32_t version = snap_dec_u32(&dec), read_only = snap_dec_u32(&dec);
	uint64_t capacity = snap_dec_u64(&dec);
	if (version != VBLK_SNAP_VERSION)
		return vmm_errf(err, -EINVAL, "dev.blk state version %u, this smolvm reads %u",
				version, VBLK_SNAP_VERSION);
	if (capacity != disk_capacity || (read_only != 0) != disk_read_only)
		return vmm_errf(err, -EINVAL,
				"the disk was %llu sectors%s when saved, now %llu sectors%s; "
				"restore with the same disk stack",
				(unsigned long long)capacity, read_only ? " read-only" : "",
				(unsigned long long)disk_capacity,
				disk_read_only ? " read-only" : "");
	return 0;
}

static int ops_save(void *dev, struct strbuf *out)
{
	struct vblk_dev *d = dev;
	return vblk_state_save(d->capacity, d->read_only, out);
}

static int ops_check(const void *dev, const void *blob, size_t len, struct vmm_err *err)
{
	const struct vblk_dev *d = dev;
	return vblk_state_check(blob, len, d->capacity, d->read_only, err);
}

/* Nothing to apply: the disk is the state, and it was checked. */
static int ops_restore(void *dev, const void *blob, size_t len, struct vmm_err *err)
{
	return ops_check(dev, blob, len, err);
}

static void ops_destroy(void *dev)
{
	struct vblk_dev *d = dev;
	vblk_destroy(d->b);
	free(d);
}

static const struct virtio_device_ops vblk_ops = {
    .name = "blk",
    .device_id = VIRTIO_ID_BLOCK,
    .num_queues = 1,
    .queue_max_size = 256,
    .features = ops_features,
    .config_size = sizeof(struct virtio_blk_config),
    .config_read = ops_config_read,
    .config_write = ops_config_write,
    .activate = ops_activate,
    .queue_notify = ops_notify,
    .save = ops_save,
    .restore = ops_restore,
    .check = ops_check,
    .destroy = ops_destroy,
};

int vblk_attach(struct vm *vm, const char *arg)
{
	const char *layers[DISK_MAX_LAYERS];
	struct disk_config cfg = {.layers = layers};
	char *copy = strdup(arg ? arg : ""), *save = NULL;
	struct vmm_err derr;
	struct disk *disk = NULL;
	struct vblk_dev *d = NULL;
	int rc = -EINVAL;

	if (!copy)
		return -ENOMEM;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!cfg.base_path) {
			cfg.base_path = tok;
		} else if (!strcmp(tok, "ro")) {
			cfg.read_only = true;
		} else if (!strncmp(tok, "layer=", 6) && tok[6]) {
			if (cfg.n_layers == DISK_MAX_LAYERS) {
				vmm_errf(vm_attach_err(vm), rc, "--disk %s: more than %d layers",
					 arg, DISK_MAX_LAYERS);
				goto out;
			}
			layers[cfg.n_layers++] = tok + 6;
		} else {
			vmm_errf(vm_attach_err(vm), rc,
				 "--disk %s: unknown option '%s' (want PATH[,ro][,layer=LAYER]...)",
				 arg, tok);
			goto out;
		}
	}
	if (!cfg.base_path || !*cfg.base_path) {
		vmm_errf(vm_attach_err(vm), rc, "--disk needs PATH[,ro][,layer=LAYER]...");
		goto out;
	}
	rc = disk_open(&disk, &cfg, &derr);
	if (rc) {
		vmm_errf(vm_attach_err(vm), rc, "--disk %s: %s", arg, derr.msg);
		goto out;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		disk_destroy(disk);
		rc = -ENOMEM;
		goto out;
	}
	d->capacity = disk_size(disk) / 512;
	d->read_only = disk_read_only(disk);
	rc = vblk_create(disk, &d->b);
	if (rc) {
		free(d);
		goto out;
	}
	rc = vm_add_virtio(vm, &vblk_ops, d, NULL);
out:
	free(copy);
	return rc;
}
