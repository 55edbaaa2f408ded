/* Unit tests for the split virtqueue (vmm/devices/virtio/queue.c), driven
 * through the mock driver with well-formed and hostile chains. */
#include "vq_mock.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>

#define QSZ 16

static struct vq_mock *m;
static struct vq vq;
static struct vq_chain *chain;

static void setup(void)
{
	ck_assert_int_eq(vq_mock_create(QSZ, 1 << 20, &m), 0);
	ck_assert_int_eq(vq_mock_setup(m, &vq, false), 0);
	chain = calloc(1, sizeof(*chain));
	ck_assert_ptr_nonnull(chain);
}

static void teardown(void)
{
	free(chain);
	vq_mock_destroy(m);
}

/* Publishes and pops a chain of one fresh buffer; returns its head. */
static uint16_t pop_single(uint32_t len, bool writable)
{
	struct vq_mock_seg s = {vq_mock_alloc(m, len), len, writable};
	uint16_t head;
	ck_assert_int_eq(vq_mock_add_chain(m, &s, 1, &head), 0);
	ck_assert_int_eq(vq_pop(&vq, chain), 1);
	return head;
}

START_TEST(pop_push_roundtrip)
{
	uint64_t req = vq_mock_alloc(m, 16), resp = vq_mock_alloc(m, 8);
	ck_assert_int_eq(gmem_write(m->mem, req, "0123456789abcdef", 16), 0);
	struct vq_mock_seg segs[] = {{req, 10, false}, {req + 10, 6, false}, {resp, 8, true}};
	uint16_t head;
	ck_assert_int_eq(vq_mock_add_chain(m, segs, 3, &head), 0);
	ck_assert(vq_has_avail(&vq));
	ck_assert_int_eq(vq_pop(&vq, chain), 1);
	ck_assert_uint_eq(chain->head, head);
	ck_assert_uint_eq(chain->nbufs, 3);
	ck_assert_uint_eq(chain->nreadable, 2);
	ck_assert_uint_eq(chain->readable_bytes, 16);
	ck_assert_uint_eq(chain->writable_bytes, 8);
	char buf[16];
	ck_assert_int_eq(vq_chain_read(chain, 8, buf, 8), 0);
	ck_assert_int_eq(memcmp(buf, "89abcdef", 8), 0);
	ck_assert_int_ne(vq_chain_read(chain, 9, buf, 8), 0);
	ck_assert_int_eq(vq_chain_write(chain, 0, "ABCDEFGH", 8), 0);
	ck_assert_int_ne(vq_chain_write(chain, 1, "ABCDEFGH", 8), 0);
	ck_assert_int_eq(vq_pop(&vq, chain), 0);
	ck_assert_int_eq(vq_push(&vq, head, 8), 0);
	ck_assert_uint_eq(vq_mock_used_idx(m), 1);
	uint32_t id, len;
	ck_assert_int_eq(vq_mock_get_used(m, 0, &id, &len), 0);
	ck_assert_uint_eq(id, head);
	ck_assert_uint_eq(len, 8);
	ck_assert_int_eq(gmem_read(m->mem, resp, buf, 8), 0);
	ck_assert_int_eq(memcmp(buf, "ABCDEFGH", 8), 0);
	ck_assert(vq_should_notify(&vq));
	ck_assert_int_eq(vq_push(&vq, QSZ, 0), -EINVAL);
}
END_TEST

