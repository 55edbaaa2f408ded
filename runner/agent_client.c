/* agent_client: host side of the agent protocol (see agent_client.h). */
#include "agent_client.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto_stream.h"
#include "util.h"

#define DEFAULT_TIMEOUT_NS (10 * NSEC_PER_SEC)
#define RETRY_NS (20 * NSEC_PER_MSEC)
#define EXEC_GRACE_NS (5 * NSEC_PER_SEC)

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
	int epfd;	   /* the stable fd handed to the caller */
	int sock;	   /* -1 while waiting to retry */
	uint32_t sock_events;
	uint64_t connect_deadline_ns;
	uint64_t retry_at_ns; /* when sock == -1 while CONNECTING */
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

static void sock_watch(struct agent_client *c)
{
	if (c->sock < 0)
		return;
	uint32_t ev = EPOLLIN;
	if (proto_writer_pending(&c->pre) || (c->state >= AGENT_CLIENT_HELLO && proto_writer_pending(&c->wr)))
		ev |= EPOLLOUT;
	if (ev == c->sock_events)
		return;
	struct epoll_event e = { .events = ev, .data.fd = c->sock };
	if (epoll_ctl(c->epfd, c->sock_events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->sock, &e) == 0)
		c->sock_events = ev;
}

static void sock_close(struct agent_client *c)
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
	struct proto_msg m = { .hdr = { .type = PROTO_HELLO } };
	m.u.hello.version_min = m.u.hello.version_max = PROTO_VERSION;
	m.u.hello.caps = c->cfg.caps ? c->cfg.caps : PROTO_CAP_ALL;
	m.u.hello.software = proto_cstr("smoltest " SMOLTEST_VERSION);
	return proto_writer_put(&c->wr, &m);
}

/* One connect attempt. 0: connected (or line sent), -EAGAIN: retry later,
 * other: fatal. */
static int try_connect(struct agent_client *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
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
	sock_watch(c);
	return 0;
}

