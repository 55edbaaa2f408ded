/* vfs snapshots: the FUSE session, node table and open handles as paths,
 * so a restored guest keeps using the node ids and file handles it has. */
#include "fs/vfs_internal.h"

#include "smolvm/err.h"
#include "snapshot/snap_codec.h"
#include "strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SNAP_MAGIC 0x31534656u /* "VFS1" */
#define FH_FLAGS   (O_ACCMODE | O_APPEND | O_SYNC | O_DSYNC | O_NOATIME | O_DIRECTORY)

/* The blob, little endian, field by field (snap_codec.h):
 *   head (16 bytes): u32 magic, FUSE minor (0 before INIT), nnodes, nfhs;
 *   nnodes x node: u64 nodeid, nlookup; u32 pathlen, pad; the path (no NUL);
 *   nfhs x handle (24 bytes): u64 fh, nodeid; u32 open flags, dir. */
struct snap_head {
	uint32_t magic, minor, nnodes, nfhs;
};
struct snap_node {
	uint64_t nodeid, nlookup;
	uint32_t pathlen;
	const uint8_t *path; /* into the blob */
};
struct snap_fh {
	uint64_t fh, nodeid;
	uint32_t flags, dir;
};

#define HEAD_BYTES 16u
#define NODE_BYTES 24u /* without its path */
#define FH_BYTES   24u

static void dec_head(struct snap_dec *d, struct snap_head *h)
{
	h->magic = snap_dec_u32(d);
	h->minor = snap_dec_u32(d);
	h->nnodes = snap_dec_u32(d);
	h->nfhs = snap_dec_u32(d);
}

/* One node record; a NULL path when the blob ends before it. */
static void dec_node(struct snap_dec *d, struct snap_node *n)
{
	n->nodeid = snap_dec_u64(d);
	n->nlookup = snap_dec_u64(d);
	n->pathlen = snap_dec_u32(d);
	(void)snap_dec_u32(d); /* pad */
	n->path = snap_dec_bytes(d, n->pathlen);
}

static void dec_fh(struct snap_dec *d, struct snap_fh *f)
{
	f->fh = snap_dec_u64(d);
	f->nodeid = snap_dec_u64(d);
	f->flags = snap_dec_u32(d);
	f->dir = snap_dec_u32(d);
}

/* The absolute host path of fd, via /proc/self/fd. */
static int fd_path(int fd, char *buf, size_t len)
{
	char proc[32];
	vfs_proc_path(fd, proc);
	ssize_t n = readlink(proc, buf, len - 1);
	if (n < 0)
		return -errno;
	if ((size_t)n >= len - 1)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return 0;
}

int vfs_save_state(const struct vfs *fs, struct strbuf *out)
{
	uint32_t nnodes = 0, nfhs = 0;
	struct strbuf body = {0};
	struct snap_enc e;
	char root[PATH_MAX], path[PATH_MAX];
	int rc = fd_path(fs->nodes[FUSE_ROOT_ID].fd, root, sizeof(root));
	if (rc)
		return rc;
	size_t rlen = strlen(root);
	if (rlen == 1 && root[0] == '/')
		rlen = 0; /* the share is the host's /: every path is below it */
	snap_enc_init(&e, &body);
	for (uint32_t i = FUSE_ROOT_ID + 1; i < fs->nodes_cap; i++) {
		const struct vfs_node *n = &fs->nodes[i];
		struct stat st;
		if (n->fd < 0 || vfs_stat_fd(n->fd, &st) || st.st_nlink == 0)
			continue; /* deleted: nothing to find again */
		if (fd_path(n->fd, path, sizeof(path)) || strncmp(path, root, rlen) != 0 ||
		    path[rlen] != '/')
			continue; /* moved out of the share meanwhile */
		const char *rel = path + rlen + 1;
		uint32_t pathlen = (uint32_t)strlen(rel);
		snap_enc_u64(&e, i);
		snap_enc_u64(&e, n->nlookup);
		snap_enc_u32(&e, pathlen);
		snap_enc_u32(&e, 0);
		snap_enc_bytes(&e, rel, pathlen);
		nnodes++;
	}
	for (uint32_t i = 1; i < fs->fhs_cap; i++) {
		const struct vfs_fh *f = &fs->fhs[i];
		if (f->fd < 0)
			continue;
		snap_enc_u64(&e, i);
		snap_enc_u64(&e, f->nodeid);
		snap_enc_u32(&e, f->flags & FH_FLAGS);
		snap_enc_u32(&e, f->dir);
		nfhs++;
	}
	rc = snap_enc_error(&e);
	if (!rc) {
		snap_enc_init(&e, out);
		snap_enc_u32(&e, SNAP_MAGIC);
		snap_enc_u32(&e, fs->init_done ? fs->proto_minor : 0);
		snap_enc_u32(&e, nnodes);
		snap_enc_u32(&e, nfhs);
		snap_enc_bytes(&e, body.buf, body.len);
		rc = snap_enc_error(&e);
	}
	sb_release(&body);
	return rc;
}

