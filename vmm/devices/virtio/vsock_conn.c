/* vsock connections: the table, the host Unix sockets and their buffers. */
#include "devices/virtio/vsock_internal.h"

#include "core/evloop.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static unsigned bucket(uint32_t host_port, uint32_t guest_port)
{
	return (unsigned)(((uint64_t)host_port * 2654435761u) ^ guest_port) % VSOCK_BUCKETS;
}

struct vsock_conn *vsock_conn_find(struct vsock *vs, uint32_t host_port, uint32_t guest_port)
{
	struct vsock_conn *c = vs->buckets[bucket(host_port, guest_port)];
	while (c && (c->host_port != host_port || c->guest_port != guest_port))
		c = c->hash_next;
	return c;
}

static void unhash(struct vsock_conn *c)
{
	struct vsock_conn **pp = &c->vs->buckets[bucket(c->host_port, c->guest_port)];
	while (*pp && *pp != c)
		pp = &(*pp)->hash_next;
	if (*pp)
		*pp = c->hash_next;
}

static void hash(struct vsock_conn *c)
{
	unsigned b = bucket(c->host_port, c->guest_port);
	c->hash_next = c->vs->buckets[b];
	c->vs->buckets[b] = c;
}

static void conn_cb(void *opaque, uint32_t events);

void vsock_conn_update_events(struct vsock_conn *c)
{
	uint32_t want = 0;
	if (c->fd < 0)
		return;
	if (c->state == VC_HANDSHAKE ||
	    (c->state == VC_ESTABLISHED && !c->readable && !c->host_eof && !c->guest_no_recv))
		want |= EPOLLIN;
	if (c->buf_len)
		want |= EPOLLOUT;
	if (want == c->epoll_mask)
		return;
	/* A closed peer keeps reporting EPOLLHUP whatever the mask: a conn
	 * that wants nothing is taken off the loop entirely. */
	if (!want)
		evloop_del(c->vs->el, c->fd);
	else if (!c->epoll_mask)
		evloop_add(c->vs->el, c->fd, want, conn_cb, &c->vs->slots[c->slot]);
	else
		evloop_mod(c->vs->el, c->fd, want);
	c->epoll_mask = want;
}

int vsock_conn_new(struct vsock *vs, int fd, enum vsock_state st, uint32_t host_port,
		   uint32_t guest_port, struct vsock_conn **out)
{
	struct vsock_conn *c = NULL;
	unsigned slot = vs->slot_hint;
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++, slot = (slot + 1) % VSOCK_MAX_CONNS)
		if (!vs->slots[slot].conn)
			break;
	if (vs->nconns < VSOCK_MAX_CONNS)
		c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return vs->nconns < VSOCK_MAX_CONNS ? -ENOMEM : -EMFILE;
	}
	c->slot = slot;
	vs->slots[slot].vs = vs;
	vs->slots[slot].conn = c;
	vs->slot_hint = (slot + 1) % VSOCK_MAX_CONNS;
	c->vs = vs;
	c->fd = fd;
	c->state = st;
	c->host_port = host_port;
	c->guest_port = guest_port;
	hash(c);
	vs->nconns++;
	vsock_conn_update_events(c);
	*out = c;
	return 0;
}

static void close_host(struct vsock_conn *c)
{
	if (c->fd < 0)
		return;
	if (c->epoll_mask)
		evloop_del(c->vs->el, c->fd);
	c->epoll_mask = 0;
	close(c->fd);
	c->fd = -1;
}

/* Takes c off the rx round-robin list. */
static void rx_unlink(struct vsock_conn *c)
{
	struct vsock *vs = c->vs;
	if (!c->in_rx)
		return;
	struct vsock_conn **pp = &vs->rx_head, *prev = NULL;
	while (*pp && *pp != c) {
		prev = *pp;
		pp = &(*pp)->rx_next;
	}
	if (*pp)
		*pp = c->rx_next;
	if (vs->rx_tail == c)
		vs->rx_tail = prev;
	c->in_rx = false;
}

void vsock_conn_free(struct vsock_conn *c)
{
	struct vsock *vs = c->vs;
	rx_unlink(c);
	if (!c->lingering)
		unhash(c);
	close_host(c);
	vs->slots[c->slot].conn = NULL;
	vs->nconns--;
	free(c->buf);
	free(c);
}

void vsock_conn_free_all(struct vsock *vs)
{
	/* by slot: lingering connections are in no bucket */
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		if (vs->slots[i].conn)
			vsock_conn_free(vs->slots[i].conn);
	vs->rx_head = vs->rx_tail = NULL;
}

