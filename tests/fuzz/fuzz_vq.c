/* Fuzz target for the split-virtqueue chain walker (vmm/devices/virtio/
 * queue.c). Input: byte 0 picks the queue size (2^(b % 8)), byte 1 the
 * options (EVENT_IDX, a small length cap), the rest is copied into guest
 * memory where the descriptor table and available ring live, so every
 * index, address, length, flag and ring entry is attacker-chosen. The
 * invariants checked: every buffer handed out lies inside guest RAM and a
 * chain never exceeds its caps. */
#include "core/gmem.h"
#include "devices/virtio/queue.h"

#include <stdlib.h>
#include <string.h>

#define MEM   (256u << 10)
#define RINGS 0x1000u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
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
		vq_push(&vq, c->head, (uint32_t)wr);
		vq_should_notify(&vq);
	}
	free(c);
	gmem_destroy(gm);
	return 0;
}