START_TEST(setup_rejects_bad_layout)
{
	struct vq q;
	ck_assert_int_eq(vq_setup(&q, m->mem, 0, m->desc_gpa, m->avail_gpa, m->used_gpa, false),
			 -EINVAL);
	ck_assert_int_eq(vq_setup(&q, m->mem, 12, m->desc_gpa, m->avail_gpa, m->used_gpa, false),
			 -EINVAL);
	ck_assert_int_eq(vq_setup(&q, m->mem, 2048, m->desc_gpa, m->avail_gpa, m->used_gpa, false),
			 -EINVAL);
	ck_assert_int_eq(
	    vq_setup(&q, m->mem, QSZ, m->desc_gpa + 8, m->avail_gpa, m->used_gpa, false), -EINVAL);
	ck_assert_int_eq(
	    vq_setup(&q, m->mem, QSZ, m->desc_gpa, m->avail_gpa + 1, m->used_gpa, false), -EINVAL);
	ck_assert_int_eq(
	    vq_setup(&q, m->mem, QSZ, m->desc_gpa, m->avail_gpa, m->used_gpa + 2, false), -EINVAL);
	/* rings past the end of RAM, and an address that overflows */
	ck_assert_int_eq(
	    vq_setup(&q, m->mem, QSZ, (1 << 20) - 16, m->avail_gpa, m->used_gpa, false), -EINVAL);
	ck_assert_int_eq(
	    vq_setup(&q, m->mem, QSZ, m->desc_gpa, m->avail_gpa, UINT64_MAX - 3, false), -EINVAL);
	ck_assert(!q.ready);
}
END_TEST

START_TEST(loop_is_broken)
{
	uint64_t b = vq_mock_alloc(m, 64);
	ck_assert_int_eq(vq_mock_set_desc(m, 0, b, 8, VRING_DESC_F_NEXT, 1), 0);
	ck_assert_int_eq(vq_mock_set_desc(m, 1, b, 8, VRING_DESC_F_NEXT, 0), 0);
	ck_assert_int_eq(vq_mock_publish(m, 0), 0);
	ck_assert_int_eq(vq_pop(&vq, chain), -EIO);
	ck_assert(vq.broken);
	ck_assert_int_eq(vq_pop(&vq, chain), -EIO);
	ck_assert_int_eq(vq_push(&vq, 0, 0), -EIO);
	ck_assert(!vq_should_notify(&vq));
}
END_TEST

START_TEST(self_loop_is_broken)
{
	uint64_t b = vq_mock_alloc(m, 64);
	ck_assert_int_eq(vq_mock_set_desc(m, 3, b, 8, VRING_DESC_F_NEXT, 3), 0);
	ck_assert_int_eq(vq_mock_publish(m, 3), 0);
	ck_assert_int_eq(vq_pop(&vq, chain), -EIO);
}
END_TEST

START_TEST(full_length_chain_ok)
{
	uint64_t b = vq_mock_alloc(m, 64);
	for (uint16_t i = 0; i < QSZ; i++)
		ck_assert_int_eq(
		    vq_mock_set_desc(m, i, b, 4, i + 1 < QSZ ? VRING_DESC_F_NEXT : 0, i + 1), 0);
	ck_assert_int_eq(vq_mock_publish(m, 0), 0);
	ck_assert_int_eq(vq_pop(&vq, chain), 1);
	ck_assert_uint_eq(chain->nbufs, QSZ);
}
END_TEST

START_TEST(next_out_of_range)
{
	uint64_t b = vq_mock_alloc(m, 64);
	ck_assert_int_eq(vq_mock_set_desc(m, 0, b, 8, VRING_DESC_F_NEXT, QSZ), 0);
	ck_assert_int_eq(vq_mock_publish(m, 0), 0);
	ck_assert_int_eq(vq_pop(&vq, chain), -EIO);
}
END_TEST

START_TEST(head_out_of_range)
{
	ck_assert_int_eq(vq_mock_publish(m, 0xffff), 0);
	ck_assert_int_eq(vq_pop(&vq, chain), -EIO);
}
END_TEST

START_TEST(avail_idx_runaway)
{
	ck_assert_int_eq(vq_mock_set_avail_idx(m, QSZ + 1), 0);
	ck_assert_int_eq(vq_pop(&vq, chain), -EIO);
}
END_TEST

START_TEST(buffer_outside_ram)
{
	ck_assert_int_eq(vq_mock_set_desc(m, 0, (1 << 20) - 4, 8, 0, 0), 0);
	ck_assert_int_eq(vq_mock_publish(m, 0), 0);
	ck_assert_int_eq(vq_pop(&vq, chain), -EIO);
}
END_TEST

