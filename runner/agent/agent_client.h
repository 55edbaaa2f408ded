/* agent_client: the host side of the smoltest agent protocol
 * (runner/proto/PROTOCOL.md).
 *
 * One struct agent_client is one connection to one agent. It never blocks
 * and never owns an event loop: the runner registers agent_client_fd() in its
 * own epoll set with the events agent_client_events() asks for, calls
 * agent_client_handle() when the fd is ready and agent_client_tick() when
 * agent_client_deadline_ns() passes. Results come back through callbacks,
 * which run inside handle()/tick() (never re-entrantly from a request call).
 * For simple programs (`smoltest exec`, tests) agent_client_poll() runs one
 * round of that loop with poll(2), and the *_sync helpers block.
 *
 * Lifecycle: create (connect starts) -> CONNECTING -> (hybrid vsock:
 * `CONNECT <port>\n` / `OK <hostport>\n`) -> HELLO exchange -> READY ->
 * CLOSED. Before READY, a refused, missing or reset socket (the VM is still
 * booting, the agent not listening yet) is retried, after 1 ms and then
 * twice as late each time up to 20 ms apart, until the connect timeout:
 * the client is the one place that retries, callers see on_closed only
 * once it gave up. EXECs and requests may be queued before READY; they are
 * sent once the handshake completes. The connect timeout covers everything
 * up to READY. Every EXEC and request has its own deadline.
 *
 * Callbacks may call any agent_client function, including issuing new
 * EXECs; they must not call agent_client_destroy() (set a flag and destroy
 * after handle()/tick() returns). */
#ifndef SMOL_AGENT_CLIENT_H
#define SMOL_AGENT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct agent_client;

/* Where the agent listens. */
enum agent_addr_kind {
	AGENT_ADDR_UNIX = 1,	     /* unix:PATH, the agent's own socket */
	AGENT_ADDR_HYBRID_VSOCK = 2, /* vsock:UDSPATH:PORT, a VMM's vsock socket */
};

struct agent_addr {
	enum agent_addr_kind kind;
	char path[108]; /* sun_path */
	uint32_t port;	/* guest vsock port (HYBRID_VSOCK) */
};

/* Parses "unix:PATH" or "vsock:UDSPATH:PORT" (the last ':' separates the
 * port). -EINVAL for another form, -ENAMETOOLONG for a path over 107 bytes,
 * -ERANGE for a port outside 1..4294967295. */
int agent_addr_parse(const char *text, struct agent_addr *out);

enum agent_client_state {
	AGENT_CLIENT_CONNECTING = 1, /* socket connect / hybrid CONNECT line */
	AGENT_CLIENT_HELLO = 2,	     /* HELLO sent, waiting for the agent's */
	AGENT_CLIENT_READY = 3,
	AGENT_CLIENT_CLOSED = 4, /* see agent_client_error() */
};

/* What an EXEC ended with. */
struct agent_exit {
	enum {
		AGENT_EXIT_EXITED = 1,	     /* code = exit status */
		AGENT_EXIT_SIGNALED = 2,     /* code = signal number */
		AGENT_EXIT_TIMED_OUT = 3,    /* the agent killed it at the timeout, or the client
					      * did, later (sys_errno = ETIMEDOUT then) */
		AGENT_EXIT_KILLED = 4,	     /* agent_client_kill() ended it; code = signal */
		AGENT_EXIT_SPAWN_FAILED = 5, /* never ran; sys_errno says why */
		AGENT_EXIT_LOST = 6, /* connection failed or closed before EXIT; sys_errno */
	} how;
	int code;
	int sys_errno;
	struct proto_exit raw; /* the agent's EXIT (zero for LOST / client-side timeouts) */
};

/* Per-EXEC callbacks. on_output may be NULL (output dropped). on_exit is
 * called exactly once per successful agent_client_exec(), also when the
 * connection dies (how = LOST) or the client-side deadline passes without
 * an EXIT (how = TIMED_OUT, sys_errno = ETIMEDOUT); the channel is free
 * afterwards. data is borrowed for the call. */