uint32_t vsock_conn_peer_credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;
	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

static bool has_work(const struct vsock_conn *c)
{
	if (c->pending)
		return true;
	return c->state == VC_ESTABLISHED && c->readable && vsock_conn_peer_credit(c) > 0;
}

void vsock_conn_want_rx(struct vsock_conn *c)
{
	struct vsock *vs = c->vs;
	if (c->in_rx || c->lingering || !has_work(c))
		return;
	c->in_rx = true;
	c->rx_next = NULL;
	if (vs->rx_tail)
		vs->rx_tail->rx_next = c;
	else
		vs->rx_head = c;
	vs->rx_tail = c;
}

void vsock_conn_reset(struct vsock_conn *c)
{
	if (c->lingering) { /* the guest already had its RST */
		vsock_conn_free(c);
		return;
	}
	close_host(c);
	c->pending = PEND_RST;
	c->dead = true;
	c->readable = false;
	c->buf_len = 0;
	if (!c->vs->active) {
		vsock_conn_free(c);
		return;
	}
	vsock_conn_want_rx(c);
}

void vsock_conn_linger(struct vsock_conn *c)
{
	if (!c->buf_len || c->fd < 0 || !c->vs->active) {
		vsock_conn_reset(c);
		return;
	}
	vsock_orphan_rst(c->vs, c->host_port, c->guest_port);
	rx_unlink(c);
	unhash(c);
	c->lingering = true;
	c->pending = 0;
	c->readable = false;
	c->guest_no_recv = c->guest_no_send = true; /* no more reading the host */
	vsock_conn_update_events(c);
}

/* Counts bytes delivered to the host and tells the guest about freed
 * credit once a quarter of the buffer has drained (§5.10.6.3: the device
 * should send VIRTIO_VSOCK_OP_CREDIT_UPDATE when it frees buffer space). */
static void delivered(struct vsock_conn *c, uint32_t n)
{
	c->fwd_cnt += n;
	if (c->fwd_cnt - c->fwd_cnt_sent >= VSOCK_BUF_ALLOC / 4 ||
	    (c->buf_len == 0 && c->fwd_cnt != c->fwd_cnt_sent)) {
		c->pending |= PEND_CREDIT;
		vsock_conn_want_rx(c);
	}
}

/* Writes buffered guest bytes to the host socket. Returns false when the
 * host had gone and c was reset (c may be freed then). */
static bool flush_buf(struct vsock_conn *c)
{
	while (c->buf_len) {
		uint32_t first = VSOCK_BUF_ALLOC - c->buf_head;
		if (first > c->buf_len)
			first = c->buf_len;
		ssize_t n = send(c->fd, c->buf + c->buf_head, first, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			vsock_conn_reset(c); /* host went away: tell the guest */
			return false;
		}
		c->buf_head = (c->buf_head + (uint32_t)n) % VSOCK_BUF_ALLOC;
		c->buf_len -= (uint32_t)n;
		delivered(c, (uint32_t)n);
	}
	if (!c->buf_len && c->guest_no_send)
		shutdown(c->fd, SHUT_WR);
	if (!c->buf_len && c->lingering) { /* all handed over */
		vsock_conn_free(c);
		return false;
	}
	vsock_conn_update_events(c);
	return true;
}

int vsock_conn_from_guest(struct vsock_conn *c, const struct vq_chain *chain, uint32_t len)
{
	uint32_t done = 0;
	struct vq_cursor cur;
	if (len > VSOCK_BUF_ALLOC - c->buf_len)
		return -ENOBUFS; /* the guest ignored our buf_alloc */
	if (c->fd < 0)
		return 0;
	/* The caller checked that the readable part holds the header and len. */
	vq_cursor_init(&cur, chain, false);
	if (vq_cursor_consume(&cur, VSOCK_HDR_SIZE) || len > vq_cursor_left(&cur))
		return -EINVAL;
	if (c->buf_len == 0) {
		/* Straight from guest memory to the socket when it has room. */
		struct iovec iov[VQ_CURSOR_IOV_MAX];
		uint64_t bytes;
		unsigned n = vq_cursor_iov(&cur, iov, VQ_CURSOR_IOV_MAX, len, &bytes);
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = n};
		ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return -EPIPE;
		done = w > 0 ? (uint32_t)w : 0;
		(void)vq_cursor_consume(&cur, done); /* sendmsg took at most `bytes` */
	}
	if (done < len) {
		if (!c->buf) {
			c->buf = malloc(VSOCK_BUF_ALLOC);
			if (!c->buf)
				return -ENOMEM;
		}
		uint32_t tail = (c->buf_head + c->buf_len) % VSOCK_BUF_ALLOC;
		uint32_t rest = len - done;
		uint32_t first = VSOCK_BUF_ALLOC - tail < rest ? VSOCK_BUF_ALLOC - tail : rest;
		(void)vq_cursor_read(&cur, c->buf + tail, first);
		(void)vq_cursor_read(&cur, c->buf, rest - first);
		c->buf_len += rest;
	}
	if (done)
		delivered(c, done);
	vsock_conn_update_events(c);
	return 0;
}

