/* proto_decode: the pure frame decoder (PROTOCOL.md, "Frames" and
 * "Messages"). Every length is checked against what is left of the payload
 * before it is used; nothing is allocated. */
#include "proto.h"

#include <errno.h>
#include <string.h>

#include "proto_le.h"

/* A read cursor over one payload. The first failure sticks: later reads
 * return zeros, and the message names the first field that failed. */
struct cur {
	const uint8_t *p, *end;
	const char *err;
};

static bool need(struct cur *c, size_t n, const char *field)
{
	if (c->err)
		return false;
	if ((size_t)(c->end - c->p) < n) {
		c->err = field;
		return false;
	}
	return true;
}

static uint32_t rd32(struct cur *c, const char *field)
{
	if (!need(c, 4, field))
		return 0;
	uint32_t v = proto_get32(c->p);
	c->p += 4;
	return v;
}

static uint16_t rd16(struct cur *c, const char *field)
{
	if (!need(c, 2, field))
		return 0;
	uint16_t v = proto_get16(c->p);
	c->p += 2;
	return v;
}

static uint64_t rd64(struct cur *c, const char *field)
{
	if (!need(c, 8, field))
		return 0;
	uint64_t v = proto_get64(c->p);
	c->p += 8;
	return v;
}

/* A string: u32 length, then that many bytes, none of them NUL. */
static struct proto_str rdstr(struct cur *c, const char *field_short, const char *field_nul)
{
	struct proto_str s = {"", 0};
	uint32_t n = rd32(c, field_short);
	if (!need(c, n, field_short))
		return s;
	if (memchr(c->p, 0, n)) {
		c->err = field_nul;
		return s;
	}
	s.ptr = (const char *)c->p;
	s.len = n;
	c->p += n;
	return s;
}

/* A string list: u32 count, then count strings. Validated completely here
 * so that proto_strlist_next() cannot fail. */
static struct proto_strlist rdlist(struct cur *c, const char *f_count, const char *f_item,
				   const char *f_nul)
{
	struct proto_strlist l = {0, NULL, NULL, 0};
	uint32_t n = rd32(c, f_count);
	if (c->err)
		return l;
	/* Each entry takes at least 4 bytes: a count beyond that cannot be
	 * honest, and refusing it early keeps the walk short. */
	if (n > (size_t)(c->end - c->p) / 4) {
		c->err = f_count;
		return l;
	}
	const uint8_t *start = c->p;
	for (uint32_t i = 0; i < n && !c->err; i++)
		rdstr(c, f_item, f_nul);
	if (c->err)
		return l;
	l.count = n;
	l.raw = start;
	l.raw_len = (uint32_t)(c->p - start);
	return l;
}

void proto_strlist_iter_init(const struct proto_strlist *l, struct proto_strlist_iter *it)
{
	it->p = l->raw;
	it->end = l->raw ? l->raw + l->raw_len : NULL;
}

bool proto_strlist_next(struct proto_strlist_iter *it, struct proto_str *out)
{
	if (!it->p || it->end - it->p < 4)
		return false;
	uint32_t n = proto_get32(it->p);
	if ((size_t)(it->end - it->p - 4) < n)
		return false; /* cannot happen for a decoded list */
	out->ptr = (const char *)it->p + 4;
	out->len = n;
	it->p += 4 + (size_t)n;
	return true;
}

static bool channel_type(uint16_t type)
{
	switch (type) {
	case PROTO_EXEC:
	case PROTO_STARTED:
	case PROTO_STDIN:
	case PROTO_STDIN_EOF:
	case PROTO_STDOUT:
	case PROTO_STDERR:
	case PROTO_EXIT:
	case PROTO_KILL:
		return true;
	default:
		return false;
	}
}

static void check_env(struct cur *c, const struct proto_strlist *env)
{
	struct proto_strlist_iter it;
	struct proto_str s;
	proto_strlist_iter_init(env, &it);
	while (!c->err && proto_strlist_next(&it, &s)) {
		const char *eq = memchr(s.ptr, '=', s.len);
		if (!eq || eq == s.ptr)
			c->err = "EXEC env: an entry is not KEY=VALUE with a non-empty KEY";
	}
}

