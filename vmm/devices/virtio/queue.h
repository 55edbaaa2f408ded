/* vq: the device side of a virtio split virtqueue (virtio 1.2 §2.7).
 *
 * The driver (guest) owns the descriptor table and the available ring; the
 * device (us) reads them and writes the used ring. Everything read from the
 * rings is hostile: vq_pop() walks a chain with a hop limit, checks
 * `next < size` for every link, validates indirect tables (§2.7.5.3), caps
 * the total length, and checks every buffer with gmem before handing out a
 * host pointer. A queue that sees garbage marks itself broken; the transport
 * then sets DEVICE_NEEDS_RESET (§2.1.2) and the device stops using it.
 *
 * Threading: one vq is used by one thread at a time (the event-loop thread
 * that owns the device). The ring memory is shared with the guest's vCPUs,
 * hence the barriers documented at each function. */
#ifndef SMOL_VQ_H
#define SMOL_VQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct gmem;

/* Largest queue size we offer (virtio allows 32768; devices pick less). */
#define VQ_MAX_SIZE 1024
/* Most buffers one chain may have, direct and indirect together. */
#define VQ_CHAIN_MAX_BUFS 512
/* Default cap on the total bytes of one chain (readable + writable). */
#define VQ_DEFAULT_MAX_CHAIN_BYTES (64u << 20)

/* One validated buffer of a chain. host points at len bytes of guest
 * memory that were in range when the chain was popped. */
struct vq_buf {
	uint64_t gpa;
	uint32_t len;
	bool writable; /* device-writable (VIRTQ_DESC_F_WRITE) */
	void *host;
};

/* A popped chain: readable buffers first, then writable ones (§2.7.4.2:
 * a driver must not put readable after writable; we reject that). */
struct vq_chain {
	uint16_t head; /* head descriptor index, handed back to vq_push */
	unsigned nbufs;
	unsigned nreadable; /* bufs[0..nreadable) readable, rest writable */
	uint64_t readable_bytes;
	uint64_t writable_bytes;
	struct vq_buf bufs[VQ_CHAIN_MAX_BUFS];
};

struct vq {
	const struct gmem *mem; /* borrowed */
	uint16_t size;		/* power of two, 1..VQ_MAX_SIZE */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool event_idx; /* VIRTIO_F_EVENT_IDX negotiated */
	bool ready;
	bool broken;	 /* saw garbage; every further call fails with -EIO */
	bool notify_off; /* vq_set_notify(false) in effect */
	uint32_t max_chain_bytes;

	/* Host pointers to the validated ring areas (set by vq_setup). */
	void *desc, *avail, *used;

	uint16_t last_avail;	 /* next avail ring slot to consume */
	uint16_t used_idx;	 /* our copy of used->idx */
	uint16_t signalled_used; /* used_idx at the last interrupt (EVENT_IDX) */
	bool signalled_used_valid;
};

/* Validates and attaches ring addresses (virtio 1.2 §2.7: alignment 16 for
 * the descriptor table, 2 for avail, 4 for used; sizes from §2.7.10/§2.7.6/
 * §2.7.8; size a power of two <= VQ_MAX_SIZE; every ring fully inside guest
 * RAM). On success the queue is ready with last_avail = used_idx = 0.
 * -EINVAL on any violation (queue left not ready). mem is borrowed. */
int vq_setup(struct vq *vq, const struct gmem *mem, uint16_t size, uint64_t desc_gpa,
	     uint64_t avail_gpa, uint64_t used_gpa, bool event_idx);

/* Returns the queue to the not-ready, zeroed state (device reset). */
void vq_reset(struct vq *vq);

/* The driver's avail->idx as it is now (acquire), or 0 when the queue is
 * not ready. Lets a device tell whether the driver has made buffers
 * available since an earlier reading, without waiting for a notification
 * that EVENT_IDX may suppress. */
uint16_t vq_avail_idx(const struct vq *vq);

/* Pops the next available chain into *chain (caller-provided; it is large,
 * do not put it on a small stack). Returns 1 with a chain, 0 when the ring is
 * empty, -EIO when the queue is (or just became) broken: avail->idx moved
 * more than size ahead, a descriptor index >= size, a loop (more hops than
 * the limit), a nested indirect table or one whose length is 0 or not a
 * multiple of 16, INDIRECT together with NEXT, an out-of-range buffer,
 * readable after writable, too many buffers, or a total length above
 * max_chain_bytes. Zero-length buffers are allowed and skipped. An acquire barrier orders the read
 * of avail->idx before the reads of the ring entry and descriptors. */
int vq_pop(struct vq *vq, struct vq_chain *chain);

/* Walks the chain starting at descriptor head without consuming anything
 * from the available ring (the same checks as vq_pop). For tests, fuzzing
 * and devices that peek. Returns 0 or -EIO (the queue is NOT marked broken). */
int vq_walk_chain(const struct vq *vq, uint16_t head, struct vq_chain *chain);

