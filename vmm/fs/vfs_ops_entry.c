/* vfs opcode handlers for names and attributes (FUSE protocol 7.x,
 * linux/fuse.h): LOOKUP, FORGET, BATCH_FORGET, GETATTR, SETATTR, READLINK,
 * SYMLINK, MKNOD, MKDIR, UNLINK, RMDIR, RENAME, RENAME2, LINK, STATFS, ACCESS.
 * Every name was validated as one path component (vfs_arg_name) and every
 * *at() call is relative to a node's O_PATH fd, so nothing here can leave
 * the share. */
#include "fs/vfs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

static int node_fd(const struct vfs *fs, const struct vfs_req *r, int *fd)
{
	return vfs_node_fd(fs, r->in->nodeid, fd);
}

static int reply_entry(struct vfs *fs, struct vfs_req *r, int parent_fd, const char *name)
{
	struct fuse_entry_out e;
	if (sizeof(e) > r->out_cap)
		return -ERANGE;
	int rc = vfs_lookup_at(fs, parent_fd, name, &e);
	if (rc)
		return rc;
	return vfs_reply(r, &e, sizeof(e));
}

int vfs_op_lookup(struct vfs *fs, struct vfs_req *r)
{
	const char *name;
	int pfd, rc = vfs_arg_name(r, 0, &name, NULL);
	if (rc == -EPERM)
		rc = -ENOENT; /* a lookup of "." or ".." finds nothing here */
	if (!rc)
		rc = node_fd(fs, r, &pfd);
	if (rc)
		return rc;
	rc = reply_entry(fs, r, pfd, name);
	if (rc == -ENOENT && fs->read_only) {
		/* fuse.h: nodeid 0 is a negative entry the client caches for
		 * entry_valid. Only the host adds names to a read-only share:
		 * the dynamic loader's and PATH's misses on every exec through
		 * the host's / are asked once per entry_valid. */
		struct fuse_entry_out e = {.entry_valid = VFS_ATTR_TTL};
		return vfs_reply(r, &e, sizeof(e));
	}
	return rc;
}

int vfs_op_forget(struct vfs *fs, struct vfs_req *r)
{
	const struct fuse_forget_in *in;
	r->no_reply = true; /* FORGET never gets a reply */
	if (vfs_arg(r, sizeof(*in), (const void **)&in))
		return 0;
	vfs_node_forget(fs, r->in->nodeid, in->nlookup);
	return 0;
}

int vfs_op_batch_forget(struct vfs *fs, struct vfs_req *r)
{
	const struct fuse_batch_forget_in *in;
	r->no_reply = true;
	if (vfs_arg(r, sizeof(*in), (const void **)&in))
		return 0;
	/* Only as many entries as the request really carries. */
	size_t room = (r->arg_len - sizeof(*in)) / sizeof(struct fuse_forget_one);
	size_t n = in->count < room ? in->count : room;
	for (size_t i = 0; i < n; i++) {
		struct fuse_forget_one one;
		memcpy(&one, r->arg + sizeof(*in) + i * sizeof(one), sizeof(one));
		vfs_node_forget(fs, one.nodeid, one.nlookup);
	}
	return 0;
}

static int reply_attr(struct vfs_req *r, int fd)
{
	struct fuse_attr_out o;
	struct stat st;
	int rc = vfs_stat_fd(fd, &st);
	if (rc)
		return rc;
	memset(&o, 0, sizeof(o));
	o.attr_valid = VFS_ATTR_TTL;
	vfs_fill_attr(&o.attr, &st);
	return vfs_reply(r, &o, sizeof(o));
}

int vfs_op_getattr(struct vfs *fs, struct vfs_req *r)
{
	const struct fuse_getattr_in *in;
	int fd, rc = vfs_arg(r, sizeof(*in), (const void **)&in);
	if (rc)
		return rc;
	if ((in->getattr_flags & FUSE_GETATTR_FH) && !vfs_fh_fd(fs, in->fh, false, &fd))
		return reply_attr(r, fd);
	rc = node_fd(fs, r, &fd);
	return rc ? rc : reply_attr(r, fd);
}

static int set_times(int fd, const struct fuse_setattr_in *in)
{
	struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_nsec = UTIME_OMIT}};
	char proc[32];
	if (in->valid & FATTR_ATIME_NOW)
		ts[0].tv_nsec = UTIME_NOW;
	else if (in->valid & FATTR_ATIME)
		ts[0] = (struct timespec){(time_t)in->atime, in->atimensec};
	if (in->valid & FATTR_MTIME_NOW)
		ts[1].tv_nsec = UTIME_NOW;
	else if (in->valid & FATTR_MTIME)
		ts[1] = (struct timespec){(time_t)in->mtime, in->mtimensec};
	if ((in->valid & (FATTR_ATIME | FATTR_ATIME_NOW)) && ts[0].tv_nsec != UTIME_NOW &&
	    ts[0].tv_nsec >= 1000000000)
		return -EINVAL;
	if ((in->valid & (FATTR_MTIME | FATTR_MTIME_NOW)) && ts[1].tv_nsec != UTIME_NOW &&
	    ts[1].tv_nsec >= 1000000000)
		return -EINVAL;
	vfs_proc_path(fd, proc);
	if (utimensat(AT_FDCWD, proc, ts, 0))
		return -errno;
	return 0;
}