START_TEST(buffer_addr_overflow)
{
	ck_assert_int_eq(vq_mock_set_desc(m, 0, UINT64_MAX - 2, 0xffffffffu, 0, 0), 0);
	ck_assert_int_eq(vq_mock_publish(m, 0), 0);
	ck_assert_int_eq(vq_pop(&vq, chain), -EIO);
}
END_TEST

START_TEST(total_length_cap)
{
	vq.max_chain_bytes = 100;
	uint64_t b = vq_mock_alloc(m, 128);
	ck_assert_int_eq(vq_mock_set_desc(m, 0, b, 64, VRING_DESC_F_NEXT, 1), 0);
	ck_assert_int_eq(vq_mock_set_desc(m, 1, b, 64, 0, 0), 0);
	ck_assert_int_eq(vq_mock_publish(m, 0), 0);
	ck_assert_int_eq(vq_pop(&vq, chain), -EIO);
}
END_TEST

START_TEST(huge_lengths_do_not_wrap)
{
	/* 2 x 0xffffffff exceeds the cap; with 64-bit sums nothing wraps. */
	ck_assert_int_eq(vq_mock_set_desc(m, 0, 0, 0xffffffffu, VRING_DESC_F_NEXT, 1), 0);
	ck_assert_int_eq(vq_mock_set_desc(m, 1, 0, 0xffffffffu, 0, 0), 0);
	ck_assert_int_eq(vq_mock_publish(m, 0), 0);
	ck_assert_int_eq(vq_pop(&vq, chain), -EIO);
}
END_TEST

START_TEST(readable_after_writable)
{
	uint64_t b = vq_mock_alloc(m, 64);
	ck_assert_int_eq(vq_mock_set_desc(m, 0, b, 8, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1),
			 0);
	ck_assert_int_eq(vq_mock_set_desc(m, 1, b, 8, 0, 0), 0);
	ck_assert_int_eq(vq_mock_publish(m, 0), 0);
	ck_assert_int_eq(vq_pop(&vq, chain), -EIO);
}
END_TEST

START_TEST(zero_length_skipped)
{
	uint64_t b = vq_mock_alloc(m, 64);
	ck_assert_int_eq(vq_mock_set_desc(m, 0, b, 0, VRING_DESC_F_NEXT, 1), 0);
	ck_assert_int_eq(vq_mock_set_desc(m, 1, b, 8, VRING_DESC_F_WRITE, 0), 0);
	ck_assert_int_eq(vq_mock_publish(m, 0), 0);
	ck_assert_int_eq(vq_pop(&vq, chain), 1);
	ck_assert_uint_eq(chain->nbufs, 1);
	ck_assert_uint_eq(chain->writable_bytes, 8);
}
END_TEST

START_TEST(indirect_ok)
{
	uint64_t tbl = vq_mock_alloc(m, 3 * 16), b = vq_mock_alloc(m, 64);
	ck_assert_int_eq(vq_mock_set_indirect(m, tbl, 0, b, 8, VRING_DESC_F_NEXT, 2), 0);
	ck_assert_int_eq(vq_mock_set_indirect(m, tbl, 2, b + 8, 8, VRING_DESC_F_NEXT, 1), 0);
	ck_assert_int_eq(vq_mock_set_indirect(m, tbl, 1, b + 16, 16, VRING_DESC_F_WRITE, 0), 0);
	ck_assert_int_eq(vq_mock_set_desc(m, 5, tbl, 48, VRING_DESC_F_INDIRECT, 0), 0);
	ck_assert_int_eq(vq_mock_publish(m, 5), 0);
	ck_assert_int_eq(vq_pop(&vq, chain), 1);
	ck_assert_uint_eq(chain->head, 5);
	ck_assert_uint_eq(chain->nbufs, 3);
	ck_assert_uint_eq(chain->readable_bytes, 16);
	ck_assert_uint_eq(chain->writable_bytes, 16);
	ck_assert_uint_eq(chain->bufs[2].gpa, b + 16);
}
END_TEST

