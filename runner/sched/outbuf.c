/* outbuf: bounded head + tail capture (outbuf.h). */
#include "sched/outbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int outbuf_init(struct outbuf *ob, size_t head_cap, size_t tail_cap)
{
	memset(ob, 0, sizeof(*ob));
	ob->head = malloc(head_cap ? head_cap : 1);
	ob->ring = malloc(tail_cap ? tail_cap : 1);
	ob->tail_flat = malloc(tail_cap ? tail_cap : 1);
	if (!ob->head || !ob->ring || !ob->tail_flat) {
		outbuf_release(ob);
		return -ENOMEM;
	}
	ob->head_cap = head_cap;
	ob->tail_cap = tail_cap;
	return 0;
}

void outbuf_append(struct outbuf *ob, const void *data, size_t len)
{
	const char *p = data;
	ob->total += len;
	size_t h = ob->head_cap - ob->head_len;
	if (h > len)
		h = len;
	memcpy(ob->head + ob->head_len, p, h);
	ob->head_len += h;
	p += h;
	len -= h;
	if (!len || !ob->tail_cap)
		return;
	if (len >= ob->tail_cap) { /* only the last tail_cap bytes survive */
		memcpy(ob->ring, p + len - ob->tail_cap, ob->tail_cap);
		ob->ring_start = 0;
		ob->ring_len = ob->tail_cap;
		return;
	}
	for (size_t i = 0; i < len; i++) {
		size_t pos = (ob->ring_start + ob->ring_len) % ob->tail_cap;
		ob->ring[pos] = p[i];
		if (ob->ring_len < ob->tail_cap)
			ob->ring_len++;
		else
			ob->ring_start = (ob->ring_start + 1) % ob->tail_cap;
	}
}

int outbuf_view(struct outbuf *ob, struct result_output *out)
{
	memset(out, 0, sizeof(*out));
	out->head = ob->head ? ob->head : "";
	out->head_len = ob->head_len;
	out->total_bytes = ob->total;
	if (ob->ring_len) {
		size_t first = ob->tail_cap - ob->ring_start;
		if (first > ob->ring_len)
			first = ob->ring_len;
		memcpy(ob->tail_flat, ob->ring + ob->ring_start, first);
		memcpy(ob->tail_flat + first, ob->ring, ob->ring_len - first);
		out->tail = ob->tail_flat;
		out->tail_len = ob->ring_len;
	}
	out->truncated = ob->total > (uint64_t)(ob->head_len + ob->ring_len);
	return 0;
}

void outbuf_reset(struct outbuf *ob)
{
	ob->head_len = ob->ring_start = ob->ring_len = 0;
	ob->total = 0;
}

void outbuf_release(struct outbuf *ob)
{
	free(ob->head);
	free(ob->ring);
	free(ob->tail_flat);
	memset(ob, 0, sizeof(*ob));
}