static void decode_exec(struct cur *c, struct proto_exec *e)
{
	e->flags = rd32(c, "EXEC flags: payload too short");
	e->stdin_mode = rd32(c, "EXEC stdin_mode: payload too short");
	e->uid = rd32(c, "EXEC uid: payload too short");
	e->gid = rd32(c, "EXEC gid: payload too short");
	e->timeout_ns = rd64(c, "EXEC timeout_ns: payload too short");
	e->cwd = rdstr(c, "EXEC cwd: length runs past the payload", "EXEC cwd: contains NUL");
	e->argv = rdlist(c, "EXEC argv count: larger than the payload",
			 "EXEC argv entry: length runs past the payload",
			 "EXEC argv entry: contains NUL");
	e->env =
	    rdlist(c, "EXEC env count: larger than the payload",
		   "EXEC env entry: length runs past the payload", "EXEC env entry: contains NUL");
	if (c->err)
		return;
	if (e->flags & ~PROTO_EXEC_FLAGS_ALL)
		c->err = "EXEC flags: unknown bits set";
	else if (e->stdin_mode > PROTO_STDIN_PIPE)
		c->err = "EXEC stdin_mode: not 0 (null) or 1 (pipe)";
	else if (e->argv.count == 0)
		c->err = "EXEC argv: empty";
	else if ((e->flags & PROTO_EXEC_SHELL) && e->argv.count != 1)
		c->err = "EXEC argv: SHELL needs exactly one command string";
	else if (proto_get32(e->argv.raw) == 0)
		c->err = "EXEC argv[0]: empty";
	else if (e->cwd.len && e->cwd.ptr[0] != '/')
		c->err = "EXEC cwd: not an absolute path";
	else
		check_env(c, &e->env);
}

static void decode_exit(struct cur *c, struct proto_exit *x)
{
	const char *f = "EXIT: payload shorter than 80 bytes";
	x->flags = rd32(c, f);
	x->status = (int32_t)rd32(c, f);
	x->spawn_errno = (int32_t)rd32(c, f);
	x->leaked = rd32(c, f);
	x->wall_ns = rd64(c, f);
	x->utime_us = rd64(c, f);
	x->stime_us = rd64(c, f);
	x->maxrss_kib = rd64(c, f);
	x->minflt = rd64(c, f);
	x->majflt = rd64(c, f);
	x->nvcsw = rd64(c, f);
	x->nivcsw = rd64(c, f);
	if (c->err)
		return;
	uint32_t kind =
	    x->flags & (PROTO_EXIT_EXITED | PROTO_EXIT_SIGNALED | PROTO_EXIT_SPAWN_FAILED);
	if (x->flags & ~PROTO_EXIT_FLAGS_ALL)
		c->err = "EXIT flags: unknown bits set";
	else if ((x->flags & PROTO_EXIT_OOM) && kind == PROTO_EXIT_SPAWN_FAILED)
		c->err = "EXIT flags: OOM with SPAWN_FAILED (nothing ran)";
	else if (!(x->flags & PROTO_EXIT_LEAKED) != !x->leaked)
		c->err = "EXIT leaked: must be non-zero exactly when LEAKED is set";
	else if (kind != PROTO_EXIT_EXITED && kind != PROTO_EXIT_SIGNALED &&
		 kind != PROTO_EXIT_SPAWN_FAILED)
		c->err = "EXIT flags: not exactly one of EXITED, SIGNALED, SPAWN_FAILED";
	else if ((kind == PROTO_EXIT_EXITED && (x->status < 0 || x->status > 255)) ||
		 (kind == PROTO_EXIT_SIGNALED && (x->status < 1 || x->status > 64)))
		c->err = "EXIT status: out of range for its kind";
}

static void decode_mount(struct cur *c, struct proto_mount *m)
{
	m->flags = rd32(c, "MOUNT flags: payload too short");
	m->fstype =
	    rdstr(c, "MOUNT fstype: length runs past the payload", "MOUNT fstype: contains NUL");
	m->source =
	    rdstr(c, "MOUNT source: length runs past the payload", "MOUNT source: contains NUL");
	m->target =
	    rdstr(c, "MOUNT target: length runs past the payload", "MOUNT target: contains NUL");
	m->options =
	    rdstr(c, "MOUNT options: length runs past the payload", "MOUNT options: contains NUL");
	if (c->err)
		return;
	if (m->flags & ~(uint32_t)(PROTO_MOUNT_RDONLY | PROTO_MOUNT_MKDIR))
		c->err = "MOUNT flags: unknown bits set";
	else if (!m->fstype.len || !m->source.len)
		c->err = "MOUNT fstype/source: empty";
	else if (!m->target.len || m->target.ptr[0] != '/')
		c->err = "MOUNT target: not an absolute path";
}