START_TEST(indirect_hostile)
{
	uint64_t tbl, b;
	struct {
		uint32_t len;
		uint16_t flags;
		int setup; /* 0 none, 1 nested, 2 loop, 3 next out of table */
	} cases[] = {
	    {0, VRING_DESC_F_INDIRECT, 0},
	    {24, VRING_DESC_F_INDIRECT, 0},
	    {32, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 0},
	    {32, VRING_DESC_F_INDIRECT, 1},
	    {32, VRING_DESC_F_INDIRECT, 2},
	    {32, VRING_DESC_F_INDIRECT, 3},
	    {16u * (VQ_CHAIN_MAX_BUFS + 1), VRING_DESC_F_INDIRECT, 0},
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		teardown();
		setup();
		tbl = vq_mock_alloc(m, 16u * (VQ_CHAIN_MAX_BUFS + 1));
		b = vq_mock_alloc(m, 64);
		vq_mock_set_indirect(m, tbl, 0, b, 8, 0, 0);
		if (cases[i].setup == 1)
			vq_mock_set_indirect(m, tbl, 0, tbl, 32, VRING_DESC_F_INDIRECT, 0);
		if (cases[i].setup == 2) {
			vq_mock_set_indirect(m, tbl, 0, b, 8, VRING_DESC_F_NEXT, 1);
			vq_mock_set_indirect(m, tbl, 1, b, 8, VRING_DESC_F_NEXT, 0);
		}
		if (cases[i].setup == 3)
			vq_mock_set_indirect(m, tbl, 0, b, 8, VRING_DESC_F_NEXT, 2);
		ck_assert_int_eq(vq_mock_set_desc(m, 0, tbl, cases[i].len, cases[i].flags, 1), 0);
		ck_assert_int_eq(vq_mock_publish(m, 0), 0);
		ck_assert_msg(vq_pop(&vq, chain) == -EIO, "case %u accepted", i);
	}
}
END_TEST

START_TEST(indirect_table_outside_ram)
{
	ck_assert_int_eq(vq_mock_set_desc(m, 0, (1 << 20) - 16, 32, VRING_DESC_F_INDIRECT, 0), 0);
	ck_assert_int_eq(vq_mock_publish(m, 0), 0);
	ck_assert_int_eq(vq_pop(&vq, chain), -EIO);
}
END_TEST

START_TEST(notify_suppression)
{
	uint64_t b = vq_mock_alloc(m, 8);
	struct vq_mock_seg s = {b, 8, true};
	uint16_t head;
	ck_assert_int_eq(vq_mock_add_chain(m, &s, 1, &head), 0);
	ck_assert_int_eq(vq_pop(&vq, chain), 1);
	ck_assert_int_eq(vq_push(&vq, head, 0), 0);
	ck_assert_int_eq(vq_mock_set_avail_flags(m, VRING_AVAIL_F_NO_INTERRUPT), 0);
	ck_assert(!vq_should_notify(&vq));
	vq_set_notify(&vq, false);
	ck_assert_uint_eq(vq_mock_used_flags(m), VRING_USED_F_NO_NOTIFY);
	vq_set_notify(&vq, true);
	ck_assert_uint_eq(vq_mock_used_flags(m), 0);
}
END_TEST

START_TEST(event_idx)
{
	ck_assert_int_eq(vq_mock_setup(m, &vq, true), 0);
	uint64_t b = vq_mock_alloc(m, 8);
	struct vq_mock_seg s = {b, 8, true};
	uint16_t head;
	/* The driver wants an interrupt only after the 3rd used entry. */
	ck_assert_int_eq(vq_mock_set_used_event(m, 2), 0);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(vq_mock_add_chain(m, &s, 1, &head), 0);
		ck_assert_int_eq(vq_pop(&vq, chain), 1);
		ck_assert_uint_eq(vq_mock_avail_event(m), i + 1);
		ck_assert_int_eq(vq_push(&vq, head, 0), 0);
		bool want = vq_should_notify(&vq);
		/* first call always signals; then only when crossing used_event */
		ck_assert_msg(want == (i == 0 || i == 2), "push %d notify=%d", i, want);
	}
}
END_TEST

