#include "snap_writer.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

struct snap_writer {
	int fd;
	char *path;
	char *tmp;
	uint64_t pos; /* next free offset */
	struct snap_section *secs;
	uint32_t nsecs, cap;
	bool committed;
};

static const uint8_t zero_page[SNAP_PAGE_SIZE];

int snap_writer_create(const char *path, struct snap_writer **out, struct vmm_err *err)
{
	struct snap_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return vmm_errf(err, -ENOMEM, "%s: out of memory", path);
	w->fd = -1;
	w->path = strdup(path);
	size_t tlen = strlen(path) + 32;
	w->tmp = malloc(tlen);
	if (!w->path || !w->tmp) {
		snap_writer_destroy(w);
		return vmm_errf(err, -ENOMEM, "%s: out of memory", path);
	}
	snprintf(w->tmp, tlen, "%s.tmp.%ld", path, (long)getpid());
	w->fd = open(w->tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		int rc = -errno;
		vmm_errf(err, rc, "%s: cannot create: %s", w->tmp, strerror(-rc));
		free(w->tmp);
		w->tmp = NULL; /* nothing to unlink */
		snap_writer_destroy(w);
		return rc;
	}
	w->pos = SNAP_HEADER_SIZE;
	*out = w;
	return 0;
}

static int new_entry(struct snap_writer *w, const char *name, uint32_t type, uint32_t version,
		     struct snap_section **out, struct vmm_err *err)
{
	if (!snap_name_valid(name))
		return vmm_errf(err, -EINVAL, "section name \"%s\" is invalid", name);
	for (uint32_t i = 0; i < w->nsecs; i++)
		if (!strcmp(w->secs[i].name, name))
			return vmm_errf(err, -EEXIST, "section %s written twice", name);
	if (w->nsecs == SNAP_MAX_SECTIONS)
		return vmm_errf(err, -E2BIG, "more than %u sections", SNAP_MAX_SECTIONS);
	if (w->nsecs == w->cap) {
		uint32_t ncap = w->cap ? w->cap * 2 : 16;
		struct snap_section *n = realloc(w->secs, ncap * sizeof(*n));
		if (!n)
			return vmm_errf(err, -ENOMEM, "out of memory");
		w->secs = n;
		w->cap = ncap;
	}
	struct snap_section *s = &w->secs[w->nsecs];
	memset(s, 0, sizeof(*s));
	memcpy(s->name, name, strlen(name) + 1);
	s->type = type;
	s->version = version;
	*out = s;
	return 0;
}

int snap_writer_add(struct snap_writer *w, const char *name, uint32_t type, uint32_t version,
		    const void *data, size_t len, struct vmm_err *err)
{
	struct snap_section *s;
	int rc = new_entry(w, name, type, version, &s, err);
	if (rc)
		return rc;
	s->offset = (w->pos + 7) & ~(uint64_t)7;
	s->length = len;
	s->checksum = snap_hash(data, len);
	rc = util_pwrite_all(w->fd, data, len, s->offset);
	if (rc)
		return vmm_errf(err, rc, "%s: writing section %s: %s", w->tmp, name, strerror(-rc));
	w->pos = s->offset + len;
	w->nsecs++;
	return 0;
}

static bool page_is_zero(const uint8_t *p)
{
	/* Compare the first word, then the page against itself shifted by one
	 * word: equal only when every word equals the first. */
	uint64_t first;
	memcpy(&first, p, sizeof(first));
	return first == 0 && memcmp(p, p + 8, SNAP_PAGE_SIZE - 8) == 0;
}

/* Pages [i, *next) of r are known zero without reading them when they lie
 * in a hole of r->hole_fd. Returns the end of the data extent or hole that
 * contains page i: *is_hole says which. Without hole information everything
 * is "data" (read and compared). */
static uint64_t extent_at(const struct snap_mem_range *r, uint64_t i, uint64_t npages,
			  bool *is_hole)
{
	*is_hole = false;
	if (r->hole_fd < 0)
		return npages;
	off_t pos = (off_t)(r->hole_off + i * SNAP_PAGE_SIZE);
	off_t data = lseek(r->hole_fd, pos, SEEK_DATA);
	if (data < 0 && errno != ENXIO)
		return npages; /* no hole support: read everything */
	uint64_t end_off = r->hole_off + r->len;
	if (data < 0 || (uint64_t)data >= end_off || data > pos) {
		*is_hole = true;
		uint64_t d = data < 0 || (uint64_t)data >= end_off ? end_off : (uint64_t)data;
		return (d - r->hole_off) / SNAP_PAGE_SIZE; /* holes are page granular */
	}
	off_t hole = lseek(r->hole_fd, pos, SEEK_HOLE);
	uint64_t h = hole < 0 || (uint64_t)hole >= end_off ? end_off : (uint64_t)hole;
	uint64_t next = (h - r->hole_off + SNAP_PAGE_SIZE - 1) / SNAP_PAGE_SIZE;
	return next > i ? next : i + 1;
}

