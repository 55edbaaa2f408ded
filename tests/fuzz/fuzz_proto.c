/* Fuzz target for the agent protocol decoder (runner/proto).
 *
 * Input: a byte stream as a peer would send it. Checks that proto_decode()
 * never reads out of bounds, that every frame it accepts re-encodes to the
 * same bytes, and that the incremental reader agrees with the one-shot
 * decoder whatever the chunking. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "proto_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t again[PROTO_MAX_FRAME];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* One-shot decoding of consecutive frames. */
	size_t off = 0, frames = 0;
	while (off < size) {
		struct proto_msg m;
		size_t used = 0;
		int rc = proto_decode(data + off, size - off, &m, &used);
		if (rc == -EAGAIN || rc == -EMSGSIZE)
			break;
		if (used < PROTO_HDR_SIZE || used > size - off)
			abort();
		if (rc == 0 && m.hdr.type == PROTO_EXEC) {
			/* The lists were validated: walking them yields exactly
			 * count entries, none with a NUL. */
			const struct proto_strlist *lists[2] = {&m.u.exec.argv, &m.u.exec.env};
			for (int l = 0; l < 2; l++) {
				struct proto_strlist_iter it;
				struct proto_str str;
				uint32_t n = 0;
				proto_strlist_iter_init(lists[l], &it);
				while (proto_strlist_next(&it, &str)) {
					if (memchr(str.ptr, 0, str.len))
						abort();
					n++;
				}
				if (n != lists[l]->count)
					abort();
			}
		}
		if (rc == 0) {
			size_t len = 0;
			if (proto_encode(&m, again, sizeof(again), &len) != 0 || len != used ||
			    memcmp(again, data + off, used) != 0) {
				/* Only the header's flags may differ (ignored, re-encoded
				 * as given): everything else must round-trip. */
				abort();
			}
		}
		off += used;
		frames++;
	}
	/* The same bytes through the reader in uneven chunks. */
	struct proto_reader r = {0};
	size_t pos = 0, rframes = 0;
	unsigned step = size ? (unsigned)data[0] % 17 + 1 : 1;
	int last = 0;
	while (pos < size && last != -EMSGSIZE) {
		size_t n = size - pos < step ? size - pos : step;
		if (proto_reader_feed(&r, data + pos, n) != 0)
			break;
		pos += n;
		struct proto_msg m;
		while ((last = proto_reader_next(&r, &m)) != -EAGAIN && last != -EMSGSIZE)
			rframes++;
	}
	if (last != -EMSGSIZE && pos == size && rframes != frames)
		abort();
	proto_reader_release(&r);
	return 0;
}
