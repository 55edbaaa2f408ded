/* The virtio-fs FUSE handler (vmm/fs/) driven with hand-made requests:
 * the happy path, then hostile ones (short headers, length lies, bad names,
 * escapes with "..", '/', symlinks, bogus node ids and handles, oversized
 * sizes) and a read-only share refusing every modifying opcode. */
#include "fs/vfs.h"
#include "smolvm/err.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64], share[128], outside[128];
static uint8_t out[VFS_BUF_SIZE];
static uint64_t unique;

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/smol-test-fuse-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(share, sizeof(share), "%s/share", dir);
	snprintf(outside, sizeof(outside), "%s/outside.txt", dir);
	ck_assert_int_eq(mkdir(share, 0755), 0);
	FILE *f = fopen(outside, "w");
	fputs("secret\n", f);
	fclose(f);
	char p[256];
	snprintf(p, sizeof(p), "%s/hello.txt", share);
	f = fopen(p, "w");
	fputs("hello world\n", f);
	fclose(f);
	snprintf(p, sizeof(p), "%s/up", share);
	ck_assert_int_eq(symlink("..", p), 0);
	snprintf(p, sizeof(p), "%s/abs", share);
	ck_assert_int_eq(symlink("/", p), 0);
	snprintf(p, sizeof(p), "%s/fifo", share);
	ck_assert_int_eq(mkfifo(p, 0644), 0);
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Sends opcode with arg (and an optional trailing blob) to nodeid; returns
 * the reply's error (0 or -errno) and leaves the body in out + 16. */
static int call(struct vfs *fs, uint32_t op, uint64_t nodeid, const void *arg, size_t alen,
		const void *tail, size_t tlen, size_t *body_len)
{
	uint8_t req[VFS_BUF_SIZE];
	struct fuse_in_header h = {.len = (uint32_t)(sizeof(h) + alen + tlen),
				   .opcode = op,
				   .unique = ++unique,
				   .nodeid = nodeid};
	memcpy(req, &h, sizeof(h));
	if (alen)
		memcpy(req + sizeof(h), arg, alen);
	if (tlen)
		memcpy(req + sizeof(h) + alen, tail, tlen);
	size_t olen = 0;
	ck_assert_int_eq(vfs_handle(fs, req, h.len, out, sizeof(out), &olen), 0);
	if (olen == 0)
		return 1; /* no reply (FORGET) */
	struct fuse_out_header oh;
	memcpy(&oh, out, sizeof(oh));
	ck_assert_uint_eq(oh.unique, unique);
	ck_assert_uint_eq(oh.len, olen);
	if (body_len)
		*body_len = olen - sizeof(oh);
	return oh.error;
}

static int call_name(struct vfs *fs, uint32_t op, uint64_t nodeid, const char *name)
{
	return call(fs, op, nodeid, name, strlen(name) + 1, NULL, 0, NULL);
}

static struct vfs *mkfs(bool ro)
{
	struct vfs *fs = NULL;
	struct vmm_err err;
	ck_assert_int_eq(vfs_create(share, ro, NULL, &fs, &err), 0);
	struct fuse_init_in in = {.major = 7,
				  .minor = 31,
				  .max_readahead = 65536,
				  .flags = FUSE_DO_READDIRPLUS | FUSE_MAX_PAGES |
					   FUSE_CACHE_SYMLINKS | FUSE_AUTO_INVAL_DATA |
					   FUSE_WRITEBACK_CACHE};
	size_t blen;
	ck_assert_int_eq(call(fs, FUSE_INIT, 0, &in, sizeof(in), NULL, 0, &blen), 0);
	struct fuse_init_out o;
	memcpy(&o, out + 16, sizeof(o));
	ck_assert_uint_eq(o.major, 7);
	ck_assert_uint_eq(o.minor, 31);
	ck_assert_uint_eq(o.max_write, VFS_MAX_IO);
	/* No writeback cache: a fork is killed after its test, and pages the
	 * guest had not written back would be lost from the host's files. */
	ck_assert_uint_eq(o.flags, FUSE_DO_READDIRPLUS | FUSE_MAX_PAGES | FUSE_CACHE_SYMLINKS |
				       FUSE_AUTO_INVAL_DATA);
	return fs;
}

