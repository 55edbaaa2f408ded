/* agent_client: host side of the agent protocol (see agent_client.h):
 * lifecycle, connecting (with retries and the hybrid-vsock line), deadlines. */
#include "agent/agent_client_int.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

/* ---- addresses ---- */

int agent_addr_parse(const char *text, struct agent_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (util_starts_with(text, "unix:")) {
		const char *p = text + 5;
		if (!*p)
			return -EINVAL;
		if (strlen(p) >= sizeof(out->path))
			return -ENAMETOOLONG;
		out->kind = AGENT_ADDR_UNIX;
		strcpy(out->path, p);
		return 0;
	}
	if (util_starts_with(text, "vsock:")) {
		const char *p = text + 6, *colon = strrchr(p, ':');
		uint64_t port;
		if (!colon || colon == p)
			return -EINVAL;
		if ((size_t)(colon - p) >= sizeof(out->path))
			return -ENAMETOOLONG;
		int rc = util_parse_u64(colon + 1, 1, UINT32_MAX, &port);
		if (rc)
			return rc;
		out->kind = AGENT_ADDR_HYBRID_VSOCK;
		memcpy(out->path, p, (size_t)(colon - p));
		out->path[colon - p] = '\0';
		out->port = (uint32_t)port;
		return 0;
	}
	return -EINVAL;
}

/* ---- socket management ---- */

void agent_client_sock_watch(struct agent_client *c)
{
	if (c->sock < 0)
		return;
	uint32_t ev = EPOLLIN;
	if (proto_writer_pending(&c->pre) ||
	    (c->state >= AGENT_CLIENT_HELLO && proto_writer_pending(&c->wr)))
		ev |= EPOLLOUT;
	if (ev == c->sock_events)
		return;
	struct epoll_event e = {.events = ev, .data.fd = c->sock};
	if (epoll_ctl(c->epfd, c->sock_events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->sock, &e) == 0)
		c->sock_events = ev;
}

void agent_client_sock_close(struct agent_client *c)
{
	if (c->sock >= 0) {
		epoll_ctl(c->epfd, EPOLL_CTL_DEL, c->sock, NULL);
		close(c->sock);
	}
	c->sock = -1;
	c->sock_events = 0;
}

static int queue_hello(struct agent_client *c)
{
	struct proto_msg m = {.hdr = {.type = PROTO_HELLO}};
	m.u.hello.version_min = m.u.hello.version_max = PROTO_VERSION;
	m.u.hello.caps = c->cfg.caps ? c->cfg.caps : PROTO_CAP_ALL;
	m.u.hello.software = proto_cstr("smoltest " SMOLTEST_VERSION);
	return proto_writer_put(&c->wr, &m);
}

/* One connect attempt. 0: connected (or line sent), -EAGAIN: retry later,
 * other: fatal. */
static int try_connect(struct agent_client *c)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, c->cfg.addr.path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		/* Not there yet, or its backlog is full: the agent (or VM) may
		 * still be starting. */
		if (e == ENOENT || e == ECONNREFUSED || e == EAGAIN)
			return -EAGAIN;
		return -e;
	}
	c->sock = fd;
	c->line_len = 0;
	if (c->cfg.addr.kind == AGENT_ADDR_HYBRID_VSOCK) {
		char line[32];
		int n = snprintf(line, sizeof(line), "CONNECT %u\n", c->cfg.addr.port);
		proto_writer_release(&c->pre);
		if (proto_writer_put_raw(&c->pre, line, (size_t)n))
			return -ENOMEM;
		c->state = AGENT_CLIENT_CONNECTING;
	} else {
		c->state = AGENT_CLIENT_HELLO;
	}
	agent_client_sock_watch(c);
	return 0;
}

/* When to try again: RETRY_FIRST_NS, doubling, at most RETRY_MAX_NS. */
static uint64_t next_retry_ns(struct agent_client *c, uint64_t now)
{
	uint64_t d = RETRY_FIRST_NS << (c->retries < 8 ? c->retries : 8);
	c->retries++;
	return now + (d < RETRY_MAX_NS ? d : RETRY_MAX_NS);
}

