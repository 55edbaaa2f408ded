/* proto: message names, the frame header and string helpers
 * (PROTOCOL.md). The decoder is proto_decode.c, the encoder proto_encode.c. */
#include "proto.h"

#include <errno.h>
#include <string.h>

#include "proto_le.h"

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

void proto_hdr_decode(const uint8_t in[PROTO_HDR_SIZE], struct proto_hdr *out)
{
	out->length = proto_get32(in);
	out->type = proto_get16(in + 4);
	out->flags = proto_get16(in + 6);
	out->channel = proto_get32(in + 8);
}

void proto_hdr_encode(const struct proto_hdr *hdr, uint8_t out[PROTO_HDR_SIZE])
{
	proto_put32(out, hdr->length);
	proto_put16(out + 4, hdr->type);
	proto_put16(out + 6, hdr->flags);
	proto_put32(out + 8, hdr->channel);
}

struct proto_str proto_cstr(const char *s)
{
	struct proto_str v = {"", 0};
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