/* Puts (head, written) on the used ring and publishes it: the element is
 * written, then a release barrier, then used->idx. written is the number of
 * bytes the device wrote into the chain's writable buffers. -EIO if broken,
 * -EINVAL if head >= size. */
int vq_push(struct vq *vq, uint16_t head, uint32_t written);

/* After one or more vq_push calls: true when the driver wants an interrupt
 * (§2.7.7.2: VIRTQ_AVAIL_F_NO_INTERRUPT without EVENT_IDX; used_event with
 * it). Call once per batch; it records what was signalled. A full barrier
 * orders our used->idx store before the read of the driver's flags. */
bool vq_should_notify(struct vq *vq);

/* Tells the driver whether we want queue notifications (§2.7.7.1: the
 * VIRTQ_USED_F_NO_NOTIFY flag, or avail_event with EVENT_IDX). After
 * enabling, re-check vq_has_avail() to close the race with the driver. */
void vq_set_notify(struct vq *vq, bool enable);

/* True when the driver has published chains we have not popped yet. */
bool vq_has_avail(const struct vq *vq);

/* A cursor over one part of a popped chain: its readable part (the device
 * reads it) or its writable part (the device fills it), as rust-vmm
 * virtio-queue's Reader/Writer. All offset arithmetic into a chain's buffers
 * lives here; devices never index chain->bufs themselves. A cursor is plain
 * data that borrows the chain (which must outlive it, unchanged): copy it to
 * look ahead without moving. It never goes past the end of its part, or past
 * the point it was split at. */
struct vq_cursor {
	const struct vq_chain *chain; /* borrowed */
	unsigned buf;		      /* current buffer index */
	uint32_t off;		      /* bytes of bufs[buf] already passed */
	bool writable;		      /* which part */
	uint64_t left;		      /* bytes from here to the end of the cursor */
};

/* Most iovecs a device hands one readv()/sendmsg() from a cursor; a part
 * made of more buffers is served short, and the caller moves on by what the
 * call transferred (kept at the 64 the vsock device has always used). */
#define VQ_CURSOR_IOV_MAX 64

/* Starts *cur at byte 0 of chain's writable part (writable) or readable
 * part (!writable). chain is borrowed. */
void vq_cursor_init(struct vq_cursor *cur, const struct vq_chain *chain, bool writable);

/* Bytes between the cursor and its end. */
uint64_t vq_cursor_left(const struct vq_cursor *cur);

/* Moves the cursor n bytes on without touching guest memory. -EINVAL (the
 * cursor unchanged) when fewer than n bytes are left. */
int vq_cursor_consume(struct vq_cursor *cur, uint64_t n);

/* Splits at `at` bytes from the cursor: *cur keeps [0, at) and *rest gets
 * [at, left), e.g. a request header and its payload. -EINVAL (nothing
 * changed) when at > left. */
int vq_cursor_split_at(struct vq_cursor *cur, uint64_t at, struct vq_cursor *rest);

/* The next contiguous piece of guest memory, at most max bytes: *p points
 * at it and the cursor moves past it. Returns its length; 0 at the end (or
 * max == 0). For devices that hand each piece to something else (a disk). */
size_t vq_cursor_next(struct vq_cursor *cur, uint64_t max, void **p);

/* Describes the next bytes, at most max_bytes in at most max_iov pieces, as
 * iovecs for readv()/sendmsg(), without moving the cursor (consume what the
 * call transferred). Returns the number of iovecs; *bytes gets their total. */
unsigned vq_cursor_iov(const struct vq_cursor *cur, struct iovec *iov, unsigned max_iov,
		       uint64_t max_bytes, uint64_t *bytes);

/* Copies len bytes out of a readable-part cursor (vq_cursor_read) or into a
 * writable-part one (vq_cursor_write) and moves past them. -EINVAL, with
 * nothing copied and the cursor unchanged, when fewer than len bytes are
 * left or the cursor is over the other part. */
int vq_cursor_read(struct vq_cursor *cur, void *dst, size_t len);
int vq_cursor_write(struct vq_cursor *cur, const void *src, size_t len);

/* One-shot copies through a cursor, starting `off` bytes into the readable
 * (vq_chain_read) or writable (vq_chain_write) part. -EINVAL when off + len
 * exceeds that part. Short ranges are fine. */
int vq_chain_read(const struct vq_chain *chain, uint64_t off, void *dst, size_t len);
int vq_chain_write(const struct vq_chain *chain, uint64_t off, const void *src, size_t len);

/* Snapshot state of one queue: plain data, fixed width, little endian. */
struct vq_state {
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t size;
	uint16_t last_avail;
	uint16_t used_idx;
	uint16_t signalled_used;
	uint8_t ready, event_idx, broken, signalled_used_valid;
	uint32_t max_chain_bytes;
};

/* Fills *st from vq (host byte order is LE on every supported host). */
void vq_save(const struct vq *vq, struct vq_state *st);

/* Rebuilds vq from *st against mem, validating exactly like vq_setup first;
 * on failure (-EINVAL) vq is left reset. */
int vq_restore(struct vq *vq, const struct gmem *mem, const struct vq_state *st);

#endif
