/* vfs snapshots: the FUSE session, node table and open handles as paths,
 * so a restored guest keeps using the node ids and file handles it has. */
#include "fs/vfs_internal.h"

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

struct snap_head {
	uint32_t magic, minor, nnodes, nfhs;
};
struct snap_node {
	uint64_t nodeid, nlookup;
	uint32_t pathlen, pad;
};
struct snap_fh {
	uint64_t fh, nodeid;
	uint32_t flags, dir;
};

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
	struct snap_head h = {SNAP_MAGIC, fs->init_done ? fs->proto_minor : 0, 0, 0};
	struct strbuf body = {0};
	char root[PATH_MAX], path[PATH_MAX];
	int rc = fd_path(fs->nodes[FUSE_ROOT_ID].fd, root, sizeof(root));
	if (rc)
		return rc;
	size_t rlen = strlen(root);
	if (rlen == 1 && root[0] == '/')
		rlen = 0; /* the share is the host's /: every path is below it */
	for (uint32_t i = FUSE_ROOT_ID + 1; i < fs->nodes_cap; i++) {
		const struct vfs_node *n = &fs->nodes[i];
		struct stat st;
		if (n->fd < 0 || vfs_stat_fd(n->fd, &st) || st.st_nlink == 0)
			continue; /* deleted: nothing to find again */
		if (fd_path(n->fd, path, sizeof(path)) || strncmp(path, root, rlen) != 0 ||
		    path[rlen] != '/')
			continue; /* moved out of the share meanwhile */
		const char *rel = path + rlen + 1;
		struct snap_node sn = {i, n->nlookup, (uint32_t)strlen(rel), 0};
		if ((rc = sb_append(&body, &sn, sizeof(sn))) ||
		    (rc = sb_append(&body, rel, sn.pathlen)))
			goto out;
		h.nnodes++;
	}
	for (uint32_t i = 1; i < fs->fhs_cap; i++) {
		const struct vfs_fh *f = &fs->fhs[i];
		if (f->fd < 0)
			continue;
		struct snap_fh sf = {i, f->nodeid, f->flags & FH_FLAGS, f->dir};
		if ((rc = sb_append(&body, &sf, sizeof(sf))))
			goto out;
		h.nfhs++;
	}
	rc = sb_append(out, &h, sizeof(h));
	if (!rc && body.len)
		rc = sb_append(out, body.buf, body.len);
out:
	sb_release(&body);
	return rc;
}

static int bad(char *err, size_t len, const char *what)
{
	snprintf(err, len, "virtio-fs state: %s", what);
	return -EINVAL;
}

/* Checks every record before anything is touched. */
static int validate(const struct vfs *fs, const uint8_t *p, size_t len, char *err, size_t elen)
{
	struct snap_head h;
	if (len < sizeof(h))
		return bad(err, elen, "truncated header");
	memcpy(&h, p, sizeof(h));
	if (h.magic != SNAP_MAGIC)
		return bad(err, elen, "bad magic");
	if (h.minor && (h.minor < 12 || h.minor > FUSE_KERNEL_MINOR_VERSION))
		return bad(err, elen, "FUSE protocol minor out of range");
	if (h.nnodes > fs->lim.max_nodes || h.nfhs > fs->lim.max_handles)
		return bad(err, elen, "more nodes or handles than this share allows");
	size_t off = sizeof(h);
	for (uint32_t i = 0; i < h.nnodes; i++) {
		struct snap_node sn;
		if (len - off < sizeof(sn))
			return bad(err, elen, "truncated node record");
		memcpy(&sn, p + off, sizeof(sn));
		off += sizeof(sn);
		if (sn.nodeid <= FUSE_ROOT_ID || sn.nodeid > fs->lim.max_nodes || sn.nlookup == 0)
			return bad(err, elen, "node id or lookup count out of range");
		if (sn.pathlen == 0 || sn.pathlen >= PATH_MAX || len - off < sn.pathlen ||
		    memchr(p + off, '\0', sn.pathlen) || p[off] == '/')
			return bad(err, elen, "node path malformed");
		off += sn.pathlen;
	}
	for (uint32_t i = 0; i < h.nfhs; i++) {
		struct snap_fh sf;
		if (len - off < sizeof(sf))
			return bad(err, elen, "truncated handle record");
		memcpy(&sf, p + off, sizeof(sf));
		off += sizeof(sf);
		if (sf.fh == 0 || sf.fh > fs->lim.max_handles || sf.dir > 1 ||
		    (sf.flags & ~(uint32_t)FH_FLAGS) || sf.nodeid == 0 ||
		    sf.nodeid > fs->lim.max_nodes)
			return bad(err, elen, "handle record out of range");
	}
	if (off != len)
		return bad(err, elen, "trailing bytes");
	return 0;
}

int vfs_restore_state(struct vfs *fs, const void *blob, size_t len, char *err, size_t elen)
{
	const uint8_t *p = blob;
	struct snap_head h;
	char path[PATH_MAX];
	int rc = validate(fs, p, len, err, elen);
	if (rc)
		return rc;
	if (fs->nodes_live != 1 || fs->fhs_live != 0)
		return bad(err, elen, "restore needs a fresh share");
	memcpy(&h, p, sizeof(h));
	size_t off = sizeof(h);
	int root = fs->nodes[FUSE_ROOT_ID].fd;
	for (uint32_t i = 0; i < h.nnodes; i++) {
		struct snap_node sn;
		memcpy(&sn, p + off, sizeof(sn));
		off += sizeof(sn);
		memcpy(path, p + off, sn.pathlen);
		path[sn.pathlen] = '\0';
		off += sn.pathlen;
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
		memcpy(&sf, p + off, sizeof(sf));
		off += sizeof(sf);
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
