/* vfs opcode handlers for open files and directories (FUSE protocol 7.x):
 * OPEN, CREATE, READ, WRITE, RELEASE, FSYNC, FLUSH, FALLOCATE, LSEEK,
 * OPENDIR, READDIR, READDIRPLUS, RELEASEDIR, FSYNCDIR. */
#include "fs/vfs_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Open flags we pass through; anything else (O_CREAT, O_EXCL, O_NOCTTY,
 * O_PATH, O_TMPFILE, O_DIRECTORY...) is dropped or refused. */
#define PASS_FLAGS (O_ACCMODE | O_APPEND | O_TRUNC | O_SYNC | O_DSYNC | O_NOATIME)

static bool is_write_open(uint32_t flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

static int reopen(int node_fd, int flags, int *out)
{
	char proc[32];
	vfs_proc_path(node_fd, proc);
	int fd = open(proc, flags | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	*out = fd;
	return 0;
}

/* Only regular files are opened: opening a FIFO would block the server and
 * a device node would reach a host device. Directories go through OPENDIR. */
static int regular_only(const struct stat *st)
{
	if (S_ISDIR(st->st_mode))
		return -EISDIR;
	if (!S_ISREG(st->st_mode))
		return S_ISLNK(st->st_mode) ? -ELOOP : -EPERM;
	return 0;
}

/* CREATE's open of name under pfd. A new file is made with O_EXCL. A name
 * that exists already (the guest's negative entry was stale, or a hostile
 * driver) is opened as OPEN would: through an O_PATH fd that is checked to
 * be a regular file first, never a FIFO or device node the host put there. */
static int create_open(int pfd, const char *name, const struct fuse_create_in *in, int *out)
{
	struct open_how how = {
	    .flags =
		(in->flags & PASS_FLAGS) | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
	    .mode = vfs_guest_mode(in->mode, false),
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	struct open_how path = {
	    .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	/* A name that comes and goes under us: a few rounds, then EAGAIN. */
	for (int round = 0; round < 4; round++) {
		int fd = (int)syscall(SYS_openat2, pfd, name, &how, sizeof(how));
		if (fd >= 0) {
			*out = fd;
			return 0;
		}
		if (errno != EEXIST || (in->flags & O_EXCL))
			return -errno;
		int nfd = (int)syscall(SYS_openat2, pfd, name, &path, sizeof(path));
		if (nfd < 0) {
			if (errno == ENOENT)
				continue;
			return -errno;
		}
		struct stat st;
		int rc = vfs_stat_fd(nfd, &st);
		if (!rc)
			rc = regular_only(&st);
		if (!rc)
			rc = reopen(nfd, (int)(in->flags & PASS_FLAGS), out);
		close(nfd);
		return rc;
	}
	return -EAGAIN;
}

static int reply_open(struct vfs *fs, struct vfs_req *r, int fd, bool dir, uint64_t nodeid,
		      uint32_t flags)
{
	struct fuse_open_out o;
	uint64_t fh;
	if (sizeof(o) > r->out_cap) {
		close(fd);
		return -ERANGE;
	}
	/* A restored handle must not truncate the file a second time. */
	int rc = vfs_fh_add(fs, fd, dir, nodeid, flags & ~(uint32_t)O_TRUNC, &fh);
	if (rc)
		return rc;
	memset(&o, 0, sizeof(o));
	o.fh = fh;
	/* Only the host changes a read-only share's files, and the client
	 * notices that by their mtime and size (FUSE_AUTO_INVAL_DATA): keep
	 * the pages of binaries and libraries across the opens of every exec. */
	if (fs->read_only && !dir)
		o.open_flags = FOPEN_KEEP_CACHE;
	return vfs_reply(r, &o, sizeof(o));
}

/* OPEN and OPENDIR: the request's fuse_open_in, the node's O_PATH fd
 * (borrowed from the node table) and what it is now. */
static int open_target(struct vfs *fs, struct vfs_req *r, const struct fuse_open_in **in, int *nfd,
		       struct stat *st)
{
	int rc = vfs_arg(r, sizeof(**in), (const void **)in);
	if (!rc)
		rc = vfs_node_fd(fs, r->in->nodeid, nfd);
	return rc ? rc : vfs_stat_fd(*nfd, st);
}

int vfs_op_open(struct vfs *fs, struct vfs_req *r)
{
	const struct fuse_open_in *in;
	struct stat st;
	int nfd, fd = -1, rc = open_target(fs, r, &in, &nfd, &st);
	if (rc)
		return rc;
	rc = regular_only(&st);
	if (rc)
		return rc;
	if (fs->read_only && is_write_open(in->flags))
		return -EROFS;
	rc = reopen(nfd, (int)(in->flags & PASS_FLAGS), &fd);
	return rc ? rc : reply_open(fs, r, fd, false, r->in->nodeid, in->flags & PASS_FLAGS);
}

int vfs_op_create(struct vfs *fs, struct vfs_req *r)
{
	const struct fuse_create_in *in;
	const char *name;
	struct fuse_entry_out e;
	int pfd, fd = -1, rc = vfs_arg(r, sizeof(*in), (const void **)&in);
	if (!rc)
		rc = vfs_arg_name(r, sizeof(*in), &name, NULL);
	if (rc)
		return rc;
	if (fs->read_only)
		return -EROFS;
	rc = vfs_node_fd(fs, r->in->nodeid, &pfd);
	if (rc)
		return rc;
	if (sizeof(e) + sizeof(struct fuse_open_out) > r->out_cap)
		return -ERANGE;
	rc = create_open(pfd, name, in, &fd);
	if (rc)
		return rc;
	rc = vfs_lookup_at(fs, pfd, name, &e);
	if (rc) {
		close(fd);
		return rc;
	}
	uint64_t nodeid = e.nodeid;
	struct vfs_req sub = *r;
	sub.out = r->out + sizeof(e);
	sub.out_cap = r->out_cap - sizeof(e);
	rc = reply_open(fs, &sub, fd, false, nodeid, in->flags & PASS_FLAGS);
	if (rc) {
		vfs_node_forget(fs, nodeid, 1);
		return rc;
	}
	memcpy(r->out, &e, sizeof(e));
	r->out_len = sizeof(e) + sub.out_len;
	return 0;
}

int vfs_op_read(struct vfs *fs, struct vfs_req *r)
{
	const struct fuse_read_in *in;
	int fd, rc = vfs_arg(r, sizeof(*in), (const void **)&in);
	if (!rc)
		rc = vfs_fh_fd(fs, in->fh, false, &fd);
	if (rc)
		return rc;
	if (in->offset > (uint64_t)INT64_MAX)
		return -EINVAL;
	size_t n = in->size < VFS_MAX_IO ? in->size : VFS_MAX_IO;
	if (n > r->out_cap)
		n = r->out_cap;
	ssize_t got = pread(fd, r->out, n, (off_t)in->offset);
	if (got < 0)
		return -errno;
	r->out_len = (size_t)got;
	return 0;
}

int vfs_op_write(struct vfs *fs, struct vfs_req *r)
{
	const struct fuse_write_in *in;
	struct fuse_write_out o;
	int fd, rc = vfs_arg(r, sizeof(*in), (const void **)&in);
	if (rc)
		return rc;
	if (in->size > r->arg_len - sizeof(*in) || in->size > VFS_MAX_IO ||
	    in->offset > (uint64_t)INT64_MAX)
		return -EINVAL;
	if (fs->read_only)
		return -EROFS;
	rc = vfs_fh_fd(fs, in->fh, false, &fd);
	if (rc)
		return rc;
	if (sizeof(o) > r->out_cap)
		return -ERANGE;
	ssize_t n = pwrite(fd, r->arg + sizeof(*in), in->size, (off_t)in->offset);
	if (n < 0)
		return -errno;
	memset(&o, 0, sizeof(o));
	o.size = (uint32_t)n;
	return vfs_reply(r, &o, sizeof(o));
}

int vfs_op_release(struct vfs *fs, struct vfs_req *r)
{
	const struct fuse_release_in *in;
	int rc = vfs_arg(r, sizeof(*in), (const void **)&in);
	return rc ? rc : vfs_fh_release(fs, in->fh, false);
}

int vfs_op_releasedir(struct vfs *fs, struct vfs_req *r)
{
	const struct fuse_release_in *in;
	int rc = vfs_arg(r, sizeof(*in), (const void **)&in);
	return rc ? rc : vfs_fh_release(fs, in->fh, true);
}

static int do_fsync(struct vfs *fs, struct vfs_req *r, bool dir)
{
	const struct fuse_fsync_in *in;
	int fd, rc = vfs_arg(r, sizeof(*in), (const void **)&in);
	if (!rc)
		rc = vfs_fh_fd(fs, in->fh, dir, &fd);
	if (rc)
		return rc;
	if ((in->fsync_flags & 1) ? fdatasync(fd) : fsync(fd))
		return -errno;
	return 0;
}

int vfs_op_fsync(struct vfs *fs, struct vfs_req *r)
{
	return do_fsync(fs, r, false);
}

int vfs_op_fsyncdir(struct vfs *fs, struct vfs_req *r)
{
	return do_fsync(fs, r, true);
}

int vfs_op_flush(struct vfs *fs, struct vfs_req *r)
{
	const struct fuse_flush_in *in;
	int fd, rc = vfs_arg(r, sizeof(*in), (const void **)&in);
	return rc ? rc : vfs_fh_fd(fs, in->fh, false, &fd);
}

int vfs_op_fallocate(struct vfs *fs, struct vfs_req *r)
{
	const struct fuse_fallocate_in *in;
	int fd, rc = vfs_arg(r, sizeof(*in), (const void **)&in);
	if (rc)
		return rc;
	if (fs->read_only)
		return -EROFS;
	rc = vfs_fh_fd(fs, in->fh, false, &fd);
	if (rc)
		return rc;
	if (in->mode &
	    ~(uint32_t)(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
		return -EOPNOTSUPP;
	if (in->offset > (uint64_t)INT64_MAX || in->length > (uint64_t)INT64_MAX - in->offset)
		return -EINVAL;
	if (fallocate(fd, (int)in->mode, (off_t)in->offset, (off_t)in->length))
		return -errno;
	return 0;
}

int vfs_op_lseek(struct vfs *fs, struct vfs_req *r)
{
	const struct fuse_lseek_in *in;
	struct fuse_lseek_out o;
	int fd, rc = vfs_arg(r, sizeof(*in), (const void **)&in);
	if (!rc)
		rc = vfs_fh_fd(fs, in->fh, false, &fd);
	if (rc)
		return rc;
	if (in->whence != SEEK_SET && in->whence != SEEK_CUR && in->whence != SEEK_END &&
	    in->whence != SEEK_DATA && in->whence != SEEK_HOLE)
		return -EINVAL;
	if (in->offset > (uint64_t)INT64_MAX)
		return -EINVAL;
	off_t off = lseek(fd, (off_t)in->offset, (int)in->whence);
	if (off < 0)
		return -errno;
	o.offset = (uint64_t)off;
	return vfs_reply(r, &o, sizeof(o));
}

int vfs_op_opendir(struct vfs *fs, struct vfs_req *r)
{
	const struct fuse_open_in *in;
	struct stat st;
	int nfd, fd = -1, rc = open_target(fs, r, &in, &nfd, &st);
	if (rc)
		return rc;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	rc = reopen(nfd, O_RDONLY | O_DIRECTORY, &fd);
	return rc ? rc : reply_open(fs, r, fd, true, r->in->nodeid, O_RDONLY | O_DIRECTORY);
}

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static int do_readdir(struct vfs *fs, struct vfs_req *r, bool plus)
{
	const struct fuse_read_in *in;
	int fd, rc = vfs_arg(r, sizeof(*in), (const void **)&in);
	if (!rc)
		rc = vfs_fh_fd(fs, in->fh, true, &fd);
	if (rc)
		return rc;
	if (in->offset > (uint64_t)INT64_MAX)
		return -EINVAL;
	size_t cap = in->size < r->out_cap ? in->size : r->out_cap;
	if (lseek(fd, (off_t)in->offset, SEEK_SET) < 0)
		return -errno;
	size_t used = 0;
	for (;;) {
		long got = syscall(SYS_getdents64, fd, fs->dirbuf, 32768);
		if (got < 0)
			return used ? 0 : -errno;
		if (got == 0)
			break;
		for (long pos = 0; pos < got;) {
			struct linux_dirent64 *de = (struct linux_dirent64 *)(fs->dirbuf + pos);
			pos += de->d_reclen;
			size_t namelen = strlen(de->d_name);
			size_t ent = FUSE_NAME_OFFSET + namelen;
			/* FUSE_DIRENTPLUS_SIZE: the entry_out (128 bytes, 8-aligned)
			 * then an ordinary dirent. */
			size_t rec =
			    FUSE_DIRENT_ALIGN(ent) + (plus ? sizeof(struct fuse_entry_out) : 0);
			if (used + rec > cap)
				return 0;
			uint8_t *p = r->out + used;
			struct fuse_dirent d = {
			    .ino = de->d_ino,
			    .off = (uint64_t)de->d_off,
			    .namelen = (uint32_t)namelen,
			    .type = de->d_type,
			};
			if (plus) {
				struct fuse_entry_out e;
				memset(&e, 0, sizeof(e));
				bool dot = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
				if (!dot && vfs_lookup_at(fs, fd, de->d_name, &e))
					memset(&e, 0,
					       sizeof(e)); /* vanished: the client skips nodeid 0 */
				memcpy(p, &e, sizeof(e));
				p += sizeof(e);
			}
			memset(p, 0, FUSE_DIRENT_ALIGN(ent));
			memcpy(p, &d, FUSE_NAME_OFFSET);
			memcpy(p + FUSE_NAME_OFFSET, de->d_name, namelen);
			used += rec;
			r->out_len = used;
		}
	}
	return 0;
}

int vfs_op_readdir(struct vfs *fs, struct vfs_req *r)
{
	return do_readdir(fs, r, false);
}

int vfs_op_readdirplus(struct vfs *fs, struct vfs_req *r)
{
	return do_readdir(fs, r, true);
}