/* Pagemap bits (Documentation/admin-guide/mm/pagemap.rst). */
#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)
#define PM_FILE	   (1ull << 61) /* file page or shared anonymous */
#define PM_BATCH   512u

/* For a MAP_PRIVATE file mapping: true when the process never wrote the
 * page (no private anonymous copy: not present and not swapped, or present
 * as the file's own page), so it reads as the file does. For private
 * anonymous memory: true when the page was never touched (not present and
 * not swapped), so it reads as zero. */
static bool pm_unwritten(uint64_t pm, bool anonymous)
{
	if (anonymous)
		return !(pm & (PM_PRESENT | PM_SWAPPED));
	return !(pm & PM_SWAPPED) && (!(pm & PM_PRESENT) || (pm & PM_FILE));
}

struct range_walk {
	const struct snap_mem_range *r;
	int pm_fd;	   /* /proc/self/pagemap, for private_file and anonymous ranges */
	uint64_t pm_first; /* page index of pm[0] */
	uint64_t pm_n;
	uint64_t pm[PM_BATCH];
};

/* True when page i of a private file mapping is known unwritten, or page i
 * of anonymous memory known untouched. Any failure to read pagemap answers
 * false (the page is then read). */
static bool walk_unwritten(struct range_walk *rw, uint64_t i)
{
	if (rw->pm_fd < 0)
		return false;
	if (i < rw->pm_first || i >= rw->pm_first + rw->pm_n) {
		uint64_t vpage = ((uintptr_t)rw->r->host) / SNAP_PAGE_SIZE + i;
		ssize_t n = pread(rw->pm_fd, rw->pm, sizeof(rw->pm), (off_t)(vpage * 8));
		if (n < 8)
			return false;
		rw->pm_first = i;
		rw->pm_n = (uint64_t)n / 8;
	}
	return pm_unwritten(rw->pm[i - rw->pm_first], rw->r->anonymous);
}

static int write_range(struct snap_writer *w, const struct snap_mem_range *r, uint64_t base,
		       XXH3_state_t *st, struct snap_mem_stats *stats)
{
	uint64_t npages = r->len / SNAP_PAGE_SIZE;
	const uint8_t *src = r->host;
	struct range_walk *rw = NULL;
	if ((r->private_file && r->hole_fd >= 0) || (r->anonymous && r->hole_fd < 0)) {
		rw = calloc(1, sizeof(*rw));
		if (!rw)
			return -ENOMEM;
		rw->r = r;
		rw->pm_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	}
	int rc = 0;
	uint64_t i = 0;
	uint64_t run_start = 0, run_len = 0; /* pending run of data pages */
	while (i < npages && !rc) {
		bool hole;
		uint64_t end = extent_at(r, i, npages, &hole);
		if (end <= i)
			end = i + 1;
		for (; i < end && !rc; i++) {
			const uint8_t *page = src + i * SNAP_PAGE_SIZE;
			/* In a hole of the backing file: zero without reading it,
			 * unless this process has its own copy of the page.
			 * Anonymous memory: zero when never touched. */
			bool known = r->hole_fd < 0 ? rw && walk_unwritten(rw, i)
						    : hole && (!rw || walk_unwritten(rw, i));
			bool zero = known || page_is_zero(page);
			if (known)
				stats->pages_skipped++;
			XXH3_64bits_update(st, zero ? zero_page : page, SNAP_PAGE_SIZE);
			if (!zero) {
				if (!run_len)
					run_start = i;
				run_len++;
				stats->pages_written++;
			}
			if (run_len && (zero || i + 1 == npages)) {
				rc = util_pwrite_all(w->fd, src + run_start * SNAP_PAGE_SIZE,
						     run_len * SNAP_PAGE_SIZE,
						     base + run_start * SNAP_PAGE_SIZE);
				run_len = 0;
			}
		}
	}
	if (!rc && run_len)
		rc = util_pwrite_all(w->fd, src + run_start * SNAP_PAGE_SIZE,
				     run_len * SNAP_PAGE_SIZE, base + run_start * SNAP_PAGE_SIZE);
	if (rw && rw->pm_fd >= 0)
		close(rw->pm_fd);
	free(rw);
	stats->pages_total += npages;
	return rc;
}

