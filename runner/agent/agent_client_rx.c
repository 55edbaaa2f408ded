/* agent_client_rx: frames from the agent, and the readiness handler. */
#include "agent/agent_client_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "util.h"

/* ---- frames from the agent ---- */

static void on_hello(struct agent_client *c, const struct proto_hello *h)
{
	if (c->state != AGENT_CLIENT_HELLO)
		return;
	if (h->version_min > PROTO_VERSION || h->version_max < PROTO_VERSION) {
		agent_client_client_fail(c, -EPROTO);
		return;
	}
	c->agent_caps = h->caps;
	proto_str_copy(h->software.len < sizeof(c->software) ? h->software : proto_cstr("?"),
		       c->software, sizeof(c->software));
	c->state = AGENT_CLIENT_READY;
	if (c->cfg.ops && c->cfg.ops->on_ready)
		c->cfg.ops->on_ready(c->cfg.opaque, c);
}

static bool is_request_type(uint32_t t)
{
	return t == PROTO_PING || t == PROTO_MOUNT || t == PROTO_SET_TIME || t == PROTO_RESEED ||
	       t == PROTO_SET_HOSTNAME || t == PROTO_QUIESCE || t == PROTO_RESUMED ||
	       t == PROTO_SHUTDOWN;
}

static void on_error(struct agent_client *c, const struct proto_msg *m)
{
	const struct proto_error *e = &m->u.error;
	if (e->ref_type == PROTO_HELLO || e->code == PROTO_E_VERSION) {
		agent_client_client_fail(c, -EPROTO);
		return;
	}
	if (e->ref_type == PROTO_EXEC) {
		struct client_exec *x = agent_client_exec_find(c, m->hdr.channel);
		if (x) {
			struct agent_exit ex = {.how = AGENT_EXIT_SPAWN_FAILED,
						.code = 127,
						.sys_errno = e->sys_errno ? e->sys_errno : EPROTO};
			agent_client_exec_finish(c, x, &ex);
			return;
		}
	}
	if (is_request_type(e->ref_type) && c->reqs && c->reqs->type == e->ref_type) {
		struct client_req *r = agent_client_req_pop(c);
		if (r->cb)
			r->cb(r->opaque, c, e->sys_errno ? -e->sys_errno : -EPROTO, e);
		free(r);
		return;
	}
	if (c->cfg.ops && c->cfg.ops->on_error)
		c->cfg.ops->on_error(c->cfg.opaque, c, e);
}

static void on_reply_ok(struct agent_client *c)
{
	struct client_req *r = agent_client_req_pop(c);
	if (!r)
		return; /* an OK nobody waits for (timed out): ignore */
	if (r->cb)
		r->cb(r->opaque, c, 0, NULL);
	free(r);
}

static void on_exit_frame(struct agent_client *c, struct client_exec *x,
			  const struct proto_exit *pe)
{
	struct agent_exit ex = {.raw = *pe};
	if (pe->flags & PROTO_EXIT_SPAWN_FAILED) {
		ex.how = AGENT_EXIT_SPAWN_FAILED;
		ex.code = 127;
		ex.sys_errno = pe->spawn_errno;
	} else if (pe->flags & PROTO_EXIT_TIMED_OUT) {
		ex.how = AGENT_EXIT_TIMED_OUT;
		ex.code = pe->status;
	} else if (pe->flags & PROTO_EXIT_KILLED && pe->flags & PROTO_EXIT_SIGNALED) {
		ex.how = AGENT_EXIT_KILLED;
		ex.code = pe->status;
	} else if (pe->flags & PROTO_EXIT_SIGNALED) {
		ex.how = AGENT_EXIT_SIGNALED;
		ex.code = pe->status;
	} else {
		ex.how = AGENT_EXIT_EXITED;
		ex.code = pe->status;
	}
	agent_client_exec_finish(c, x, &ex);
}

