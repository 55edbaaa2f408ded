/* Fuzz target for the split-virtqueue chain walker (vmm/devices/virtio/
 * queue.c). Input: byte 0 picks the queue size (2^(b % 8)), byte 1 the
 * options (EVENT_IDX, a small length cap), the rest is copied into guest
 * memory where the descriptor table and available ring live, so every
 * index, address, length, flag and ring entry is attacker-chosen. The
 * invariants checked: every buffer handed out lies inside guest RAM and a
 * chain never exceeds its caps. The last CURSOR_OPS bytes of the input also
 * script a chain cursor (consume, split_at, read, next, iov at chosen
 * sizes) over each popped chain, checked against a byte-by-byte model of
 * the chain: a cursor never leaves its part, never hands out memory outside
 * a buffer, and reads what the model says is there. */
#include "core/gmem.h"
#include "devices/virtio/queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MEM	   (256u << 10)
#define RINGS	   0x1000u
#define CURSOR_OPS 16u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The model: byte pos of the part, found by a plain scan of the buffers. */
static const uint8_t *model_at(const struct vq_chain *c, bool writable, uint64_t pos)
{
	for (unsigned i = writable ? c->nreadable : 0; i < (writable ? c->nbufs : c->nreadable);
	     i++) {
		if (pos < c->bufs[i].len)
			return (const uint8_t *)c->bufs[i].host + pos;
		pos -= c->bufs[i].len;
	}
	abort(); /* the cursor claimed bytes the part does not have */
}

/* True when [p, p + n) lies inside one buffer of the part. */
static bool in_one_buf(const struct vq_chain *c, bool writable, const void *p, size_t n)
{
	for (unsigned i = writable ? c->nreadable : 0; i < (writable ? c->nbufs : c->nreadable);
	     i++) {
		const uint8_t *h = c->bufs[i].host;
		if ((const uint8_t *)p >= h && (const uint8_t *)p + n <= h + c->bufs[i].len)
			return true;
	}
	return false;
}

/* Runs the scripted ops on a cursor over one part; pos/end track where the
 * model says the cursor stands. */
static void drive_cursor(const struct vq_chain *c, bool writable, const uint8_t *ops, size_t nops)
{
	struct vq_cursor cur, rest;
	uint64_t part = writable ? c->writable_bytes : c->readable_bytes, pos = 0, end = part;
	uint8_t tmp[256];
	struct iovec iov[VQ_CURSOR_IOV_MAX];
	vq_cursor_init(&cur, c, writable);
	for (size_t k = 0; k < nops; k++) {
		/* Sizes from tiny to past the end of the part. */
		uint64_t n = (ops[k] >> 3) * (ops[k] & 4 ? 97u : 3u);
		if (vq_cursor_left(&cur) != end - pos)
			abort();
		switch (ops[k] & 3) {
		case 0:
			if (vq_cursor_consume(&cur, n) != (n <= end - pos ? 0 : -EINVAL))
				abort();
			if (n <= end - pos)
				pos += n;
			break;
		case 1:
			if (vq_cursor_split_at(&cur, n, &rest) != (n <= end - pos ? 0 : -EINVAL))
				abort();
			if (n <= end - pos) {
				if (vq_cursor_left(&rest) != end - pos - n)
					abort();
				if (ops[k] & 4) { /* carry on with the rest */
					cur = rest;
					pos += n;
				} else {
					end = pos + n;
				}
			}
			break;
		case 2: {
			size_t len = n < sizeof(tmp) ? (size_t)n : sizeof(tmp);
			bool fits = len <= end - pos;
			int rc = writable ? vq_cursor_write(&cur, tmp, len)
					  : vq_cursor_read(&cur, tmp, len);
			if (rc != (fits ? 0 : -EINVAL))
				abort();
			if (!fits)
				break;
			/* First, middle and last byte: the model scan is slow. */
			for (size_t i = 0; !writable && len && i < 3; i++) {
				size_t at = i == 0 ? 0 : i == 1 ? len / 2 : len - 1;
				if (tmp[at] != *model_at(c, writable, pos + at))
					abort();
			}
			pos += len;
			break;
		}
		default: {
			uint64_t bytes;
			unsigned cnt = vq_cursor_iov(&cur, iov, VQ_CURSOR_IOV_MAX, n, &bytes);
			uint64_t sum = 0;
			for (unsigned i = 0; i < cnt; i++) {
				if (!iov[i].iov_len ||
				    !in_one_buf(c, writable, iov[i].iov_base, iov[i].iov_len) ||
				    iov[i].iov_base != model_at(c, writable, pos + sum))
					abort();
				sum += iov[i].iov_len;
			}
			if (sum != bytes || bytes > n || bytes > end - pos ||
			    (cnt < VQ_CURSOR_IOV_MAX && bytes != (n < end - pos ? n : end - pos)))
				abort();
			void *p;
			size_t got = vq_cursor_next(&cur, n, &p);
			if (got &&
			    (!in_one_buf(c, writable, p, got) || p != model_at(c, writable, pos)))
				abort();
			if (got > n || got > end - pos || (!got && n && end > pos))
				abort();
			pos += got;
			break;
		}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	const uint8_t *ops = data + size - (size - 2 < CURSOR_OPS ? size - 2 : CURSOR_OPS);
	size_t nops = (size_t)(data + size - ops);
	uint16_t qsz = (uint16_t)(1u << (data[0] % 8));
	bool event_idx = data[1] & 1;
	struct gmem *gm;
	if (gmem_create(MEM, &gm))
		abort();
	size_t n = size - 2 < MEM - RINGS ? size - 2 : MEM - RINGS;
	gmem_write(gm, RINGS, data + 2, n);
	uint64_t desc = RINGS, avail = RINGS + 16u * qsz,
		 used = (avail + 6u + 2u * qsz + 3) & ~3ull;
	struct vq vq;
	struct vq_chain *c = malloc(sizeof(*c));
	if (!c || vq_setup(&vq, gm, qsz, desc, avail, used, event_idx))
		abort();
	if (data[1] & 2)
		vq.max_chain_bytes = 4096;
	for (int i = 0; i < 2 * qsz + 2; i++) {
		int r = vq_pop(&vq, c);
		if (r <= 0)
			break;
		if (c->nbufs > VQ_CHAIN_MAX_BUFS ||
		    c->readable_bytes + c->writable_bytes > vq.max_chain_bytes)
			abort();
		for (unsigned b = 0; b < c->nbufs; b++)
			if (!gmem_range_ok(gm, c->bufs[b].gpa, c->bufs[b].len))
				abort();
		uint8_t tmp[64];
		size_t rd =
		    c->readable_bytes < sizeof(tmp) ? (size_t)c->readable_bytes : sizeof(tmp);
		if (vq_chain_read(c, 0, tmp, rd))
			abort();
		size_t wr =
		    c->writable_bytes < sizeof(tmp) ? (size_t)c->writable_bytes : sizeof(tmp);
		if (vq_chain_write(c, 0, tmp, wr))
			abort();
		drive_cursor(c, false, ops, nops);
		drive_cursor(c, true, ops, nops);
		vq_push(&vq, c->head, (uint32_t)wr);
		vq_should_notify(&vq);
	}
	free(c);
	gmem_destroy(gm);
	return 0;
}