void agent_client_retry_or_fail(struct agent_client *c, int err, uint64_t now)
{
	/* A refusal before READY is the agent not listening yet (the VM
	 * still booting, the VMM's vsock with nothing on the port). Retry
	 * only while nothing but the handshake was queued: a request
	 * half-written to the old socket cannot be replayed. */
	bool retryable = err == -ECONNRESET || err == -EPIPE || err == -ECONNREFUSED;
	bool before_ready = c->state == AGENT_CLIENT_CONNECTING ||
			    (c->state == AGENT_CLIENT_HELLO && !c->execs && !c->reqs);
	if (!retryable || !before_ready || now >= c->connect_deadline_ns) {
		agent_client_client_fail(c, err);
		return;
	}
	agent_client_sock_close(c);
	if (c->state == AGENT_CLIENT_HELLO) {
		/* the HELLO may be half sent: start the handshake over */
		proto_writer_release(&c->wr);
		proto_reader_release(&c->rd);
		if (queue_hello(c)) {
			agent_client_client_fail(c, -ENOMEM);
			return;
		}
	}
	c->state = AGENT_CLIENT_CONNECTING;
	c->retry_at_ns = next_retry_ns(c, now);
}

/* ---- completion and teardown ---- */

static void exec_unlink(struct agent_client *c, struct client_exec *x)
{
	for (struct client_exec **pp = &c->execs; *pp; pp = &(*pp)->next)
		if (*pp == x) {
			*pp = x->next;
			return;
		}
}

void agent_client_exec_finish(struct agent_client *c, struct client_exec *x,
			      const struct agent_exit *ex)
{
	exec_unlink(c, x);
	if (x->ops && x->ops->on_exit)
		x->ops->on_exit(x->opaque, x->channel, ex);
	free(x);
}

struct client_req *agent_client_req_pop(struct agent_client *c)
{
	struct client_req *r = c->reqs;
	if (r) {
		c->reqs = r->next;
		if (!c->reqs)
			c->reqs_tail = &c->reqs;
	}
	return r;
}

/* Closes the connection: every EXEC and request is told, then on_closed. */
void agent_client_client_fail(struct agent_client *c, int err)
{
	if (c->state == AGENT_CLIENT_CLOSED)
		return;
	c->state = AGENT_CLIENT_CLOSED;
	c->err = err;
	agent_client_sock_close(c);
	while (c->execs) {
		struct agent_exit ex = {.how = AGENT_EXIT_LOST, .sys_errno = -err};
		agent_client_exec_finish(c, c->execs, &ex);
	}
	struct client_req *r;
	while ((r = agent_client_req_pop(c))) {
		if (r->cb)
			r->cb(r->opaque, c, err, NULL);
		free(r);
	}
	proto_writer_release(&c->wr);
	proto_writer_release(&c->pre);
	proto_reader_release(&c->rd);
	if (c->cfg.ops && c->cfg.ops->on_closed)
		c->cfg.ops->on_closed(c->cfg.opaque, c, err);
}

struct client_exec *agent_client_exec_find(struct agent_client *c, uint32_t channel)
{
	for (struct client_exec *x = c->execs; x; x = x->next)
		if (x->channel == channel)
			return x;
	return NULL;
}

/* ---- deadlines ---- */

uint64_t agent_client_deadline_ns(const struct agent_client *c)
{
	uint64_t d = 0;
	if (c->state == AGENT_CLIENT_CLOSED)
		return 0;
	if (c->state != AGENT_CLIENT_READY)
		d = agent_deadline_min(d, c->connect_deadline_ns);
	if (c->sock < 0)
		d = agent_deadline_min(d, c->retry_at_ns);
	for (const struct client_exec *x = c->execs; x; x = x->next)
		d = agent_deadline_min(d, x->deadline_ns);
	for (const struct client_req *r = c->reqs; r; r = r->next)
		d = agent_deadline_min(d, r->deadline_ns);
	return d;
}

