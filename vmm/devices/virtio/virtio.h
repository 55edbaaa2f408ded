/* virtio: the interface between a virtio device model and its transport.
 *
 * A device (rng, blk, vsock, fs) is one .c file with a `static const struct
 * virtio_device_ops` table and a private state struct. It never sees
 * transport registers: the virtio-mmio transport (mmio.h) does feature
 * negotiation, queue setup and validation, status and interrupts, and calls
 * the ops below. Lifecycle (as in Firecracker): created inactive; activate()
 * when the driver sets DRIVER_OK; reset() when the driver writes 0 to Status
 * (or the VM resets); destroy() at teardown.
 *
 * Threading and locking: the transport serialises every op call with its
 * own mutex (vCPU threads do register accesses; the event-loop thread
 * delivers queue notifications). A device that touches its queues from its
 * own event-loop callbacks (a socket became readable, a timer fired) must
 * hold vmmio_lock() around that work. Ops must not block on the guest.
 *
 * Snapshots (DESIGN.md "Snapshot file"): save() appends the device's state
 * as a blob of fixed-width little-endian fields written with snap_codec.h
 * (version it inside); restore() validates the whole blob before changing
 * anything and returns -EINVAL with err naming the field, the values and
 * what to do when it does not fit (smolvm/err.h; it never prints).
 * The transport saves and restores its own state (features, status, queue
 * addresses and indices) around the device blob: see vmmio_save(). */
#ifndef SMOL_VIRTIO_H
#define SMOL_VIRTIO_H

#include <stddef.h>
#include <stdint.h>

struct strbuf;
struct vmm_err;
struct vmmio;

/* Transport-level feature bits (virtio 1.2 §6). */
#define VIRTIO_BIT(n)		    (1ull << (n))
#define VIRTIO_FEAT_RING_INDIRECT   VIRTIO_BIT(28)
#define VIRTIO_FEAT_RING_EVENT_IDX  VIRTIO_BIT(29)
#define VIRTIO_FEAT_VERSION_1	    VIRTIO_BIT(32)
#define VIRTIO_FEAT_ACCESS_PLATFORM VIRTIO_BIT(33)

/* Device status bits (virtio 1.2 §2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE	 1u
#define VIRTIO_STATUS_DRIVER		 2u
#define VIRTIO_STATUS_DRIVER_OK		 4u
#define VIRTIO_STATUS_FEATURES_OK	 8u
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED		 128u

#define VIRTIO_MAX_QUEUES 8

struct virtio_device_ops {
	/* Short name, used in messages and snapshot section names
	 * ("dev.<name>.<index>"): "rng", "blk", "vsock", "fs". */
	const char *name;
	uint32_t device_id;	 /* VIRTIO_ID_* (linux/virtio_ids.h) */
	unsigned num_queues;	 /* 1..VIRTIO_MAX_QUEUES */
	uint16_t queue_max_size; /* power of two <= VQ_MAX_SIZE */

	/* Device features offered, including any of RING_INDIRECT and
	 * RING_EVENT_IDX the device supports (the queue library handles both).
	 * The transport always adds VERSION_1. */
	uint64_t (*features)(void *dev);

	/* Config space (§4.2.2 offset 0x100+). off + len is within
	 * config_size (the transport checks); len is 1, 2, 4 or 8. Reads fill
	 * data; an unknown or read-only field write is ignored (return 0). */
	uint32_t config_size;
	void (*config_read)(void *dev, uint32_t off, void *data, uint32_t len);
	void (*config_write)(void *dev, uint32_t off, const void *data, uint32_t len);

	/* The driver set DRIVER_OK with `features` negotiated; queues that the
	 * driver made ready are set up (vmmio_queue). Return 0, or -errno to
	 * make the transport set DEVICE_NEEDS_RESET. */
	int (*activate)(void *dev, struct vmmio *t, uint64_t features);

	/* Back to the inactive state: drop in-flight requests, forget queues
	 * (the transport resets the vq structs). May be NULL. */
	void (*reset)(void *dev);

	/* The driver notified queue q (event-loop thread, transport lock
	 * held). Pop chains, vq_push, then vmmio_signal_used(t, q). */
	void (*queue_notify)(void *dev, struct vmmio *t, unsigned q);

	/* Snapshot hooks; either may be NULL for a stateless device (then the
	 * device's blob is empty and restore accepts only an empty blob). */
	int (*save)(void *dev, struct strbuf *out);
	int (*restore)(void *dev, const void *blob, size_t len, struct vmm_err *err);
	/* Does restore()'s validation only, changing nothing, so that a
	 * snapshot restore can check every device's blob before it applies
	 * any state (snap_restore.c). Required when restore is set. */
	int (*check)(const void *dev, const void *blob, size_t len, struct vmm_err *err);

	/* Frees dev. Called once at teardown, after the last op. */
	void (*destroy)(void *dev);
};

#endif
