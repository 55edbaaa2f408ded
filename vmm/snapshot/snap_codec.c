/* snap_codec: little-endian cursors over state blobs (snap_codec.h). */
#include "snapshot/snap_codec.h"

#include "snapshot/snap_format.h"
#include "strbuf.h"

void snap_enc_init(struct snap_enc *e, struct strbuf *out)
{
	*e = (struct snap_enc){.out = out};
}

void snap_enc_bytes(struct snap_enc *e, const void *p, size_t len)
{
	if (!e->err && len)
		e->err = sb_append(e->out, p, len);
}

void snap_enc_u8(struct snap_enc *e, uint8_t v)
{
	snap_enc_bytes(e, &v, 1);
}

void snap_enc_u16(struct snap_enc *e, uint16_t v)
{
	uint8_t b[2];
	snap_put16(b, v);
	snap_enc_bytes(e, b, sizeof(b));
}

void snap_enc_u32(struct snap_enc *e, uint32_t v)
{
	uint8_t b[4];
	snap_put32(b, v);
	snap_enc_bytes(e, b, sizeof(b));
}

void snap_enc_u64(struct snap_enc *e, uint64_t v)
{
	uint8_t b[8];
	snap_put64(b, v);
	snap_enc_bytes(e, b, sizeof(b));
}

int snap_enc_error(const struct snap_enc *e)
{
	return e->err;
}

void snap_dec_init(struct snap_dec *d, const void *p, size_t len)
{
	*d = (struct snap_dec){.p = p, .len = len};
}

const uint8_t *snap_dec_bytes(struct snap_dec *d, size_t len)
{
	if (d->overrun || len > d->len - d->off) {
		d->overrun = true;
		return NULL;
	}
	const uint8_t *p = d->p + d->off;
	d->off += len;
	return p;
}

uint8_t snap_dec_u8(struct snap_dec *d)
{
	const uint8_t *p = snap_dec_bytes(d, 1);
	return p ? *p : 0;
}

uint16_t snap_dec_u16(struct snap_dec *d)
{
	const uint8_t *p = snap_dec_bytes(d, 2);
	return p ? snap_get16(p) : 0;
}

uint32_t snap_dec_u32(struct snap_dec *d)
{
	const uint8_t *p = snap_dec_bytes(d, 4);
	return p ? snap_get32(p) : 0;
}

uint64_t snap_dec_u64(struct snap_dec *d)
{
	const uint8_t *p = snap_dec_bytes(d, 8);
	return p ? snap_get64(p) : 0;
}

size_t snap_dec_left(const struct snap_dec *d)
{
	return d->overrun ? 0 : d->len - d->off;
}

bool snap_dec_ok(const struct snap_dec *d)
{
	return !d->overrun;
}
