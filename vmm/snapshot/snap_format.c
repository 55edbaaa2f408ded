/* The .smolsnap header and section-table codec. Everything here is pure:
 * buffers in, validated structs out. This is where offsets from a file
 * become trusted, so every arithmetic step is checked for overflow. */
#include "snap_format.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

uint16_t snap_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

uint32_t snap_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

uint64_t snap_get64(const uint8_t *p)
{
	return (uint64_t)snap_get32(p) | ((uint64_t)snap_get32(p + 4) << 32);
}

void snap_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

void snap_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void snap_put64(uint8_t *p, uint64_t v)
{
	snap_put32(p, (uint32_t)v);
	snap_put32(p + 4, (uint32_t)(v >> 32));
}

uint64_t snap_hash(const void *buf, size_t len)
{
	return XXH3_64bits(buf, len);
}

bool snap_name_valid(const char *name)
{
	size_t n = strnlen(name, SNAP_NAME_MAX + 1);
	if (n == 0 || n > SNAP_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

static void fp_encode(const struct snap_fingerprint *fp, uint8_t *p)
{
	memcpy(p + SNAP_FP_VENDOR, fp->vendor, SNAP_CPUID_VENDOR_LEN);
	snap_put32(p + SNAP_FP_SIGNATURE, fp->signature);
	snap_put32(p + SNAP_FP_FAMILY, fp->family);
	snap_put32(p + SNAP_FP_MODEL, fp->model);
	snap_put32(p + SNAP_FP_STEPPING, fp->stepping);
	snap_put32(p + SNAP_FP_TSC_KHZ, fp->tsc_khz);
	snap_put32(p + SNAP_FP_KVM_API, fp->kvm_api);
	snap_put32(p + SNAP_FP_CPUID_NENT, fp->cpuid_nent);
	snap_put64(p + SNAP_FP_CPUID_HASH, fp->cpuid_hash);
}

static void fp_decode(const uint8_t *p, struct snap_fingerprint *fp)
{
	memset(fp, 0, sizeof(*fp));
	memcpy(fp->vendor, p + SNAP_FP_VENDOR, SNAP_CPUID_VENDOR_LEN);
	/* The vendor comes from a file: keep only printable bytes so messages
	 * that quote it stay one clean line. */
	for (int i = 0; i < SNAP_CPUID_VENDOR_LEN; i++)
		if (fp->vendor[i] < 0x20 || fp->vendor[i] > 0x7e)
			fp->vendor[i] = '?';
	fp->signature = snap_get32(p + SNAP_FP_SIGNATURE);
	fp->family = snap_get32(p + SNAP_FP_FAMILY);
	fp->model = snap_get32(p + SNAP_FP_MODEL);
	fp->stepping = snap_get32(p + SNAP_FP_STEPPING);
	fp->tsc_khz = snap_get32(p + SNAP_FP_TSC_KHZ);
	fp->kvm_api = snap_get32(p + SNAP_FP_KVM_API);
	fp->cpuid_nent = snap_get32(p + SNAP_FP_CPUID_NENT);
	fp->cpuid_hash = snap_get64(p + SNAP_FP_CPUID_HASH);
}

void snap_header_encode(const struct snap_header *h, uint8_t *out)
{
	memset(out, 0, SNAP_HEADER_SIZE);
	memcpy(out + SNAP_OFF_MAGIC, SNAP_MAGIC, SNAP_MAGIC_LEN);
	snap_put16(out + SNAP_OFF_MAJOR, h->major);
	snap_put16(out + SNAP_OFF_MINOR, h->minor);
	snap_put32(out + SNAP_OFF_FLAGS, h->flags);
	snap_put32(out + SNAP_OFF_HEADER_SIZE, SNAP_HEADER_SIZE);
	snap_put32(out + SNAP_OFF_COUNT, h->section_count);
	snap_put64(out + SNAP_OFF_TABLE, h->table_offset);
	snap_put64(out + SNAP_OFF_FILE_SIZE, h->file_size);
	snap_put64(out + SNAP_OFF_TABLE_SUM, h->table_sum);
	fp_encode(&h->fp, out + SNAP_OFF_FP);
	snap_put64(out + SNAP_OFF_HEADER_SUM, snap_hash(out, SNAP_OFF_HEADER_SUM));
}

void snap_entry_encode(const struct snap_section *s, uint8_t *out)
{
	memset(out, 0, SNAP_ENTRY_SIZE);
	memcpy(out + SNAP_ENT_NAME, s->name, strnlen(s->name, SNAP_NAME_MAX));
	snap_put32(out + SNAP_ENT_TYPE, s->type);
	snap_put32(out + SNAP_ENT_VERSION, s->version);
	snap_put64(out + SNAP_ENT_OFFSET, s->offset);
	snap_put64(out + SNAP_ENT_LENGTH, s->length);
	snap_put64(out + SNAP_ENT_SUM, s->checksum);
}

int snap_header_parse(const uint8_t *buf, size_t len, uint64_t actual_size, struct snap_header *out,
		      struct vmm_err *err)
{
	if (len < SNAP_HEADER_SIZE || actual_size < SNAP_HEADER_SIZE)
		return vmm_errf(err, -EINVAL,
				"truncated: %" PRIu64 " bytes is smaller than the %u-byte header",
				actual_size < len ? actual_size : (uint64_t)len, SNAP_HEADER_SIZE);
	if (memcmp(buf + SNAP_OFF_MAGIC, SNAP_MAGIC, SNAP_MAGIC_LEN) != 0)
		return vmm_errf(err, -EINVAL, "not a smolvm snapshot (bad magic; expected \"%s\")",
				SNAP_MAGIC);

	struct snap_header h = {0};
	h.major = snap_get16(buf + SNAP_OFF_MAJOR);
	h.minor = snap_get16(buf + SNAP_OFF_MINOR);
	if (h.major > SNAP_MAJOR)
		return vmm_errf(err, -EPROTONOSUPPORT,
				"snapshot format %u.%u is newer than this smolvm reads (%u.%u): "
				"upgrade smolvm or re-create the snapshot",
				h.major, h.minor, SNAP_MAJOR, SNAP_MINOR);
	if (h.major < SNAP_MAJOR)
		return vmm_errf(err, -EPROTONOSUPPORT,
				"snapshot format %u.%u is older than this smolvm reads (%u.x): "
				"re-create the snapshot",
				h.major, h.minor, SNAP_MAJOR);
	uint64_t want = snap_get64(buf + SNAP_OFF_HEADER_SUM);
	uint64_t got = snap_hash(buf, SNAP_OFF_HEADER_SUM);
	if (want != got)
		return vmm_errf(err, -EBADMSG,
				"header checksum mismatch (stored %016" PRIx64
				", computed %016" PRIx64 "): the file is corrupt",
				want, got);
	uint32_t hsize = snap_get32(buf + SNAP_OFF_HEADER_SIZE);
	if (hsize != SNAP_HEADER_SIZE)
		return vmm_errf(err, -EINVAL, "header_size is %u, expected %u", hsize,
				SNAP_HEADER_SIZE);
	h.flags = snap_get32(buf + SNAP_OFF_FLAGS);
	if (h.flags & SNAP_FLAGS_INCOMPAT & ~SNAP_FLAGS_KNOWN)
		return vmm_errf(
		    err, -EPROTONOSUPPORT,
		    "header flags 0x%08x include incompatible features this smolvm does "
		    "not know: upgrade smolvm",
		    h.flags);
	h.section_count = snap_get32(buf + SNAP_OFF_COUNT);
	h.table_offset = snap_get64(buf + SNAP_OFF_TABLE);
	h.file_size = snap_get64(buf + SNAP_OFF_FILE_SIZE);
	h.table_sum = snap_get64(buf + SNAP_OFF_TABLE_SUM);
	fp_decode(buf + SNAP_OFF_FP, &h.fp);

	if (actual_size < h.file_size)
		return vmm_errf(err, -EINVAL,
				"truncated: file is %" PRIu64 " bytes, header says %" PRIu64,
				actual_size, h.file_size);
	if (actual_size > h.file_size)
		return vmm_errf(err, -EINVAL,
				"file is %" PRIu64 " bytes, header says %" PRIu64
				": trailing data, the file was appended to or overwritten",
				actual_size, h.file_size);
	if (h.section_count == 0 || h.section_count > SNAP_MAX_SECTIONS)
		return vmm_errf(err, -EINVAL, "section_count %u is outside 1..%u", h.section_count,
				SNAP_MAX_SECTIONS);
	/* count <= 1024 so the product cannot overflow; the sum is checked. */
	uint64_t tlen = (uint64_t)h.section_count * SNAP_ENTRY_SIZE;
	if (h.table_offset < SNAP_HEADER_SIZE || h.table_offset % 8 != 0 ||
	    h.table_offset > h.file_size || tlen > h.file_size - h.table_offset)
		return vmm_errf(err, -EINVAL,
				"section table at offset %" PRIu64 " (%" PRIu64
				" bytes) does not fit in the %" PRIu64 "-byte file",
				h.table_offset, tlen, h.file_size);
	*out = h;
	return 0;
}

static int cmp_offset(const void *a, const void *b)
{
	const struct snap_section *x = *(const struct snap_section *const *)a;
	const struct snap_section *y = *(const struct snap_section *const *)b;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Checks placement: each section lies after the header, outside the table,
 * inside the file, and disjoint from the others. */
static int check_layout(const struct snap_header *h, struct snap_section *secs, struct vmm_err *err)
{
	uint32_t n = h->section_count;
	if (n == 0)
		return 0;
	uint64_t tend = h->table_offset + (uint64_t)n * SNAP_ENTRY_SIZE;
	const struct snap_section **order = calloc(n, sizeof(const struct snap_section *));
	if (!order)
		return vmm_errf(err, -ENOMEM, "out of memory sorting %u sections", n);
	for (uint32_t i = 0; i < n; i++)
		order[i] = &secs[i];
	qsort(order, n, sizeof(const struct snap_section *), cmp_offset);
	int rc = 0;
	for (uint32_t i = 0; i < n; i++) {
		const struct snap_section *s = order[i];
		uint64_t end = s->offset + s->length; /* checked below before use */
		if (s->offset < SNAP_HEADER_SIZE || s->offset > h->file_size ||
		    s->length > h->file_size - s->offset) {
			rc = vmm_errf(err, -EINVAL,
				      "section %s: offset %" PRIu64 " length %" PRIu64
				      " lies outside the %" PRIu64 "-byte file",
				      s->name, s->offset, s->length, h->file_size);
			break;
		}
		if (s->length && s->offset < tend && end > h->table_offset) {
			rc = vmm_errf(err, -EINVAL,
				      "section %s (%" PRIu64 "+%" PRIu64
				      ") overlaps the section table",
				      s->name, s->offset, s->length);
			break;
		}
		if (i + 1 < n && s->length && end > order[i + 1]->offset) {
			rc = vmm_errf(err, -EINVAL, "sections %s and %s overlap", s->name,
				      order[i + 1]->name);
			break;
		}
	}
	free(order);
	return rc;
}

int snap_table_parse(const struct snap_header *h, const uint8_t *buf, size_t len,
		     struct snap_section *out, struct vmm_err *err)
{
	uint32_t n = h->section_count;
	if (len != (size_t)n * SNAP_ENTRY_SIZE)
		return vmm_errf(err, -EINVAL, "section table is %zu bytes, expected %zu", len,
				(size_t)n * SNAP_ENTRY_SIZE);
	uint64_t sum = snap_hash(buf, len);
	if (sum != h->table_sum)
		return vmm_errf(err, -EBADMSG,
				"section table checksum mismatch (stored %016" PRIx64
				", computed %016" PRIx64 "): the file is corrupt",
				h->table_sum, sum);
	int nmem = 0;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = buf + (size_t)i * SNAP_ENTRY_SIZE;
		struct snap_section *s = &out[i];
		memset(s, 0, sizeof(*s));
		if (memchr(e + SNAP_ENT_NAME, 0, SNAP_NAME_MAX + 1) == NULL)
			return vmm_errf(err, -EINVAL, "section %u: name is not NUL-terminated", i);
		memcpy(s->name, e + SNAP_ENT_NAME, SNAP_NAME_MAX + 1);
		if (!snap_name_valid(s->name))
			return vmm_errf(err, -EINVAL,
					"section %u: name is empty or has characters outside "
					"[a-z0-9._-]",
					i);
		s->type = snap_get32(e + SNAP_ENT_TYPE);
		s->version = snap_get32(e + SNAP_ENT_VERSION);
		s->offset = snap_get64(e + SNAP_ENT_OFFSET);
		s->length = snap_get64(e + SNAP_ENT_LENGTH);
		s->checksum = snap_get64(e + SNAP_ENT_SUM);
		for (uint32_t j = 0; j < i; j++)
			if (!strcmp(out[j].name, s->name))
				return vmm_errf(err, -EINVAL, "section %s appears twice", s->name);
		if (s->type == SNAP_SEC_MEMORY) {
			nmem++;
			if (s->offset % SNAP_PAGE_SIZE || s->length % SNAP_PAGE_SIZE)
				return vmm_errf(err, -EINVAL,
						"section %s: offset %" PRIu64 " / length %" PRIu64
						" is not page aligned",
						s->name, s->offset, s->length);
		}
	}
	if (nmem > 1)
		return vmm_errf(err, -EINVAL, "%d memory sections; expected at most one", nmem);
	return check_layout(h, out, err);
}

const struct snap_section *snap_section_find(const struct snap_section *secs, uint32_t n,
					     const char *name)
{
	for (uint32_t i = 0; i < n; i++)
		if (!strcmp(secs[i].name, name))
			return &secs[i];
	return NULL;
}

int snap_parse_buffer(const uint8_t *buf, size_t len, struct snap_header *out_h,
		      struct snap_section **out_secs, struct vmm_err *err)
{
	struct snap_header h = {0};
	int rc = snap_header_parse(buf, len, len, &h, err);
	if (rc)
		return rc;
	/* section_count >= 1: snap_header_parse refuses 0. */
	struct snap_section *secs = calloc(h.section_count ? h.section_count : 1, sizeof(*secs));
	if (!secs)
		return vmm_errf(err, -ENOMEM, "out of memory for %u sections", h.section_count);
	rc = snap_table_parse(&h, buf + h.table_offset, (size_t)h.section_count * SNAP_ENTRY_SIZE,
			      secs, err);
	for (uint32_t i = 0; !rc && i < h.section_count; i++) {
		uint64_t sum = snap_hash(buf + secs[i].offset, secs[i].length);
		if (sum != secs[i].checksum)
			rc = vmm_errf(err, -EBADMSG,
				      "section %s checksum mismatch (stored %016" PRIx64
				      ", computed %016" PRIx64 "): the file is corrupt",
				      secs[i].name, secs[i].checksum, sum);
	}
	if (rc) {
		free(secs);
		return rc;
	}
	*out_h = h;
	*out_secs = secs;
	return 0;
}
