/* vq_mock: builds split virtqueues in fake guest memory, playing the
 * driver's side, so tests can feed devices and the queue library any chain
 * they like, hostile ones included.
 *
 * Layout inside a small gmem (gmem_create): the descriptor table, the
 * available ring and the used ring at fixed, properly aligned addresses at
 * the start, then a bump allocator for data buffers. Nothing here checks
 * what the test asks for: that is the point.
 *
 * Typical use:
 *   struct vq_mock *m; vq_mock_create(256, 1 << 20, &m);
 *   struct vq vq; vq_mock_setup(m, &vq, false);
 *   uint64_t req = vq_mock_alloc(m, 16), resp = vq_mock_alloc(m, 1);
 *   struct vq_mock_seg segs[] = {{req, 16, false}, {resp, 1, true}};
 *   uint16_t head; vq_mock_add_chain(m, segs, 2, &head);   // publishes
 *   ... device pops, pushes ...
 *   uint32_t id, len; vq_mock_get_used(m, 0, &id, &len);
 */
#ifndef SMOL_VQ_MOCK_H
#define SMOL_VQ_MOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "core/gmem.h"
#include "devices/virtio/queue.h"

struct vq_mock {
	struct gmem *mem; /* owned */
	uint16_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint64_t next_free; /* bump allocator for buffers / indirect tables */
	uint16_t avail_idx; /* driver's avail->idx shadow */
	uint16_t next_desc; /* next descriptor slot vq_mock_add_chain uses */
};

struct vq_mock_seg {
	uint64_t gpa;
	uint32_t len;
	bool writable;
};

/* Creates a queue of `size` entries (any value, even invalid ones, for
 * tests of vq_setup) in mem_bytes of fresh guest memory. */
int vq_mock_create(uint16_t size, uint64_t mem_bytes, struct vq_mock **out);
void vq_mock_destroy(struct vq_mock *m);

/* vq_setup() on the mock's rings; returns what vq_setup returns. */
int vq_mock_setup(struct vq_mock *m, struct vq *vq, bool event_idx);

/* Allocates len bytes (16-byte aligned) for buffers; 0 when out of space. */
uint64_t vq_mock_alloc(struct vq_mock *m, uint64_t len);

/* Writes descriptor idx (idx may be >= size only if the test wants an
 * out-of-table write to fail: then -EFAULT). flags are VIRTQ_DESC_F_*. */
int vq_mock_set_desc(struct vq_mock *m, uint16_t idx, uint64_t gpa, uint32_t len, uint16_t flags,
		     uint16_t next);

/* Writes descriptor i of an indirect table at table_gpa. */
int vq_mock_set_indirect(struct vq_mock *m, uint64_t table_gpa, uint16_t i, uint64_t gpa,
			 uint32_t len, uint16_t flags, uint16_t next);

/* Puts head in the next avail slot and bumps avail->idx (release order). */
int vq_mock_publish(struct vq_mock *m, uint16_t head);

/* Sets avail->idx directly (e.g. far ahead, to test the size check). */
int vq_mock_set_avail_idx(struct vq_mock *m, uint16_t idx);

/* Writes consecutive descriptors from next_desc for segs and publishes the
 * chain; *head gets its head index. */
int vq_mock_add_chain(struct vq_mock *m, const struct vq_mock_seg *segs, unsigned n,
		      uint16_t *head);

/* Driver-side view of the used ring. */
uint16_t vq_mock_used_idx(const struct vq_mock *m);
int vq_mock_get_used(const struct vq_mock *m, uint16_t slot, uint32_t *id, uint32_t *len);

/* avail->flags, used_event (EVENT_IDX) and reading used->flags/avail_event. */
int vq_mock_set_avail_flags(struct vq_mock *m, uint16_t flags);
int vq_mock_set_used_event(struct vq_mock *m, uint16_t v);
uint16_t vq_mock_used_flags(const struct vq_mock *m);
uint16_t vq_mock_avail_event(const struct vq_mock *m);

#endif