int vfs_op_setattr(struct vfs *fs, struct vfs_req *r)
{
	const struct fuse_setattr_in *in;
	char proc[32];
	struct stat st;
	int fd, ffd = -1, rc = vfs_arg(r, sizeof(*in), (const void **)&in);
	if (rc)
		return rc;
	if (fs->read_only)
		return -EROFS;
	rc = node_fd(fs, r, &fd);
	if (rc)
		return rc;
	if (in->valid & FATTR_FH)
		(void)vfs_fh_fd(fs, in->fh, false, &ffd);
	rc = vfs_stat_fd(fd, &st);
	if (rc)
		return rc;
	vfs_proc_path(fd, proc);
	if ((in->valid & FATTR_MODE) &&
	    fchmodat(AT_FDCWD, proc, vfs_guest_mode(in->mode, S_ISDIR(st.st_mode)), 0))
		return -errno;
	if (in->valid & (FATTR_UID | FATTR_GID)) {
		uid_t uid = (in->valid & FATTR_UID) ? in->uid : (uid_t)-1;
		gid_t gid = (in->valid & FATTR_GID) ? in->gid : (gid_t)-1;
		if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
			return -errno;
	}
	if (in->valid & FATTR_SIZE) {
		if (!S_ISREG(st.st_mode))
			return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		if (in->size > (uint64_t)INT64_MAX)
			return -EFBIG;
		if (ffd >= 0 ? ftruncate(ffd, (off_t)in->size) : truncate(proc, (off_t)in->size))
			return -errno;
	}
	if (in->valid & (FATTR_ATIME | FATTR_MTIME | FATTR_ATIME_NOW | FATTR_MTIME_NOW)) {
		rc = set_times(fd, in);
		if (rc)
			return rc;
	}
	return reply_attr(r, fd);
}

int vfs_op_readlink(struct vfs *fs, struct vfs_req *r)
{
	int fd, rc = node_fd(fs, r, &fd);
	if (rc)
		return rc;
	ssize_t n = readlinkat(fd, "", (char *)r->out, r->out_cap);
	if (n < 0)
		return -errno;
	if ((size_t)n >= r->out_cap)
		return -ENAMETOOLONG;
	r->out_len = (size_t)n;
	return 0;
}

/* Shared prologue of the opcodes that create a name under nodeid. */
static int modify_prologue(struct vfs *fs, struct vfs_req *r, size_t name_off, int *pfd,
			   const char **name, size_t *next)
{
	int rc = vfs_arg_name(r, name_off, name, next);
	if (rc)
		return rc;
	if (fs->read_only)
		return -EROFS;
	return node_fd(fs, r, pfd);
}

int vfs_op_symlink(struct vfs *fs, struct vfs_req *r)
{
	const char *name, *target;
	size_t next;
	int pfd, rc = modify_prologue(fs, r, 0, &pfd, &name, &next);
	if (!rc)
		rc = vfs_arg_string(r, next, &target, NULL);
	if (rc)
		return rc;
	/* The target is stored, never followed by us: lookups use O_NOFOLLOW
	 * and RESOLVE_BENEATH, so an absolute or climbing target stays text. */
	if (symlinkat(target, pfd, name))
		return -errno;
	return reply_entry(fs, r, pfd, name);
}

int vfs_op_mknod(struct vfs *fs, struct vfs_req *r)
{
	const struct fuse_mknod_in *in;
	const char *name;
	int pfd, rc = vfs_arg(r, sizeof(*in), (const void **)&in);
	if (!rc)
		rc = modify_prologue(fs, r, sizeof(*in), &pfd, &name, NULL);
	if (rc)
		return rc;
	if (!S_ISREG(in->mode))
		return -EPERM; /* shares hold files, not device nodes or FIFOs */
	if (mknodat(pfd, name, S_IFREG | vfs_guest_mode(in->mode, false), 0))
		return -errno;
	return reply_entry(fs, r, pfd, name);
}

