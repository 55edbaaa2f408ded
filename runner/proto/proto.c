/* proto: the pure frame decoder and the encoder (PROTOCOL.md). */
#include "proto.h"

#include <errno.h>
#include <string.h>

#include "strbuf.h"

static const char *const type_names[] = {
	[PROTO_HELLO] = "HELLO",
	[PROTO_ERROR] = "ERROR",
	[PROTO_OK] = "OK",
	[PROTO_PING] = "PING",
	[PROTO_PONG] = "PONG",
	[PROTO_EXEC] = "EXEC",
	[PROTO_STARTED] = "STARTED",
	[PROTO_STDIN] = "STDIN",
	[PROTO_STDIN_EOF] = "STDIN_EOF",
	[PROTO_STDOUT] = "STDOUT",
	[PROTO_STDERR] = "STDERR",
	[PROTO_EXIT] = "EXIT",
	[PROTO_KILL] = "KILL",
	[PROTO_MOUNT] = "MOUNT",
	[PROTO_SET_TIME] = "SET_TIME",
	[PROTO_RESEED] = "RESEED",
	[PROTO_SET_HOSTNAME] = "SET_HOSTNAME",
	[PROTO_QUIESCE] = "QUIESCE",
	[PROTO_RESUMED] = "RESUMED",
	[PROTO_SHUTDOWN] = "SHUTDOWN",
};

const char *proto_type_name(uint16_t type)
{
	if (type >= sizeof(type_names) / sizeof(type_names[0]))
		return NULL;
	return type_names[type];
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

void proto_hdr_decode(const uint8_t in[PROTO_HDR_SIZE], struct proto_hdr *out)
{
	out->length = get32(in);
	out->type = get16(in + 4);
	out->flags = get16(in + 6);
	out->channel = get32(in + 8);
}

void proto_hdr_encode(const struct proto_hdr *hdr, uint8_t out[PROTO_HDR_SIZE])
{
	put32(out, hdr->length);
	put16(out + 4, hdr->type);
	put16(out + 6, hdr->flags);
	put32(out + 8, hdr->channel);
}

/* ---- decoding ---------------------------------------------------------- */

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
	uint32_t v = get32(c->p);
	c->p += 4;
	return v;
}

static uint16_t rd16(struct cur *c, const char *field)
{
	if (!need(c, 2, field))
		return 0;
	uint16_t v = get16(c->p);
	c->p += 2;
	return v;
}

static uint64_t rd64(struct cur *c, const char *field)
{
	if (!need(c, 8, field))
		return 0;
	uint64_t v = get64(c->p);
	c->p += 8;
	return v;
}