static void schedule_retry(struct agent_client *c, uint64_t now)
{
	sock_close(c);
	c->state = AGENT_CLIENT_CONNECTING;
	c->retry_at_ns = now + RETRY_NS;
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

static void exec_finish(struct agent_client *c, struct client_exec *x, const struct agent_exit *ex)
{
	exec_unlink(c, x);
	if (x->ops && x->ops->on_exit)
		x->ops->on_exit(x->opaque, x->channel, ex);
	free(x);
}

static struct client_req *req_pop(struct agent_client *c)
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
static void client_fail(struct agent_client *c, int err)
{
	if (c->state == AGENT_CLIENT_CLOSED)
		return;
	c->state = AGENT_CLIENT_CLOSED;
	c->err = err;
	sock_close(c);
	while (c->execs) {
		struct agent_exit ex = { .how = AGENT_EXIT_LOST, .sys_errno = -err };
		exec_finish(c, c->execs, &ex);
	}
	struct client_req *r;
	while ((r = req_pop(c))) {
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

static struct client_exec *exec_find(struct agent_client *c, uint32_t channel)
{
	for (struct client_exec *x = c->execs; x; x = x->next)
		if (x->channel == channel)
			return x;
	return NULL;
}

/* ---- frames from the agent ---- */

static void on_hello(struct agent_client *c, const struct proto_hello *h)
{
	if (c->state != AGENT_CLIENT_HELLO)
		return;
	if (h->version_min > PROTO_VERSION || h->version_max < PROTO_VERSION) {
		client_fail(c, -EPROTO);
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
		client_fail(c, -EPROTO);
		return;
	}
	if (e->ref_type == PROTO_EXEC) {
		struct client_exec *x = exec_find(c, m->hdr.channel);
		if (x) {
			struct agent_exit ex = { .how = AGENT_EXIT_SPAWN_FAILED,
						 .code = 127,
						 .sys_errno = e->sys_errno ? e->sys_errno : EPROTO };
			exec_finish(c, x, &ex);
			return;
		}
	}
	if (is_request_type(e->ref_type) && c->reqs && c->reqs->type == e->ref_type) {
		struct client_req *r = req_pop(c);
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
	struct client_req *r = req_pop(c);
	if (!r)
		return; /* an OK nobody waits for (timed out): ignore */
	if (r->cb)
		r->cb(r->opaque, c, 0, NULL);
	free(r);
}

static void on_exit_frame(struct agent_client *c, struct client_exec *x, const struct proto_exit *pe)
{
	struct agent_exit ex = { .raw = *pe };
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
	exec_finish(c, x, &ex);
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
		if ((x = exec_find(c, m->hdr.channel)) && x->ops && x->ops->on_started)
			x->ops->on_started(x->opaque, x->channel, m->u.started.pid);
		break;
	case PROTO_STDOUT:
	case PROTO_STDERR:
		if ((x = exec_find(c, m->hdr.channel)) && x->ops && x->ops->on_output)
			x->ops->on_output(x->opaque, x->channel, m->hdr.type == PROTO_STDOUT ? 1 : 2,
					  m->u.data.data, m->u.data.len);
		break;
	case PROTO_EXIT:
		if ((x = exec_find(c, m->hdr.channel)))
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

static int sock_io(struct agent_client *c, uint32_t ev)
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
		bool connecting = c->state == AGENT_CLIENT_CONNECTING;
		int rc = sock_io(c, evs[i].events);
		if (rc) {
			/* A refusal while connecting is the VM still booting. */
			if (connecting && (rc == -ECONNRESET || rc == -EPIPE || rc == -ECONNREFUSED) &&
			    util_now_ns() < c->connect_deadline_ns)
				schedule_retry(c, util_now_ns());
			else
				client_fail(c, rc == -EPIPE ? -EPIPE : rc);
		}
	}
	if (c->state != AGENT_CLIENT_CLOSED)
		sock_watch(c);
	return c->state == AGENT_CLIENT_CLOSED ? c->err : 0;
}

/* ---- deadlines ---- */

uint64_t agent_client_deadline_ns(const struct agent_client *c)
{
	uint64_t d = 0;
#define MIN_D(v)                             \
	do {                                 \
		uint64_t v_ = (v);           \
		if (v_ && (!d || v_ < d))    \
			d = v_;              \
	} while (0)
	if (c->state == AGENT_CLIENT_CLOSED)
		return 0;
	if (c->state != AGENT_CLIENT_READY)
		MIN_D(c->connect_deadline_ns);
	if (c->sock < 0)
		MIN_D(c->retry_at_ns);
	for (const struct client_exec *x = c->execs; x; x = x->next)
		MIN_D(x->deadline_ns);
	for (const struct client_req *r = c->reqs; r; r = r->next)
		MIN_D(r->deadline_ns);
#undef MIN_D
	return d;
}

int agent_client_tick(struct agent_client *c, uint64_t now)
{
	if (c->state == AGENT_CLIENT_CLOSED)
		return c->err;
	if (c->state != AGENT_CLIENT_READY && now >= c->connect_deadline_ns) {
		client_fail(c, -ETIMEDOUT);
		return c->err;
	}
	if (c->sock < 0 && now >= c->retry_at_ns) {
		int rc = try_connect(c);
		if (rc == -EAGAIN)
			c->retry_at_ns = now + RETRY_NS;
		else if (rc)
			client_fail(c, rc);
		if (c->state == AGENT_CLIENT_CLOSED)
			return c->err;
	}
	for (struct client_exec *x = c->execs, *n; x; x = n) {
		n = x->next;
		if (!x->deadline_ns || now < x->deadline_ns)
			continue;
		agent_client_kill(c, x->channel, SIGKILL);
		struct agent_exit ex = { .how = AGENT_EXIT_TIMED_OUT, .code = SIGKILL,
					 .sys_errno = ETIMEDOUT };
		exec_finish(c, x, &ex);
		n = c->execs; /* callbacks may have changed the list */
	}
	/* Requests complete in order: a timed-out head blocks nothing behind
	 * it, but its late reply must not be matched to the next one, so a
	 * request timeout closes the connection. */
	if (c->reqs && c->reqs->deadline_ns && now >= c->reqs->deadline_ns) {
		struct client_req *r = req_pop(c);
		if (r->cb)
			r->cb(r->opaque, c, -ETIMEDOUT, NULL);
		free(r);
		client_fail(c, -ETIMEDOUT);
	}
	if (c->state != AGENT_CLIENT_CLOSED)
		sock_watch(c);
	return c->state == AGENT_CLIENT_CLOSED ? c->err : 0;
}

/* ---- lifecycle ---- */

int agent_client_create(const struct agent_client_config *cfg, struct agent_client **out)
{
	if (!cfg || (cfg->addr.kind != AGENT_ADDR_UNIX && cfg->addr.kind != AGENT_ADDR_HYBRID_VSOCK) ||
	    !cfg->addr.path[0] || strnlen(cfg->addr.path, sizeof(cfg->addr.path)) >= sizeof(cfg->addr.path))
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
		client_fail(c, -ECONNRESET);
		c->cfg.ops = ops;
	}
	sock_close(c);
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
	rc = try_connect(c);
	if (rc == -EAGAIN) {
		c->retry_at_ns = now + RETRY_NS;
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
	sock_close(c);
	while (c->execs) {
		struct client_exec *x = c->execs;
		c->execs = x->next;
		free(x);
	}
	struct client_req *r;
	while ((r = req_pop(c)))
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

/* ---- requests ---- */

static int send_msg(struct agent_client *c, const struct proto_msg *m)
{
	if (c->state == AGENT_CLIENT_CLOSED)
		return -EPIPE;
	int rc = proto_writer_put(&c->wr, m);
	if (!rc)
		sock_watch(c);
	return rc;
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
	while (ch == 0 || exec_find(c, ch))
		ch++;
	c->next_channel = ch + 1;
	struct proto_msg m = { .hdr = { .type = PROTO_EXEC, .channel = ch } };
	struct proto_exec *e = &m.u.exec;
	const char *shv[2] = { req->shell, NULL };
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
	int rc = send_msg(c, &m);
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

int agent_client_write_stdin(struct agent_client *c, uint32_t channel, const void *data,
			     size_t len)
{
	struct client_exec *x = exec_find(c, channel);
	if (!x)
		return -ENOENT;
	if (x->stdin_closed)
		return -EPIPE;
	const uint8_t *p = data;
	while (len) {
		size_t n = len > PROTO_MAX_DATA ? PROTO_MAX_DATA : len;
		struct proto_msg m = { .hdr = { .type = PROTO_STDIN, .channel = channel } };
		m.u.data.data = p;
		m.u.data.len = (uint32_t)n;
		int rc = send_msg(c, &m);
		if (rc)
			return rc;
		p += n;
		len -= n;
	}
	return 0;
}

int agent_client_close_stdin(struct agent_client *c, uint32_t channel)
{
	struct client_exec *x = exec_find(c, channel);
	if (!x)
		return -ENOENT;
	if (x->stdin_closed)
		return 0;
	x->stdin_closed = true;
	struct proto_msg m = { .hdr = { .type = PROTO_STDIN_EOF, .channel = channel } };
	return send_msg(c, &m);
}

int agent_client_kill(struct agent_client *c, uint32_t channel, int sig)
{
	struct client_exec *x = exec_find(c, channel);
	if (!x)
		return -ENOENT;
	if (sig < 0 || sig > 64)
		return -EINVAL;
	x->killed = true;
	struct proto_msg m = { .hdr = { .type = PROTO_KILL, .channel = channel } };
	m.u.kill.signal = (uint32_t)sig;
	return send_msg(c, &m);
}

static int request(struct agent_client *c, const struct proto_msg *m, agent_reply_fn cb,
		   void *opaque)
{
	struct client_req *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	int rc = send_msg(c, m);
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
	struct proto_msg m = { .hdr = { .type = PROTO_PING } };
	m.u.ping.cookie = util_now_ns();
	return request(c, &m, cb, opaque);
}

int agent_client_set_time(struct agent_client *c, uint64_t wall_ns, agent_reply_fn cb,
			  void *opaque)
{
	struct proto_msg m = { .hdr = { .type = PROTO_SET_TIME } };
	m.u.set_time.wall_ns = wall_ns;
	return request(c, &m, cb, opaque);
}

int agent_client_reseed(struct agent_client *c, const void *entropy, size_t len,
			agent_reply_fn cb, void *opaque)
{
	if (!len || len > PROTO_MAX_RESEED)
		return -EINVAL;
	struct proto_msg m = { .hdr = { .type = PROTO_RESEED } };
	m.u.data.data = entropy;
	m.u.data.len = (uint32_t)len;
	return request(c, &m, cb, opaque);
}

int agent_client_set_hostname(struct agent_client *c, const char *name, agent_reply_fn cb,
			      void *opaque)
{
	if (!name || !*name || strlen(name) > PROTO_MAX_HOSTNAME)
		return -EINVAL;
	struct proto_msg m = { .hdr = { .type = PROTO_SET_HOSTNAME } };
	m.u.name = proto_cstr(name);
	return request(c, &m, cb, opaque);
}

int agent_client_mount(struct agent_client *c, const char *fstype, const char *source,
		       const char *target, bool readonly, const char *options, agent_reply_fn cb,
		       void *opaque)
{
	struct proto_msg m = { .hdr = { .type = PROTO_MOUNT } };
	m.u.mount.flags = PROTO_MOUNT_MKDIR | (readonly ? PROTO_MOUNT_RDONLY : 0);
	m.u.mount.fstype = proto_cstr(fstype ? fstype : "virtiofs");
	m.u.mount.source = proto_cstr(source);
	m.u.mount.target = proto_cstr(target);
	m.u.mount.options = proto_cstr(options);
	return request(c, &m, cb, opaque);
}

int agent_client_quiesce(struct agent_client *c, agent_reply_fn cb, void *opaque)
{
	struct proto_msg m = { .hdr = { .type = PROTO_QUIESCE } };
	return request(c, &m, cb, opaque);
}

int agent_client_resumed(struct agent_client *c, agent_reply_fn cb, void *opaque)
{
	struct proto_msg m = { .hdr = { .type = PROTO_RESUMED } };
	return request(c, &m, cb, opaque);
}

int agent_client_shutdown(struct agent_client *c, uint32_t mode, agent_reply_fn cb,
			  void *opaque)
{
	struct proto_msg m = { .hdr = { .type = PROTO_SHUTDOWN } };
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
	struct pollfd pfd = { .fd = c->epfd, .events = POLLIN };
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
	struct sync_wait w = { false, 0 };
	return sync_finish(c, &w, agent_client_ping(c, sync_cb, &w));
}

int agent_client_sync_shutdown(struct agent_client *c, uint32_t mode)
{
	struct sync_wait w = { false, 0 };
	return sync_finish(c, &w, agent_client_shutdown(c, mode, sync_cb, &w));
}
