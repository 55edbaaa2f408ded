/* vsock internals shared by vsock_core.c and vsock_conn.c. */
#ifndef SMOL_VSOCK_INTERNAL_H
#define SMOL_VSOCK_INTERNAL_H

#include "devices/virtio/queue.h"
#include "devices/virtio/vsock.h"

#include <linux/virtio_vsock.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VSOCK_HOST_CID 2
#define VSOCK_HDR_SIZE sizeof(struct virtio_vsock_hdr) /* 44, packed */
/* Largest payload we put in, or accept in, one packet. */
#define VSOCK_MAX_PKT	     (64u * 1024)
#define VSOCK_BUCKETS	     256
#define VSOCK_MAX_ORPHAN_RST 64
#define VSOCK_LINE_MAX	     32 /* "CONNECT 4294967295\n" fits */

enum vsock_state {
	VC_HANDSHAKE,  /* host side: waiting for "CONNECT <port>\n" */
	VC_CONNECTING, /* host side: REQUEST sent, waiting for the guest */
	VC_ESTABLISHED,
};

/* Control packets waiting to go to the guest, in priority order. */
enum {
	PEND_RST = 1u << 0,
	PEND_REQUEST = 1u << 1,
	PEND_RESPONSE = 1u << 2,
	PEND_SHUTDOWN = 1u << 3,
	PEND_CREDIT = 1u << 4,
};

struct vsock_conn {
	struct vsock *vs;
	int fd; /* host Unix socket, non-blocking */
	enum vsock_state state;
	uint32_t host_port, guest_port;
	uint32_t pending;    /* PEND_* */
	bool readable;	     /* host fd has data (or EOF) we have not read */
	bool host_eof;	     /* host closed its sending side */
	bool guest_no_send;  /* guest said SHUTDOWN_SEND: no more data coming */
	bool guest_no_recv;  /* guest said SHUTDOWN_RCV */
	bool dead;	     /* RST queued: freed once it is sent */
	bool lingering;	     /* the guest closed; out of the table, still
			      * handing the host what it buffered */
	uint32_t epoll_mask; /* what we currently watch the fd for */

	/* Credit (§5.10.6.3). Peer = the guest. */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	uint32_t tx_cnt;       /* payload bytes we sent to the guest */
	uint32_t fwd_cnt;      /* guest bytes we delivered to the host socket */
	uint32_t fwd_cnt_sent; /* fwd_cnt as last told to the guest */

	/* guest->host bytes the host socket has not taken yet (ring). */
	uint8_t *buf;
	uint32_t buf_head, buf_len;

	char line[VSOCK_LINE_MAX];
	size_t line_len;

	struct vsock_conn *hash_next;
	struct vsock_conn *rx_next; /* in the rx round-robin list */
	bool in_rx;
	unsigned slot;
};

/* What the event loop holds for a connection's fd. Slots live as long as
 * the device, so a callback that was already dispatched when another thread
 * (a vCPU resetting the device) freed the connection finds conn == NULL
 * instead of freed memory. */
struct vsock_slot {
	struct vsock *vs;
	struct vsock_conn *conn;
};

struct vsock_orphan {
	uint32_t host_port, guest_port;
};

struct vsock {
	uint64_t cid;
	char *path;
	int listen_fd;
	struct evloop *el;
	struct vsock_io io;
	bool active;
	bool reset_event_pending;
	/* A TRANSPORT_RESET (after a restore) that the driver has not yet
	 * handled: host connections are refused (EOF, the client retries)
	 * until it has, or the reset would silently drop their REQUEST and
	 * the host would wait for an answer that never comes. See
	 * vsock_reset_handled(). */
	bool reset_unacked;
	uint16_t reset_avail_mark; /* event queue avail->idx when the reset went out */

	struct vsock_conn *buckets[VSOCK_BUCKETS];
	unsigned nconns;
	uint32_t next_host_port;

	struct vsock_conn *rx_head, *rx_tail; /* round robin of conns with work */
	struct vsock_orphan orphans[VSOCK_MAX_ORPHAN_RST];
	unsigned norphans;

	struct vsock_slot slots[VSOCK_MAX_CONNS];
	unsigned slot_hint;

	struct vq_chain chain; /* large; lives here, not on the stack */
};

/* ---- connections (vsock_conn.c) ---- */
struct vsock_conn *vsock_conn_find(struct vsock *vs, uint32_t host_port, uint32_t guest_port);
/* Creates a conn around fd (taken over; closed on failure) and watches it. */
int vsock_conn_new(struct vsock *vs, int fd, enum vsock_state st, uint32_t host_port,
		   uint32_t guest_port, struct vsock_conn **out);
/* Unhooks and frees c, closing its fd. */
void vsock_conn_free(struct vsock_conn *c);
/* Closes every connection. */
void vsock_conn_free_all(struct vsock *vs);
/* Queues c for the rx round robin if it has something to send. */
void vsock_conn_want_rx(struct vsock_conn *c);
/* Recomputes which epoll events c needs (EPOLLIN when it may read, EPOLLOUT
 * while buffered bytes wait). */
void vsock_conn_update_events(struct vsock_conn *c);
/* Guest payload for c: writes what the host socket takes now, buffers the
 * rest. -ENOBUFS when the guest overran the credit we gave it. */
int vsock_conn_from_guest(struct vsock_conn *c, const struct vq_chain *chain, uint32_t len);
/* Free credit the guest gave us for host->guest data. */
uint32_t vsock_conn_peer_credit(const struct vsock_conn *c);
/* Marks c for an RST to the guest and closes the host side. */
void vsock_conn_reset(struct vsock_conn *c);

/* The guest closed both directions (or it closed its sending side after
 * the host's EOF): like vsock_conn_reset, except that guest bytes the host
 * has not taken yet are not dropped. The guest gets its RST now; c leaves
 * the table and lives on, writing the rest to the host socket, then EOF. */
void vsock_conn_linger(struct vsock_conn *c);
/* Listener callback (evloop). */
void vsock_listen_cb(void *opaque, uint32_t events);

/* Whether the driver has handled the last TRANSPORT_RESET (true when none
 * is outstanding); clears reset_unacked once it has. Under the lock. */
bool vsock_reset_handled(struct vsock *vs);

/* ---- queues (vsock_core.c) ---- */
/* Fills the rx queue from the round robin; signals when it pushed. */
void vsock_rx_kick(struct vsock *vs);
/* Queues an RST for a (host_port, guest_port) that has no connection. */
void vsock_orphan_rst(struct vsock *vs, uint32_t host_port, uint32_t guest_port);

#endif
