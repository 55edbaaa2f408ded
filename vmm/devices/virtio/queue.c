/* vq: split virtqueue, device side (queue.h; virtio 1.2 §2.7). */
#include "devices/virtio/queue.h"

#include "core/gmem.h"

#include <errno.h>
#include <linux/virtio_ring.h>
#include <string.h>

/* Ring layout (§2.7.2): sizes in bytes for a queue of n entries. */
#define DESC_BYTES(n)  (16ull * (n))
#define AVAIL_BYTES(n) (6ull + 2ull * (n))
#define USED_BYTES(n)  (6ull + 8ull * (n))

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* One snapshot of a descriptor: copied once, then only the copy is used, so
 * the guest changing it under us cannot make a check and a use disagree. */
static void desc_load(const void *table, uint32_t i, struct desc *d)
{
	memcpy(d, (const uint8_t *)table + (size_t)16 * i, sizeof(*d));
	__asm__ volatile("" ::: "memory");
}

static uint16_t *avail_field(const struct vq *vq, unsigned i)
{
	return (uint16_t *)vq->avail + i; /* 0 flags, 1 idx, 2.. ring, 2+size used_event */
}

static uint16_t *used_field16(const struct vq *vq, unsigned i)
{
	return (uint16_t *)vq->used + i; /* 0 flags, 1 idx */
}

static uint16_t *used_avail_event(const struct vq *vq)
{
	return (uint16_t *)((uint8_t *)vq->used + 4 + (size_t)8 * vq->size);
}

static int vq_check_layout(const struct gmem *mem, uint16_t size, uint64_t desc_gpa,
			   uint64_t avail_gpa, uint64_t used_gpa)
{
	/* §2.7: Queue Size is a power of 2; alignment 16 / 2 / 4. */
	if (size == 0 || size > VQ_MAX_SIZE || (size & (size - 1)))
		return -EINVAL;
	if (desc_gpa % 16 || avail_gpa % 2 || used_gpa % 4)
		return -EINVAL;
	if (!gmem_range_ok(mem, desc_gpa, DESC_BYTES(size)) ||
	    !gmem_range_ok(mem, avail_gpa, AVAIL_BYTES(size)) ||
	    !gmem_range_ok(mem, used_gpa, USED_BYTES(size)))
		return -EINVAL;
	return 0;
}

int vq_setup(struct vq *vq, const struct gmem *mem, uint16_t size, uint64_t desc_gpa,
	     uint64_t avail_gpa, uint64_t used_gpa, bool event_idx)
{
	vq_reset(vq);
	int err = vq_check_layout(mem, size, desc_gpa, avail_gpa, used_gpa);
	if (err)
		return err;
	gmem_ptr(mem, desc_gpa, DESC_BYTES(size), &vq->desc);
	gmem_ptr(mem, avail_gpa, AVAIL_BYTES(size), &vq->avail);
	gmem_ptr(mem, used_gpa, USED_BYTES(size), &vq->used);
	vq->mem = mem;
	vq->size = size;
	vq->desc_gpa = desc_gpa;
	vq->avail_gpa = avail_gpa;
	vq->used_gpa = used_gpa;
	vq->event_idx = event_idx;
	vq->ready = true;
	return 0;
}

void vq_reset(struct vq *vq)
{
	memset(vq, 0, sizeof(*vq));
	vq->max_chain_bytes = VQ_DEFAULT_MAX_CHAIN_BYTES;
}