/* A string: u32 length, then that many bytes, none of them NUL. */
static struct proto_str rdstr(struct cur *c, const char *field_short, const char *field_nul)
{
	struct proto_str s = { "", 0 };
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
	struct proto_strlist l = { 0, NULL, NULL, 0 };
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
	uint32_t n = get32(it->p);
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
			 "EXEC argv entry: length runs past the payload", "EXEC argv entry: contains NUL");
	e->env = rdlist(c, "EXEC env count: larger than the payload",
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
	else if (get32(e->argv.raw) == 0)
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
	if (rd32(c, f) != 0 && !c->err)
		c->err = "EXIT reserved: must be 0";
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
	uint32_t kind = x->flags & (PROTO_EXIT_EXITED | PROTO_EXIT_SIGNALED | PROTO_EXIT_SPAWN_FAILED);
	if (x->flags & ~0x3fu)
		c->err = "EXIT flags: unknown bits set";
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
	m->fstype = rdstr(c, "MOUNT fstype: length runs past the payload", "MOUNT fstype: contains NUL");
	m->source = rdstr(c, "MOUNT source: length runs past the payload", "MOUNT source: contains NUL");
	m->target = rdstr(c, "MOUNT target: length runs past the payload", "MOUNT target: contains NUL");
	m->options = rdstr(c, "MOUNT options: length runs past the payload",
			   "MOUNT options: contains NUL");
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
	struct cur c = { p, p + len, NULL };
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

/* ---- encoding ---------------------------------------------------------- */

/* A write cursor. With p == NULL it only counts (sizing pass). */
struct wcur {
	uint8_t *p;
	size_t n;
};

static void w32(struct wcur *w, uint32_t v)
{
	if (w->p)
		put32(w->p + w->n, v);
	w->n += 4;
}

static void w16(struct wcur *w, uint16_t v)
{
	if (w->p)
		put16(w->p + w->n, v);
	w->n += 2;
}

static void w64(struct wcur *w, uint64_t v)
{
	if (w->p)
		put64(w->p + w->n, v);
	w->n += 8;
}

static void wbytes(struct wcur *w, const void *data, size_t len)
{
	if (w->p && len)
		memcpy(w->p + w->n, data, len);
	w->n += len;
}

static void wstr(struct wcur *w, struct proto_str s)
{
	w32(w, s.len);
	wbytes(w, s.ptr, s.len);
}

static void wlist(struct wcur *w, const struct proto_strlist *l)
{
	w32(w, l->count);
	if (!l->items) {
		wbytes(w, l->raw, l->raw_len);
		return;
	}
	for (uint32_t i = 0; i < l->count; i++)
		wstr(w, proto_cstr(l->items[i]));
}

/* Encodes the payload (or sizes it when w->p is NULL). Sizes stay below
 * 2^32 because every caller checks the total against PROTO_MAX_FRAME, and
 * each string's length is capped by the sizing pass below. */
static int encode_payload(const struct proto_msg *m, struct wcur *w)
{
	switch (m->hdr.type) {
	case PROTO_HELLO:
		w16(w, m->u.hello.version_min);
		w16(w, m->u.hello.version_max);
		w32(w, 0);
		w64(w, m->u.hello.caps);
		wstr(w, m->u.hello.software);
		break;
	case PROTO_ERROR:
		w32(w, m->u.error.code);
		w32(w, m->u.error.ref_type);
		w32(w, (uint32_t)m->u.error.sys_errno);
		wstr(w, m->u.error.message);
		break;
	case PROTO_OK:
	case PROTO_STDIN_EOF:
	case PROTO_QUIESCE:
	case PROTO_RESUMED:
		break;
	case PROTO_PING:
	case PROTO_PONG:
		w64(w, m->u.ping.cookie);
		break;
	case PROTO_EXEC:
		w32(w, m->u.exec.flags);
		w32(w, m->u.exec.stdin_mode);
		w32(w, m->u.exec.uid);
		w32(w, m->u.exec.gid);
		w64(w, m->u.exec.timeout_ns);
		wstr(w, m->u.exec.cwd);
		wlist(w, &m->u.exec.argv);
		wlist(w, &m->u.exec.env);
		break;
	case PROTO_STARTED:
		w32(w, m->u.started.pid);
		break;
	case PROTO_STDIN:
	case PROTO_STDOUT:
	case PROTO_STDERR:
	case PROTO_RESEED:
		wbytes(w, m->u.data.data, m->u.data.len);
		break;
	case PROTO_EXIT:
		w32(w, m->u.exit.flags);
		w32(w, (uint32_t)m->u.exit.status);
		w32(w, (uint32_t)m->u.exit.spawn_errno);
		w32(w, 0);
		w64(w, m->u.exit.wall_ns);
		w64(w, m->u.exit.utime_us);
		w64(w, m->u.exit.stime_us);
		w64(w, m->u.exit.maxrss_kib);
		w64(w, m->u.exit.minflt);
		w64(w, m->u.exit.majflt);
		w64(w, m->u.exit.nvcsw);
		w64(w, m->u.exit.nivcsw);
		break;
	case PROTO_KILL:
		w32(w, m->u.kill.signal);
		break;
	case PROTO_MOUNT:
		w32(w, m->u.mount.flags);
		wstr(w, m->u.mount.fstype);
		wstr(w, m->u.mount.source);
		wstr(w, m->u.mount.target);
		wstr(w, m->u.mount.options);
		break;
	case PROTO_SET_TIME:
		w64(w, m->u.set_time.wall_ns);
		break;
	case PROTO_SET_HOSTNAME:
		wstr(w, m->u.name);
		break;
	case PROTO_SHUTDOWN:
		w32(w, m->u.shutdown.mode);
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

/* The sizing pass: computes the frame size with wide arithmetic so that
 * absurd string lengths cannot wrap. */
int proto_encoded_size(const struct proto_msg *msg, size_t *out)
{
	struct wcur w = { NULL, 0 };
	if (!proto_type_name(msg->hdr.type))
		return -EINVAL;
	if (msg->hdr.type == PROTO_EXEC) {
		/* Items must be free of NUL by construction (C strings); a raw
		 * list must be one that decoded. */
		const struct proto_strlist *lists[2] = { &msg->u.exec.argv, &msg->u.exec.env };
		for (int i = 0; i < 2; i++)
			if (lists[i]->items)
				for (uint32_t j = 0; j < lists[i]->count; j++)
					if (!lists[i]->items[j])
						return -EINVAL;
	}
	int rc = encode_payload(msg, &w);
	if (rc)
		return rc;
	if (w.n > PROTO_MAX_PAYLOAD)
		return -EMSGSIZE;
	*out = PROTO_HDR_SIZE + w.n;
	return 0;
}

int proto_encode(const struct proto_msg *msg, uint8_t *buf, size_t cap, size_t *out_len)
{
	size_t total;
	int rc = proto_encoded_size(msg, &total);
	if (rc)
		return rc;
	if (cap < total)
		return -ENOBUFS;
	struct proto_hdr h = msg->hdr;
	h.length = (uint32_t)(total - PROTO_HDR_SIZE);
	proto_hdr_encode(&h, buf);
	struct wcur w = { buf + PROTO_HDR_SIZE, 0 };
	encode_payload(msg, &w);
	/* Never send what a peer would refuse: the frame must decode. */
	struct proto_msg check;
	size_t used;
	if (proto_decode(buf, total, &check, &used) != 0)
		return -EINVAL;
	*out_len = total;
	return 0;
}

int proto_encode_sb(const struct proto_msg *msg, struct strbuf *sb)
{
	size_t total, old = sb->len;
	int rc = proto_encoded_size(msg, &total);
	if (rc)
		return rc;
	/* Grow by appending zeros, then encode in place. */
	static const uint8_t zeros[4096];
	for (size_t left = total; left;) {
		size_t n = left < sizeof(zeros) ? left : sizeof(zeros);
		rc = sb_append(sb, zeros, n);
		if (rc) {
			sb->len = old;
			if (sb->buf)
				sb->buf[old] = '\0';
			return rc;
		}
		left -= n;
	}
	size_t len;
	rc = proto_encode(msg, (uint8_t *)sb->buf + old, total, &len);
	if (rc) {
		sb->len = old;
		sb->buf[old] = '\0';
	}
	return rc;
}

struct proto_str proto_cstr(const char *s)
{
	struct proto_str v = { "", 0 };
	if (s) {
		size_t n = strlen(s);
		v.ptr = s;
		v.len = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
	}
	return v;
}

int proto_str_copy(struct proto_str s, char *dst, size_t cap)
{
	if (cap == 0)
		return -ENAMETOOLONG;
	if (s.len >= cap) {
		dst[0] = '\0';
		return -ENAMETOOLONG;
	}
	if (s.len)
		memcpy(dst, s.ptr, s.len);
	dst[s.len] = '\0';
	return 0;
}

bool proto_str_eq(struct proto_str s, const char *cstr)
{
	size_t n = strlen(cstr);
	return n == s.len && (n == 0 || memcmp(s.ptr, cstr, n) == 0);
}