/* Decodes the payload of a known type. Returns the field error or NULL. */
static const char *decode_payload(struct proto_msg *m, const uint8_t *p, uint32_t len)
{
	struct cur c = {p, p + len, NULL};
	switch (m->hdr.type) {
	case PROTO_HELLO:
		m->u.hello.version_min = rd16(&c, "HELLO version_min: payload too short");
		m->u.hello.version_max = rd16(&c, "HELLO version_max: payload too short");
		if (rd32(&c, "HELLO reserved: payload too short") != 0 && !c.err)
			c.err = "HELLO reserved: must be 0";
		m->u.hello.caps = rd64(&c, "HELLO caps: payload too short");
		m->u.hello.software = rdstr(&c, "HELLO software: length runs past the payload",
					    "HELLO software: contains NUL");
		if (!c.err && m->u.hello.version_min > m->u.hello.version_max)
			c.err = "HELLO: version_min > version_max";
		break;
	case PROTO_ERROR:
		m->u.error.code = rd32(&c, "ERROR code: payload too short");
		m->u.error.ref_type = rd32(&c, "ERROR ref_type: payload too short");
		m->u.error.sys_errno = (int32_t)rd32(&c, "ERROR sys_errno: payload too short");
		m->u.error.message = rdstr(&c, "ERROR message: length runs past the payload",
					   "ERROR message: contains NUL");
		if (!c.err && (m->u.error.sys_errno < 0 || m->u.error.sys_errno > 4095))
			c.err = "ERROR sys_errno: not an errno value";
		break;
	case PROTO_OK:
	case PROTO_STDIN_EOF:
	case PROTO_QUIESCE:
	case PROTO_RESUMED:
		break;
	case PROTO_PING:
	case PROTO_PONG:
		m->u.ping.cookie = rd64(&c, "PING/PONG cookie: payload too short");
		break;
	case PROTO_EXEC:
		decode_exec(&c, &m->u.exec);
		break;
	case PROTO_STARTED:
		m->u.started.pid = rd32(&c, "STARTED pid: payload too short");
		break;
	case PROTO_STDIN:
	case PROTO_STDOUT:
	case PROTO_STDERR:
		m->u.data.data = p;
		m->u.data.len = len;
		c.p = c.end;
		break;
	case PROTO_EXIT:
		decode_exit(&c, &m->u.exit);
		break;
	case PROTO_KILL:
		m->u.kill.signal = rd32(&c, "KILL signal: payload too short");
		if (!c.err && m->u.kill.signal > 64)
			c.err = "KILL signal: above 64";
		break;
	case PROTO_MOUNT:
		decode_mount(&c, &m->u.mount);
		break;
	case PROTO_SET_TIME:
		m->u.set_time.wall_ns = rd64(&c, "SET_TIME wall_ns: payload too short");
		break;
	case PROTO_RESEED:
		m->u.data.data = p;
		m->u.data.len = len;
		c.p = c.end;
		if (len == 0 || len > PROTO_MAX_RESEED)
			c.err = "RESEED: entropy must be 1..4096 bytes";
		break;
	case PROTO_SET_HOSTNAME:
		m->u.name = rdstr(&c, "SET_HOSTNAME name: length runs past the payload",
				  "SET_HOSTNAME name: contains NUL");
		if (!c.err && (m->u.name.len == 0 || m->u.name.len > PROTO_MAX_HOSTNAME))
			c.err = "SET_HOSTNAME name: must be 1..64 bytes";
		break;
	case PROTO_SHUTDOWN:
		m->u.shutdown.mode = rd32(&c, "SHUTDOWN mode: payload too short");
		if (!c.err && m->u.shutdown.mode > PROTO_SHUTDOWN_REBOOT)
			c.err = "SHUTDOWN mode: not 0 (poweroff) or 1 (reboot)";
		break;
	default:
		return "unknown type"; /* not reached: checked by the caller */
	}
	if (!c.err && c.p != c.end)
		c.err = "payload: trailing bytes after the last field";
	return c.err;
}

int proto_decode(const uint8_t *buf, size_t len, struct proto_msg *out, size_t *consumed)
{
	memset(out, 0, sizeof(*out));
	*consumed = 0;
	if (len < PROTO_HDR_SIZE)
		return -EAGAIN;
	proto_hdr_decode(buf, &out->hdr);
	if (out->hdr.length > PROTO_MAX_PAYLOAD) {
		out->error = "frame length: over the 1 MiB limit";
		return -EMSGSIZE;
	}
	size_t total = PROTO_HDR_SIZE + (size_t)out->hdr.length;
	if (len < total)
		return -EAGAIN;
	*consumed = total;
	if (!proto_type_name(out->hdr.type)) {
		out->error = "type: unknown";
		return -ENOMSG;
	}
	/* Channel 0 is the control channel; other types may carry any channel
	 * (a request id the reply echoes). */
	if (channel_type(out->hdr.type) && out->hdr.channel == 0) {
		out->error = "channel: 0 is not an EXEC channel";
		return -EBADMSG;
	}
	out->error = decode_payload(out, buf + PROTO_HDR_SIZE, out->hdr.length);
	return out->error ? -EBADMSG : 0;
}
