/* agent_client_int: the client's private state, shared by agent_client.c
 * (lifecycle, connecting, deadlines), agent_client_rx.c (frames from the
 * agent) and agent_client_tx.c (requests, blocking helpers). Not for use
 * outside those files. */
#ifndef SMOL_AGENT_CLIENT_INT_H
#define SMOL_AGENT_CLIENT_INT_H

#include "agent/agent_client.h"
#include "proto_stream.h"

#define DEFAULT_TIMEOUT_NS (10 * NSEC_PER_SEC)
/* The one retry policy for an agent that does not answer yet (a VM still
 * booting, an agent not listening yet): the first retry after 1 ms, each
 * next one twice as late, at most 20 ms apart, until the connect deadline. */
#define RETRY_FIRST_NS (1 * NSEC_PER_MSEC)
#define RETRY_MAX_NS   (20 * NSEC_PER_MSEC)
#define EXEC_GRACE_NS  (5 * NSEC_PER_SEC)

struct client_exec {
	struct client_exec *next;
	uint32_t channel;
	const struct agent_exec_ops *ops;
	void *opaque;
	uint64_t deadline_ns; /* client-side give-up time, 0 none */
	bool stdin_closed;
	bool killed;
};

struct client_req {
	struct client_req *next;
	uint16_t type;
	agent_reply_fn cb;
	void *opaque;
	uint64_t deadline_ns;
};

struct agent_client {
	struct agent_client_config cfg;
	enum agent_client_state state;
	int err;
	int epfd; /* the stable fd handed to the caller */
	int sock; /* -1 while waiting to retry */
	uint32_t sock_events;
	uint64_t connect_deadline_ns;
	uint64_t retry_at_ns; /* when sock == -1 while CONNECTING */
	unsigned retries;     /* connect attempts retried since create/reconnect */
	char line[64];	      /* hybrid vsock "OK <port>" reply */
	size_t line_len;
	struct proto_writer pre; /* CONNECT line, sent before the writer */
	struct proto_writer wr;
	struct proto_reader rd;
	struct client_exec *execs;
	struct client_req *reqs, **reqs_tail;
	uint32_t next_channel;
	uint64_t agent_caps;
	char software[80];
	bool in_callback_close; /* close requested while delivering */
};

/* Watches the socket in the client's epoll set for what it needs now. */
void agent_client_sock_watch(struct agent_client *c);
void agent_client_sock_close(struct agent_client *c);
/* Closes the connection: every EXEC and request is told, then on_closed. */
void agent_client_client_fail(struct agent_client *c, int err);
/* Before READY, a refused, reset or closed connection is retried (the
 * retry policy above) while the connect deadline allows and nothing but
 * the handshake was sent; otherwise the connection fails with err. */
void agent_client_retry_or_fail(struct agent_client *c, int err, uint64_t now);
struct client_exec *agent_client_exec_find(struct agent_client *c, uint32_t channel);
/* Unlinks x, calls its on_exit with ex, frees it. */
void agent_client_exec_finish(struct agent_client *c, struct client_exec *x,
			      const struct agent_exit *ex);
/* Takes the oldest pending request (the caller frees it), or NULL. */
struct client_req *agent_client_req_pop(struct agent_client *c);
/* Queues a frame for the agent. -EPIPE once CLOSED. */
int agent_client_send_msg(struct agent_client *c, const struct proto_msg *m);
/* Reads and dispatches what the socket has (agent_client_rx.c). */
int agent_client_sock_io(struct agent_client *c, uint32_t ev);

#endif
