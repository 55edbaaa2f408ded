/* vsock device core: the tx, rx and event queues (virtio 1.2 §5.10.6). */
#include "devices/virtio/vsock_internal.h"

#include "core/evloop.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

int vsock_create(uint64_t guest_cid, const char *path, struct evloop *el, const struct vsock_io *io,
		 struct vsock **out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct vsock *vs;
	struct stat st;
	int rc;

	*out = NULL;
	/* §5.10.4: CIDs 0-2 are reserved, and the top of the 32-bit range too. */
	if (guest_cid < 3 || guest_cid >= UINT32_MAX)
		return -EINVAL;
	/* Room for "_4294967295" after the path for guest->host sockets. */
	if (strlen(path) + 12 > sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	vs = calloc(1, sizeof(*vs));
	if (!vs)
		return -ENOMEM;
	vs->cid = guest_cid;
	vs->el = el;
	vs->io = *io;
	vs->next_host_port = 1u << 30;
	vs->path = strdup(path);
	vs->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (!vs->path || vs->listen_fd < 0) {
		rc = vs->path ? -errno : -ENOMEM;
		goto fail;
	}
	/* Replace a stale socket from an earlier run, never another file. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	memcpy(sa.sun_path, path, strlen(path));
	if (bind(vs->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(vs->listen_fd, 128)) {
		rc = -errno;
		goto fail;
	}
	rc = evloop_add(el, vs->listen_fd, EPOLLIN, vsock_listen_cb, vs);
	if (rc) {
		unlink(path);
		goto fail;
	}
	*out = vs;
	return 0;
fail:
	if (vs->listen_fd >= 0)
		close(vs->listen_fd);
	free(vs->path);
	free(vs);
	return rc;
}

void vsock_destroy(struct vsock *vs)
{
	if (!vs)
		return;
	vsock_conn_free_all(vs);
	evloop_del(vs->el, vs->listen_fd);
	close(vs->listen_fd);
	unlink(vs->path);
	free(vs->path);
	free(vs);
}

uint64_t vsock_guest_cid(const struct vsock *vs)
{
	return vs->cid;
}

unsigned vsock_conn_count(const struct vsock *vs)
{
	return vs->nconns;
}

void vsock_orphan_rst(struct vsock *vs, uint32_t host_port, uint32_t guest_port)
{
	/* Bounded: a guest spraying packets at closed ports cannot make us
	 * queue without limit; an RST dropped here only costs the guest a
	 * timeout on a connection it should not have used. */
	if (vs->norphans < VSOCK_MAX_ORPHAN_RST)
		vs->orphans[vs->norphans++] = (struct vsock_orphan){host_port, guest_port};
}

static void hdr_init(const struct vsock *vs, struct virtio_vsock_hdr *h, uint32_t host_port,
		     uint32_t guest_port, uint16_t op)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = VSOCK_HOST_CID;
	h->dst_cid = vs->cid;
	h->src_port = host_port;
	h->dst_port = guest_port;
	h->type = VIRTIO_VSOCK_TYPE_STREAM;
	h->op = op;
	h->buf_alloc = VSOCK_BUF_ALLOC;
}

/* Reads host data straight into the chain's writable buffers after the
 * header; at most max bytes. */
static ssize_t read_into_chain(int fd, const struct vq_chain *ch, uint32_t max)
{
	struct iovec iov[VQ_CURSOR_IOV_MAX];
	struct vq_cursor cur;
	uint64_t bytes;
	vq_cursor_init(&cur, ch, true);
	(void)vq_cursor_consume(&cur, VSOCK_HDR_SIZE); /* the caller checked the room */
	int n = (int)vq_cursor_iov(&cur, iov, VQ_CURSOR_IOV_MAX, max, &bytes);
	ssize_t r;
	do {
		r = readv(fd, iov, n);
	} while (r < 0 && errno == EINTR);
	return r;
}

/* Builds c's next packet into the popped chain; returns the bytes written.
 * May free c (after its RST). */