static uint64_t lookup(struct vfs *fs, uint64_t parent, const char *name, int *err)
{
	*err = call_name(fs, FUSE_LOOKUP, parent, name);
	if (*err)
		return 0;
	struct fuse_entry_out e;
	memcpy(&e, out + 16, sizeof(e));
	return e.nodeid;
}

START_TEST(happy_path)
{
	struct vfs *fs = mkfs(false);
	int err;
	uint64_t n = lookup(fs, FUSE_ROOT_ID, "hello.txt", &err);
	ck_assert_int_eq(err, 0);
	ck_assert_uint_gt(n, FUSE_ROOT_ID);
	ck_assert_uint_eq(lookup(fs, FUSE_ROOT_ID, "hello.txt", &err), n); /* same inode, same id */

	struct fuse_open_in oi = {.flags = O_RDWR};
	size_t blen;
	ck_assert_int_eq(call(fs, FUSE_OPEN, n, &oi, sizeof(oi), NULL, 0, &blen), 0);
	struct fuse_open_out oo;
	memcpy(&oo, out + 16, sizeof(oo));
	ck_assert_uint_eq(oo.open_flags, 0); /* a writable share's pages go at each open */
	lookup(fs, FUSE_ROOT_ID, "missing", &err);
	ck_assert_int_eq(err, -ENOENT); /* and a miss is not cached */
	struct fuse_write_in wi = {.fh = oo.fh, .offset = 12, .size = 4};
	ck_assert_int_eq(call(fs, FUSE_WRITE, n, &wi, sizeof(wi), "more", 4, &blen), 0);
	struct fuse_read_in ri = {.fh = oo.fh, .offset = 0, .size = 100};
	ck_assert_int_eq(call(fs, FUSE_READ, n, &ri, sizeof(ri), NULL, 0, &blen), 0);
	ck_assert_uint_eq(blen, 16);
	ck_assert(!memcmp(out + 16, "hello world\nmore", 16));
	struct fuse_release_in rel = {.fh = oo.fh};
	ck_assert_int_eq(call(fs, FUSE_RELEASE, n, &rel, sizeof(rel), NULL, 0, NULL), 0);
	ck_assert_int_eq(call(fs, FUSE_RELEASE, n, &rel, sizeof(rel), NULL, 0, NULL), -EBADF);

	struct fuse_mkdir_in mi = {.mode = 0755};
	ck_assert_int_eq(call(fs, FUSE_MKDIR, FUSE_ROOT_ID, &mi, sizeof(mi), "d", 2, NULL), 0);
	struct fuse_entry_out e;
	memcpy(&e, out + 16, sizeof(e));
	struct fuse_create_in ci = {.flags = O_WRONLY, .mode = 0600};
	ck_assert_int_eq(call(fs, FUSE_CREATE, e.nodeid, &ci, sizeof(ci), "f", 2, &blen), 0);
	ck_assert_uint_eq(blen, sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out));

	/* READDIRPLUS on the root lists our entries. */
	ck_assert_int_eq(call(fs, FUSE_OPENDIR, FUSE_ROOT_ID, &oi, sizeof(oi), NULL, 0, &blen), 0);
	memcpy(&oo, out + 16, sizeof(oo));
	ri = (struct fuse_read_in){.fh = oo.fh, .size = 4096};
	ck_assert_int_eq(call(fs, FUSE_READDIRPLUS, FUSE_ROOT_ID, &ri, sizeof(ri), NULL, 0, &blen),
			 0);
	ck_assert_uint_gt(blen, 0);
	bool saw = false;
	for (size_t off = 0; off < blen;) {
		struct fuse_direntplus *dp = (struct fuse_direntplus *)(out + 16 + off);
		if (dp->dirent.namelen == 9 && !memcmp(dp->dirent.name, "hello.txt", 9)) {
			saw = true;
			ck_assert_uint_eq(dp->entry_out.nodeid, n);
		}
		off += FUSE_DIRENTPLUS_SIZE(dp);
	}
	ck_assert(saw);
	/* A readdir from the end cookie is empty. */
	ck_assert_int_eq(call(fs, FUSE_RELEASEDIR, FUSE_ROOT_ID,
			      &(struct fuse_release_in){.fh = oo.fh},
			      sizeof(struct fuse_release_in), NULL, 0, NULL),
			 0);

	/* FORGET drops nodes: 2 lookups of hello.txt + 1 from readdirplus. */
	uint32_t nodes, handles;
	vfs_counts(fs, &nodes, &handles);
	struct fuse_forget_in fi = {.nlookup = 3};
	ck_assert_int_eq(call(fs, FUSE_FORGET, n, &fi, sizeof(fi), NULL, 0, NULL), 1);
	uint32_t nodes2;
	vfs_counts(fs, &nodes2, &handles);
	ck_assert_uint_eq(nodes2, nodes - 1);
	ck_assert_uint_eq(handles, 1); /* the CREATE handle is still open */

	ck_assert_int_eq(call(fs, FUSE_GETXATTR, FUSE_ROOT_ID, "x\0", 2, NULL, 0, NULL), -ENOSYS);
	ck_assert_int_eq(call(fs, FUSE_DESTROY, 0, NULL, 0, NULL, 0, NULL), 0);
	ck_assert(vfs_destroyed(fs));
	vfs_destroy(fs);
	vfs_destroy(NULL);
}
END_TEST

