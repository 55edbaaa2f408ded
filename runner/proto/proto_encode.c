/* proto_encode: the frame encoder. Sizes are computed first with 64-bit
 * arithmetic, and every encoded frame is checked with the decoder before it
 * is handed out. */
#include "proto.h"

#include <errno.h>
#include <string.h>

#include "proto_le.h"
#include "strbuf.h"

/* A write cursor. With p == NULL it only counts (sizing pass). */
struct wcur {
	uint8_t *p;
	size_t n;
};

static void w32(struct wcur *w, uint32_t v)
{
	if (w->p)
		proto_put32(w->p + w->n, v);
	w->n += 4;
}

static void w16(struct wcur *w, uint16_t v)
{
	if (w->p)
		proto_put16(w->p + w->n, v);
	w->n += 2;
}

static void w64(struct wcur *w, uint64_t v)
{
	if (w->p)
		proto_put64(w->p + w->n, v);
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
		w32(w, m->u.exit.leaked);
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
	struct wcur w = {NULL, 0};
	if (!proto_type_name(msg->hdr.type))
		return -EINVAL;
	if (msg->hdr.type == PROTO_EXEC) {
		/* Items must be free of NUL by construction (C strings); a raw
		 * list must be one that decoded. */
		const struct proto_strlist *lists[2] = {&msg->u.exec.argv, &msg->u.exec.env};
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
	struct wcur w = {buf + PROTO_HDR_SIZE, 0};
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
	if (!sb->buf)
		return -ENOMEM; /* not reached: total >= PROTO_HDR_SIZE was appended */
	size_t len;
	rc = proto_encode(msg, (uint8_t *)sb->buf + old, total, &len);
	if (rc) {
		sb->len = old;
		sb->buf[old] = '\0';
	}
	return rc;
}
