/* proto_stream: incremental frame reader and buffered writer. */
#include "proto_stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_CHUNK ((size_t)64 << 10)
#define READER_MAX ((size_t)PROTO_MAX_FRAME + READ_CHUNK)

void proto_reader_release(struct proto_reader *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

size_t proto_reader_buffered(const struct proto_reader *r)
{
	return r->len - r->start;
}

/* Makes room for `want` more bytes at the end: first by moving unconsumed
 * bytes to the front, then by growing up to READER_MAX. */
static int reserve(struct proto_reader *r, size_t want)
{
	if (r->start && (r->cap - r->len < want)) {
		memmove(r->buf, r->buf + r->start, r->len - r->start);
		r->len -= r->start;
		r->start = 0;
	}
	if (r->cap - r->len >= want)
		return 0;
	if (r->len + want > READER_MAX)
		return -ENOBUFS;
	size_t ncap = r->cap ? r->cap : READ_CHUNK;
	while (ncap < r->len + want)
		ncap *= 2;
	if (ncap > READER_MAX)
		ncap = READER_MAX;
	uint8_t *nb = realloc(r->buf, ncap);
	if (!nb)
		return -ENOMEM;
	r->buf = nb;
	r->cap = ncap;
	return 0;
}

int proto_reader_feed(struct proto_reader *r, const void *data, size_t len)
{
	int rc = reserve(r, len);
	if (rc)
		return rc;
	if (len)
		memcpy(r->buf + r->len, data, len);
	r->len += len;
	return 0;
}

/* How many bytes the frame at the front still needs; 0 when complete (or
 * when the header is bad, which proto_reader_next() reports). */
static size_t frame_missing(const struct proto_reader *r)
{
	size_t have = r->len - r->start;
	if (have < PROTO_HDR_SIZE)
		return PROTO_HDR_SIZE - have;
	struct proto_hdr h;
	proto_hdr_decode(r->buf + r->start, &h);
	if (h.length > PROTO_MAX_PAYLOAD)
		return 0;
	size_t total = PROTO_HDR_SIZE + (size_t)h.length;
	return have < total ? total - have : 0;
}

int proto_reader_fill(struct proto_reader *r, int fd)
{
	size_t missing = frame_missing(r);
	if (missing == 0)
		return -ENOBUFS;
	/* Read what the current frame needs, plus more when it is small so that
	 * many small frames come in with one syscall. */
	size_t want = missing > READ_CHUNK ? missing : READ_CHUNK;
	if (want > READER_MAX - (r->len - r->start))
		want = READER_MAX - (r->len - r->start);
	int rc = reserve(r, want);
	if (rc)
		return rc;
	ssize_t n;
	do
		n = read(fd, r->buf + r->len, r->cap - r->len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (n == 0)
		return -EPIPE;
	r->len += (size_t)n;
	return 0;
}

int proto_reader_next(struct proto_reader *r, struct proto_msg *out)
{
	size_t used = 0;
	int rc = proto_decode(r->buf ? r->buf + r->start : (const uint8_t *)"", r->len - r->start,
			      out, &used);
	if (rc == 0 || rc == -ENOMSG || rc == -EBADMSG) {
		r->start += used;
		if (r->start == r->len)
			r->start = r->len = 0; /* views stay valid: bytes are not moved */
	}
	return rc;
}

/* Drops written bytes from the front once they are the larger part, so a
 * writer that never fully drains does not grow without bound. */
static void compact(struct proto_writer *w)
{
	if (w->off < READ_CHUNK || w->off < w->sb.len / 2)
		return;
	memmove(w->sb.buf, w->sb.buf + w->off, w->sb.len - w->off);
	w->sb.len -= w->off;
	w->sb.buf[w->sb.len] = '\0';
	w->off = 0;
}

int proto_writer_put(struct proto_writer *w, const struct proto_msg *msg)
{
	compact(w);
	return proto_encode_sb(msg, &w->sb);
}

int proto_writer_put_raw(struct proto_writer *w, const void *data, size_t len)
{
	compact(w);
	return sb_append(&w->sb, data, len);
}

size_t proto_writer_pending(const struct proto_writer *w)
{
	return w->sb.len - w->off;
}

int proto_writer_flush(struct proto_writer *w, int fd)
{
	while (w->off < w->sb.len) {
		ssize_t n = send(fd, w->sb.buf + w->off, w->sb.len - w->off, MSG_NOSIGNAL);
		if (n < 0 && errno == ENOTSOCK)
			n = write(fd, w->sb.buf + w->off, w->sb.len - w->off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		}
		w->off += (size_t)n;
	}
	/* Drained: reuse the allocation, but give back a large one so a burst
	 * does not pin memory. */
	if (w->sb.cap > (size_t)4 * PROTO_MAX_FRAME)
		sb_release(&w->sb);
	else
		sb_reset(&w->sb);
	w->off = 0;
	return 0;
}

void proto_writer_release(struct proto_writer *w)
{
	sb_release(&w->sb);
	w->off = 0;
}
