/* Unit tests for the virtio-mmio transport's snapshot blob
 * (vmm/devices/virtio/mmio_state.c): the byte layout, a round trip, and
 * hostile blobs (every truncation, bad magic/version/queue count, a device
 * length that lies) refused with a reason. Host tier: no KVM needed. */
#include "devices/virtio/mmio_state.h"
#include "snapshot/snap_format.h"
#include "strbuf.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <string.h>

#define NQ 2

static void sample(struct vmmio_state *st)
{
	memset(st, 0, sizeof(*st));
	st->device_id = 19;
	st->num_queues = NQ;
	st->dev_features = 0x130000000ull;
	st->drv_features = 0x100000000ull;
	st->status = 0xf;
	st->isr = 1;
	st->config_gen = 3;
	st->queue_sel = 1;
	st->active = 1;
	for (unsigned i = 0; i < NQ; i++) {
		st->q[i].num = 128;
		st->q[i].vq = (struct vq_state){.desc_gpa = 0x1000 * (i + 1),
						.avail_gpa = 0x1800 * (i + 1),
						.used_gpa = 0x1c00 * (i + 1),
						.size = 128,
						.last_avail = (uint16_t)(7 + i),
						.used_idx = 6,
						.signalled_used = 5,
						.ready = 1,
						.event_idx = 1,
						.signalled_used_valid = 1,
						.max_chain_bytes = 1u << 20};
	}
	st->dev_blob = (const uint8_t *)"devstate";
	st->dev_len = 8;
}

START_TEST(layout_and_round_trip)
{
	struct vmmio_state st, back;
	struct strbuf sb = {0};
	const char *why = NULL;
	sample(&st);
	ck_assert_int_eq(vmmio_state_encode(&st, &sb), 0);
	ck_assert_uint_eq(sb.len, VMMIO_STATE_HDR + NQ * VMMIO_STATE_QUEUE + 4 + 8);
	/* The layout docs/snapshot.md and mmio_state.h give, field by field. */
	const uint8_t *b = (const uint8_t *)sb.buf;
	ck_assert_uint_eq(snap_get32(b), VMMIO_STATE_MAGIC);
	ck_assert_uint_eq(snap_get32(b + 4), VMMIO_STATE_VERSION);
	ck_assert_uint_eq(snap_get32(b + 8), 19);
	ck_assert_uint_eq(snap_get64(b + 16), 0x130000000ull);
	ck_assert_uint_eq(snap_get32(b + 56), 1); /* active */
	const uint8_t *q1 = b + VMMIO_STATE_HDR + VMMIO_STATE_QUEUE;
	ck_assert_uint_eq(snap_get32(q1), 128);
	ck_assert_uint_eq(snap_get64(q1 + 8), 0x2000);
	ck_assert_uint_eq(snap_get16(q1 + 34), 8); /* last_avail */
	ck_assert_uint_eq(q1[40], 1);		   /* ready */
	ck_assert_uint_eq(snap_get32(q1 + 44), 1u << 20);
	ck_assert_uint_eq(snap_get32(q1 + VMMIO_STATE_QUEUE), 8);

	ck_assert_int_eq(vmmio_state_decode(sb.buf, sb.len, NQ, &back, &why), 0);
	ck_assert_uint_eq(back.device_id, st.device_id);
	ck_assert_uint_eq(back.drv_features, st.drv_features);
	ck_assert_uint_eq(back.status, st.status);
	ck_assert_uint_eq(back.config_gen, st.config_gen);
	ck_assert_uint_eq(back.queue_sel, st.queue_sel);
	ck_assert_uint_eq(back.active, 1);
	for (unsigned i = 0; i < NQ; i++) {
		ck_assert_uint_eq(back.q[i].num, 128);
		ck_assert_int_eq(memcmp(&back.q[i].vq, &st.q[i].vq, sizeof(struct vq_state)), 0);
	}
	ck_assert_uint_eq(back.dev_len, 8);
	ck_assert_int_eq(memcmp(back.dev_blob, "devstate", 8), 0);
	sb_release(&sb);
}
END_TEST