int agent_client_tick(struct agent_client *c, uint64_t now)
{
	if (c->state == AGENT_CLIENT_CLOSED)
		return c->err;
	if (c->state != AGENT_CLIENT_READY && now >= c->connect_deadline_ns) {
		agent_client_client_fail(c, -ETIMEDOUT);
		return c->err;
	}
	if (c->sock < 0 && now >= c->retry_at_ns) {
		int rc = try_connect(c);
		if (rc == -EAGAIN)
			c->retry_at_ns = next_retry_ns(c, now);
		else if (rc)
			agent_client_client_fail(c, rc);
		if (c->state == AGENT_CLIENT_CLOSED)
			return c->err;
	}
	for (struct client_exec *x = c->execs, *n; x; x = n) {
		n = x->next;
		if (!x->deadline_ns || now < x->deadline_ns)
			continue;
		agent_client_kill(c, x->channel, SIGKILL);
		struct agent_exit ex = {
		    .how = AGENT_EXIT_TIMED_OUT, .code = SIGKILL, .sys_errno = ETIMEDOUT};
		agent_client_exec_finish(c, x, &ex);
		n = c->execs; /* callbacks may have changed the list */
	}
	/* Requests complete in order: a timed-out head blocks nothing behind
	 * it, but its late reply must not be matched to the next one, so a
	 * request timeout closes the connection. */
	if (c->reqs && c->reqs->deadline_ns && now >= c->reqs->deadline_ns) {
		struct client_req *r = agent_client_req_pop(c);
		if (r->cb)
			r->cb(r->opaque, c, -ETIMEDOUT, NULL);
		free(r);
		agent_client_client_fail(c, -ETIMEDOUT);
	}
	if (c->state != AGENT_CLIENT_CLOSED)
		agent_client_sock_watch(c);
	return c->state == AGENT_CLIENT_CLOSED ? c->err : 0;
}

/* ---- lifecycle ---- */

int agent_client_create(const struct agent_client_config *cfg, struct agent_client **out)
{
	if (!cfg ||
	    (cfg->addr.kind != AGENT_ADDR_UNIX && cfg->addr.kind != AGENT_ADDR_HYBRID_VSOCK) ||
	    !cfg->addr.path[0] ||
	    strnlen(cfg->addr.path, sizeof(cfg->addr.path)) >= sizeof(cfg->addr.path))
		return -EINVAL;
	struct agent_client *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->cfg = *cfg;
	if (!c->cfg.connect_timeout_ns)
		c->cfg.connect_timeout_ns = DEFAULT_TIMEOUT_NS;
	if (!c->cfg.request_timeout_ns)
		c->cfg.request_timeout_ns = DEFAULT_TIMEOUT_NS;
	c->sock = -1;
	c->reqs_tail = &c->reqs;
	c->next_channel = 1;
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epfd < 0) {
		int rc = -errno;
		free(c);
		return rc;
	}
	int rc = agent_client_reconnect(c);
	if (rc) {
		agent_client_destroy(c);
		return rc;
	}
	*out = c;
	return 0;
}

int agent_client_reconnect(struct agent_client *c)
{
	if (c->state && c->state != AGENT_CLIENT_CLOSED) {
		/* Pending work is lost with the old connection; the callbacks
		 * fire, then we start over. */
		const struct agent_client_ops *ops = c->cfg.ops;
		c->cfg.ops = NULL; /* no on_closed for a deliberate reconnect */
		agent_client_client_fail(c, -ECONNRESET);
		c->cfg.ops = ops;
	}
	agent_client_sock_close(c);
	proto_writer_release(&c->wr);
	proto_writer_release(&c->pre);
	proto_reader_release(&c->rd);
	c->err = 0;
	c->state = AGENT_CLIENT_CONNECTING;
	uint64_t now = util_now_ns();
	c->connect_deadline_ns = now + c->cfg.connect_timeout_ns;
	int rc = queue_hello(c);
	if (rc)
		return rc;
	c->retries = 0;
	rc = try_connect(c);
	if (rc == -EAGAIN) {
		c->retry_at_ns = next_retry_ns(c, now);
		return 0;
	}
	if (rc)
		c->state = AGENT_CLIENT_CLOSED, c->err = rc;
	return 0;
}

void agent_client_destroy(struct agent_client *c)
{
	if (!c)
		return;
	agent_client_sock_close(c);
	while (c->execs) {
		struct client_exec *x = c->execs;
		c->execs = x->next;
		free(x);
	}
	struct client_req *r;
	while ((r = agent_client_req_pop(c)))
		free(r);
	proto_writer_release(&c->wr);
	proto_writer_release(&c->pre);
	proto_reader_release(&c->rd);
	if (c->epfd >= 0)
		close(c->epfd);
	free(c);
}

int agent_client_fd(const struct agent_client *c)
{
	return c->epfd;
}

uint32_t agent_client_events(const struct agent_client *c)
{
	(void)c;
	return EPOLLIN;
}

enum agent_client_state agent_client_state(const struct agent_client *c)
{
	return c->state;
}

int agent_client_error(const struct agent_client *c)
{
	return c->err;
}

uint64_t agent_client_caps(const struct agent_client *c)
{
	return c->agent_caps;
}

const char *agent_client_software(const struct agent_client *c)
{
	return c->software;
}

size_t agent_client_pending(const struct agent_client *c)
{
	return proto_writer_pending(&c->wr);
}