static uint32_t fill_packet(struct vsock *vs, struct vsock_conn *c, const struct vq_chain *ch,
			    bool *freed)
{
	struct virtio_vsock_hdr h;
	uint32_t len = 0;

	*freed = false;
	hdr_init(vs, &h, c->host_port, c->guest_port, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
	if (c->pending & PEND_RST) {
		h.op = VIRTIO_VSOCK_OP_RST;
		c->pending = 0;
		*freed = true;
	} else if (c->pending & PEND_REQUEST) {
		h.op = VIRTIO_VSOCK_OP_REQUEST;
		c->pending &= ~(uint32_t)PEND_REQUEST;
	} else if (c->pending & PEND_RESPONSE) {
		h.op = VIRTIO_VSOCK_OP_RESPONSE;
		c->pending &= ~(uint32_t)PEND_RESPONSE;
	} else if (c->state == VC_ESTABLISHED && c->readable && vsock_conn_peer_credit(c) > 0 &&
		   ch->writable_bytes > VSOCK_HDR_SIZE) {
		/* Only with room for payload: a header-only buffer (§5.10.6.1
		 * allows it) would make a readv() of no iovecs, whose 0 is not
		 * EOF; it carries a credit update below and c stays readable. */
		uint32_t max = vsock_conn_peer_credit(c);
		uint64_t room = ch->writable_bytes - VSOCK_HDR_SIZE;
		if (max > room)
			max = (uint32_t)room;
		if (max > VSOCK_MAX_PKT)
			max = VSOCK_MAX_PKT;
		ssize_t n = read_into_chain(c->fd, ch, max);
		c->readable = false;
		if (n > 0) {
			h.op = VIRTIO_VSOCK_OP_RW;
			len = (uint32_t)n;
			c->tx_cnt += len;
		} else if (n == 0) {
			/* Host EOF: we will send no more (§5.10.6.5). Once the guest
			 * has said the same, the connection is over. */
			c->host_eof = true;
			h.op = VIRTIO_VSOCK_OP_SHUTDOWN;
			h.flags = VIRTIO_VSOCK_SHUTDOWN_SEND;
			if (c->guest_no_send && !c->buf_len) {
				h.op = VIRTIO_VSOCK_OP_RST;
				h.flags = 0;
				*freed = true;
			}
		} else if (errno != EAGAIN) {
			h.op = VIRTIO_VSOCK_OP_RST;
			*freed = true;
		}
		if (!*freed)
			vsock_conn_update_events(c);
	} else {
		c->pending &= ~(uint32_t)PEND_CREDIT; /* the header carries the credit */
	}
	h.len = len;
	h.fwd_cnt = c->fwd_cnt;
	c->fwd_cnt_sent = c->fwd_cnt;
	vq_chain_write(ch, 0, &h, sizeof(h));
	if (*freed)
		vsock_conn_free(c);
	return (uint32_t)sizeof(h) + len;
}

void vsock_rx_kick(struct vsock *vs)
{
	struct vq *vq;
	bool pushed = false;
	int rc = 0;

	if (!vs->active || !(vq = vs->io.queue(vs->io.opaque, VSOCK_QUEUE_RX)) || !vq->ready)
		return;
	while ((vs->norphans || vs->rx_head) && (rc = vq_pop(vq, &vs->chain)) == 1) {
		const struct vq_chain *ch = &vs->chain;
		uint32_t written = 0;
		/* §5.10.6.1: rx buffers must hold at least a header. A driver
		 * that posts less gets the buffer back empty. */
		if (ch->writable_bytes < VSOCK_HDR_SIZE) {
			vq_push(vq, ch->head, 0);
			pushed = true;
			continue;
		}
		if (vs->norphans) {
			struct vsock_orphan o = vs->orphans[--vs->norphans];
			struct virtio_vsock_hdr h;
			hdr_init(vs, &h, o.host_port, o.guest_port, VIRTIO_VSOCK_OP_RST);
			vq_chain_write(ch, 0, &h, sizeof(h));
			written = sizeof(h);
		} else {
			struct vsock_conn *c = vs->rx_head;
			bool freed;
			vs->rx_head = c->rx_next;
			if (!vs->rx_head)
				vs->rx_tail = NULL;
			c->in_rx = false;
			written = fill_packet(vs, c, ch, &freed);
			if (!freed)
				vsock_conn_want_rx(c); /* to the back of the line: fairness */
		}
		vq_push(vq, ch->head, written);
		pushed = true;
	}
	if (rc < 0)
		vs->io.broken(vs->io.opaque, "virtio-vsock: malformed rx queue");
	if (pushed)
		vs->io.signal(vs->io.opaque, VSOCK_QUEUE_RX);
}

/* A guest connection to host port `port`: the Unix socket PATH_port. */
static void guest_connect(struct vsock *vs, const struct virtio_vsock_hdr *h)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct vsock_conn *c;
	int fd;

	if (vs->nconns >= VSOCK_MAX_CONNS)
		goto rst;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", vs->path, h->dst_port);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto rst;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		goto rst; /* nobody listens there: a clean reset for the guest */
	}
	if (vsock_conn_new(vs, fd, VC_ESTABLISHED, h->dst_port, h->src_port, &c))
		goto rst;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->pending |= PEND_RESPONSE;
	vsock_conn_want_rx(c);
	return;