static int bad(struct vmm_err *err, const char *what)
{
	return vmm_errf(err, -EINVAL, "virtio-fs state: %s", what);
}

/* Checks every record before anything is touched. */
static int validate(const struct vfs *fs, const uint8_t *p, size_t len, struct vmm_err *err)
{
	struct snap_dec d;
	struct snap_head h;
	if (len < HEAD_BYTES)
		return bad(err, "truncated header");
	snap_dec_init(&d, p, len);
	dec_head(&d, &h);
	if (h.magic != SNAP_MAGIC)
		return bad(err, "bad magic");
	if (h.minor && (h.minor < 12 || h.minor > FUSE_KERNEL_MINOR_VERSION))
		return bad(err, "FUSE protocol minor out of range");
	if (h.nnodes > fs->lim.max_nodes || h.nfhs > fs->lim.max_handles)
		return bad(err, "more nodes or handles than this share allows");
	for (uint32_t i = 0; i < h.nnodes; i++) {
		struct snap_node sn;
		if (snap_dec_left(&d) < NODE_BYTES)
			return bad(err, "truncated node record");
		dec_node(&d, &sn);
		if (sn.nodeid <= FUSE_ROOT_ID || sn.nodeid > fs->lim.max_nodes || sn.nlookup == 0)
			return bad(err, "node id or lookup count out of range");
		if (sn.pathlen == 0 || sn.pathlen >= PATH_MAX || !sn.path ||
		    memchr(sn.path, '\0', sn.pathlen) || sn.path[0] == '/')
			return bad(err, "node path malformed");
	}
	for (uint32_t i = 0; i < h.nfhs; i++) {
		struct snap_fh sf;
		if (snap_dec_left(&d) < FH_BYTES)
			return bad(err, "truncated handle record");
		dec_fh(&d, &sf);
		if (sf.fh == 0 || sf.fh > fs->lim.max_handles || sf.dir > 1 ||
		    (sf.flags & ~(uint32_t)FH_FLAGS) || sf.nodeid == 0 ||
		    sf.nodeid > fs->lim.max_nodes)
			return bad(err, "handle record out of range");
	}
	if (snap_dec_left(&d))
		return bad(err, "trailing bytes");
	return 0;
}

int vfs_check_state(const struct vfs *fs, const void *blob, size_t len, struct vmm_err *err)
{
	int rc = validate(fs, blob, len, err);
	if (!rc && (fs->nodes_live != 1 || fs->fhs_live != 0))
		return bad(err, "restore needs a fresh share");
	return rc;
}

int vfs_restore_state(struct vfs *fs, const void *blob, size_t len, struct vmm_err *err)
{
	struct snap_dec d;
	struct snap_head h;
	char path[PATH_MAX];
	int rc = vfs_check_state(fs, blob, len, err);
	if (rc)
		return rc;
	snap_dec_init(&d, blob, len);
	dec_head(&d, &h);
	int root = fs->nodes[FUSE_ROOT_ID].fd;
	for (uint32_t i = 0; i < h.nnodes; i++) {
		struct snap_node sn;
		dec_node(&d, &sn);
		memcpy(path, sn.path, sn.pathlen);
		path[sn.pathlen] = '\0';
		/* Beneath the root only, no symlink on the way: the blob comes
		 * from a file and is not trusted to name where it likes. */
		struct open_how how = {.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
				       .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
						  RESOLVE_NO_SYMLINKS};
		int fd = (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
		struct stat st;
		if (fd < 0)
			continue; /* gone on the host: ENOENT for the guest */
		if (vfs_stat_fd(fd, &st) || vfs_node_known(fs, st.st_dev, st.st_ino) ||
		    vfs_node_install(fs, sn.nodeid, fd, &st, sn.nlookup))
			close(fd);
	}
	for (uint32_t i = 0; i < h.nfhs; i++) {
		struct snap_fh sf;
		int nfd, fd;
		char proc[32];
		dec_fh(&d, &sf);
		if (vfs_node_fd(fs, sf.nodeid, &nfd))
			continue;
		struct stat st;
		if (vfs_stat_fd(nfd, &st) || (sf.dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)))
			continue; /* never re-open a FIFO or device in its place */
		if (fs->read_only && (sf.flags & O_ACCMODE) != O_RDONLY)
			continue;
		vfs_proc_path(nfd, proc);
		fd = open(proc, (int)sf.flags | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			continue;
		if (vfs_fh_install(fs, sf.fh, fd, sf.dir, sf.nodeid, sf.flags))
			close(fd);
	}
	vfs_rebuild_free_lists(fs);
	if (h.minor) {
		fs->proto_minor = h.minor;
		fs->init_done = true;
	}
	return 0;
}
