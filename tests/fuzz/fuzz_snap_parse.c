/* Fuzzes the .smolsnap parsers with whole files: the header and section
 * table (every offset, length, count and checksum comes from the input),
 * and the same bytes as config, vcpu, vm and device section payloads (a
 * device blob through restore's check pass: the transport's framing, then
 * the blk and vsock device parts). */
#include "devices/virtio/blk.h"
#include "devices/virtio/mmio_state.h"
#include "devices/virtio/vsock.h"
#include "snapshot/snap_config.h"
#include "snapshot/snap_format.h"
#include "snapshot/snap_state.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snap_header h;
	struct snap_section *secs = NULL;
	struct vmm_err err;
	if (snap_parse_buffer(data, size, &h, &secs, &err) == 0) {
		/* A parsed table must describe sections inside the buffer. */
		for (uint32_t i = 0; i < h.section_count; i++)
			if (secs[i].offset + secs[i].length > size)
				abort();
		free(secs);
	}
	/* The table parser also runs on its own against a synthetic header, so
	 * the fuzzer reaches it without having to forge header checksums. */
	if (size >= 8) {
		struct snap_header fake = {
		    .section_count = (uint32_t)(size / SNAP_ENTRY_SIZE),
		    .table_offset = SNAP_HEADER_SIZE,
		    .file_size = SNAP_HEADER_SIZE + size + 65536,
		    .table_sum = snap_hash(data, size - size % SNAP_ENTRY_SIZE),
		};
		if (fake.section_count > 0 && fake.section_count <= SNAP_MAX_SECTIONS) {
			struct snap_section *s = calloc(fake.section_count, sizeof(*s));
			if (s) {
				snap_table_parse(&fake, data, size - size % SNAP_ENTRY_SIZE, s,
						 &err);
				free(s);
			}
		}
	}
	/* Section payload decoders. */
	struct snap_config cfg;
	if (snap_config_decode(data, size, UINT64_MAX / 2, &cfg, &err) == 0)
		snap_config_release(&cfg);
	struct vcpu_state *vs = malloc(sizeof(*vs));
	if (vs) {
		snap_vcpu_decode(data, size, vs, &err);
		free(vs);
	}
	struct vm_state vm;
	snap_vm_decode(data, size, &vm, &err);
	struct vmmio_state *ms = malloc(sizeof(*ms));
	const char *why;
	/* smolvm snapshot info's way: the count from the header itself. */
	unsigned peeked = 0;
	if (vmmio_state_peek_queues(data, size, &peeked, &why) == 0 && peeked > VIRTIO_MAX_QUEUES)
		abort();
	for (unsigned nq = 1; ms && nq <= 3; nq++) {
		if (vmmio_state_decode(data, size, nq, ms, &why))
			continue;
		/* The device part must lie inside the blob. */
		if (ms->dev_len &&
		    (ms->dev_blob < data || ms->dev_blob + ms->dev_len > data + size))
			abort();
		vblk_state_check(ms->dev_blob, ms->dev_len, 2048, false, &err);
		vsock_state_check(ms->dev_blob, ms->dev_len, &err);
	}
	free(ms);
	return 0;
}