struct agent_exec_ops {
	void (*on_output)(void *opaque, uint32_t channel, int stream /* 1 stdout, 2 stderr */,
			  const uint8_t *data, size_t len);
	void (*on_started)(void *opaque, uint32_t channel, uint32_t pid); /* may be NULL */
	void (*on_exit)(void *opaque, uint32_t channel, const struct agent_exit *ex);
};

struct agent_exec_req {
	const char *const *argv; /* NULL-terminated; or NULL when shell is set */
	const char *shell;	 /* run `/bin/sh -c shell` instead of argv */
	const char *const *env;	 /* NULL-terminated "K=V" list, may be NULL */
	bool inherit_env;	 /* start from the agent's environment */
	const char *cwd;	 /* NULL: the agent's */
	bool set_uid, set_gid;
	uint32_t uid, gid;
	bool stdin_pipe;		  /* feed stdin with agent_client_write_stdin() */
	bool merge_stderr;		  /* stderr into the stdout stream */
	uint64_t timeout_ns;		  /* agent-side kill; 0 none. The client adds a
					     grace period (5 s) before reporting TIMED_OUT itself */
	const struct agent_exec_ops *ops; /* borrowed; must outlive the EXEC */
	void *opaque;
};

/* Connection-level callbacks (all may be NULL). */
struct agent_client_ops {
	void (*on_ready)(void *opaque, struct agent_client *c);
	/* The connection closed or failed; err is a negative errno
	 * (-ETIMEDOUT for the connect timeout, -ECONNREFUSED, -EPROTO, -EPIPE).
	 * Pending EXECs and requests get their own callbacks first. */
	void (*on_closed)(void *opaque, struct agent_client *c, int err);
	/* An ERROR frame not tied to a pending request (e.g. the agent
	 * refused a malformed frame). */
	void (*on_error)(void *opaque, struct agent_client *c, const struct proto_error *e);
};

struct agent_client_config {
	struct agent_addr addr;
	uint64_t connect_timeout_ns;	    /* 0: 10 s */
	uint64_t request_timeout_ns;	    /* control requests; 0: 10 s */
	uint64_t caps;			    /* capabilities to offer; 0: PROTO_CAP_ALL */
	const struct agent_client_ops *ops; /* borrowed, may be NULL */
	void *opaque;
};

/* Creates a client and starts a non-blocking connect. The config is copied.
 * Fails only for invalid arguments and resource errors (-EINVAL, -ENOMEM,
 * -EMFILE); an unreachable agent shows up later as on_closed/state CLOSED. */
int agent_client_create(const struct agent_client_config *cfg, struct agent_client **out);

/* Closes the connection without calling any callback. NULL is a no-op. */
void agent_client_destroy(struct agent_client *c);

/* The fd to watch for EPOLLIN. It stays the same for the client's whole
 * life (it is the client's own epoll fd; the socket inside may be replaced
 * by connect retries and reconnects), so register it once. */
int agent_client_fd(const struct agent_client *c);

/* The events to watch agent_client_fd() for: always EPOLLIN (kept for
 * callers written against a socket fd). */
uint32_t agent_client_events(const struct agent_client *c);

/* Handles readiness of agent_client_fd(); events are epoll/poll bits.
 * Returns 0, or a negative errno once the connection is closed (callbacks
 * already delivered). */
int agent_client_handle(struct agent_client *c, uint32_t events);

/* The earliest CLOCK_MONOTONIC deadline (util_now_ns()) the client needs a
 * tick for, or 0 when none. */
uint64_t agent_client_deadline_ns(const struct agent_client *c);

/* The earlier of two deadlines, where 0 means none. */
static inline uint64_t agent_deadline_min(uint64_t a, uint64_t b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a < b ? a : b;
}

/* Expires deadlines that are <= now_ns: connect (closes the connection),
 * EXEC (reports TIMED_OUT after sending KILL), requests (-ETIMEDOUT). */
