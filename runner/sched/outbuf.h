/* outbuf: bounded capture of one output stream of one test attempt.
 *
 * Keeps the first `head_cap` bytes and a ring of the last `tail_cap` bytes,
 * so a test that prints gigabytes costs a fixed amount of memory. head and
 * tail never overlap; total counts every byte. */
#ifndef SMOL_OUTBUF_H
#define SMOL_OUTBUF_H

#include "record.h"

#include <stddef.h>
#include <stdint.h>

#define OUTBUF_HEAD_DEFAULT ((size_t)64 * 1024)
#define OUTBUF_TAIL_DEFAULT ((size_t)64 * 1024)

struct outbuf {
	char *head;
	size_t head_len, head_cap;
	char *ring; /* tail ring buffer */
	size_t ring_start, ring_len, tail_cap;
	char *tail_flat; /* ring linearised by outbuf_view() */
	uint64_t total;
};

/* Allocates both buffers. -ENOMEM leaves ob empty (outbuf_release safe). */
int outbuf_init(struct outbuf *ob, size_t head_cap, size_t tail_cap);

/* Appends bytes; never fails (memory is preallocated). */
void outbuf_append(struct outbuf *ob, const void *data, size_t len);

/* Fills a result_output whose pointers borrow ob's memory (valid until the
 * next append or release). */
int outbuf_view(struct outbuf *ob, struct result_output *out);

/* Forgets what was appended (the next command's output starts afresh);
 * the buffers stay allocated. */
void outbuf_reset(struct outbuf *ob);

void outbuf_release(struct outbuf *ob);

#endif
