/* vfsdev: virtio ops table and `--share TAG=HOSTDIR[,ro]` (fs.h). */
#include "devices/virtio/fs.h"

#include "devices/virtio/mmio.h"
#include "fs/vfs.h"
#include "strbuf.h"

#include "smolvm/err.h"
#include "smolvm/vm.h"

#include <errno.h>
#include <linux/virtio_fs.h>
#include <linux/virtio_ids.h>
#include <stdlib.h>
#include <string.h>

static uint64_t ops_features(void *dev)
{
	return VIRTIO_FEAT_RING_INDIRECT | VIRTIO_FEAT_RING_EVENT_IDX;
}

static void ops_config_read(void *dev, uint32_t off, void *data, uint32_t len)
{
	vfsdev_config_read(dev, off, data, len);
}

static void ops_config_write(void *dev, uint32_t off, const void *data, uint32_t len)
{
	/* §5.11.4: the config space is read-only. */
}

static int ops_activate(void *dev, struct vmmio *t, uint64_t features)
{
	return 0;
}

static void ops_reset(void *dev)
{
	vfsdev_reset(dev);
}

static void ops_notify(void *dev, struct vmmio *t, unsigned q)
{
	bool pushed = false;
	struct vq *vq = vmmio_queue(t, q);
	if (!vq)
		return;
	if (vfsdev_process(dev, vq, &pushed))
		vmmio_set_needs_reset(t, "virtio-fs: malformed request queue");
	if (pushed)
		vmmio_signal_used(t, q);
}

static int ops_save(void *dev, struct strbuf *out)
{
	return vfsdev_save(dev, out);
}

static int ops_restore(void *dev, const void *blob, size_t len, struct vmm_err *err)
{
	return vfsdev_restore(dev, blob, len, err);
}

static int ops_check(const void *dev, const void *blob, size_t len, struct vmm_err *err)
{
	return vfsdev_check(dev, blob, len, err);
}

static void ops_destroy(void *dev)
{
	vfsdev_destroy(dev);
}

static const struct virtio_device_ops vfsdev_ops = {
    .name = "fs",
    .device_id = VIRTIO_ID_FS,
    .num_queues = 2, /* hiprio + one request queue */
    .queue_max_size = 128,
    .features = ops_features,
    .config_size = sizeof(struct virtio_fs_config),
    .config_read = ops_config_read,
    .config_write = ops_config_write,
    .activate = ops_activate,
    .reset = ops_reset,
    .queue_notify = ops_notify,
    .save = ops_save,
    .restore = ops_restore,
    .check = ops_check,
    .destroy = ops_destroy,
};

int vfsdev_attach(struct vm *vm, const char *arg)
{
	char *copy = strdup(arg ? arg : "");
	struct vmm_err err;
	struct vfs *fs = NULL;
	struct vfsdev *d;
	bool ro = false;
	int rc = -EINVAL;

	if (!copy)
		return -ENOMEM;
	char *eq = strchr(copy, '=');
	if (!eq || eq == copy || eq - copy > 36 || !eq[1]) {
		vmm_errf(vm_attach_err(vm), rc,
			 "--share '%s': want TAG=HOSTDIR[,ro] with a 1-36 byte TAG",
			 arg ? arg : "");
		goto out;
	}
	*eq = '\0';
	char *dir = eq + 1, *opt = strrchr(dir, ',');
	if (opt && !strcmp(opt, ",ro")) {
		ro = true;
		*opt = '\0';
	}
	/* Every node holds an fd: let a guest walk big trees. */
	(void)vfs_raise_nofile();
	rc = vfs_create(dir, ro, NULL, &fs, &err);
	if (rc) {
		vmm_errf(vm_attach_err(vm), rc, "--share '%s': %s", arg, err.msg);
		goto out;
	}
	rc = vfsdev_create(fs, copy, ro, &d);
	if (!rc)
		rc = vm_add_virtio(vm, &vfsdev_ops, d, NULL);
out:
	free(copy);
	return rc;
}
