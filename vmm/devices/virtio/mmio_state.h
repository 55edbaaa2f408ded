/* vmmio_state: the virtio-mmio transport's snapshot blob, as plain data and
 * its little-endian encoding (snap_codec.h), apart from any live transport
 * so that the parser of this hostile input is tested and fuzzed on any host.
 *
 * Blob version 1 (the bytes are the same as when it was a host struct):
 *   header (64 bytes): u32 magic "VMIO", version, device_id, num_queues;
 *     u64 dev_features, drv_features; u32 status, isr, config_gen,
 *     dev_feat_sel, drv_feat_sel, queue_sel, active, pad;
 *   num_queues x queue (48 bytes): u32 num, pad; u64 desc, avail, used;
 *     u16 size, last_avail, used_idx, signalled_used; u8 ready, event_idx,
 *     broken, signalled_used_valid; u32 max_chain_bytes;
 *   u32 device blob length, then the device's own blob. */
#ifndef SMOL_VMMIO_STATE_H
#define SMOL_VMMIO_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "devices/virtio/queue.h"
#include "devices/virtio/virtio.h"

struct strbuf;

#define VMMIO_STATE_MAGIC   0x4f494d56u /* "VMIO" */
#define VMMIO_STATE_VERSION 1u
#define VMMIO_STATE_HDR	    64u
#define VMMIO_STATE_QUEUE   48u

struct vmmio_state_queue {
	uint32_t num; /* QueueNum register */
	struct vq_state vq;
};

struct vmmio_state {
	uint32_t device_id, num_queues;
	uint64_t dev_features, drv_features;
	uint32_t status, isr, config_gen, dev_feat_sel, drv_feat_sel, queue_sel, active;
	struct vmmio_state_queue q[VIRTIO_MAX_QUEUES];
	const uint8_t *dev_blob; /* borrowed: the device's own state */
	uint32_t dev_len;
};

/* Appends st (num_queues queues, then dev_blob) to out. 0 or -ENOMEM;
 * -EINVAL when num_queues > VIRTIO_MAX_QUEUES. */
int vmmio_state_encode(const struct vmmio_state *st, struct strbuf *out);

/* Parses blob (borrowed; st->dev_blob points into it) for a transport with
 * num_queues queues. Checks the framing only: size, magic, version, queue
 * count and the device blob's length; the caller checks the values against
 * its device. 0, or -EINVAL with *why set to a static reason. */
int vmmio_state_decode(const void *blob, size_t len, unsigned num_queues, struct vmmio_state *st,
		       const char **why);

/* The queue count blob's header claims, for a reader that has no device
 * to compare with (smolvm snapshot info): 0, or -EINVAL with *why set when
 * the header is short or the count is over VIRTIO_MAX_QUEUES. */
int vmmio_state_peek_queues(const void *blob, size_t len, unsigned *num_queues, const char **why);

#endif