START_TEST(escapes)
{
	struct vfs *fs = mkfs(false);
	int err;
	ck_assert_uint_eq(lookup(fs, FUSE_ROOT_ID, "..", &err), 0);
	ck_assert_int_eq(err, -ENOENT);
	lookup(fs, FUSE_ROOT_ID, "../outside.txt", &err);
	ck_assert_int_eq(err, -EINVAL);
	lookup(fs, FUSE_ROOT_ID, "/etc", &err);
	ck_assert_int_eq(err, -EINVAL);
	/* Symlinks are nodes of their own; nothing is resolved through them. */
	uint64_t up = lookup(fs, FUSE_ROOT_ID, "up", &err);
	ck_assert_int_eq(err, 0);
	lookup(fs, up, "outside.txt", &err);
	ck_assert_int_eq(err, -ENOTDIR);
	uint64_t abs = lookup(fs, FUSE_ROOT_ID, "abs", &err);
	lookup(fs, abs, "etc", &err);
	ck_assert_int_eq(err, -ENOTDIR);
	struct fuse_open_in oi = {.flags = O_RDONLY};
	ck_assert_int_eq(call(fs, FUSE_OPEN, up, &oi, sizeof(oi), NULL, 0, NULL), -ELOOP);
	ck_assert_int_eq(call(fs, FUSE_OPENDIR, up, &oi, sizeof(oi), NULL, 0, NULL), -ENOTDIR);
	/* A FIFO is never opened (it would block the server). */
	uint64_t fifo = lookup(fs, FUSE_ROOT_ID, "fifo", &err);
	ck_assert_int_eq(call(fs, FUSE_OPEN, fifo, &oi, sizeof(oi), NULL, 0, NULL), -EPERM);
	struct fuse_mknod_in mk = {.mode = S_IFIFO | 0644};
	ck_assert_int_eq(call(fs, FUSE_MKNOD, FUSE_ROOT_ID, &mk, sizeof(mk), "p", 2, NULL), -EPERM);
	mk.mode = S_IFCHR | 0644;
	ck_assert_int_eq(call(fs, FUSE_MKNOD, FUSE_ROOT_ID, &mk, sizeof(mk), "c", 2, NULL), -EPERM);
	/* Names with '/' or dot-dot in every name-taking opcode. */
	struct fuse_mkdir_in mi = {.mode = 0755};
	ck_assert_int_eq(call(fs, FUSE_MKDIR, FUSE_ROOT_ID, &mi, sizeof(mi), "../x", 5, NULL),
			 -EINVAL);
	ck_assert_int_eq(call_name(fs, FUSE_UNLINK, FUSE_ROOT_ID, ".."), -EPERM);
	ck_assert_int_eq(call_name(fs, FUSE_RMDIR, FUSE_ROOT_ID, "."), -EPERM);
	struct fuse_rename_in rn = {.newdir = FUSE_ROOT_ID};
	ck_assert_int_eq(
	    call(fs, FUSE_RENAME, FUSE_ROOT_ID, &rn, sizeof(rn), "hello.txt\0../h", 15, NULL),
	    -EINVAL);
	/* The outside file is untouched and the share still has hello.txt. */
	ck_assert_int_eq(access(outside, F_OK), 0);
	lookup(fs, FUSE_ROOT_ID, "hello.txt", &err);
	ck_assert_int_eq(err, 0);
	vfs_destroy(fs);
}
END_TEST