START_TEST(hostile_blobs)
{
	struct vmmio_state st, back;
	struct strbuf sb = {0};
	const char *why;
	sample(&st);
	ck_assert_int_eq(vmmio_state_encode(&st, &sb), 0);
	uint8_t *b = (uint8_t *)sb.buf;
	/* Every truncation is refused, with a reason. */
	for (size_t n = 0; n < sb.len; n++) {
		why = NULL;
		ck_assert_int_eq(vmmio_state_decode(b, n, NQ, &back, &why), -EINVAL);
		ck_assert_ptr_nonnull(why);
	}
	ck_assert_int_eq(vmmio_state_decode(b, sb.len, NQ + 1, &back, &why), -EINVAL);
	ck_assert_int_eq(vmmio_state_decode(b, sb.len, NQ - 1, &back, &why), -EINVAL);
	ck_assert_str_eq(why, "device type or queue count differs from this VM's device");
	ck_assert_int_eq(vmmio_state_decode(b, sb.len, VIRTIO_MAX_QUEUES + 1, &back, &why),
			 -EINVAL);
	b[0] ^= 1;
	ck_assert_int_eq(vmmio_state_decode(b, sb.len, NQ, &back, &why), -EINVAL);
	ck_assert_str_eq(why, "bad magic or unsupported state version");
	b[0] ^= 1;
	snap_put32(b + 4, 2);
	ck_assert_int_eq(vmmio_state_decode(b, sb.len, NQ, &back, &why), -EINVAL);
	snap_put32(b + 4, VMMIO_STATE_VERSION);
	/* The device length lies: too long, too short, and huge. */
	uint8_t *dl = b + VMMIO_STATE_HDR + NQ * VMMIO_STATE_QUEUE;
	snap_put32(dl, 9);
	ck_assert_int_eq(vmmio_state_decode(b, sb.len, NQ, &back, &why), -EINVAL);
	ck_assert_str_eq(why, "device state length does not match the blob");
	snap_put32(dl, 7);
	ck_assert_int_eq(vmmio_state_decode(b, sb.len, NQ, &back, &why), -EINVAL);
	snap_put32(dl, UINT32_MAX);
	ck_assert_int_eq(vmmio_state_decode(b, sb.len, NQ, &back, &why), -EINVAL);
	snap_put32(dl, 8);
	ck_assert_int_eq(vmmio_state_decode(b, sb.len, NQ, &back, &why), 0);
	/* The queue count a reader without a device takes from the header:
	 * refused when the header is short or the count over the maximum. */
	unsigned nq = 0;
	ck_assert_int_eq(vmmio_state_peek_queues(b, sb.len, &nq, &why), 0);
	ck_assert_uint_eq(nq, NQ);
	for (size_t n = 0; n < VMMIO_STATE_HDR; n++)
		ck_assert_int_eq(vmmio_state_peek_queues(b, n, &nq, &why), -EINVAL);
	snap_put32(b + 12, VIRTIO_MAX_QUEUES + 1);
	ck_assert_int_eq(vmmio_state_peek_queues(b, sb.len, &nq, &why), -EINVAL);
	ck_assert_str_eq(why, "queue count is over the transport's maximum");
	snap_put32(b + 12, NQ);
	/* More queues than a transport has cannot be encoded. */
	st.num_queues = VIRTIO_MAX_QUEUES + 1;
	ck_assert_int_eq(vmmio_state_encode(&st, &sb), -EINVAL);
	sb_release(&sb);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vmmio_state");
	TCase *tc = tcase_create("blob");
	tcase_add_test(tc, layout_and_round_trip);
	tcase_add_test(tc, hostile_blobs);
	suite_add_tcase(s, tc);
	return smol_check_run(s);
}
