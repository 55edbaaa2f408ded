/* agent_client_tx: EXEC, stdin, KILL and control requests, and the blocking
 * helpers for programs without their own event loop. */
#include "agent/agent_client_int.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "util.h"

/* ---- requests ---- */

int agent_client_send_msg(struct agent_client *c, const struct proto_msg *m)
{
	if (c->state == AGENT_CLIENT_CLOSED)
		return -EPIPE;
	int rc = proto_writer_put(&c->wr, m);
	if (rc)
		return rc;
	/* Send at once when connected; errors surface in the next
	 * agent_client_handle() (never in a callback from here). */
	if (c->sock >= 0 && c->state >= AGENT_CLIENT_HELLO && !proto_writer_pending(&c->pre))
		proto_writer_flush(&c->wr, c->sock);
	agent_client_sock_watch(c);
	return 0;
}

int agent_client_exec(struct agent_client *c, const struct agent_exec_req *req,
		      uint32_t *out_channel)
{
	if (!req || !req->ops || !req->ops->on_exit || (!req->argv == !req->shell) ||
	    (req->argv && !req->argv[0]))
		return -EINVAL;
	if (c->state == AGENT_CLIENT_CLOSED)
		return -EPIPE;
	uint32_t ch = c->next_channel;
	while (ch == 0 || agent_client_exec_find(c, ch))
		ch++;
	c->next_channel = ch + 1;
	struct proto_msg m = {.hdr = {.type = PROTO_EXEC, .channel = ch}};
	struct proto_exec *e = &m.u.exec;
	const char *shv[2] = {req->shell, NULL};
	const char *const *argv = req->shell ? shv : req->argv;
	uint32_t argc = 0, envc = 0;
	while (argv[argc])
		argc++;
	while (req->env && req->env[envc])
		envc++;
	e->flags = (req->shell ? PROTO_EXEC_SHELL : 0) | (req->set_uid ? PROTO_EXEC_SET_UID : 0) |
		   (req->set_gid ? PROTO_EXEC_SET_GID : 0) |
		   (req->inherit_env ? PROTO_EXEC_INHERIT_ENV : 0) |
		   (req->merge_stderr ? PROTO_EXEC_MERGE_STDERR : 0);
	e->stdin_mode = req->stdin_pipe ? PROTO_STDIN_PIPE : PROTO_STDIN_NULL;
	e->uid = req->uid;
	e->gid = req->gid;
	e->timeout_ns = req->timeout_ns;
	e->cwd = proto_cstr(req->cwd);
	e->argv.count = argc;
	e->argv.items = argv;
	e->env.count = envc;
	e->env.items = req->env;
	struct client_exec *x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	int rc = agent_client_send_msg(c, &m);
	if (rc) {
		free(x);
		return rc == -EINVAL ? -EINVAL : rc;
	}
	x->channel = ch;
	x->ops = req->ops;
	x->opaque = req->opaque;
	if (req->timeout_ns)
		x->deadline_ns = util_now_ns() + req->timeout_ns + EXEC_GRACE_NS;
	x->next = c->execs;
	c->execs = x;
	*out_channel = ch;
	return 0;
}

int agent_client_write_stdin(struct agent_client *c, uint32_t channel, const void *data, size_t len)
{
	struct client_exec *x = agent_client_exec_find(c, channel);
	if (!x)
		return -ENOENT;
	if (x->stdin_closed)
		return -EPIPE;
	const uint8_t *p = data;
	while (len) {
		size_t n = len > PROTO_MAX_DATA ? PROTO_MAX_DATA : len;
		struct proto_msg m = {.hdr = {.type = PROTO_STDIN, .channel = channel}};
		m.u.data.data = p;
		m.u.data.len = (uint32_t)n;
		int rc = agent_client_send_msg(c, &m);
		if (rc)
			return rc;
		p += n;
		len -= n;
	}
	return 0;
}

int agent_client_close_stdin(struct agent_client *c, uint32_t channel)
{
	struct client_exec *x = agent_client_exec_find(c, channel);
	if (!x)
		return -ENOENT;
	if (x->stdin_closed)
		return 0;
	x->stdin_closed = true;
	struct proto_msg m = {.hdr = {.type = PROTO_STDIN_EOF, .channel = channel}};
	return agent_client_send_msg(c, &m);
}

int agent_client_kill(struct agent_client *c, uint32_t channel, int sig)
{
	struct client_exec *x = agent_client_exec_find(c, channel);
	if (!x)
		return -ENOENT;
	if (sig < 0 || sig > 64)
		return -EINVAL;
	x->killed = true;
	struct proto_msg m = {.hdr = {.type = PROTO_KILL, .channel = channel}};
	m.u.kill.signal = (uint32_t)sig;
	return agent_client_send_msg(c, &m);
}

static int request(struct agent_client *c, const struct proto_msg *m, agent_reply_fn cb,
		   void *opaque)
{
	struct client_req *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	int rc = agent_client_send_msg(c, m);
	if (rc) {
		free(r);
		return rc;
	}
	r->type = m->hdr.type;
	r->cb = cb;
	r->opaque = opaque;
	r->deadline_ns = util_now_ns() + c->cfg.request_timeout_ns;
	/* A request queued before READY waits for the connect first. */
	if (c->state != AGENT_CLIENT_READY)
		r->deadline_ns += c->cfg.connect_timeout_ns;
	*c->reqs_tail = r;
	c->reqs_tail = &r->next;
	return 0;
}