START_TEST(save_restore)
{
	uint16_t head = pop_single(8, true);
	struct vq_state st;
	vq_save(&vq, &st);
	struct vq q2;
	ck_assert_int_eq(vq_restore(&q2, m->mem, &st), 0);
	ck_assert_uint_eq(q2.last_avail, 1);
	ck_assert_int_eq(vq_push(&q2, head, 8), 0);
	st.size = 3;
	ck_assert_int_eq(vq_restore(&q2, m->mem, &st), -EINVAL);
	ck_assert(!q2.ready);
	st.size = QSZ;
	st.ready = 7;
	ck_assert_int_eq(vq_restore(&q2, m->mem, &st), -EINVAL);
}
END_TEST

/* A chain of readable pieces 3, 5, 1, 7 ("0123456789abcdef" in four
 * buffers) and writable pieces 4, 4: the cursor's offset arithmetic is
 * tested across every buffer boundary. */
static uint64_t cursor_chain(void)
{
	uint64_t r = vq_mock_alloc(m, 16), w = vq_mock_alloc(m, 8);
	ck_assert_int_eq(gmem_write(m->mem, r, "0123456789abcdef", 16), 0);
	struct vq_mock_seg segs[] = {{r, 3, false},	{r + 3, 5, false}, {r + 8, 1, false},
				     {r + 9, 7, false}, {w, 4, true},	   {w + 4, 4, true}};
	uint16_t head;
	ck_assert_int_eq(vq_mock_add_chain(m, segs, 6, &head), 0);
	ck_assert_int_eq(vq_pop(&vq, chain), 1);
	return w;
}

START_TEST(cursor_read_across_buffers)
{
	cursor_chain();
	struct vq_cursor cur;
	char buf[17] = {0};
	vq_cursor_init(&cur, chain, false);
	ck_assert_uint_eq(vq_cursor_left(&cur), 16);
	ck_assert_int_eq(vq_cursor_consume(&cur, 2), 0);
	ck_assert_int_eq(vq_cursor_read(&cur, buf, 8), 0); /* 3 buffers */
	ck_assert_str_eq(buf, "23456789");
	ck_assert_uint_eq(vq_cursor_left(&cur), 6);
	ck_assert_int_eq(vq_cursor_read(&cur, buf, 6), 0);
	ck_assert_int_eq(memcmp(buf, "abcdef", 6), 0);
	ck_assert_uint_eq(vq_cursor_left(&cur), 0);
	ck_assert_int_eq(vq_cursor_read(&cur, buf, 0), 0);
	void *p;
	ck_assert_uint_eq(vq_cursor_next(&cur, 100, &p), 0);
	/* A fresh cursor reads the whole part in one call. */
	vq_cursor_init(&cur, chain, false);
	ck_assert_int_eq(vq_cursor_read(&cur, buf, 16), 0);
	ck_assert_int_eq(memcmp(buf, "0123456789abcdef", 16), 0);
}
END_TEST

START_TEST(cursor_write_across_buffers)
{
	uint64_t w = cursor_chain();
	struct vq_cursor cur;
	vq_cursor_init(&cur, chain, true);
	ck_assert_uint_eq(vq_cursor_left(&cur), 8);
	ck_assert_int_eq(vq_cursor_consume(&cur, 3), 0);
	ck_assert_int_eq(vq_cursor_write(&cur, "XYZ", 3), 0); /* straddles 4 | 4 */
	char buf[8];
	ck_assert_int_eq(gmem_read(m->mem, w, buf, 8), 0);
	ck_assert_int_eq(memcmp(buf + 3, "XYZ", 3), 0);
	ck_assert_uint_eq(vq_cursor_left(&cur), 2);
}
END_TEST

