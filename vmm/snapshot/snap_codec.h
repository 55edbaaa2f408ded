/* snap_codec: the little-endian encoder and decoder for state blobs.
 *
 * Everything that goes into a snapshot is written field by field with the
 * snap_put and snap_get helpers (snap_format.h), never as a host struct, so a
 * snapshot does not depend on compiler layout or padding. These two cursors
 * wrap those helpers for blobs built a field at a time (device state, the
 * virtio-fs node table):
 *
 * - snap_enc appends to a strbuf and keeps its first error (SQLite's
 *   sqlite3_str model): encode freely, check snap_enc_error() once.
 * - snap_dec reads a borrowed buffer; a read past its end returns zeros and
 *   sticks, so a decoder reads a whole record and checks snap_dec_ok()
 *   once before it trusts any field. Snapshot files are hostile input:
 *   callers still range-check every value they get. */
#ifndef SMOL_SNAP_CODEC_H
#define SMOL_SNAP_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strbuf;

struct snap_enc {
	struct strbuf *out; /* borrowed */
	int err;	    /* first -errno from out, or 0 */
};

/* Starts encoding at the end of out (borrowed; must outlive e). */
void snap_enc_init(struct snap_enc *e, struct strbuf *out);
void snap_enc_u8(struct snap_enc *e, uint8_t v);
void snap_enc_u16(struct snap_enc *e, uint16_t v);
void snap_enc_u32(struct snap_enc *e, uint32_t v);
void snap_enc_u64(struct snap_enc *e, uint64_t v);
void snap_enc_bytes(struct snap_enc *e, const void *p, size_t len);
/* 0, or the first -errno (-ENOMEM) any of the calls above met. */
int snap_enc_error(const struct snap_enc *e);

struct snap_dec {
	const uint8_t *p; /* borrowed */
	size_t len, off;
	bool overrun; /* a read went past the end */
};

/* Starts decoding len bytes at p (borrowed; must outlive d). */
void snap_dec_init(struct snap_dec *d, const void *p, size_t len);
uint8_t snap_dec_u8(struct snap_dec *d);
uint16_t snap_dec_u16(struct snap_dec *d);
uint32_t snap_dec_u32(struct snap_dec *d);
uint64_t snap_dec_u64(struct snap_dec *d);
/* The next len bytes, or NULL (and overrun) when fewer are left. */
const uint8_t *snap_dec_bytes(struct snap_dec *d, size_t len);
/* Bytes not read yet. */
size_t snap_dec_left(const struct snap_dec *d);
/* True when no read has gone past the end. */
bool snap_dec_ok(const struct snap_dec *d);

#endif
