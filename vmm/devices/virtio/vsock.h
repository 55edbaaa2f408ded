/* vsock: virtio-vsock (virtio 1.2 §5.10) served inside the VMM, with the
 * host side on Unix sockets ("hybrid vsock", as Firecracker and Cloud
 * Hypervisor do):
 *
 *  - host -> guest: a host program connects to PATH and writes
 *    "CONNECT <port>\n"; once the guest's listener accepts, it reads
 *    "OK <hostport>\n" and then has a byte stream. If nothing listens on the
 *    port, the guest answers RST and the host connection is closed (a clean
 *    EOF, never a hang).
 *  - guest -> host: a guest connection to host CID 2, port P is connected to
 *    the Unix socket "PATH_P"; when that does not exist the guest gets RST.
 *
 * Stream sockets only. Credit-based flow control both ways (§5.10.6.3):
 * guest->host data waits in a per-connection buffer no larger than the
 * buf_alloc we advertise (a guest that overruns it is reset), host->guest
 * data is read from the host socket only when the guest has credit and an rx
 * buffer, so memory stays bounded whatever the peers do. Connections take
 * turns on the rx queue (round robin), so one slow host reader never stalls
 * the others. Snapshot restore drops every connection and sends
 * VIRTIO_VSOCK_EVENT_TRANSPORT_RESET. */
#ifndef SMOL_VSOCK_H
#define SMOL_VSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct vq;
struct evloop;
struct vsock;
struct strbuf;
struct vmm_err;

/* Parses "CID,PATH" and attaches a virtio-vsock device to vm; binds the Unix
 * listener at PATH (an existing socket file there is replaced). On error
 * returns -errno with one line naming the value in vm_attach_err(vm). */
int vsock_attach(struct vm *vm, const char *arg);

/* ---- the transport-free core (vsock_core.c), also used by tests ---- */

/* How the core reaches its queues: the transport (or a test's mock). */
struct vsock_io {
	struct vq *(*queue)(void *opaque, unsigned q); /* 0 rx, 1 tx, 2 event */
	void (*signal)(void *opaque, unsigned q);      /* after vq_push()es on q */
	void (*lock)(void *opaque);		       /* serialises with queue_notify */
	void (*unlock)(void *opaque);
	void (*broken)(void *opaque, const char *why); /* queue garbage: needs reset */
	void *opaque;
};

#define VSOCK_QUEUE_RX	  0
#define VSOCK_QUEUE_TX	  1
#define VSOCK_QUEUE_EVENT 2

/* Per-connection buffer for guest->host data (the buf_alloc we advertise). */
#define VSOCK_BUF_ALLOC 262144u
#define VSOCK_MAX_CONNS 1024

/* Creates the device core for guest_cid (3..UINT32_MAX-1), listening on the
 * Unix socket path (copied), registering fds on el (borrowed). io is copied.
 * The device is inactive until vsock_activate. */
int vsock_create(uint64_t guest_cid, const char *path, struct evloop *el, const struct vsock_io *io,
		 struct vsock **out);
/* Closes every connection and the listener, removes PATH. NULL is a no-op. */
void vsock_destroy(struct vsock *vs);

uint64_t vsock_guest_cid(const struct vsock *vs);

/* Driver set DRIVER_OK / reset the device. Called with the io lock held. */
void vsock_activate(struct vsock *vs);
void vsock_reset(struct vsock *vs);

/* The driver notified queue q (io lock held). */
void vsock_notify(struct vsock *vs, unsigned q);

/* Drops every connection (host sockets closed) and queues a
 * VIRTIO_VSOCK_EVENT_TRANSPORT_RESET for the driver, sent as soon as it has
 * an event buffer. Used after snapshot restore. io lock held. */
void vsock_transport_reset(struct vsock *vs);

/* Snapshot blob (16 bytes, little endian: u32 version, u32 reserved = 0,
 * u64 guest CID). Connections are never saved. save appends it to out (0 or
 * -ENOMEM); check refuses (-EINVAL, the reason in err, which may be NULL) a
 * malformed blob or another version. */
int vsock_state_save(uint64_t guest_cid, struct strbuf *out);
int vsock_state_check(const void *blob, size_t len, struct vmm_err *err);

/* Live connections, for tests. */
unsigned vsock_conn_count(const struct vsock *vs);

#endif
