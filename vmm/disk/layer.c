#include "disk/layer.h"

#include "disk/disk.h"
#include "disk/disk_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

int layer_load(struct layer *l, const char *path, bool writable, struct vmm_err *err)
{
	uint8_t buf[LAYER_HEADER_SIZE];
	const char *why = NULL;
	uint64_t size;
	int rc;

	memset(l, 0, sizeof(*l));
	l->fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (l->fd < 0) {
		rc = -errno;
		l->fd = -1;
		return vmm_errf(err, rc, "disk layer %s: cannot open: %s", path, strerror(-rc));
	}
	l->writable = writable;
	if (writable && flock(l->fd, LOCK_EX | LOCK_NB)) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		vmm_errf(
		    err, rc,
		    "disk layer %s is in use by another process; give each VM its own top layer",
		    path);
		goto fail;
	}
	rc = dio_size(l->fd, &size);
	if (rc) {
		vmm_errf(err, rc, "disk layer %s: not a regular file", path);
		goto fail;
	}
	if (size < LAYER_HEADER_SIZE)
		why = "file is shorter than the 4096-byte layer header";
	rc = size < LAYER_HEADER_SIZE ? -EINVAL : dio_pread(l->fd, buf, sizeof(buf), 0);
	if (!rc)
		rc = layer_header_decode(buf, sizeof(buf), &l->hdr, &why);
	if (rc) {
		vmm_errf(err, rc, "disk layer %s: %s; recreate it with `smolvm disk create`", path,
			 why ? why : "unreadable header");
		goto fail;
	}
	if (size != l->hdr.data_offset + l->hdr.disk_size) {
		rc = -EINVAL;
		vmm_errf(err, rc,
			 "disk layer %s: file is %llu bytes, its header needs %llu; it was "
			 "truncated or extended",
			 path, (unsigned long long)size,
			 (unsigned long long)l->hdr.data_offset + l->hdr.disk_size);
		goto fail;
	}
	l->nblocks = (l->hdr.disk_size + LAYER_BLOCK_SIZE - 1) / LAYER_BLOCK_SIZE;
	l->bitmap = malloc(l->hdr.bitmap_len);
	if (!l->bitmap) {
		rc = -ENOMEM;
		vmm_errf(err, rc, "disk layer %s: out of memory for the bitmap", path);
		goto fail;
	}
	rc = dio_pread(l->fd, l->bitmap, l->hdr.bitmap_len, l->hdr.bitmap_offset);
	if (rc) {
		vmm_errf(err, rc, "disk layer %s: cannot read the bitmap: %s", path, strerror(-rc));
		goto fail;
	}
	for (uint64_t b = l->nblocks; b < l->hdr.bitmap_len * 8; b++) {
		if (layer_has(l, b)) {
			rc = -EINVAL;
			vmm_errf(
			    err, rc,
			    "disk layer %s: bitmap marks blocks past the disk end (corrupt layer)",
			    path);
			goto fail;
		}
	}
	l->path = strdup(path);
	if (!l->path) {
		rc = -ENOMEM;
		goto fail;
	}
	return 0;
fail:
	layer_close(l);
	return rc;
}

void layer_close(struct layer *l)
{
	if (l->fd >= 0)
		close(l->fd);
	free(l->bitmap);
	free(l->path);
	l->bitmap = NULL;
	l->path = NULL;
	l->fd = -1;
}

int layer_store_bits(struct layer *l, uint64_t first, uint64_t last)
{
	uint64_t lo = first / 8, hi = last / 8;
	return dio_pwrite(l->fd, l->bitmap + lo, (size_t)(hi - lo + 1), l->hdr.bitmap_offset + lo);
}

/* ---- create / freeze / stat ---- */

int disk_layer_create(const char *path, const char *base_path, const char *lower_layer,
		      struct vmm_err *err)
{
	uint8_t id[LAYER_ID_LEN], lower_id[LAYER_ID_LEN], buf[LAYER_HEADER_SIZE];
	enum layer_lower_kind kind = LAYER_LOWER_BASE;
	struct layer_header h;
	struct layer lower = {.fd = -1};
	uint64_t size;
	int base = -1, fd = -1, rc;