static int chain_add(const struct vq *vq, struct vq_chain *c, const struct desc *d)
{
	bool w = d->flags & VRING_DESC_F_WRITE;
	if (!w && c->nbufs > c->nreadable)
		return -EIO; /* §2.7.4.2: readable after writable */
	if (d->len == 0)
		return 0;
	uint64_t total = c->readable_bytes + c->writable_bytes + d->len;
	if (total > vq->max_chain_bytes)
		return -EIO;
	if (c->nbufs == VQ_CHAIN_MAX_BUFS)
		return -EIO;
	void *host;
	if (gmem_ptr(vq->mem, d->addr, d->len, &host))
		return -EIO;
	c->bufs[c->nbufs++] =
	    (struct vq_buf){.gpa = d->addr, .len = d->len, .writable = w, .host = host};
	if (w) {
		c->writable_bytes += d->len;
	} else {
		c->nreadable++;
		c->readable_bytes += d->len;
	}
	return 0;
}

int vq_walk_chain(const struct vq *vq, uint16_t head, struct vq_chain *c)
{
	if (!vq->ready || vq->broken)
		return -EIO;
	c->head = head;
	c->nbufs = c->nreadable = 0;
	c->readable_bytes = c->writable_bytes = 0;

	const void *table = vq->desc;
	uint32_t table_n = vq->size;
	bool indirect = false;
	uint32_t hops = 0;
	uint32_t i = head;
	for (;;) {
		/* §2.7.5.2 / §2.7.5.3.1: every index must be inside its table;
		 * a chain longer than its table is a loop. */
		if (i >= table_n || ++hops > table_n)
			return -EIO;
		struct desc d;
		desc_load(table, i, &d);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			/* §2.7.5.3.1: no nested tables, not with NEXT, and the
			 * length is a whole number of descriptors. */
			if (indirect || (d.flags & VRING_DESC_F_NEXT) || d.len == 0 || d.len % 16)
				return -EIO;
			uint32_t n = d.len / 16;
			if (n > VQ_CHAIN_MAX_BUFS)
				return -EIO;
			void *host;
			if (gmem_ptr(vq->mem, d.addr, d.len, &host))
				return -EIO;
			table = host;
			table_n = n;
			indirect = true;
			hops = 0;
			i = 0;
			continue;
		}
		int err = chain_add(vq, c, &d);
		if (err)
			return err;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		i = d.next;
	}
}

bool vq_has_avail(const struct vq *vq)
{
	if (!vq->ready || vq->broken)
		return false;
	uint16_t idx = __atomic_load_n(avail_field(vq, 1), __ATOMIC_ACQUIRE);
	return idx != vq->last_avail;
}

