#include "snap_bundle.h"
#include "snap_archive.h"
#include "snap_file.h"
#include "snap_format.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "strbuf.h"
#include "util.h"

#define IO_CHUNK     (1u << 20)
#define MANIFEST_MAX (64u << 10)

static const uint8_t zeros[IO_CHUNK];

int snap_bundle_entry_name(unsigned i, const char *path, char *buf, size_t len)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	int n = snprintf(buf, len, "files/%u-%s", i, *base ? base : "file");
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int snap_bundle_resolve(const char *snap_path, unsigned i, const char *path, char *buf, size_t len)
{
	char name[512], dir[4096];
	int rc = snap_bundle_entry_name(i, path, name, sizeof(name));
	if (rc)
		return rc;
	snprintf(dir, sizeof(dir), "%s", snap_path);
	int n = snprintf(buf, len, "%s/%s", dirname(dir), name);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	if (access(buf, F_OK) == 0)
		return 0;
	if (!strchr(path, '/')) { /* recorded next to the snapshot (snap_save) */
		snprintf(dir, sizeof(dir), "%s", snap_path);
		n = snprintf(buf, len, "%s/%s", dirname(dir), path);
		return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
	}
	n = snprintf(buf, len, "%s", path);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Reads the snapshot's config section (validated). */
static int load_config(const struct snap_file *f, struct snap_config *cfg, struct vmm_err *err)
{
	const struct snap_section *mem = snap_file_find(f, "memory");
	void *buf;
	size_t len;
	int rc = snap_file_read_named(f, "config", SNAP_SEC_CONFIG, &buf, &len, err);
	if (rc)
		return rc;
	rc = snap_config_decode(buf, len, mem ? mem->length : 0, cfg, err);
	free(buf);
	return rc ? vmm_err_prefix(err, rc, f->path) : 0;
}

/* ---- export ---- */

static int ar_fail(const struct snap_archive *la, struct archive *a, struct vmm_err *err,
		   const char *what, const char *path)
{
	return vmm_errf(err, -EIO, "%s: %s: %s", path, what,
			la->archive_error_string(a) ? la->archive_error_string(a)
						    : "unknown error");
}

/* Adds one regular file as a sparse entry: holes become sparse-map gaps and
 * are never stored. *out_sum is the XXH3-64 of the whole logical content. */
static int add_file(const struct snap_archive *la, struct archive *a, const char *src,
		    const char *name, uint64_t *out_size, uint64_t *out_sum, struct vmm_err *err)
{
	int fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vmm_errf(err, -errno, "%s: cannot open: %s", src, strerror(errno));
	struct stat st;
	struct archive_entry *e = la->archive_entry_new();
	uint8_t *buf = malloc(IO_CHUNK);
	XXH3_state_t *hs = XXH3_createState();
	int rc = 0;
	if (!e || !buf || !hs) {
		rc = vmm_errf(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = vmm_errf(err, -EINVAL, "%s: not a regular file", src);
		goto out;
	}
	uint64_t size = (uint64_t)st.st_size;
	la->archive_entry_set_pathname(e, name);
	la->archive_entry_set_filetype(e, AE_IFREG);
	la->archive_entry_set_perm(e, 0644);
	la->archive_entry_set_size(e, (la_int64_t)size);
	la->archive_entry_set_mtime(e, st.st_mtim.tv_sec, 0);
	/* Sparse map from the file system's own extents. */
	bool sparse = false;
	for (uint64_t pos = 0; pos < size;) {
		off_t d = lseek(fd, (off_t)pos, SEEK_DATA);
		if (d < 0)
			break;
		off_t h = lseek(fd, d, SEEK_HOLE);
		if (h < 0)
			h = (off_t)size;
		if (d != 0 || (uint64_t)h != size)
			sparse = true;
		la->archive_entry_sparse_add_entry(e, d, h - d);
		pos = (uint64_t)h;
	}
	if (!sparse)
		la->archive_entry_sparse_clear(e);
	if (la->archive_write_header(a, e) != ARCHIVE_OK) {
		rc = ar_fail(la, a, err, "writing entry header", name);
		goto out;
	}
	XXH3_64bits_reset(hs);
	for (uint64_t pos = 0; pos < size;) {
		/* Feed holes as zeros: the pax writer drops bytes that fall in a
		 * sparse gap, so holes cost no I/O and no output. */
		off_t d = lseek(fd, (off_t)pos, SEEK_DATA);
		uint64_t dstart = d < 0 ? size : (uint64_t)d;
		while (pos < dstart) {
			size_t n = dstart - pos < IO_CHUNK ? (size_t)(dstart - pos) : IO_CHUNK;
			XXH3_64bits_update(hs, zeros, n);
			if (la->archive_write_data(a, zeros, n) < 0) {
				rc = ar_fail(la, a, err, "writing data", name);
				goto out;
			}
			pos += n;
		}
		if (pos >= size)
			break;
		off_t h = lseek(fd, (off_t)pos, SEEK_HOLE);
		uint64_t hend = h < 0 || (uint64_t)h > size ? size : (uint64_t)h;
		while (pos < hend) {
			size_t n = hend - pos < IO_CHUNK ? (size_t)(hend - pos) : IO_CHUNK;
			ssize_t r = pread(fd, buf, n, (off_t)pos);
			if (r <= 0) {
				rc = vmm_errf(err, r < 0 ? -errno : -EIO,
					      "%s: read failed at %" PRIu64, src, pos);
				goto out;
			}
			XXH3_64bits_update(hs, buf, (size_t)r);
			if (la->archive_write_data(a, buf, (size_t)r) < 0) {
				rc = ar_fail(la, a, err, "writing data", name);
				goto out;
			}
			pos += (uint64_t)r;
		}
	}
	*out_size = size;
	*out_sum = XXH3_64bits_digest(hs);
out:
	XXH3_freeState(hs);
	free(buf);
	la->archive_entry_free(e);
	close(fd);
	return rc;
}

static int add_buffer(const struct snap_archive *la, struct archive *a, const char *name,
		      const void *data, size_t len, struct vmm_err *err)
{
	struct archive_entry *e = la->archive_entry_new();
	if (!e)
		return vmm_errf(err, -ENOMEM, "out of memory");
	la->archive_entry_set_pathname(e, name);
	la->archive_entry_set_filetype(e, AE_IFREG);
	la->archive_entry_set_perm(e, 0644);
	la->archive_entry_set_size(e, (la_int64_t)len);
	int rc = 0;
	if (la->archive_write_header(a, e) != ARCHIVE_OK ||
	    la->archive_write_data(a, data, len) != (la_ssize_t)len)
		rc = ar_fail(la, a, err, "writing", name);
	la->archive_entry_free(e);
	return rc;
}

int snap_bundle_export(const char *snap_path, const char *out_path, struct vmm_err *err)
{
	struct snap_file *f = NULL;
	struct snap_config cfg = {0};
	struct snap_archive lib;
	const struct snap_archive *la = &lib;
	struct archive *a = NULL;
	struct strbuf man = {0};
	char tmp[4096] = "", name[512], src[4096];
	int rc = snap_archive_open(&lib, err);
	if (rc)
		return rc;
	rc = snap_file_open(snap_path, &f, err);
	if (rc) {
		snap_archive_close(&lib);
		return rc;
	}
	rc = load_config(f, &cfg, err);
	if (rc)
		goto out;
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", out_path, (long)getpid());
	a = la->archive_write_new();
	if (!a || la->archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    la->archive_write_add_filter_zstd(a) != ARCHIVE_OK) {
		rc = vmm_errf(err, -ENOSYS, "%s: libarchive lacks pax/zstd support", out_path);
		goto out;
	}
	if (la->archive_write_open_filename(a, tmp) != ARCHIVE_OK) {
		rc = ar_fail(la, a, err, "cannot create", tmp);
		goto out;
	}
	sb_printf(&man, "smolmachine 1\n");
	uint64_t size = 0, sum = 0;
	rc = add_file(la, a, snap_path, SNAP_BUNDLE_SNAPSHOT, &size, &sum, err);
	if (rc)
		goto out;
	sb_printf(&man, "entry %s %" PRIu64 " %016" PRIx64 "\n", SNAP_BUNDLE_SNAPSHOT, size, sum);
	for (uint32_t i = 0; i < cfg.nr_files; i++) {
		const struct snap_file_ref *r = &cfg.files[i];
		if (snap_bundle_entry_name(i, r->path, name, sizeof(name)) ||
		    snap_bundle_resolve(snap_path, i, r->path, src, sizeof(src))) {
			rc = vmm_errf(err, -ENAMETOOLONG, "%s: path too long", r->path);
			goto out;
		}
		rc = add_file(la, a, src, name, &size, &sum, err);
		if (rc)
			goto out;
		if (size != r->size || (r->xxh3 && sum != r->xxh3)) {
			rc = vmm_errf(err, -ESTALE,
				      "%s (%s of the snapshot) changed since the snapshot was "
				      "taken: %" PRIu64 " bytes, snapshot recorded %" PRIu64,
				      src, snap_file_role_name(r->role), size, r->size);
			goto out;
		}
		sb_printf(&man, "entry %s %" PRIu64 " %016" PRIx64 "\n", name, size, sum);
	}
	rc = add_buffer(la, a, SNAP_BUNDLE_MANIFEST, man.buf, man.len, err);
	if (rc)
		goto out;
	if (la->archive_write_close(a) != ARCHIVE_OK) {
		rc = ar_fail(la, a, err, "finishing", tmp);
		goto out;
	}
	if (rename(tmp, out_path) < 0)
		rc = vmm_errf(err, -errno, "%s: rename to %s: %s", tmp, out_path, strerror(errno));
out:
	if (a)
		la->archive_write_free(a);
	if (rc && tmp[0])
		unlink(tmp);
	sb_release(&man);
	snap_config_release(&cfg);
	snap_file_close(f);
	snap_archive_close(&lib);
	return rc;
}

/* ---- import ---- */

struct imported {
	char name[256];
	uint64_t size, sum;
};

/* Only "snapshot.smolsnap", "manifest" and "files/<safe name>" are accepted:
 * a fixed allowlist, so no traversal, absolute path or odd byte survives. */
static bool entry_name_ok(const char *name)
{
	if (!strcmp(name, SNAP_BUNDLE_SNAPSHOT) || !strcmp(name, SNAP_BUNDLE_MANIFEST))
		return true;
	if (strncmp(name, "files/", 6) != 0)
		return false;
	const char *b = name + 6;
	size_t n = strlen(b);
	if (n == 0 || n > 200 || b[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = b[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-' || c == '+'))
			return false;
	}
	return true;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* Streams the current entry to dirfd/name, leaving zero pages as holes. */
static int extract(const struct snap_archive *la, struct archive *a, int dirfd, const char *name,
		   uint64_t size, struct imported *out, struct vmm_err *err)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return vmm_errf(err, -errno, "bundle entry %s: cannot create: %s", name,
				strerror(errno));
	XXH3_state_t *hs = XXH3_createState();
	int rc = 0;
	if (!hs) {
		close(fd);
		return vmm_errf(err, -ENOMEM, "out of memory");
	}
	XXH3_64bits_reset(hs);
	uint64_t pos = 0;
	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		int r = la->archive_read_data_block(a, &buf, &len, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			rc = ar_fail(la, a, err, "reading (corrupt or truncated bundle)", name);
			goto out;
		}
		if (off < 0 || (uint64_t)off < pos || (uint64_t)off > size ||
		    len > size - (uint64_t)off) {
			rc = vmm_errf(err, -EINVAL,
				      "bundle entry %s: data block at %lld lies outside "
				      "its %" PRIu64 " bytes",
				      name, (long long)off, size);
			goto out;
		}
		for (; pos < (uint64_t)off;) { /* sparse gap */
			size_t n = (uint64_t)off - pos < IO_CHUNK ? (size_t)((uint64_t)off - pos)
								  : IO_CHUNK;
			XXH3_64bits_update(hs, zeros, n);
			pos += n;
		}
		XXH3_64bits_update(hs, buf, len);
		const uint8_t *p = buf;
		for (size_t done = 0; done < len;) {
			/* Write page-sized pieces, skipping all-zero ones. */
			size_t n = SNAP_PAGE_SIZE - (size_t)((pos + done) % SNAP_PAGE_SIZE);
			if (n > len - done)
				n = len - done;
			if (!all_zero(p + done, n) &&
			    pwrite(fd, p + done, n, (off_t)(pos + done)) != (ssize_t)n) {
				rc = vmm_errf(err, -EIO, "bundle entry %s: write failed: %s", name,
					      strerror(errno));
				goto out;
			}
			done += n;
		}
		pos += len;
	}
	for (; pos < size;) {
		size_t n = size - pos < IO_CHUNK ? (size_t)(size - pos) : IO_CHUNK;
		XXH3_64bits_update(hs, zeros, n);
		pos += n;
	}
	if (ftruncate(fd, (off_t)size) < 0) {
		rc = vmm_errf(err, -errno, "bundle entry %s: %s", name, strerror(errno));
		goto out;
	}
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->size = size;
	out->sum = XXH3_64bits_digest(hs);
out:
	XXH3_freeState(hs);
	close(fd);
	return rc;
}

/* Checks the manifest text against what was extracted: same set of names,
 * sizes and hashes. */
static int check_manifest(char *text, const struct imported *got, unsigned n, struct vmm_err *err)
{
	char *save = NULL;
	char *line = strtok_r(text, "\n", &save);
	if (!line || strcmp(line, "smolmachine 1") != 0)
		return vmm_errf(err, -EPROTONOSUPPORT,
				"bundle manifest does not start with \"smolmachine 1\"");
	unsigned seen = 0;
	while ((line = strtok_r(NULL, "\n", &save))) {
		char name[256];
		uint64_t size, sum;
		char tail;
		if (sscanf(line, "entry %255s %" SCNu64 " %" SCNx64 " %c", name, &size, &sum,
			   &tail) != 3)
			return vmm_errf(err, -EINVAL, "bundle manifest: bad line \"%.80s\"", line);
		unsigned i;
		for (i = 0; i < n && strcmp(got[i].name, name) != 0; i++)
			;
		if (i == n)
			return vmm_errf(err, -EINVAL,
					"bundle manifest lists %s, which the bundle "
					"does not contain (truncated bundle?)",
					name);
		if (got[i].size != size || got[i].sum != sum)
			return vmm_errf(err, -EBADMSG,
					"bundle entry %s: %" PRIu64 " bytes hash %016" PRIx64
					", manifest says %" PRIu64 " bytes hash %016" PRIx64
					": the bundle is corrupt",
					name, got[i].size, got[i].sum, size, sum);
		seen++;
	}
	if (seen != n)
		return vmm_errf(err, -EINVAL, "bundle has %u entries but its manifest lists %u", n,
				seen);
	return 0;
}

int snap_bundle_import(const char *bundle_path, const char *dir, struct vmm_err *err)
{
	struct snap_archive lib;
	const struct snap_archive *la = &lib;
	int rc = snap_archive_open(&lib, err);
	if (rc)
		return rc;
	struct archive *a = la->archive_read_new();
	struct imported *got = calloc(SNAP_BUNDLE_MAX_ENTRIES, sizeof(*got));
	char *manifest = NULL;
	int dirfd = -1;
	unsigned n = 0;
	bool made_dir = false, wrote = false;
	if (!a || !got) {
		rc = vmm_errf(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (mkdir(dir, 0755) == 0) {
		made_dir = true;
	} else if (errno != EEXIST) {
		rc = vmm_errf(err, -errno, "%s: cannot create: %s", dir, strerror(errno));
		goto out;
	}
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		rc = vmm_errf(err, -errno, "%s: %s", dir, strerror(errno));
		goto out;
	}
	if (!made_dir && (faccessat(dirfd, SNAP_BUNDLE_SNAPSHOT, F_OK, 0) == 0 ||
			  faccessat(dirfd, "files", F_OK, 0) == 0)) {
		rc = vmm_errf(err, -EEXIST,
			      "%s already holds an imported machine: import into a "
			      "new directory",
			      dir);
		goto out;
	}
	wrote = true; /* from here on, clean up what we write */
	if (mkdirat(dirfd, "files", 0755) < 0) {
		rc = vmm_errf(err, -errno, "%s/files: %s", dir, strerror(errno));
		goto out;
	}
	la->archive_read_support_filter_zstd(a);
	la->archive_read_support_format_tar(a);
	if (la->archive_read_open_filename(a, bundle_path, IO_CHUNK) != ARCHIVE_OK) {
		rc = ar_fail(la, a, err, "cannot open bundle", bundle_path);
		goto out;
	}
	for (;;) {
		struct archive_entry *e;
		int r = la->archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			rc = ar_fail(la, a, err, "reading (corrupt or truncated bundle)",
				     bundle_path);
			goto out;
		}
		const char *name = la->archive_entry_pathname(e);
		if (!name || !entry_name_ok(name)) {
			rc = vmm_errf(err, -EINVAL,
				      "%s: refusing entry \"%.100s\": not a name a "
				      "bundle may contain (path traversal?)",
				      bundle_path, name ? name : "(none)");
			goto out;
		}
		if (la->archive_entry_filetype(e) != AE_IFREG || la->archive_entry_hardlink(e) ||
		    la->archive_entry_symlink(e)) {
			rc = vmm_errf(err, -EINVAL, "%s: entry %s is not a regular file",
				      bundle_path, name);
			goto out;
		}
		if (!la->archive_entry_size_is_set(e) || la->archive_entry_size(e) < 0) {
			rc = vmm_errf(err, -EINVAL, "%s: entry %s has no size", bundle_path, name);
			goto out;
		}
		uint64_t size = (uint64_t)la->archive_entry_size(e);
		if (!strcmp(name, SNAP_BUNDLE_MANIFEST)) {
			if (manifest || size > MANIFEST_MAX) {
				rc = vmm_errf(err, -EINVAL, "%s: duplicate or oversized manifest",
					      bundle_path);
				goto out;
			}
			manifest = calloc(1, (size_t)size + 1);
			if (!manifest ||
			    la->archive_read_data(a, manifest, (size_t)size) != (la_ssize_t)size) {
				rc = ar_fail(la, a, err, "reading manifest", bundle_path);
				goto out;
			}
			continue;
		}
		if (n == SNAP_BUNDLE_MAX_ENTRIES) {
			rc = vmm_errf(err, -E2BIG, "%s: more than %u entries", bundle_path,
				      SNAP_BUNDLE_MAX_ENTRIES);
			goto out;
		}
		rc = extract(la, a, dirfd, name, size, &got[n], err);
		if (rc)
			goto out;
		n++;
	}
	if (!manifest) {
		rc = vmm_errf(err, -EINVAL, "%s: no manifest (truncated bundle?)", bundle_path);
		goto out;
	}
	rc = check_manifest(manifest, got, n, err);
	if (rc) {
		vmm_err_prefix(err, rc, bundle_path);
		goto out;
	}
	/* The snapshot itself: every section checksum, memory included. */
	char snap[4096];
	snprintf(snap, sizeof(snap), "%s/%s", dir, SNAP_BUNDLE_SNAPSHOT);
	struct snap_file *f = NULL;
	rc = snap_file_open(snap, &f, err);
	if (!rc)
		rc = snap_file_verify(f, err);
	snap_file_close(f);
out:
	if (a)
		la->archive_read_free(a);
	if (dirfd >= 0)
		close(dirfd);
	if (rc && made_dir) {
		util_rm_rf(dir);
	} else if (rc && wrote) {
		/* An existing directory the caller gave us: remove only ours. */
		char p[4096];
		snprintf(p, sizeof(p), "%s/files", dir);
		util_rm_rf(p);
		snprintf(p, sizeof(p), "%s/%s", dir, SNAP_BUNDLE_SNAPSHOT);
		unlink(p);
	}
	free(manifest);
	free(got);
	snap_archive_close(&lib);
	return rc;
}
