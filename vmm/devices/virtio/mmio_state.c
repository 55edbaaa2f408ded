/* vmmio_state: the transport's snapshot blob (mmio_state.h). */
#include "devices/virtio/mmio_state.h"

#include "snapshot/snap_codec.h"

#include <errno.h>
#include <string.h>

int vmmio_state_encode(const struct vmmio_state *st, struct strbuf *out)
{
	struct snap_enc e;
	if (st->num_queues > VIRTIO_MAX_QUEUES)
		return -EINVAL;
	snap_enc_init(&e, out);
	snap_enc_u32(&e, VMMIO_STATE_MAGIC);
	snap_enc_u32(&e, VMMIO_STATE_VERSION);
	snap_enc_u32(&e, st->device_id);
	snap_enc_u32(&e, st->num_queues);
	snap_enc_u64(&e, st->dev_features);
	snap_enc_u64(&e, st->drv_features);
	snap_enc_u32(&e, st->status);
	snap_enc_u32(&e, st->isr);
	snap_enc_u32(&e, st->config_gen);
	snap_enc_u32(&e, st->dev_feat_sel);
	snap_enc_u32(&e, st->drv_feat_sel);
	snap_enc_u32(&e, st->queue_sel);
	snap_enc_u32(&e, st->active);
	snap_enc_u32(&e, 0);
	for (unsigned i = 0; i < st->num_queues; i++) {
		const struct vmmio_state_queue *q = &st->q[i];
		snap_enc_u32(&e, q->num);
		snap_enc_u32(&e, 0);
		snap_enc_u64(&e, q->vq.desc_gpa);
		snap_enc_u64(&e, q->vq.avail_gpa);
		snap_enc_u64(&e, q->vq.used_gpa);
		snap_enc_u16(&e, q->vq.size);
		snap_enc_u16(&e, q->vq.last_avail);
		snap_enc_u16(&e, q->vq.used_idx);
		snap_enc_u16(&e, q->vq.signalled_used);
		snap_enc_u8(&e, q->vq.ready);
		snap_enc_u8(&e, q->vq.event_idx);
		snap_enc_u8(&e, q->vq.broken);
		snap_enc_u8(&e, q->vq.signalled_used_valid);
		snap_enc_u32(&e, q->vq.max_chain_bytes);
	}
	snap_enc_u32(&e, st->dev_len);
	snap_enc_bytes(&e, st->dev_blob, st->dev_len);
	return snap_enc_error(&e);
}

static void dec_queue(struct snap_dec *d, struct vmmio_state_queue *q)
{
	q->num = snap_dec_u32(d);
	(void)snap_dec_u32(d); /* pad */
	q->vq.desc_gpa = snap_dec_u64(d);
	q->vq.avail_gpa = snap_dec_u64(d);
	q->vq.used_gpa = snap_dec_u64(d);
	q->vq.size = snap_dec_u16(d);
	q->vq.last_avail = snap_dec_u16(d);
	q->vq.used_idx = snap_dec_u16(d);
	q->vq.signalled_used = snap_dec_u16(d);
	q->vq.ready = snap_dec_u8(d);
	q->vq.event_idx = snap_dec_u8(d);
	q->vq.broken = snap_dec_u8(d);
	q->vq.signalled_used_valid = snap_dec_u8(d);
	q->vq.max_chain_bytes = snap_dec_u32(d);
}

int vmmio_state_peek_queues(const void *blob, size_t len, unsigned *num_queues, const char **why)
{
	if (len < VMMIO_STATE_HDR) {
		*why = "state is truncated";
		return -EINVAL;
	}
	struct snap_dec d;
	snap_dec_init(&d, blob, len);
	(void)snap_dec_u32(&d); /* magic, version and device id: checked by decode */
	(void)snap_dec_u32(&d);
	(void)snap_dec_u32(&d);
	uint32_t n = snap_dec_u32(&d);
	if (n > VIRTIO_MAX_QUEUES) {
		*why = "queue count is over the transport's maximum";
		return -EINVAL;
	}
	*num_queues = n;
	return 0;
}

int vmmio_state_decode(const void *blob, size_t len, unsigned num_queues, struct vmmio_state *st,
		       const char **why)
{
	struct snap_dec d;
	memset(st, 0, sizeof(*st));
	if (num_queues > VIRTIO_MAX_QUEUES ||
	    len < VMMIO_STATE_HDR + (size_t)VMMIO_STATE_QUEUE * num_queues + 4) {
		*why = "state is truncated";
		return -EINVAL;
	}
	snap_dec_init(&d, blob, len);
	uint32_t magic = snap_dec_u32(&d), version = snap_dec_u32(&d);
	if (magic != VMMIO_STATE_MAGIC || version != VMMIO_STATE_VERSION) {
		*why = "bad magic or unsupported state version";
		return -EINVAL;
	}
	st->device_id = snap_dec_u32(&d);
	st->num_queues = snap_dec_u32(&d);
	if (st->num_queues != num_queues) {
		*why = "device type or queue count differs from this VM's device";
		return -EINVAL;
	}
	st->dev_features = snap_dec_u64(&d);
	st->drv_features = snap_dec_u64(&d);
	st->status = snap_dec_u32(&d);
	st->isr = snap_dec_u32(&d);
	st->config_gen = snap_dec_u32(&d);
	st->dev_feat_sel = snap_dec_u32(&d);
	st->drv_feat_sel = snap_dec_u32(&d);
	st->queue_sel = snap_dec_u32(&d);
	st->active = snap_dec_u32(&d);
	(void)snap_dec_u32(&d); /* pad */
	for (unsigned i = 0; i < num_queues; i++)
		dec_queue(&d, &st->q[i]);
	st->dev_len = snap_dec_u32(&d);
	st->dev_blob = snap_dec_bytes(&d, st->dev_len);
	if (!st->dev_blob || snap_dec_left(&d)) {
		*why = "device state length does not match the blob";
		return -EINVAL;
	}
	return 0;
}