rst:
	vsock_orphan_rst(vs, h->dst_port, h->src_port);
}

static void established(struct vsock_conn *c)
{
	char ok[32];
	int n = snprintf(ok, sizeof(ok), "OK %u\n", c->host_port);
	/* A fresh socket's buffer always has room for one short line. */
	if (send(c->fd, ok, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n) {
		vsock_conn_reset(c);
		return;
	}
	c->state = VC_ESTABLISHED;
	vsock_conn_update_events(c);
}

static void handle_tx(struct vsock *vs, const struct vq_chain *ch)
{
	struct virtio_vsock_hdr h;
	struct vsock_conn *c;

	if (ch->readable_bytes < sizeof(h) || vq_chain_read(ch, 0, &h, sizeof(h)))
		return;
	/* §5.10.6.4: packets not from our guest's CID or not for the host
	 * are dropped. */
	if (h.src_cid != vs->cid || h.dst_cid != VSOCK_HOST_CID)
		return;
	c = vsock_conn_find(vs, h.dst_port, h.src_port);
	if (c && (c->state == VC_HANDSHAKE || c->dead))
		c = NULL; /* not yet (or no longer) visible to the guest */
	if (h.op == VIRTIO_VSOCK_OP_RST) {
		if (c)
			vsock_conn_free(c);
		return;
	}
	/* Unknown type, oversized or lying length, unknown op: reset. */
	if (h.type != VIRTIO_VSOCK_TYPE_STREAM || h.len > VSOCK_MAX_PKT ||
	    h.len > ch->readable_bytes - sizeof(h)) {
		if (c)
			vsock_conn_reset(c);
		else
			vsock_orphan_rst(vs, h.dst_port, h.src_port);
		return;
	}
	if (c) {
		c->peer_buf_alloc = h.buf_alloc;
		c->peer_fwd_cnt = h.fwd_cnt;
	}
	switch (h.op) {
	case VIRTIO_VSOCK_OP_REQUEST:
		if (c)
			vsock_conn_reset(c);
		else
			guest_connect(vs, &h);
		return;
	case VIRTIO_VSOCK_OP_RESPONSE:
		if (c && c->state == VC_CONNECTING)
			established(c);
		else if (c)
			vsock_conn_reset(c);
		else
			vsock_orphan_rst(vs, h.dst_port, h.src_port);
		return;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		if (!c)
			break;
		if (h.flags & VIRTIO_VSOCK_SHUTDOWN_RCV)
			c->guest_no_recv = true;
		if (h.flags & VIRTIO_VSOCK_SHUTDOWN_SEND) {
			c->guest_no_send = true;
			if (!c->buf_len && c->fd >= 0)
				shutdown(c->fd, SHUT_WR);
		}
		/* Both directions closed: finish with RST as Linux does, once
		 * the host has what the guest sent. */
		if ((c->guest_no_recv && c->guest_no_send) || (c->guest_no_send && c->host_eof))
			vsock_conn_linger(c);
		else
			vsock_conn_update_events(c);
		return;
	case VIRTIO_VSOCK_OP_RW:
		if (!c || c->state != VC_ESTABLISHED)
			break;
		if (c->guest_no_send || vsock_conn_from_guest(c, ch, h.len))
			vsock_conn_reset(c);
		else
			vsock_conn_want_rx(c); /* its header may have brought credit */
		return;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		if (!c)
			break;
		vsock_conn_want_rx(c); /* credit may have opened up */
		return;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		if (!c)
			break;
		c->pending |= PEND_CREDIT;
		vsock_conn_want_rx(c);
		return;
	default:
		if (c) {
			vsock_conn_reset(c);
			return;
		}
		break;
	}
	if (c)
		vsock_conn_want_rx(c);
	else
		vsock_orphan_rst(vs, h.dst_port, h.src_port);
}

static void send_reset_event(struct vsock *vs)
{
	struct vq *vq;
	if (!vs->active || !vs->reset_event_pending ||
	    !(vq = vs->io.queue(vs->io.opaque, VSOCK_QUEUE_EVENT)) || !vq->ready)
		return;
	int rc = vq_pop(vq, &vs->chain);
	if (rc < 0)
		vs->io.broken(vs->io.opaque, "virtio-vsock: malformed event queue");
	if (rc != 1)
		return;
	/* Read before the guest can see the event: any later increase is the
	 * driver's refill, its sign that it has handled the reset. */
	vs->reset_avail_mark = vq_avail_idx(vq);
	struct virtio_vsock_event ev = {.id = VIRTIO_VSOCK_EVENT_TRANSPORT_RESET};
	uint32_t n = vq_chain_write(&vs->chain, 0, &ev, sizeof(ev)) ? 0 : sizeof(ev);
	vq_push(vq, vs->chain.head, n);
	vs->io.signal(vs->io.opaque, VSOCK_QUEUE_EVENT);
	if (n)
		vs->reset_event_pending = false;
}

void vsock_notify(struct vsock *vs, unsigned q)
{
	if (!vs->active)
		return;
	if (q == VSOCK_QUEUE_TX) {
		struct vq *vq = vs->io.queue(vs->io.opaque, q);
		bool pushed = false;
		int rc = 0;
		while (vq && (rc = vq_pop(vq, &vs->chain)) == 1) {
			handle_tx(vs, &vs->chain);
			vq_push(vq, vs->chain.head, 0);
			pushed = true;
		}
		if (vq && rc < 0)
			vs->io.broken(vs->io.opaque, "virtio-vsock: malformed tx queue");
		if (pushed)
			vs->io.signal(vs->io.opaque, q);
	} else if (q == VSOCK_QUEUE_EVENT) {
		send_reset_event(vs);
	}
	vsock_rx_kick(vs);
}

bool vsock_reset_handled(struct vsock *vs)
{
	if (!vs->reset_unacked)
		return true;
	if (vs->reset_event_pending)
		return false;
	/* Linux refills the event queue right after handling an event
	 * (virtio_vsock_event_work), so avail->idx moving past the mark taken
	 * when the reset went out says the guest's sockets are reset. Read on
	 * each host connection attempt: with EVENT_IDX the refill need not
	 * notify us. */
	struct vq *vq = vs->io.queue(vs->io.opaque, VSOCK_QUEUE_EVENT);
	if (vq && vq_avail_idx(vq) != vs->reset_avail_mark)
		vs->reset_unacked = false;
	return !vs->reset_unacked;
}

void vsock_activate(struct vsock *vs)
{
	vs->active = true;
	send_reset_event(vs);
	vsock_rx_kick(vs);
}

void vsock_reset(struct vsock *vs)
{
	vs->active = false;
	vsock_conn_free_all(vs);
	vs->norphans = 0;
	vs->reset_event_pending = false;
	vs->reset_unacked = false;
}

void vsock_transport_reset(struct vsock *vs)
{
	vsock_conn_free_all(vs);
	vs->norphans = 0;
	vs->reset_event_pending = true;
	vs->reset_unacked = true;
	send_reset_event(vs);
}