int agent_client_tick(struct agent_client *c, uint64_t now_ns);

enum agent_client_state agent_client_state(const struct agent_client *c);

/* The negative errno that closed the connection, 0 while it is open. */
int agent_client_error(const struct agent_client *c);

/* The agent's HELLO (software string copied), valid once READY. */
uint64_t agent_client_caps(const struct agent_client *c);
const char *agent_client_software(const struct agent_client *c);

/* Closes the current connection (pending work gets LOST) and starts a new
 * connect to the same address. */
int agent_client_reconnect(struct agent_client *c);

/* Starts an EXEC. *out_channel gets its channel. -EINVAL for a bad request
 * (no argv, both argv and shell), -EPIPE when the client is CLOSED, -EMSGSIZE
 * when argv+env do not fit one frame, -ENOMEM. */
int agent_client_exec(struct agent_client *c, const struct agent_exec_req *req,
		      uint32_t *out_channel);

/* Queues stdin bytes for a channel started with stdin_pipe (split into
 * PROTO_MAX_DATA frames). -ENOENT for no such running channel, -EPIPE after
 * close_stdin. Queued bytes are bounded only by the caller: check
 * agent_client_pending() before writing more. */
int agent_client_write_stdin(struct agent_client *c, uint32_t channel, const void *data,
			     size_t len);
int agent_client_close_stdin(struct agent_client *c, uint32_t channel);

/* Bytes queued for the agent and not yet written to the socket. */
size_t agent_client_pending(const struct agent_client *c);

/* Sends KILL for a channel: the agent signals its whole process tree
 * (sig 0 = SIGKILL). The EXIT arrives through on_exit (how = KILLED). */
int agent_client_kill(struct agent_client *c, uint32_t channel, int sig);

/* Control requests. cb gets 0 on OK (or PONG), or a negative errno:
 * -ETIMEDOUT, -EPIPE (connection lost), or for an agent ERROR the agent's
 * sys_errno (or -EPROTO when it had none), with the ERROR (NULL otherwise).
 * Requests complete in the order they were issued. A request that times out
 * also closes the connection (its late reply could not be told apart from
 * the next one's): reconnect to go on. cb may be NULL. */
typedef void (*agent_reply_fn)(void *opaque, struct agent_client *c, int result,
			       const struct proto_error *err);

int agent_client_ping(struct agent_client *c, agent_reply_fn cb, void *opaque);
int agent_client_set_time(struct agent_client *c, uint64_t wall_ns, agent_reply_fn cb,
			  void *opaque);
int agent_client_reseed(struct agent_client *c, const void *entropy, size_t len, agent_reply_fn cb,
			void *opaque);
int agent_client_set_hostname(struct agent_client *c, const char *name, agent_reply_fn cb,
			      void *opaque);
/* fstype NULL means "virtiofs"; options may be NULL. */
int agent_client_mount(struct agent_client *c, const char *fstype, const char *source,
		       const char *target, bool readonly, const char *options, agent_reply_fn cb,
		       void *opaque);
int agent_client_quiesce(struct agent_client *c, agent_reply_fn cb, void *opaque);
int agent_client_resumed(struct agent_client *c, agent_reply_fn cb, void *opaque);
int agent_client_shutdown(struct agent_client *c, uint32_t mode, agent_reply_fn cb, void *opaque);

/* One round of a private loop: poll(2) on the fd for at most timeout_ns
 * (capped by the next deadline), then handle() and tick(). For programs
 * without their own loop. Returns handle()'s result. */
int agent_client_poll(struct agent_client *c, uint64_t timeout_ns);

/* Blocks until READY or CLOSED. 0 when ready, else the close error. */
int agent_client_wait_ready(struct agent_client *c);

/* Blocks for one control request (built like the agent_client_* request
 * functions above with a NULL callback replaced by a private one): e.g.
 * agent_client_sync_ping(c). Return the request's result. */
int agent_client_sync_ping(struct agent_client *c);
int agent_client_sync_shutdown(struct agent_client *c, uint32_t mode);

#endif
