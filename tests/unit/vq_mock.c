/* vq_mock: the driver's side of a split virtqueue in fake guest memory
 * (vq_mock.h). Rings sit at fixed aligned addresses; buffers follow. */
#include "vq_mock.h"

#include <errno.h>
#include <stdlib.h>

#define MOCK_DESC_GPA 0x1000ull

int vq_mock_create(uint16_t size, uint64_t mem_bytes, struct vq_mock **out)
{
	struct vq_mock *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	int err = gmem_create(mem_bytes, &m->mem);
	if (err) {
		free(m);
		return err;
	}
	m->size = size;
	m->desc_gpa = MOCK_DESC_GPA;
	m->avail_gpa = (m->desc_gpa + 16ull * size + 4095) & ~4095ull;
	m->used_gpa = (m->avail_gpa + 6ull + 2ull * size + 4095) & ~4095ull;
	m->next_free = (m->used_gpa + 6ull + 8ull * size + 4095) & ~4095ull;
	*out = m;
	return 0;
}

void vq_mock_destroy(struct vq_mock *m)
{
	if (!m)
		return;
	gmem_destroy(m->mem);
	free(m);
}

int vq_mock_setup(struct vq_mock *m, struct vq *vq, bool event_idx)
{
	return vq_setup(vq, m->mem, m->size, m->desc_gpa, m->avail_gpa, m->used_gpa, event_idx);
}

uint64_t vq_mock_alloc(struct vq_mock *m, uint64_t len)
{
	uint64_t at = (m->next_free + 15) & ~15ull;
	if (!gmem_range_ok(m->mem, at, len))
		return 0;
	m->next_free = at + len;
	return at;
}

static int put_desc(struct vq_mock *m, uint64_t at, uint64_t gpa, uint32_t len, uint16_t flags,
		    uint16_t next)
{
	int err = gmem_write_u64(m->mem, at, gpa);
	if (!err)
		err = gmem_write_u32(m->mem, at + 8, len);
	if (!err)
		err = gmem_write_u16(m->mem, at + 12, flags);
	if (!err)
		err = gmem_write_u16(m->mem, at + 14, next);
	return err;
}

int vq_mock_set_desc(struct vq_mock *m, uint16_t idx, uint64_t gpa, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	if (idx >= m->size)
		return -EFAULT;
	return put_desc(m, m->desc_gpa + 16ull * idx, gpa, len, flags, next);
}

int vq_mock_set_indirect(struct vq_mock *m, uint64_t table_gpa, uint16_t i, uint64_t gpa,
			 uint32_t len, uint16_t flags, uint16_t next)
{
	return put_desc(m, table_gpa + 16ull * i, gpa, len, flags, next);
}

int vq_mock_publish(struct vq_mock *m, uint16_t head)
{
	uint16_t slot = m->size ? (uint16_t)(m->avail_idx % m->size) : 0;
	int err = gmem_write_u16(m->mem, m->avail_gpa + 4 + 2ull * slot, head);
	if (err)
		return err;
	m->avail_idx++;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	return gmem_write_u16(m->mem, m->avail_gpa + 2, m->avail_idx);
}

int vq_mock_set_avail_idx(struct vq_mock *m, uint16_t idx)
{
	m->avail_idx = idx;
	return gmem_write_u16(m->mem, m->avail_gpa + 2, idx);
}

int vq_mock_add_chain(struct vq_mock *m, const struct vq_mock_seg *segs, unsigned n, uint16_t *head)
{
	if (n == 0 || n > m->size)
		return -EINVAL;
	uint16_t first = m->next_desc;
	for (unsigned i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)((first + i) % m->size);
		uint16_t next = (uint16_t)((idx + 1) % m->size);
		uint16_t flags = (uint16_t)((segs[i].writable ? 2 : 0) | (i + 1 < n ? 1 : 0));
		int err = vq_mock_set_desc(m, idx, segs[i].gpa, segs[i].len, flags, next);
		if (err)
			return err;
	}
	m->next_desc = (uint16_t)((first + n) % m->size);
	*head = first;
	return vq_mock_publish(m, first);
}

uint16_t vq_mock_used_idx(const struct vq_mock *m)
{
	uint16_t v = 0;
	gmem_read_u16(m->mem, m->used_gpa + 2, &v);
	return v;
}

int vq_mock_get_used(const struct vq_mock *m, uint16_t slot, uint32_t *id, uint32_t *len)
{
	uint64_t at = m->used_gpa + 4 + 8ull * (slot % m->size);
	int err = gmem_read_u32(m->mem, at, id);
	if (!err)
		err = gmem_read_u32(m->mem, at + 4, len);
	return err;
}

int vq_mock_set_avail_flags(struct vq_mock *m, uint16_t flags)
{
	return gmem_write_u16(m->mem, m->avail_gpa, flags);
}

int vq_mock_set_used_event(struct vq_mock *m, uint16_t v)
{
	return gmem_write_u16(m->mem, m->avail_gpa + 4 + 2ull * m->size, v);
}

uint16_t vq_mock_used_flags(const struct vq_mock *m)
{
	uint16_t v = 0;
	gmem_read_u16(m->mem, m->used_gpa, &v);
	return v;
}

uint16_t vq_mock_avail_event(const struct vq_mock *m)
{
	uint16_t v = 0;
	gmem_read_u16(m->mem, m->used_gpa + 4 + 8ull * m->size, &v);
	return v;
}
