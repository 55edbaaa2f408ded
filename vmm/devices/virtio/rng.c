/* virtio-rng (rng.h). Stateless apart from the transport: no snapshot blob. */
#include "devices/virtio/rng.h"

#include "devices/virtio/mmio.h"
#include "smolvm/err.h"
#include "smolvm/vm.h"

#include <errno.h>
#include <linux/virtio_ids.h>
#include <stdlib.h>
#include <sys/random.h>

/* Most bytes served per request: a driver asking for more gets a short
 * (but valid) answer, so one request cannot keep the loop busy. */
#define VRNG_MAX_PER_REQ (64u << 10)

struct vrng {
	struct vq_chain chain; /* large: lives here, not on the stack */
	unsigned char buf[4096];
};

static uint64_t vrng_features(void *dev)
{
	(void)dev;
	return VIRTIO_FEAT_RING_INDIRECT | VIRTIO_FEAT_RING_EVENT_IDX;
}

static int vrng_activate(void *dev, struct vmmio *t, uint64_t features)
{
	(void)dev;
	(void)t;
	(void)features;
	return 0;
}

static void vrng_notify(void *dev, struct vmmio *t, unsigned qi)
{
	struct vrng *r = dev;
	struct vq *vq = vmmio_queue(t, qi);
	/* A broken queue (-EIO) ends the loop; the transport then sets
	 * DEVICE_NEEDS_RESET. */
	while (vq_pop(vq, &r->chain) == 1) {
		uint64_t want = r->chain.writable_bytes;
		if (want > VRNG_MAX_PER_REQ)
			want = VRNG_MAX_PER_REQ;
		uint64_t done = 0;
		while (done < want) {
			size_t chunk =
			    want - done < sizeof(r->buf) ? (size_t)(want - done) : sizeof(r->buf);
			ssize_t got = getrandom(r->buf, chunk, 0);
			if (got <= 0)
				break;
			vq_chain_write(&r->chain, done, r->buf, (size_t)got);
			done += (uint64_t)got;
		}
		vq_push(vq, r->chain.head, (uint32_t)done);
	}
	vmmio_signal_used(t, qi);
}

static void vrng_destroy(void *dev)
{
	free(dev);
}

static const struct virtio_device_ops vrng_ops = {
    .name = "rng",
    .device_id = VIRTIO_ID_RNG,
    .num_queues = 1,
    .queue_max_size = 64,
    .features = vrng_features,
    .config_size = 0,
    .activate = vrng_activate,
    .queue_notify = vrng_notify,
    .destroy = vrng_destroy,
};

int vrng_attach(struct vm *vm, const char *arg)
{
	if (arg && *arg)
		return vmm_errf(vm_attach_err(vm), -EINVAL,
				"virtio-rng takes no options (got '%s')", arg);
	struct vrng *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	return vm_add_virtio(vm, &vrng_ops, r, NULL);
}