int snap_writer_add_memory(struct snap_writer *w, uint32_t version,
			   const struct snap_mem_range *ranges, size_t nranges,
			   struct snap_mem_stats *stats, struct vmm_err *err)
{
	struct snap_mem_stats local = {0};
	struct snap_section *s;
	int rc = new_entry(w, "memory", SNAP_SEC_MEMORY, version, &s, err);
	if (rc)
		return rc;
	uint64_t base = (w->pos + SNAP_PAGE_SIZE - 1) & ~(uint64_t)(SNAP_PAGE_SIZE - 1);
	XXH3_state_t *st = XXH3_createState();
	if (!st)
		return vmm_errf(err, -ENOMEM, "out of memory");
	XXH3_64bits_reset(st);
	uint64_t off = base;
	for (size_t i = 0; i < nranges; i++) {
		if (ranges[i].len % SNAP_PAGE_SIZE || (uintptr_t)ranges[i].host % SNAP_PAGE_SIZE) {
			rc =
			    vmm_errf(err, -EINVAL,
				     "memory range %zu (%p, %" PRIu64 " bytes) is not page aligned",
				     i, ranges[i].host, ranges[i].len);
			break;
		}
		rc = write_range(w, &ranges[i], off, st, &local);
		if (rc) {
			vmm_errf(err, rc, "%s: writing guest memory: %s", w->tmp, strerror(-rc));
			break;
		}
		off += ranges[i].len;
	}
	if (!rc) {
		/* Extend the file over trailing holes so the section is whole. */
		if (ftruncate(w->fd, (off_t)off) < 0)
			rc = vmm_errf(err, -errno, "%s: extending to %" PRIu64 " bytes: %s", w->tmp,
				      off, strerror(errno));
	}
	if (!rc) {
		s = &w->secs[w->nsecs]; /* new_entry's slot; realloc cannot have moved it */
		s->offset = base;
		s->length = off - base;
		s->checksum = XXH3_64bits_digest(st);
		w->pos = off;
		w->nsecs++;
		if (stats)
			*stats = local;
	}
	XXH3_freeState(st);
	return rc;
}

int snap_writer_commit(struct snap_writer *w, const struct snap_fingerprint *fp,
		       struct vmm_err *err)
{
	if (w->committed || !w->nsecs)
		return vmm_errf(err, -EINVAL, "%s: nothing to commit", w->path);
	size_t tlen = (size_t)w->nsecs * SNAP_ENTRY_SIZE;
	uint8_t *table = malloc(tlen);
	uint8_t *hdr = malloc(SNAP_HEADER_SIZE);
	int rc = 0;
	if (!table || !hdr) {
		rc = vmm_errf(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < w->nsecs; i++)
		snap_entry_encode(&w->secs[i], table + (size_t)i * SNAP_ENTRY_SIZE);
	struct snap_header h = {
	    .major = SNAP_MAJOR,
	    .minor = SNAP_MINOR,
	    .flags = SNAP_FLAG_MEMORY_SPARSE,
	    .section_count = w->nsecs,
	    .table_offset = (w->pos + 7) & ~(uint64_t)7,
	    .table_sum = snap_hash(table, tlen),
	    .fp = *fp,
	};
	h.file_size = h.table_offset + tlen;
	snap_header_encode(&h, hdr);
	rc = util_pwrite_all(w->fd, table, tlen, h.table_offset);
	if (!rc)
		rc = util_pwrite_all(w->fd, hdr, SNAP_HEADER_SIZE, 0);
	if (rc) {
		vmm_errf(err, rc, "%s: writing table/header: %s", w->tmp, strerror(-rc));
		goto out;
	}
	if (rename(w->tmp, w->path) < 0) {
		rc =
		    vmm_errf(err, -errno, "%s: rename to %s: %s", w->tmp, w->path, strerror(errno));
		goto out;
	}
	w->committed = true;
out:
	free(table);
	free(hdr);
	return rc;
}

void snap_writer_destroy(struct snap_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	if (!w->committed && w->tmp)
		unlink(w->tmp);
	free(w->secs);
	free(w->tmp);
	free(w->path);
	free(w);
}