static mode_t host_mode(const char *name)
{
	char p[256];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", share, name);
	ck_assert_int_eq(lstat(p, &st), 0);
	return st.st_mode & 07777;
}

/* No setuid file from a guest (smolvm often runs as root), and setgid
 * only on directories: CREATE, MKNOD, MKDIR and SETATTR all drop them. */
START_TEST(no_setuid)
{
	struct vfs *fs = mkfs(false);
	struct fuse_create_in ci = {.flags = O_WRONLY, .mode = S_IFREG | 06755};
	ck_assert_int_eq(call(fs, FUSE_CREATE, FUSE_ROOT_ID, &ci, sizeof(ci), "c", 2, NULL), 0);
	ck_assert_uint_eq(host_mode("c") & 07000, 0);
	struct fuse_mknod_in mk = {.mode = S_IFREG | 04755};
	ck_assert_int_eq(call(fs, FUSE_MKNOD, FUSE_ROOT_ID, &mk, sizeof(mk), "m", 2, NULL), 0);
	ck_assert_uint_eq(host_mode("m") & 07000, 0);
	struct fuse_mkdir_in mi = {.mode = 07755};
	ck_assert_int_eq(call(fs, FUSE_MKDIR, FUSE_ROOT_ID, &mi, sizeof(mi), "d", 2, NULL), 0);
	ck_assert_uint_eq(host_mode("d") & 04000, 0); /* mkdir(2) takes S_ISGID from the parent */
	int err;
	uint64_t n = lookup(fs, FUSE_ROOT_ID, "hello.txt", &err);
	struct fuse_setattr_in sa = {.valid = FATTR_MODE, .mode = S_IFREG | 06711};
	ck_assert_int_eq(call(fs, FUSE_SETATTR, n, &sa, sizeof(sa), NULL, 0, NULL), 0);
	ck_assert_uint_eq(host_mode("hello.txt"), 0711);
	struct fuse_attr_out ao;
	memcpy(&ao, out + 16, sizeof(ao));
	ck_assert_uint_eq(ao.attr.mode & 07777, 0711); /* the guest sees what the host has */
	uint64_t d = lookup(fs, FUSE_ROOT_ID, "d", &err);
	sa.mode = S_IFDIR | 06755;
	ck_assert_int_eq(call(fs, FUSE_SETATTR, d, &sa, sizeof(sa), NULL, 0, NULL), 0);
	ck_assert_uint_eq(host_mode("d"), 02755);
	vfs_destroy(fs);
}
END_TEST

/* CREATE on a name that exists (a stale negative entry in the guest, or a
 * hostile driver) opens only a regular file: a FIFO there would block the
 * server in open(2), a device node would reach a host device. */
START_TEST(create_existing)
{
	struct vfs *fs = mkfs(false);
	size_t blen;
	struct fuse_create_in ci = {.flags = O_RDONLY, .mode = 0644};
	ck_assert_int_eq(call(fs, FUSE_CREATE, FUSE_ROOT_ID, &ci, sizeof(ci), "fifo", 5, NULL),
			 -EPERM);
	ci.flags = O_WRONLY;
	ck_assert_int_eq(call(fs, FUSE_CREATE, FUSE_ROOT_ID, &ci, sizeof(ci), "fifo", 5, NULL),
			 -EPERM);
	ck_assert_int_eq(call(fs, FUSE_CREATE, FUSE_ROOT_ID, &ci, sizeof(ci), "up", 3, NULL),
			 -ELOOP);
	ci.flags = O_WRONLY | O_EXCL;
	ck_assert_int_eq(
	    call(fs, FUSE_CREATE, FUSE_ROOT_ID, &ci, sizeof(ci), "hello.txt", 10, NULL), -EEXIST);
	/* Without O_EXCL an existing regular file is opened, O_TRUNC applies. */
	ci.flags = O_WRONLY | O_TRUNC;
	ck_assert_int_eq(
	    call(fs, FUSE_CREATE, FUSE_ROOT_ID, &ci, sizeof(ci), "hello.txt", 10, &blen), 0);
	ck_assert_uint_eq(blen, sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out));
	char p[256];
	struct stat st;
	snprintf(p, sizeof(p), "%s/hello.txt", share);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_size, 0);
	uint32_t nodes, handles;
	vfs_counts(fs, &nodes, &handles);
	ck_assert_uint_eq(handles, 1);
	vfs_destroy(fs);
}
END_TEST

