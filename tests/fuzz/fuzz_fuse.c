/* Fuzz target for the virtio-fs FUSE request handler. When the first byte
 * has bit 1 set, the rest is a snapshot state blob for vfs_restore_state
 * instead (it comes from a file). Otherwise, after a valid INIT,
 * the input is a series of requests, each a 2-byte little-endian length
 * then that many bytes. The header's len field is forced to match (else
 * the request is refused before the parser proper) and the node id is
 * folded onto a small range so that real nodes get hit. Every request runs
 * against a fresh scratch share; the handler must never crash, leak or
 * touch anything outside it. */
#include "fs/vfs.h"
#include "smolvm/err.h"
#include "util.h"

#include <linux/fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put(const char *dir, const char *name, const char *text)
{
	char p[128];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t req[VFS_BUF_SIZE], out[VFS_BUF_SIZE];
	char dir[] = "/tmp/smol-fuzz-fuse-XXXXXX", share[64];
	struct vfs *fs = NULL;
	size_t olen;

	if (!mkdtemp(dir))
		return 0;
	snprintf(share, sizeof(share), "%s/s", dir);
	mkdir(share, 0755);
	put(share, "a", "hello\n");
	put(dir, "outside", "secret\n");
	if (vfs_create(share, size && (data[0] & 1), NULL, &fs, NULL))
		goto out;
	if (size && (data[0] & 2)) {
		struct vmm_err why;
		(void)vfs_restore_state(fs, data + 1, size - 1, &why);
		vfs_destroy(fs);
		goto out;
	}
	struct {
		struct fuse_in_header h;
		struct fuse_init_in i;
	} init = {{.len = sizeof(init), .opcode = FUSE_INIT, .unique = 1},
		  {.major = 7, .minor = 31, .flags = 0xffffffff}};
	(void)vfs_handle(fs, &init, sizeof(init), out, sizeof(out), &olen);
	for (size_t pos = 0; pos + 2 <= size;) {
		size_t n = (size_t)data[pos] | (size_t)data[pos + 1] << 8;
		pos += 2;
		if (n > size - pos)
			n = size - pos;
		memcpy(req, data + pos, n);
		pos += n;
		if (n >= sizeof(struct fuse_in_header)) {
			struct fuse_in_header h;
			memcpy(&h, req, sizeof(h));
			h.len = (uint32_t)n;
			h.nodeid %= 8;
			memcpy(req, &h, sizeof(h));
		}
		if (vfs_handle(fs, req, n, out, sizeof(out), &olen) == 0 && olen) {
			struct fuse_out_header oh;
			memcpy(&oh, out, sizeof(oh));
			if (oh.len != olen || olen > sizeof(out) || oh.error > 0 ||
			    oh.error < -4095)
				abort();
		}
		if (vfs_destroyed(fs))
			break;
	}
	vfs_destroy(fs);
	struct stat st;
	char outside[96];
	snprintf(outside, sizeof(outside), "%s/outside", dir);
	if (stat(outside, &st) || st.st_size != 7)
		abort(); /* something reached outside the share */
out:
	util_rm_rf(dir);
	return 0;
}
