/* vsock: virtio ops table, `--vsock CID,PATH` and snapshot hooks (vsock.h). */
#include "devices/virtio/vsock.h"

#include "devices/virtio/mmio.h"
#include "snapshot/snap_codec.h"
#include "strbuf.h"
#include "util.h"

#include "smolvm/err.h"
#include "smolvm/vm.h"

#include <errno.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_vsock.h>
#include <stdlib.h>
#include <string.h>

#define VSOCK_SNAP_VERSION 1u

/* Snapshot blob (16 bytes, little endian, snap_codec.h): u32 version, u32
 * reserved (0), u64 guest CID. Connections are never saved; restore drops
 * them and sends TRANSPORT_RESET so the guest closes its sockets. */
#define VSOCK_SNAP_BYTES 16u

struct vsock_dev {
	struct vsock *vs;
	struct vmmio *t;
	uint64_t cid;
};

static struct vq *io_queue(void *o, unsigned q)
{
	return vmmio_queue(((struct vsock_dev *)o)->t, q);
}

static void io_signal(void *o, unsigned q)
{
	vmmio_signal_used(((struct vsock_dev *)o)->t, q);
}

static void io_lock(void *o)
{
	vmmio_lock(((struct vsock_dev *)o)->t);
}

static void io_unlock(void *o)
{
	vmmio_unlock(((struct vsock_dev *)o)->t);
}

static void io_broken(void *o, const char *why)
{
	vmmio_set_needs_reset(((struct vsock_dev *)o)->t, why);
}

static uint64_t ops_features(void *dev)
{
	return VIRTIO_FEAT_RING_INDIRECT | VIRTIO_FEAT_RING_EVENT_IDX;
}

static void ops_config_read(void *dev, uint32_t off, void *data, uint32_t len)
{
	struct virtio_vsock_config cfg = {.guest_cid = ((struct vsock_dev *)dev)->cid};
	memset(data, 0, len);
	if (off < sizeof(cfg))
		memcpy(data, (uint8_t *)&cfg + off,
		       len < sizeof(cfg) - off ? len : sizeof(cfg) - off);
}

static void ops_config_write(void *dev, uint32_t off, const void *data, uint32_t len)
{
	/* guest_cid is read-only (§5.10.4). */
}

static int ops_activate(void *dev, struct vmmio *t, uint64_t features)
{
	struct vsock_dev *d = dev;
	if (!d->vs)
		return -ENODEV;
	vsock_activate(d->vs);
	return 0;
}

static void ops_reset(void *dev)
{
	struct vsock_dev *d = dev;
	if (d->vs)
		vsock_reset(d->vs);
}

static void ops_notify(void *dev, struct vmmio *t, unsigned q)
{
	struct vsock_dev *d = dev;
	if (d->vs)
		vsock_notify(d->vs, q);
}

int vsock_state_save(uint64_t guest_cid, struct strbuf *out)
{
	struct snap_enc e;
	snap_enc_init(&e, out);
	snap_enc_u32(&e, VSOCK_SNAP_VERSION);
	snap_enc_u32(&e, 0);
	snap_enc_u64(&e, guest_cid);
	return snap_enc_error(&e);
}

int vsock_state_check(const void *blob, size_t len, struct vmm_err *err)
{
	struct snap_dec dec;
	if (len != VSOCK_SNAP_BYTES)
		return vmm_errf(err, -EINVAL, "dev.vsock state is %zu bytes, expected %u", len,
				VSOCK_SNAP_BYTES);
	snap_dec_init(&dec, blob, len);
	uint32_t version = snap_dec_u32(&dec), reserved = snap_dec_u32(&dec);
	if (version != VSOCK_SNAP_VERSION || reserved)
		return vmm_errf(err, -EINVAL, "dev.vsock state version %u, this smolvm reads %u",
				version, VSOCK_SNAP_VERSION);
	return 0;
}

static int ops_save(void *dev, struct strbuf *out)
{
	return vsock_state_save(((struct vsock_dev *)dev)->cid, out);
}

static int ops_check(const void *dev, const void *blob, size_t len, struct vmm_err *err)
{
	(void)dev;
	return vsock_state_check(blob, len, err);
}

static int ops_restore(void *dev, const void *blob, size_t len, struct vmm_err *err)
{
	struct vsock_dev *d = dev;
	int rc = vsock_state_check(blob, len, err);
	if (rc)
		return rc;
	/* The fork may use another CID; the guest re-reads it after the reset
	 * event (§5.10.6.6). Connections never survive a restore. */
	if (d->vs)
		vsock_transport_reset(d->vs);
	return 0;
}

static void ops_destroy(void *dev)
{
	struct vsock_dev *d = dev;
	vsock_destroy(d->vs);
	free(d);
}

static const struct virtio_device_ops vsock_ops = {
    .name = "vsock",
    .device_id = VIRTIO_ID_VSOCK,
    .num_queues = 3,
    .queue_max_size = 256,
    .features = ops_features,
    .config_size = sizeof(struct virtio_vsock_config),
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

int vsock_attach(struct vm *vm, const char *arg)
{
	const char *comma = arg ? strchr(arg, ',') : NULL;
	char cidtext[24];
	uint64_t cid;
	int rc;

	if (!comma || comma == arg || !comma[1] || (size_t)(comma - arg) >= sizeof(cidtext)) {
		return vmm_errf(vm_attach_err(vm), -EINVAL,
				"--vsock '%s': want CID,PATH (e.g. 3,/tmp/vm.vsock)",
				arg ? arg : "");
	}
	memcpy(cidtext, arg, (size_t)(comma - arg));
	cidtext[comma - arg] = '\0';
	if (util_parse_u64(cidtext, 3, UINT32_MAX - 1, &cid)) {
		return vmm_errf(vm_attach_err(vm), -EINVAL,
				"--vsock '%s': CID must be 3..%u (0-2 are reserved)", arg,
				UINT32_MAX - 1);
	}
	struct vsock_dev *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->cid = cid;
	/* The transport first (it owns d from here on), then the core, whose
	 * listener callbacks take the transport's lock. */
	rc = vm_add_virtio(vm, &vsock_ops, d, &d->t);
	if (rc)
		return rc;
	struct vsock_io io = {io_queue, io_signal, io_lock, io_unlock, io_broken, d};
	rc = vsock_create(cid, comma + 1, vm_evloop(vm), &io, &d->vs);
	if (rc)
		vmm_errf(vm_attach_err(vm), rc, "--vsock '%s': cannot listen on %s: %s", arg,
			 comma + 1, strerror(-rc));
	return rc;
}
