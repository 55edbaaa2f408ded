/* proto_stream: incremental frame reading and buffered frame writing for
 * stream sockets (non-blocking or blocking), on top of proto.h.
 *
 * Memory is bounded: a reader never holds more than PROTO_MAX_FRAME plus one
 * read's worth of bytes; a writer holds what the caller queued, and callers
 * use proto_writer_pending() to stop producing (back-pressure). */
#ifndef SMOL_PROTO_STREAM_H
#define SMOL_PROTO_STREAM_H

#include "proto.h"

#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

/* A zero-initialised struct is a valid, empty reader. */
struct proto_reader {
	uint8_t *buf;
	size_t start; /* first unconsumed byte */
	size_t len;   /* end of valid bytes */
	size_t cap;
};

/* Frees the buffer; the reader is empty and reusable afterwards. */
void proto_reader_release(struct proto_reader *r);

/* Reads once from fd into the buffer (as much as fits, at most 64 KiB per
 * call). 0 when bytes arrived, -EAGAIN when none are available, -EPIPE on
 * end of stream, -ENOBUFS when a complete frame is already buffered (call
 * proto_reader_next() first), -ENOMEM, or -errno from read(). */
int proto_reader_fill(struct proto_reader *r, int fd);

/* Appends bytes (for tests and for transports that are not fds). -ENOBUFS
 * when this would hold more than PROTO_MAX_FRAME + 64 KiB unconsumed. */
int proto_reader_feed(struct proto_reader *r, const void *data, size_t len);

/* Decodes the next buffered frame: the same results as proto_decode(); on
 * 0, -ENOMSG and -EBADMSG the frame is consumed. Views in *out stay valid
 * until the next call on this reader. After -EMSGSIZE the reader is
 * poisoned and keeps returning it. */
int proto_reader_next(struct proto_reader *r, struct proto_msg *out);

/* Unconsumed bytes buffered. */
size_t proto_reader_buffered(const struct proto_reader *r);

/* A zero-initialised struct is a valid, empty writer. */
struct proto_writer {
	struct strbuf sb;
	size_t off; /* bytes of sb already written */
};

/* Encodes msg at the end of the queue. -ENOMEM / -EMSGSIZE / -EINVAL leave
 * the queue unchanged. The caller bounds the queue with
 * proto_writer_pending(). */
int proto_writer_put(struct proto_writer *w, const struct proto_msg *msg);

/* Queues an already-encoded frame (or any bytes). */
int proto_writer_put_raw(struct proto_writer *w, const void *data, size_t len);

/* Bytes queued and not yet written. */
size_t proto_writer_pending(const struct proto_writer *w);

/* Writes queued bytes to fd (send() with MSG_NOSIGNAL on sockets). 0 when
 * the queue is empty, -EAGAIN when bytes remain (wait for EPOLLOUT), -EPIPE
 * or another -errno when the peer is gone. */
int proto_writer_flush(struct proto_writer *w, int fd);

/* Frees the queue. */
void proto_writer_release(struct proto_writer *w);

#endif