	base = open(base_path, O_RDONLY | O_CLOEXEC);
	if (base < 0)
		return vmm_errf(err, -errno, "disk base %s: cannot open: %s", base_path,
				strerror(errno));
	rc = dio_size(base, &size);
	if (rc || size == 0 || size % 512 || size > LAYER_MAX_DISK_SIZE) {
		rc = vmm_errf(err, rc ? rc : -EINVAL,
			      "disk base %s: size %llu is not a non-zero multiple of 512 up to 16 "
			      "TiB; pad it with truncate -s",
			      base_path, (unsigned long long)size);
		goto out;
	}
	if (lower_layer) {
		rc = layer_load(&lower, lower_layer, false, err);
		if (rc)
			goto out;
		if (!(lower.hdr.flags & LAYER_FLAG_FROZEN) || lower.hdr.disk_size != size) {
			rc = vmm_errf(err, -EINVAL,
				      "disk layer %s: %s; only a frozen layer of the same base can "
				      "be stacked on",
				      lower_layer,
				      lower.hdr.disk_size != size
					  ? "its disk size differs from the base"
					  : "not frozen (run `smolvm disk freeze`)");
			goto out;
		}
		kind = LAYER_LOWER_LAYER;
		memcpy(lower_id, lower.hdr.layer_id, LAYER_ID_LEN);
	} else {
		rc = layer_base_identity(base, size, lower_id);
		if (rc) {
			vmm_errf(err, rc, "disk base %s: cannot read: %s", base_path,
				 strerror(-rc));
			goto out;
		}
	}
	if (getrandom(id, sizeof(id), 0) != (ssize_t)sizeof(id)) {
		rc = vmm_errf(err, -EIO, "getrandom failed for a new layer id");
		goto out;
	}
	rc = layer_header_init(&h, size, id, kind, lower_id);
	if (rc)
		goto out;
	layer_header_encode(&h, buf);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = vmm_errf(err, -errno, "disk layer %s: cannot create: %s", path,
			      strerror(errno));
		goto out;
	}
	if (ftruncate(fd, (off_t)(h.data_offset + size)) || dio_pwrite(fd, buf, sizeof(buf), 0) ||
	    fsync(fd)) {
		rc = vmm_errf(err, -EIO, "disk layer %s: cannot write: %s", path, strerror(errno));
		close(fd);
		fd = -1;
		unlink(path);
		goto out;
	}
out:
	if (fd >= 0)
		close(fd);
	layer_close(&lower);
	close(base);
	return rc;
}

int disk_layer_freeze(const char *path, struct vmm_err *err)
{
	uint8_t buf[LAYER_HEADER_SIZE];
	struct layer l;
	int rc = layer_load(&l, path, true, err);
	if (rc)
		return rc;
	if (!(l.hdr.flags & LAYER_FLAG_FROZEN)) {
		l.hdr.flags |= LAYER_FLAG_FROZEN;
		layer_header_encode(&l.hdr, buf);
		rc = dio_pwrite(l.fd, buf, sizeof(buf), 0);
		if (!rc && fsync(l.fd))
			rc = -errno;
		if (rc)
			vmm_errf(err, rc, "disk layer %s: cannot write the header: %s", path,
				 strerror(-rc));
	}
	layer_close(&l);
	return rc;
}

int disk_layer_stat(const char *path, struct disk_layer_info *out, struct vmm_err *err)
{
	struct layer l;
	struct stat st;
	int rc = layer_load(&l, path, false, err);
	if (rc)
		return rc;
	memset(out, 0, sizeof(*out));
	out->hdr = l.hdr;
	for (uint64_t i = 0; i < l.hdr.bitmap_len; i++)
		out->allocated_blocks += (uint64_t)__builtin_popcount(l.bitmap[i]);
	if (fstat(l.fd, &st) == 0) {
		out->file_bytes = (uint64_t)st.st_size;
		out->disk_bytes = (uint64_t)st.st_blocks * 512;
	}
	layer_close(&l);
	return 0;
}
