#include "snap_file.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

int snap_file_open(const char *path, struct snap_file **out, struct vmm_err *err)
{
	struct snap_file *f = calloc(1, sizeof(*f));
	uint8_t *hdr = malloc(SNAP_HEADER_SIZE), *table = NULL;
	int rc = 0;
	if (f)
		f->fd = -1;
	if (!f || !hdr || !(f->path = strdup(path))) {
		rc = vmm_errf(err, -ENOMEM, "out of memory");
		goto fail;
	}
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0) {
		rc = vmm_errf(err, -errno, "cannot open: %s", strerror(errno));
		goto fail;
	}
	struct stat st;
	if (fstat(f->fd, &st) < 0) {
		rc = vmm_errf(err, -errno, "stat: %s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = vmm_errf(err, -EINVAL, "not a regular file");
		goto fail;
	}
	f->size = (uint64_t)st.st_size;
	size_t hlen = f->size < SNAP_HEADER_SIZE ? (size_t)f->size : SNAP_HEADER_SIZE;
	memset(hdr, 0, SNAP_HEADER_SIZE);
	rc = util_pread_exact(f->fd, hdr, hlen, 0);
	if (rc) {
		vmm_errf(err, rc, "reading header: %s", strerror(-rc));
		goto fail;
	}
	rc = snap_header_parse(hdr, hlen, f->size, &f->hdr, err);
	if (rc)
		goto fail;
	size_t tlen = (size_t)f->hdr.section_count * SNAP_ENTRY_SIZE;
	table = malloc(tlen);
	f->secs = calloc(f->hdr.section_count, sizeof(*f->secs));
	if (!table || !f->secs) {
		rc = vmm_errf(err, -ENOMEM, "out of memory");
		goto fail;
	}
	rc = util_pread_exact(f->fd, table, tlen, f->hdr.table_offset);
	if (rc) {
		vmm_errf(err, rc, "reading section table: %s", strerror(-rc));
		goto fail;
	}
	rc = snap_table_parse(&f->hdr, table, tlen, f->secs, err);
	if (rc)
		goto fail;
	free(table);
	free(hdr);
	*out = f;
	return 0;
fail:
	vmm_err_prefix(err, rc, path);
	free(table);
	free(hdr);
	snap_file_close(f);
	return rc;
}

void snap_file_close(struct snap_file *f)
{
	if (!f)
		return;
	if (f->fd >= 0)
		close(f->fd);
	free(f->secs);
	free(f->path);
	free(f);
}

const struct snap_section *snap_file_find(const struct snap_file *f, const char *name)
{
	return snap_section_find(f->secs, f->hdr.section_count, name);
}

int snap_file_read(const struct snap_file *f, const struct snap_section *s, uint32_t want_type,
		   void **out, size_t *out_len, struct vmm_err *err)
{
	if (want_type && s->type != want_type)
		return vmm_errf(err, -EINVAL, "%s: section %s has type %u, expected %u", f->path,
				s->name, s->type, want_type);
	if (s->type == SNAP_SEC_MEMORY || s->length > SNAP_SECTION_READ_MAX)
		return vmm_errf(err, -EFBIG,
				"%s: section %s (%" PRIu64 " bytes) is too big to read", f->path,
				s->name, s->length);
	/* +1 so an empty section still gets a distinct allocation. */
	void *buf = malloc((size_t)s->length + 1);
	if (!buf)
		return vmm_errf(err, -ENOMEM, "out of memory");
	int rc = util_pread_exact(f->fd, buf, (size_t)s->length, s->offset);
	if (rc) {
		free(buf);
		return vmm_errf(err, rc, "%s: reading section %s: %s", f->path, s->name,
				strerror(-rc));
	}
	uint64_t sum = snap_hash(buf, (size_t)s->length);
	if (sum != s->checksum) {
		free(buf);
		return vmm_errf(err, -EBADMSG,
				"%s: section %s checksum mismatch (stored %016" PRIx64
				", computed %016" PRIx64 "): the file is corrupt",
				f->path, s->name, s->checksum, sum);
	}
	*out = buf;
	if (out_len)
		*out_len = (size_t)s->length;
	return 0;
}

int snap_file_read_named(const struct snap_file *f, const char *name, uint32_t want_type,
			 void **out, size_t *out_len, struct vmm_err *err)
{
	const struct snap_section *s = snap_file_find(f, name);
	if (!s)
		return vmm_errf(err, -ENOENT, "%s: no section %s", f->path, name);
	return snap_file_read(f, s, want_type, out, out_len, err);
}