/* A share that cannot be served: one line naming it, in the vmm_err. */
START_TEST(bad_share_dir)
{
	struct vfs *fs = NULL;
	struct vmm_err err;
	char path[160];
	snprintf(path, sizeof(path), "%s/missing", dir);
	ck_assert_int_eq(vfs_create(path, false, NULL, &fs, &err), -ENOENT);
	ck_assert_ptr_null(fs);
	char want[200];
	snprintf(want, sizeof(want), "share %s: cannot open the directory: %s", path,
		 strerror(ENOENT));
	ck_assert_str_eq(err.msg, want);
	ck_assert_int_eq(vfs_create(outside, false, NULL, &fs, &err), -ENOTDIR);
	snprintf(want, sizeof(want), "share %s: cannot open the directory: %s", outside,
		 strerror(ENOTDIR));
	ck_assert_str_eq(err.msg, want);
	ck_assert_int_eq(vfs_create(path, false, NULL, &fs, NULL), -ENOENT); /* err may be NULL */
}
END_TEST

START_TEST(malformed)
{
	struct vfs *fs = NULL;
	ck_assert_int_eq(vfs_create(share, false, NULL, &fs, NULL), 0);
	size_t olen;
	uint8_t req[64] = {0};
	/* Before INIT everything is refused. */
	ck_assert_int_eq(call_name(fs, FUSE_LOOKUP, FUSE_ROOT_ID, "hello.txt"), -EIO);
	/* Too short, length lies. */
	ck_assert_int_eq(vfs_handle(fs, req, 10, out, sizeof(out), &olen), -EINVAL);
	struct fuse_in_header h = {.len = 1000, .opcode = FUSE_GETATTR, .unique = 1};
	memcpy(req, &h, sizeof(h));
	ck_assert_int_eq(vfs_handle(fs, req, sizeof(h), out, sizeof(out), &olen), -EINVAL);
	h.len = sizeof(h);
	memcpy(req, &h, sizeof(h));
	ck_assert_int_eq(vfs_handle(fs, req, sizeof(h), out, 8, &olen), -ENOBUFS);
	vfs_destroy(fs);

	fs = mkfs(false);
	/* INIT of an older major, or too old a minor. */
	struct fuse_init_in in = {.major = 6, .minor = 99};
	ck_assert_int_eq(call(fs, FUSE_INIT, 0, &in, sizeof(in), NULL, 0, NULL), -EPROTO);
	in = (struct fuse_init_in){.major = 7, .minor = 5};
	ck_assert_int_eq(call(fs, FUSE_INIT, 0, &in, sizeof(in), NULL, 0, NULL), -EPROTO);
	in = (struct fuse_init_in){.major = 7, .minor = 31};
	ck_assert_int_eq(call(fs, FUSE_INIT, 0, &in, sizeof(in), NULL, 0, NULL), 0);
	/* Short argument structs. */
	ck_assert_int_eq(call(fs, FUSE_GETATTR, FUSE_ROOT_ID, "x", 1, NULL, 0, NULL), -EINVAL);
	ck_assert_int_eq(call(fs, FUSE_READ, FUSE_ROOT_ID, "x", 1, NULL, 0, NULL), -EINVAL);
	/* Names: unterminated, empty, too long. */
	ck_assert_int_eq(call(fs, FUSE_LOOKUP, FUSE_ROOT_ID, "abc", 3, NULL, 0, NULL), -EINVAL);
	ck_assert_int_eq(call(fs, FUSE_LOOKUP, FUSE_ROOT_ID, "", 1, NULL, 0, NULL), -EINVAL);
	char longname[300];
	memset(longname, 'a', 299);
	longname[299] = 0;
	ck_assert_int_eq(call_name(fs, FUSE_LOOKUP, FUSE_ROOT_ID, longname), -EINVAL);
	/* Bogus node ids and handles. */
	ck_assert_int_eq(call_name(fs, FUSE_LOOKUP, 0, "hello.txt"), -ENOENT);
	ck_assert_int_eq(call_name(fs, FUSE_LOOKUP, 999999, "hello.txt"), -ENOENT);
	ck_assert_int_eq(call_name(fs, FUSE_LOOKUP, UINT64_MAX, "hello.txt"), -ENOENT);
	struct fuse_read_in ri = {.fh = 12345, .size = 10};
	ck_assert_int_eq(call(fs, FUSE_READ, FUSE_ROOT_ID, &ri, sizeof(ri), NULL, 0, NULL), -EBADF);
	ri.fh = 0;
	ck_assert_int_eq(call(fs, FUSE_READ, FUSE_ROOT_ID, &ri, sizeof(ri), NULL, 0, NULL), -EBADF);
	/* WRITE claiming more data than it carries; oversized READ is capped. */
	int e2;
	uint64_t n = lookup(fs, FUSE_ROOT_ID, "hello.txt", &e2);
	struct fuse_open_in oi = {.flags = O_RDWR};
	ck_assert_int_eq(call(fs, FUSE_OPEN, n, &oi, sizeof(oi), NULL, 0, NULL), 0);
	struct fuse_open_out oo;
	memcpy(&oo, out + 16, sizeof(oo));
	struct fuse_write_in wi = {.fh = oo.fh, .size = 1000};
	ck_assert_int_eq(call(fs, FUSE_WRITE, n, &wi, sizeof(wi), "abc", 3, NULL), -EINVAL);
	wi.size = 3;
	wi.offset = UINT64_MAX;
	ck_assert_int_eq(call(fs, FUSE_WRITE, n, &wi, sizeof(wi), "abc", 3, NULL), -EINVAL);
	size_t blen;
	ri = (struct fuse_read_in){.fh = oo.fh, .size = UINT32_MAX};
	ck_assert_int_eq(call(fs, FUSE_READ, n, &ri, sizeof(ri), NULL, 0, &blen), 0);
	ck_assert_uint_eq(blen, 12);
	/* Directory handle used as a file handle and vice versa. */
	ck_assert_int_eq(call(fs, FUSE_READDIR, FUSE_ROOT_ID, &ri, sizeof(ri), NULL, 0, NULL),
			 -EBADF);
	/* BATCH_FORGET claiming more entries than present is clipped. */
	struct {
		struct fuse_batch_forget_in b;
		struct fuse_forget_one one;
	} bf = {{.count = 1000000}, {.nodeid = n, .nlookup = 1}};
	ck_assert_int_eq(call(fs, FUSE_BATCH_FORGET, 0, &bf, sizeof(bf), NULL, 0, NULL), 1);
	struct fuse_rename2_in r2 = {.newdir = FUSE_ROOT_ID, .flags = 4 /* WHITEOUT */};
	ck_assert_int_eq(
	    call(fs, FUSE_RENAME2, FUSE_ROOT_ID, &r2, sizeof(r2), "hello.txt\0x", 12, NULL),
	    -EINVAL);
	struct fuse_fallocate_in fa = {.fh = oo.fh, .offset = 1, .length = UINT64_MAX};
	ck_assert_int_eq(call(fs, FUSE_FALLOCATE, n, &fa, sizeof(fa), NULL, 0, NULL), -EINVAL);
	vfs_destroy(fs);
}
END_TEST