START_TEST(cursor_bounds)
{
	cursor_chain();
	struct vq_cursor cur, before;
	char buf[32];
	vq_cursor_init(&cur, chain, false);
	ck_assert_int_eq(vq_cursor_consume(&cur, 10), 0);
	before = cur;
	/* Past the end: refused, nothing copied, the cursor does not move. */
	memset(buf, '?', sizeof(buf));
	ck_assert_int_eq(vq_cursor_consume(&cur, 7), -EINVAL);
	ck_assert_int_eq(vq_cursor_read(&cur, buf, 7), -EINVAL);
	ck_assert_int_eq(buf[0], '?');
	ck_assert_int_eq(memcmp(&cur, &before, sizeof(cur)), 0);
	ck_assert_int_eq(vq_cursor_consume(&cur, UINT64_MAX), -EINVAL);
	/* The device never writes the driver's readable part, nor reads back
	 * its own writable one. */
	ck_assert_int_eq(vq_cursor_write(&cur, "x", 1), -EINVAL);
	vq_cursor_init(&cur, chain, true);
	ck_assert_int_eq(vq_cursor_read(&cur, buf, 1), -EINVAL);
	ck_assert_int_eq(vq_cursor_write(&cur, buf, 9), -EINVAL);
	/* The one-shot helpers keep their contract. */
	ck_assert_int_eq(vq_chain_read(chain, 16, buf, 0), 0);
	ck_assert_int_eq(vq_chain_read(chain, 17, buf, 0), -EINVAL);
	ck_assert_int_eq(vq_chain_write(chain, 8, buf, 1), -EINVAL);
}
END_TEST

START_TEST(cursor_split_at)
{
	cursor_chain();
	struct vq_cursor hdr, rest;
	char buf[16] = {0};
	vq_cursor_init(&hdr, chain, false);
	ck_assert_int_eq(vq_cursor_split_at(&hdr, 17, &rest), -EINVAL);
	ck_assert_int_eq(vq_cursor_split_at(&hdr, 4, &rest), 0); /* mid-buffer */
	ck_assert_uint_eq(vq_cursor_left(&hdr), 4);
	ck_assert_uint_eq(vq_cursor_left(&rest), 12);
	ck_assert_int_eq(vq_cursor_read(&hdr, buf, 5), -EINVAL);
	ck_assert_int_eq(vq_cursor_read(&hdr, buf, 4), 0);
	ck_assert_str_eq(buf, "0123");
	void *p;
	ck_assert_uint_eq(vq_cursor_next(&hdr, 1, &p), 0); /* stops at the split */
	ck_assert_int_eq(vq_cursor_read(&rest, buf, 12), 0);
	ck_assert_int_eq(memcmp(buf, "456789abcdef", 12), 0);
	/* Splitting at 0 and at the end are both fine. */
	vq_cursor_init(&hdr, chain, false);
	ck_assert_int_eq(vq_cursor_split_at(&hdr, 0, &rest), 0);
	ck_assert_uint_eq(vq_cursor_left(&hdr), 0);
	ck_assert_int_eq(vq_cursor_split_at(&rest, 16, &hdr), 0);
	ck_assert_uint_eq(vq_cursor_left(&hdr), 0);
}
END_TEST