static void on_frame(struct agent_client *c, const struct proto_msg *m)
{
	struct client_exec *x;
	switch (m->hdr.type) {
	case PROTO_HELLO:
		on_hello(c, &m->u.hello);
		break;
	case PROTO_ERROR:
		on_error(c, m);
		break;
	case PROTO_OK:
	case PROTO_PONG:
		on_reply_ok(c);
		break;
	case PROTO_STARTED:
		if ((x = agent_client_exec_find(c, m->hdr.channel)) && x->ops && x->ops->on_started)
			x->ops->on_started(x->opaque, x->channel, m->u.started.pid);
		break;
	case PROTO_STDOUT:
	case PROTO_STDERR:
		if ((x = agent_client_exec_find(c, m->hdr.channel)) && x->ops && x->ops->on_output)
			x->ops->on_output(x->opaque, x->channel,
					  m->hdr.type == PROTO_STDOUT ? 1 : 2, m->u.data.data,
					  m->u.data.len);
		break;
	case PROTO_EXIT:
		if ((x = agent_client_exec_find(c, m->hdr.channel)))
			on_exit_frame(c, x, &m->u.exit);
		break;
	default:
		break; /* host-to-agent types from the agent: ignore */
	}
}

/* Reads the hybrid vsock reply one byte at a time so that no frame byte is
 * consumed with it. */
static int read_connect_line(struct agent_client *c)
{
	for (;;) {
		char ch;
		ssize_t n = read(c->sock, &ch, 1);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		if (n == 0)
			return -ECONNRESET; /* the guest port refused */
		if (ch == '\n') {
			c->line[c->line_len] = '\0';
			if (!util_starts_with(c->line, "OK "))
				return -ECONNREFUSED;
			c->state = AGENT_CLIENT_HELLO;
			return 0;
		}
		if (c->line_len + 1 >= sizeof(c->line))
			return -EPROTO;
		c->line[c->line_len++] = ch;
	}
}

int agent_client_sock_io(struct agent_client *c, uint32_t ev)
{
	int rc;
	if (proto_writer_pending(&c->pre)) {
		rc = proto_writer_flush(&c->pre, c->sock);
		if (rc && rc != -EAGAIN)
			return rc;
	}
	if (c->state == AGENT_CLIENT_CONNECTING && !proto_writer_pending(&c->pre) &&
	    (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		rc = read_connect_line(c);
		if (rc)
			return rc;
	}
	if (c->state >= AGENT_CLIENT_HELLO && c->state != AGENT_CLIENT_CLOSED &&
	    proto_writer_pending(&c->wr)) {
		rc = proto_writer_flush(&c->wr, c->sock);
		if (rc && rc != -EAGAIN)
			return rc;
	}
	if (c->state < AGENT_CLIENT_HELLO || !(ev & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return 0;
	for (int round = 0; round < 16 && c->state != AGENT_CLIENT_CLOSED; round++) {
		rc = proto_reader_fill(&c->rd, c->sock);
		if (rc == -EAGAIN)
			break;
		if (rc && rc != -ENOBUFS)
			return rc;
		for (;;) {
			struct proto_msg m;
			rc = proto_reader_next(&c->rd, &m);
			if (rc == -EAGAIN)
				break;
			if (rc == -EMSGSIZE)
				return -EPROTO;
			if (rc)
				continue; /* unknown or malformed frame from the agent: skip */
			on_frame(c, &m);
			if (c->state == AGENT_CLIENT_CLOSED)
				return 0;
		}
	}
	return 0;
}

int agent_client_handle(struct agent_client *c, uint32_t events)
{
	(void)events;
	if (c->state == AGENT_CLIENT_CLOSED)
		return c->err;
	struct epoll_event evs[4];
	int n = epoll_wait(c->epfd, evs, 4, 0);
	for (int i = 0; i < n && c->state != AGENT_CLIENT_CLOSED; i++) {
		if (evs[i].data.fd != c->sock)
			continue;
		int rc = agent_client_sock_io(c, evs[i].events);
		if (rc)
			agent_client_retry_or_fail(c, rc, util_now_ns());
	}
	if (c->state != AGENT_CLIENT_CLOSED)
		agent_client_sock_watch(c);
	return c->state == AGENT_CLIENT_CLOSED ? c->err : 0;
}