int vfs_op_mkdir(struct vfs *fs, struct vfs_req *r)
{
	const struct fuse_mkdir_in *in;
	const char *name;
	int pfd, rc = vfs_arg(r, sizeof(*in), (const void **)&in);
	if (!rc)
		rc = modify_prologue(fs, r, sizeof(*in), &pfd, &name, NULL);
	if (rc)
		return rc;
	if (mkdirat(pfd, name, vfs_guest_mode(in->mode, true)))
		return -errno;
	return reply_entry(fs, r, pfd, name);
}

static int remove_name(struct vfs *fs, struct vfs_req *r, int flags)
{
	const char *name;
	int pfd, rc = modify_prologue(fs, r, 0, &pfd, &name, NULL);
	if (rc)
		return rc;
	if (unlinkat(pfd, name, flags))
		return -errno;
	return 0;
}

int vfs_op_unlink(struct vfs *fs, struct vfs_req *r)
{
	return remove_name(fs, r, 0);
}

int vfs_op_rmdir(struct vfs *fs, struct vfs_req *r)
{
	return remove_name(fs, r, AT_REMOVEDIR);
}

static int do_rename(struct vfs *fs, struct vfs_req *r, size_t hdr, uint64_t newdir, uint32_t flags)
{
	const char *oldname, *newname;
	size_t next;
	int ofd, nfd, rc = modify_prologue(fs, r, hdr, &ofd, &oldname, &next);
	if (!rc)
		rc = vfs_arg_name(r, next, &newname, NULL);
	if (!rc)
		rc = vfs_node_fd(fs, newdir, &nfd);
	if (rc)
		return rc;
	if (flags & ~(uint32_t)(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL; /* no RENAME_WHITEOUT: that is overlayfs' business */
	if (syscall(SYS_renameat2, ofd, oldname, nfd, newname, flags))
		return -errno;
	return 0;
}

int vfs_op_rename(struct vfs *fs, struct vfs_req *r)
{
	const struct fuse_rename_in *in;
	int rc = vfs_arg(r, sizeof(*in), (const void **)&in);
	return rc ? rc : do_rename(fs, r, sizeof(*in), in->newdir, 0);
}

int vfs_op_rename2(struct vfs *fs, struct vfs_req *r)
{
	const struct fuse_rename2_in *in;
	int rc = vfs_arg(r, sizeof(*in), (const void **)&in);
	return rc ? rc : do_rename(fs, r, sizeof(*in), in->newdir, in->flags);
}

int vfs_op_link(struct vfs *fs, struct vfs_req *r)
{
	const struct fuse_link_in *in;
	const char *name;
	char proc[32];
	struct stat st;
	int pfd, ofd, rc = vfs_arg(r, sizeof(*in), (const void **)&in);
	if (!rc)
		rc = modify_prologue(fs, r, sizeof(*in), &pfd, &name, NULL);
	if (!rc)
		rc = vfs_node_fd(fs, in->oldnodeid, &ofd);
	if (!rc)
		rc = vfs_stat_fd(ofd, &st);
	if (rc)
		return rc;
	if (S_ISDIR(st.st_mode))
		return -EPERM;
	/* linkat(AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH; the /proc magic
	 * link names the same inode without it (as virtiofsd does). */
	vfs_proc_path(ofd, proc);
	if (linkat(AT_FDCWD, proc, pfd, name, AT_SYMLINK_FOLLOW))
		return -errno;
	return reply_entry(fs, r, pfd, name);
}

int vfs_op_statfs(struct vfs *fs, struct vfs_req *r)
{
	struct fuse_statfs_out o;
	struct statvfs sv;
	int fd, rc = node_fd(fs, r, &fd);
	if (rc)
		return rc;
	if (fstatvfs(fd, &sv))
		return -errno;
	memset(&o, 0, sizeof(o));
	o.st.blocks = sv.f_blocks;
	o.st.bfree = sv.f_bfree;
	o.st.bavail = sv.f_bavail;
	o.st.files = sv.f_files;
	o.st.ffree = sv.f_ffree;
	o.st.bsize = (uint32_t)sv.f_bsize;
	o.st.namelen = (uint32_t)sv.f_namemax;
	o.st.frsize = (uint32_t)sv.f_frsize;
	return vfs_reply(r, &o, sizeof(o));
}

int vfs_op_access(struct vfs *fs, struct vfs_req *r)
{
	const struct fuse_access_in *in;
	char proc[32];
	int fd, rc = vfs_arg(r, sizeof(*in), (const void **)&in);
	if (!rc)
		rc = node_fd(fs, r, &fd);
	if (rc)
		return rc;
	if (in->mask & ~(uint32_t)(R_OK | W_OK | X_OK))
		return -EINVAL;
	if ((in->mask & W_OK) && fs->read_only)
		return -EROFS;
	vfs_proc_path(fd, proc);
	if (faccessat(AT_FDCWD, proc, (int)in->mask, 0))
		return -errno;
	return 0;
}