START_TEST(read_only)
{
	struct vfs *fs = mkfs(true);
	int err;
	uint64_t n = lookup(fs, FUSE_ROOT_ID, "hello.txt", &err);
	ck_assert_int_eq(err, 0);
	struct fuse_open_in oi = {.flags = O_RDONLY};
	ck_assert_int_eq(call(fs, FUSE_OPEN, n, &oi, sizeof(oi), NULL, 0, NULL), 0);
	struct fuse_open_out oo;
	memcpy(&oo, out + 16, sizeof(oo));
	/* Only the host changes a read-only share: its pages stay cached
	 * across opens and a miss is a negative entry the client keeps. */
	ck_assert_uint_eq(oo.open_flags, FOPEN_KEEP_CACHE);
	size_t blen;
	ck_assert_int_eq(call_name(fs, FUSE_LOOKUP, FUSE_ROOT_ID, "missing"), 0);
	struct fuse_entry_out neg;
	memcpy(&neg, out + 16, sizeof(neg));
	ck_assert_uint_eq(neg.nodeid, 0);
	ck_assert_uint_eq(neg.entry_valid, 1);
	uint32_t nodes, handles;
	vfs_counts(fs, &nodes, &handles);
	ck_assert_uint_eq(nodes, 2); /* the root and hello.txt */
	struct fuse_open_in od = {.flags = O_RDONLY};
	ck_assert_int_eq(call(fs, FUSE_OPENDIR, FUSE_ROOT_ID, &od, sizeof(od), NULL, 0, &blen), 0);
	struct fuse_open_out dout;
	memcpy(&dout, out + 16, sizeof(dout));
	ck_assert_uint_eq(dout.open_flags, 0);
	oi.flags = O_WRONLY;
	ck_assert_int_eq(call(fs, FUSE_OPEN, n, &oi, sizeof(oi), NULL, 0, NULL), -EROFS);
	oi.flags = O_RDONLY | O_TRUNC;
	ck_assert_int_eq(call(fs, FUSE_OPEN, n, &oi, sizeof(oi), NULL, 0, NULL), -EROFS);
	struct fuse_write_in wi = {.fh = oo.fh, .size = 1};
	ck_assert_int_eq(call(fs, FUSE_WRITE, n, &wi, sizeof(wi), "x", 1, NULL), -EROFS);
	struct fuse_setattr_in sa = {.valid = FATTR_MODE, .mode = 0600};
	ck_assert_int_eq(call(fs, FUSE_SETATTR, n, &sa, sizeof(sa), NULL, 0, NULL), -EROFS);
	struct fuse_mkdir_in mi = {.mode = 0755};
	ck_assert_int_eq(call(fs, FUSE_MKDIR, FUSE_ROOT_ID, &mi, sizeof(mi), "d", 2, NULL), -EROFS);
	struct fuse_mknod_in mk = {.mode = S_IFREG | 0644};
	ck_assert_int_eq(call(fs, FUSE_MKNOD, FUSE_ROOT_ID, &mk, sizeof(mk), "f", 2, NULL), -EROFS);
	struct fuse_create_in ci = {.flags = O_WRONLY, .mode = 0644};
	ck_assert_int_eq(call(fs, FUSE_CREATE, FUSE_ROOT_ID, &ci, sizeof(ci), "f", 2, NULL),
			 -EROFS);
	ck_assert_int_eq(call(fs, FUSE_SYMLINK, FUSE_ROOT_ID, "s\0t", 4, NULL, 0, NULL), -EROFS);
	ck_assert_int_eq(call_name(fs, FUSE_UNLINK, FUSE_ROOT_ID, "hello.txt"), -EROFS);
	ck_assert_int_eq(call_name(fs, FUSE_RMDIR, FUSE_ROOT_ID, "hello.txt"), -EROFS);
	struct fuse_rename_in rn = {.newdir = FUSE_ROOT_ID};
	ck_assert_int_eq(
	    call(fs, FUSE_RENAME, FUSE_ROOT_ID, &rn, sizeof(rn), "hello.txt\0x", 12, NULL), -EROFS);
	struct fuse_rename2_in r2 = {.newdir = FUSE_ROOT_ID};
	ck_assert_int_eq(
	    call(fs, FUSE_RENAME2, FUSE_ROOT_ID, &r2, sizeof(r2), "hello.txt\0x", 12, NULL),
	    -EROFS);
	struct fuse_link_in li = {.oldnodeid = n};
	ck_assert_int_eq(call(fs, FUSE_LINK, FUSE_ROOT_ID, &li, sizeof(li), "h2", 3, NULL), -EROFS);
	struct fuse_fallocate_in fa = {.fh = oo.fh, .length = 10};
	ck_assert_int_eq(call(fs, FUSE_FALLOCATE, n, &fa, sizeof(fa), NULL, 0, NULL), -EROFS);
	struct fuse_access_in ai = {.mask = W_OK};
	ck_assert_int_eq(call(fs, FUSE_ACCESS, n, &ai, sizeof(ai), NULL, 0, NULL), -EROFS);
	ai.mask = R_OK;
	ck_assert_int_eq(call(fs, FUSE_ACCESS, n, &ai, sizeof(ai), NULL, 0, NULL), 0);
	char p[256];
	snprintf(p, sizeof(p), "%s/hello.txt", share);
	struct stat st;
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_size, 12);
	vfs_destroy(fs);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fuse");
	TCase *tc = tcase_create("fuse");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, happy_path);
	tcase_add_test(tc, escapes);
	tcase_add_test(tc, no_setuid);
	tcase_add_test(tc, create_existing);
	tcase_add_test(tc, malformed);
	tcase_add_test(tc, bad_share_dir);
	tcase_add_test(tc, read_only);
	suite_add_tcase(s, tc);
	return smol_check_run(s);
}