START_TEST(cursor_iov)
{
	uint64_t w = cursor_chain();
	struct vq_cursor cur;
	struct iovec iov[VQ_CURSOR_IOV_MAX];
	uint64_t bytes;
	vq_cursor_init(&cur, chain, false);
	ck_assert_int_eq(vq_cursor_consume(&cur, 1), 0);
	/* Limited by the byte count: 2 of buffer 0, 5, then 1 of buffer 2. */
	ck_assert_uint_eq(vq_cursor_iov(&cur, iov, VQ_CURSOR_IOV_MAX, 8, &bytes), 3);
	ck_assert_uint_eq(bytes, 8);
	ck_assert_uint_eq(iov[0].iov_len, 2);
	ck_assert_int_eq(memcmp(iov[0].iov_base, "12", 2), 0);
	ck_assert_uint_eq(iov[1].iov_len, 5);
	ck_assert_uint_eq(iov[2].iov_len, 1);
	ck_assert_int_eq(*(char *)iov[2].iov_base, '8');
	/* Limited by the iovec count; the cursor itself did not move. */
	ck_assert_uint_eq(vq_cursor_iov(&cur, iov, 2, UINT64_MAX, &bytes), 2);
	ck_assert_uint_eq(bytes, 7);
	ck_assert_uint_eq(vq_cursor_left(&cur), 15);
	ck_assert_uint_eq(vq_cursor_iov(&cur, iov, VQ_CURSOR_IOV_MAX, UINT64_MAX, &bytes), 4);
	ck_assert_uint_eq(bytes, 15);
	ck_assert_uint_eq(vq_cursor_iov(&cur, iov, 0, UINT64_MAX, &bytes), 0);
	ck_assert_uint_eq(bytes, 0);
	/* The writable part: iovecs point into the guest's buffers. */
	vq_cursor_init(&cur, chain, true);
	ck_assert_uint_eq(vq_cursor_iov(&cur, iov, VQ_CURSOR_IOV_MAX, 6, &bytes), 2);
	memcpy(iov[1].iov_base, "QR", 2);
	char buf[2];
	ck_assert_int_eq(gmem_read(m->mem, w + 4, buf, 2), 0);
	ck_assert_int_eq(memcmp(buf, "QR", 2), 0);
}
END_TEST

START_TEST(cursor_empty_part)
{
	pop_single(16, false);
	struct vq_cursor cur;
	struct iovec iov[4];
	uint64_t bytes = 1;
	void *p;
	vq_cursor_init(&cur, chain, true); /* no writable buffers at all */
	ck_assert_uint_eq(vq_cursor_left(&cur), 0);
	ck_assert_uint_eq(vq_cursor_next(&cur, 8, &p), 0);
	ck_assert_uint_eq(vq_cursor_iov(&cur, iov, 4, 8, &bytes), 0);
	ck_assert_uint_eq(bytes, 0);
	ck_assert_int_eq(vq_cursor_consume(&cur, 1), -EINVAL);
	ck_assert_int_eq(vq_cursor_write(&cur, "", 0), 0);
}
END_TEST

static Suite *vq_suite(void)
{
	Suite *s = suite_create("vq");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, pop_push_roundtrip);
	tcase_add_test(tc, setup_rejects_bad_layout);
	tcase_add_test(tc, loop_is_broken);
	tcase_add_test(tc, self_loop_is_broken);
	tcase_add_test(tc, full_length_chain_ok);
	tcase_add_test(tc, next_out_of_range);
	tcase_add_test(tc, head_out_of_range);
	tcase_add_test(tc, avail_idx_runaway);
	tcase_add_test(tc, buffer_outside_ram);
	tcase_add_test(tc, buffer_addr_overflow);
	tcase_add_test(tc, total_length_cap);
	tcase_add_test(tc, huge_lengths_do_not_wrap);
	tcase_add_test(tc, readable_after_writable);
	tcase_add_test(tc, zero_length_skipped);
	tcase_add_test(tc, indirect_ok);
	tcase_add_test(tc, indirect_hostile);
	tcase_add_test(tc, indirect_table_outside_ram);
	tcase_add_test(tc, notify_suppression);
	tcase_add_test(tc, event_idx);
	tcase_add_test(tc, save_restore);
	suite_add_tcase(s, tc);
	TCase *cursor = tcase_create("cursor");
	tcase_add_checked_fixture(cursor, setup, teardown);
	tcase_add_test(cursor, cursor_read_across_buffers);
	tcase_add_test(cursor, cursor_write_across_buffers);
	tcase_add_test(cursor, cursor_bounds);
	tcase_add_test(cursor, cursor_split_at);
	tcase_add_test(cursor, cursor_iov);
	tcase_add_test(cursor, cursor_empty_part);
	suite_add_tcase(s, cursor);
	return s;
}

int main(void)
{
	return smol_check_run(vq_suite());
}