/* Hashes the memory section extent by extent: data extents are read,
 * holes (SEEK_HOLE) are hashed as zeros without touching the disk. */
static int hash_sparse(const struct snap_file *f, const struct snap_section *s, uint64_t *out)
{
	enum { CHUNK = 1 << 20 };
	static const uint8_t zeros[CHUNK];
	uint8_t *buf = malloc(CHUNK);
	XXH3_state_t *st = XXH3_createState();
	int rc = 0;
	if (!buf || !st) {
		rc = -ENOMEM;
		goto out;
	}
	XXH3_64bits_reset(st);
	uint64_t pos = s->offset, end = s->offset + s->length;
	while (pos < end) {
		off_t data = lseek(f->fd, (off_t)pos, SEEK_DATA);
		uint64_t dstart = data < 0 ? end : (uint64_t)data;
		if (data < 0 && errno != ENXIO) {
			rc = -errno;
			goto out;
		}
		if (dstart > end)
			dstart = end;
		for (; pos < dstart;) { /* hole */
			uint64_t n = dstart - pos < CHUNK ? dstart - pos : CHUNK;
			XXH3_64bits_update(st, zeros, (size_t)n);
			pos += n;
		}
		if (pos >= end)
			break;
		off_t hole = lseek(f->fd, (off_t)pos, SEEK_HOLE);
		uint64_t hstart = hole < 0 ? end : (uint64_t)hole;
		if (hstart > end)
			hstart = end;
		for (; pos < hstart;) {
			uint64_t n = hstart - pos < CHUNK ? hstart - pos : CHUNK;
			rc = util_pread_exact(f->fd, buf, (size_t)n, pos);
			if (rc)
				goto out;
			XXH3_64bits_update(st, buf, (size_t)n);
			pos += n;
		}
	}
	*out = XXH3_64bits_digest(st);
out:
	XXH3_freeState(st);
	free(buf);
	return rc;
}

int snap_file_verify(const struct snap_file *f, struct vmm_err *err)
{
	for (uint32_t i = 0; i < f->hdr.section_count; i++) {
		const struct snap_section *s = &f->secs[i];
		if (s->type != SNAP_SEC_MEMORY && s->length <= SNAP_SECTION_READ_MAX) {
			void *buf = NULL;
			int rc = snap_file_read(f, s, 0, &buf, NULL, err);
			if (rc)
				return rc;
			free(buf);
			continue;
		}
		uint64_t sum = 0;
		int rc = hash_sparse(f, s, &sum);
		if (rc)
			return vmm_errf(err, rc, "%s: reading section %s: %s", f->path, s->name,
					strerror(-rc));
		if (sum != s->checksum)
			return vmm_errf(err, -EBADMSG,
					"%s: section %s checksum mismatch (stored %016" PRIx64
					", computed %016" PRIx64 "): the file is corrupt",
					f->path, s->name, s->checksum, sum);
	}
	return 0;
}

int snap_file_map_memory(const struct snap_file *f, uint64_t offset, uint64_t len, void **out,
			 struct vmm_err *err)
{
	const struct snap_section *s = snap_file_find(f, "memory");
	if (!s || s->type != SNAP_SEC_MEMORY)
		return vmm_errf(err, -ENOENT, "%s: no memory section", f->path);
	if (offset % SNAP_PAGE_SIZE || len % SNAP_PAGE_SIZE || offset > s->length ||
	    len > s->length - offset || len == 0)
		return vmm_errf(err, -EINVAL,
				"%s: memory range %" PRIu64 "+%" PRIu64 " does not fit the %" PRIu64
				"-byte memory section",
				f->path, offset, len, s->length);
	void *p = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE,
		       f->fd, (off_t)(s->offset + offset));
	if (p == MAP_FAILED)
		return vmm_errf(err, -errno, "%s: mmap of memory section: %s", f->path,
				strerror(errno));
	*out = p;
	return 0;
}

int snap_file_sizes(const struct snap_file *f, uint64_t *allocated, uint64_t *apparent)
{
	struct stat st;
	if (fstat(f->fd, &st) < 0)
		return -errno;
	*allocated = (uint64_t)st.st_blocks * 512u;
	*apparent = (uint64_t)st.st_size;
	return 0;
}