int vq_pop(struct vq *vq, struct vq_chain *chain)
{
	if (!vq->ready || vq->broken)
		return -EIO;
	/* Acquire: the ring entry and descriptors the driver wrote before
	 * bumping idx are visible after this load (§2.7.13.3). */
	uint16_t avail_idx = __atomic_load_n(avail_field(vq, 1), __ATOMIC_ACQUIRE);
	uint16_t pending = (uint16_t)(avail_idx - vq->last_avail);
	if (pending == 0)
		return 0;
	if (pending > vq->size)
		goto broken; /* the driver cannot have more than size in flight */
	uint16_t head = __atomic_load_n(avail_field(vq, 2u + (vq->last_avail & (vq->size - 1))),
					__ATOMIC_RELAXED);
	if (vq_walk_chain(vq, head, chain))
		goto broken;
	vq->last_avail++;
	if (vq->event_idx && !vq->notify_off) {
		/* §2.7.10: ask to be notified once the driver passes what we
		 * consumed. The next pop reads avail->idx again: a store may pass
		 * a later load (x86 too), and the driver, which writes idx and
		 * then reads avail_event, could then see neither our new event
		 * nor we its new buffer, and never kick: a stalled queue. A full
		 * fence, as vhost's smp_mb() there. */
		__atomic_store_n(used_avail_event(vq), vq->last_avail, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	}
	return 1;
broken:
	vq->broken = true;
	return -EIO;
}

uint16_t vq_avail_idx(const struct vq *vq)
{
	if (!vq->ready)
		return 0;
	return __atomic_load_n(avail_field(vq, 1), __ATOMIC_ACQUIRE);
}

int vq_push(struct vq *vq, uint16_t head, uint32_t written)
{
	if (!vq->ready || vq->broken)
		return -EIO;
	if (head >= vq->size)
		return -EINVAL;
	uint8_t *elem = (uint8_t *)vq->used + 4 + (size_t)8 * (vq->used_idx & (vq->size - 1));
	uint32_t id = head;
	__atomic_store_n((uint32_t *)elem, id, __ATOMIC_RELAXED);
	__atomic_store_n((uint32_t *)(elem + 4), written, __ATOMIC_RELAXED);
	vq->used_idx++;
	/* Release: the element is visible before the new idx (§2.7.8). */
	__atomic_store_n(used_field16(vq, 1), vq->used_idx, __ATOMIC_RELEASE);
	return 0;
}

bool vq_should_notify(struct vq *vq)
{
	if (!vq->ready || vq->broken)
		return false;
	/* Full barrier: our used->idx store must be visible before we read
	 * the driver's suppression state, or both sides may miss (§2.7.7). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vq->event_idx) {
		uint16_t old = vq->signalled_used, now = vq->used_idx;
		bool valid = vq->signalled_used_valid;
		vq->signalled_used = now;
		vq->signalled_used_valid = true;
		if (!valid)
			return true;
		uint16_t used_event =
		    __atomic_load_n(avail_field(vq, 2u + vq->size), __ATOMIC_RELAXED);
		/* vring_need_event(): did used_idx step past used_event? */
		return (uint16_t)(now - used_event - 1) < (uint16_t)(now - old);
	}
	uint16_t flags = __atomic_load_n(avail_field(vq, 0), __ATOMIC_RELAXED);
	return !(flags & VRING_AVAIL_F_NO_INTERRUPT);
}