int agent_client_ping(struct agent_client *c, agent_reply_fn cb, void *opaque)
{
	struct proto_msg m = {.hdr = {.type = PROTO_PING}};
	m.u.ping.cookie = util_now_ns();
	return request(c, &m, cb, opaque);
}

int agent_client_set_time(struct agent_client *c, uint64_t wall_ns, agent_reply_fn cb, void *opaque)
{
	struct proto_msg m = {.hdr = {.type = PROTO_SET_TIME}};
	m.u.set_time.wall_ns = wall_ns;
	return request(c, &m, cb, opaque);
}

int agent_client_reseed(struct agent_client *c, const void *entropy, size_t len, agent_reply_fn cb,
			void *opaque)
{
	if (!len || len > PROTO_MAX_RESEED)
		return -EINVAL;
	struct proto_msg m = {.hdr = {.type = PROTO_RESEED}};
	m.u.data.data = entropy;
	m.u.data.len = (uint32_t)len;
	return request(c, &m, cb, opaque);
}

int agent_client_set_hostname(struct agent_client *c, const char *name, agent_reply_fn cb,
			      void *opaque)
{
	if (!name || !*name || strlen(name) > PROTO_MAX_HOSTNAME)
		return -EINVAL;
	struct proto_msg m = {.hdr = {.type = PROTO_SET_HOSTNAME}};
	m.u.name = proto_cstr(name);
	return request(c, &m, cb, opaque);
}

int agent_client_mount(struct agent_client *c, const char *fstype, const char *source,
		       const char *target, bool readonly, const char *options, agent_reply_fn cb,
		       void *opaque)
{
	struct proto_msg m = {.hdr = {.type = PROTO_MOUNT}};
	m.u.mount.flags = PROTO_MOUNT_MKDIR | (readonly ? PROTO_MOUNT_RDONLY : 0);
	m.u.mount.fstype = proto_cstr(fstype ? fstype : "virtiofs");
	m.u.mount.source = proto_cstr(source);
	m.u.mount.target = proto_cstr(target);
	m.u.mount.options = proto_cstr(options);
	return request(c, &m, cb, opaque);
}

int agent_client_quiesce(struct agent_client *c, agent_reply_fn cb, void *opaque)
{
	struct proto_msg m = {.hdr = {.type = PROTO_QUIESCE}};
	return request(c, &m, cb, opaque);
}

int agent_client_resumed(struct agent_client *c, agent_reply_fn cb, void *opaque)
{
	struct proto_msg m = {.hdr = {.type = PROTO_RESUMED}};
	return request(c, &m, cb, opaque);
}

int agent_client_shutdown(struct agent_client *c, uint32_t mode, agent_reply_fn cb, void *opaque)
{
	struct proto_msg m = {.hdr = {.type = PROTO_SHUTDOWN}};
	m.u.shutdown.mode = mode;
	return request(c, &m, cb, opaque);
}

/* ---- blocking helpers ---- */

int agent_client_poll(struct agent_client *c, uint64_t timeout_ns)
{
	uint64_t now = util_now_ns(), until = now + timeout_ns;
	uint64_t d = agent_client_deadline_ns(c);
	if (d && d < until)
		until = d;
	uint64_t wait = until > now ? until - now : 0;
	struct pollfd pfd = {.fd = c->epfd, .events = POLLIN};
	int ms = (int)((wait + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC);
	int n = poll(&pfd, 1, ms);
	if (n < 0 && errno != EINTR)
		return -errno;
	int rc = 0;
	if (n > 0)
		rc = agent_client_handle(c, EPOLLIN);
	int trc = agent_client_tick(c, util_now_ns());
	return rc ? rc : trc;
}

int agent_client_wait_ready(struct agent_client *c)
{
	while (c->state != AGENT_CLIENT_READY && c->state != AGENT_CLIENT_CLOSED)
		agent_client_poll(c, NSEC_PER_SEC);
	return c->state == AGENT_CLIENT_READY ? 0 : c->err;
}

struct sync_wait {
	bool done;
	int result;
};

static void sync_cb(void *opaque, struct agent_client *c, int result, const struct proto_error *e)
{
	struct sync_wait *w = opaque;
	(void)c;
	(void)e;
	w->done = true;
	w->result = result;
}

static int sync_finish(struct agent_client *c, struct sync_wait *w, int rc)
{
	if (rc)
		return rc;
	while (!w->done && c->state != AGENT_CLIENT_CLOSED)
		agent_client_poll(c, NSEC_PER_SEC);
	return w->done ? w->result : c->err;
}

int agent_client_sync_ping(struct agent_client *c)
{
	struct sync_wait w = {false, 0};
	return sync_finish(c, &w, agent_client_ping(c, sync_cb, &w));
}

int agent_client_sync_shutdown(struct agent_client *c, uint32_t mode)
{
	struct sync_wait w = {false, 0};
	return sync_finish(c, &w, agent_client_shutdown(c, mode, sync_cb, &w));
}