/* "CONNECT <port>\n" (decimal, no sign, no spaces around). */
static int parse_connect(const char *line, uint32_t *port)
{
	const char *p = line + 8;
	uint64_t v = 0;
	if (strncmp(line, "CONNECT ", 8) != 0 || *p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			return -EINVAL;
	}
	if (strcmp(p, "\n") != 0)
		return -EINVAL;
	*port = (uint32_t)v;
	return 0;
}

static void handshake(struct vsock_conn *c)
{
	char peek[VSOCK_LINE_MAX];
	size_t room = sizeof(c->line) - 1 - c->line_len;
	ssize_t n = recv(c->fd, peek, room, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		vsock_conn_free(c);
		return;
	}
	/* Consume only the line: bytes after it belong to the stream. */
	char *nl = memchr(peek, '\n', (size_t)n);
	size_t take = nl ? (size_t)(nl - peek) + 1 : (size_t)n;
	if (recv(c->fd, c->line + c->line_len, take, MSG_DONTWAIT) != (ssize_t)take) {
		vsock_conn_free(c);
		return;
	}
	c->line_len += take;
	c->line[c->line_len] = '\0';
	if (!nl) {
		if (c->line_len >= sizeof(c->line) - 1)
			vsock_conn_free(c); /* no newline in a line-sized read: not our protocol */
		return;
	}
	uint32_t port;
	if (parse_connect(c->line, &port) || !c->vs->active) {
		vsock_conn_free(c);
		return;
	}
	/* Pick a host port no other connection to this guest port uses. */
	struct vsock *vs = c->vs;
	unhash(c);
	do {
		c->host_port = vs->next_host_port++;
		if (vs->next_host_port < (1u << 30))
			vs->next_host_port = 1u << 30;
	} while (vsock_conn_find(vs, c->host_port, port));
	c->guest_port = port;
	hash(c);
	c->state = VC_CONNECTING;
	c->pending |= PEND_REQUEST;
	vsock_conn_update_events(c);
	vsock_conn_want_rx(c);
}

static void conn_cb(void *opaque, uint32_t events)
{
	struct vsock_slot *slot = opaque;
	struct vsock *vs = slot->vs;
	vs->io.lock(vs->io.opaque);
	struct vsock_conn *c = slot->conn;
	if (!c || c->fd < 0) {
		/* Freed (or reset) by another thread after this event was fetched;
		 * a new connection in the slot just sees a spurious wakeup. */
		vs->io.unlock(vs->io.opaque);
		return;
	}
	if (c->state == VC_HANDSHAKE) {
		handshake(c);
	} else if (c->state == VC_CONNECTING) {
		if (events & (EPOLLHUP | EPOLLERR))
			vsock_conn_reset(c); /* the host gave up before the guest answered */
	} else {
		bool alive = true;
		if ((events & EPOLLOUT) && c->buf_len)
			alive = flush_buf(c);
		if (alive && c->lingering && (events & (EPOLLHUP | EPOLLERR))) {
			vsock_conn_free(c); /* the host stopped reading: the rest is moot */
			alive = false;
		}
		if (alive && !c->dead && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
		    c->epoll_mask & EPOLLIN) {
			c->readable = true;
			vsock_conn_update_events(c);
			vsock_conn_want_rx(c);
		}
	}
	vsock_rx_kick(vs);
	vs->io.unlock(vs->io.opaque);
}

void vsock_listen_cb(void *opaque, uint32_t events)
{
	struct vsock *vs = opaque;
	vs->io.lock(vs->io.opaque);
	for (;;) {
		int fd = accept4(vs->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			break;
		struct vsock_conn *c;
		/* Before the driver is up, before it has handled a transport
		 * reset, or at the connection cap, the host gets an immediate
		 * EOF and may retry. */
		if (!vs->active || !vsock_reset_handled(vs) || vs->nconns >= VSOCK_MAX_CONNS) {
			close(fd);
			continue;
		}
		vsock_conn_new(vs, fd, VC_HANDSHAKE, 0, 0, &c);
	}
	vs->io.unlock(vs->io.opaque);
}