void vq_set_notify(struct vq *vq, bool enable)
{
	if (!vq->ready || vq->broken)
		return;
	vq->notify_off = !enable;
	if (vq->event_idx) {
		if (enable)
			__atomic_store_n(used_avail_event(vq), vq->last_avail, __ATOMIC_RELAXED);
	} else {
		__atomic_store_n(used_field16(vq, 0),
				 (uint16_t)(enable ? 0 : VRING_USED_F_NO_NOTIFY), __ATOMIC_RELAXED);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void vq_cursor_init(struct vq_cursor *cur, const struct vq_chain *chain, bool writable)
{
	*cur = (struct vq_cursor){
	    .chain = chain,
	    .buf = writable ? chain->nreadable : 0,
	    .writable = writable,
	    .left = writable ? chain->writable_bytes : chain->readable_bytes,
	};
}

uint64_t vq_cursor_left(const struct vq_cursor *cur)
{
	return cur->left;
}

/* The one place that steps through a chain's buffers. vq_walk_chain leaves
 * no zero-length buffers and `left` never exceeds what the part's remaining
 * buffers hold, so a cursor with bytes left always has a buffer under it. */
size_t vq_cursor_next(struct vq_cursor *cur, uint64_t max, void **p)
{
	if (cur->left == 0 || max == 0)
		return 0;
	const struct vq_chain *c = cur->chain;
	while (cur->off == c->bufs[cur->buf].len) {
		if (cur->buf + 1 >= c->nbufs)
			return 0; /* cannot happen (see above); never read past nbufs */
		cur->buf++;
		cur->off = 0;
	}
	const struct vq_buf *b = &c->bufs[cur->buf];
	uint64_t n = b->len - cur->off;
	if (n > cur->left)
		n = cur->left;
	if (n > max)
		n = max;
	*p = (uint8_t *)b->host + cur->off;
	cur->off += (uint32_t)n;
	cur->left -= n;
	return (size_t)n;
}

int vq_cursor_consume(struct vq_cursor *cur, uint64_t n)
{
	if (n > cur->left)
		return -EINVAL;
	void *p;
	size_t got;
	while (n && (got = vq_cursor_next(cur, n, &p)) > 0)
		n -= got;
	return 0;
}

int vq_cursor_split_at(struct vq_cursor *cur, uint64_t at, struct vq_cursor *rest)
{
	if (at > cur->left)
		return -EINVAL;
	*rest = *cur;
	vq_cursor_consume(rest, at);
	cur->left = at;
	return 0;
}

unsigned vq_cursor_iov(const struct vq_cursor *cur, struct iovec *iov, unsigned max_iov,
		       uint64_t max_bytes, uint64_t *bytes)
{
	struct vq_cursor c = *cur;
	unsigned n = 0;
	uint64_t total = 0;
	void *p;
	size_t got;
	while (n < max_iov && (got = vq_cursor_next(&c, max_bytes - total, &p)) > 0) {
		iov[n++] = (struct iovec){.iov_base = p, .iov_len = got};
		total += got;
	}
	*bytes = total;
	return n;
}

static int cursor_copy(struct vq_cursor *cur, uint8_t *host, size_t len, bool to_guest)
{
	if (cur->writable != to_guest || len > cur->left)
		return -EINVAL;
	void *p;
	size_t got;
	while (len && (got = vq_cursor_next(cur, len, &p)) > 0) {
		if (to_guest)
			memcpy(p, host, got);
		else
			memcpy(host, p, got);
		host += got;
		len -= got;
	}
	return 0;
}

int vq_cursor_read(struct vq_cursor *cur, void *dst, size_t len)
{
	return cursor_copy(cur, dst, len, false);
}

int vq_cursor_write(struct vq_cursor *cur, const void *src, size_t len)
{
	return cursor_copy(cur, (uint8_t *)(uintptr_t)src, len, true);
}

int vq_chain_read(const struct vq_chain *chain, uint64_t off, void *dst, size_t len)
{
	struct vq_cursor cur;
	vq_cursor_init(&cur, chain, false);
	if (vq_cursor_consume(&cur, off))
		return -EINVAL;
	return vq_cursor_read(&cur, dst, len);
}

int vq_chain_write(const struct vq_chain *chain, uint64_t off, const void *src, size_t len)
{
	struct vq_cursor cur;
	vq_cursor_init(&cur, chain, true);
	if (vq_cursor_consume(&cur, off))
		return -EINVAL;
	return vq_cursor_write(&cur, src, len);
}

void vq_save(const struct vq *vq, struct vq_state *st)
{
	memset(st, 0, sizeof(*st));
	st->desc_gpa = vq->desc_gpa;
	st->avail_gpa = vq->avail_gpa;
	st->used_gpa = vq->used_gpa;
	st->size = vq->size;
	st->last_avail = vq->last_avail;
	st->used_idx = vq->used_idx;
	st->signalled_used = vq->signalled_used;
	st->ready = vq->ready;
	st->event_idx = vq->event_idx;
	st->broken = vq->broken;
	st->signalled_used_valid = vq->signalled_used_valid;
	st->max_chain_bytes = vq->max_chain_bytes;
}

int vq_restore(struct vq *vq, const struct gmem *mem, const struct vq_state *st)
{
	vq_reset(vq);
	if (st->ready > 1 || st->event_idx > 1 || st->broken > 1 || st->signalled_used_valid > 1 ||
	    st->max_chain_bytes == 0)
		return -EINVAL;
	if (!st->ready)
		return 0;
	int err =
	    vq_setup(vq, mem, st->size, st->desc_gpa, st->avail_gpa, st->used_gpa, st->event_idx);
	if (err)
		return err;
	vq->last_avail = st->last_avail;
	vq->used_idx = st->used_idx;
	vq->signalled_used = st->signalled_used;
	vq->signalled_used_valid = st->signalled_used_valid;
	vq->broken = st->broken;
	vq->max_chain_bytes = st->max_chain_bytes;
	return 0;
}
