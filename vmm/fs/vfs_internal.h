/* vfs internals shared by the vfs_*.c files (not a public header). */
#ifndef SMOL_VFS_INTERNAL_H
#define SMOL_VFS_INTERNAL_H

#include "fs/vfs.h"

#include <linux/fuse.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* Attribute and entry cache time we give the client, in seconds. */
#define VFS_ATTR_TTL 1

struct vfs_node {
	int fd;		  /* O_PATH | O_NOFOLLOW; -1 when the slot is free */
	uint64_t nlookup; /* FUSE lookup count; the node dies at 0 */
	dev_t dev;
	ino_t ino;
	uint32_t hash_next; /* next node index in the (dev, ino) bucket; 0 ends */
	uint32_t free_next; /* next free slot when free */
};

struct vfs_fh {
	int fd; /* opened file or directory; -1 when free */
	bool dir;
	uint32_t free_next;
	uint64_t nodeid; /* what was opened, and how: for snapshots */
	uint32_t flags;	 /* open(2) flags to re-open with (no O_TRUNC) */
};

struct vfs {
	bool read_only;
	bool destroyed;
	bool init_done;
	uint32_t proto_minor;
	struct vfs_limits lim;

	struct vfs_node *nodes; /* index = FUSE nodeid; 0 unused, 1 root */
	uint32_t nodes_cap, nodes_live, node_free;
	uint32_t *buckets; /* (dev, ino) hash -> first node index */
	uint32_t nbuckets; /* power of two */

	struct vfs_fh *fhs; /* index = FUSE fh; 0 unused */
	uint32_t fhs_cap, fhs_live, fh_free;

	uint8_t *dirbuf; /* getdents64 scratch */
};

/* One request being handled: validated header, its argument bytes, and the
 * reply body (after the out header) being built. */
struct vfs_req {
	const struct fuse_in_header *in;
	const uint8_t *arg;
	size_t arg_len;
	uint8_t *out;
	size_t out_cap;
	size_t out_len;
	bool no_reply;
};

/* ---- nodes and handles (vfs_node.c) ---- */
int vfs_nodes_init(struct vfs *fs, int root_fd);
void vfs_nodes_fini(struct vfs *fs);
/* fd of a live node; -ENOENT for an unknown or free nodeid. Borrowed. */
int vfs_node_fd(const struct vfs *fs, uint64_t nodeid, int *fd);
/* Looks name up under the directory parent_fd with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS, O_PATH | O_NOFOLLOW), finds or makes its node,
 * bumps nlookup and fills e. */
int vfs_lookup_at(struct vfs *fs, int parent_fd, const char *name, struct fuse_entry_out *e);
/* Drops n lookups from nodeid (FORGET); unknown ids are ignored. */
void vfs_node_forget(struct vfs *fs, uint64_t nodeid, uint64_t n);
/* Registers fd (taken over) as a handle on nodeid opened with flags; *fh
 * gets its number. */
int vfs_fh_add(struct vfs *fs, int fd, bool dir, uint64_t nodeid, uint32_t flags, uint64_t *fh);
/* fd of handle fh; -EBADF when unknown or the wrong kind. Borrowed. */
int vfs_fh_fd(const struct vfs *fs, uint64_t fh, bool dir, int *fd);
int vfs_fh_release(struct vfs *fs, uint64_t fh, bool dir);

/* Snapshot restore (vfs_snap.c): put a node / handle at an exact id (the
 * free lists are rebuilt once at the end with vfs_rebuild_free_lists). */
int vfs_node_install(struct vfs *fs, uint64_t nodeid, int fd, const struct stat *st,
		     uint64_t nlookup);
bool vfs_node_known(const struct vfs *fs, dev_t dev, ino_t ino);
int vfs_fh_install(struct vfs *fs, uint64_t fh, int fd, bool dir, uint64_t nodeid, uint32_t flags);
void vfs_rebuild_free_lists(struct vfs *fs);

/* ---- helpers (vfs_node.c) ---- */
void vfs_fill_attr(struct fuse_attr *a, const struct stat *st);
/* "/proc/self/fd/N" for re-opening an O_PATH fd. */
void vfs_proc_path(int fd, char buf[32]);
/* fstatat(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW). */
int vfs_stat_fd(int fd, struct stat *st);
/* The permission bits of a guest's mode (CREATE, MKNOD, MKDIR, SETATTR)
 * that a share takes: never setuid, and setgid only on a directory (where
 * it only picks new entries' group). smolvm often runs as root: a guest's
 * chmod 4755 would leave a setuid-root program on the host. */
mode_t vfs_guest_mode(uint32_t mode, bool dir);

/* ---- opcode handlers (vfs_ops_*.c): 0 or -errno, body in r->out ---- */
#define VFS_OPS(X)                                                                                 \
	X(LOOKUP, lookup)                                                                          \
	X(FORGET, forget)                                                                          \
	X(BATCH_FORGET, batch_forget)                                                              \
	X(GETATTR, getattr)                                                                        \
	X(SETATTR, setattr)                                                                        \
	X(READLINK, readlink)                                                                      \
	X(SYMLINK, symlink)                                                                        \
	X(MKNOD, mknod)                                                                            \
	X(MKDIR, mkdir)                                                                            \
	X(UNLINK, unlink)                                                                          \
	X(RMDIR, rmdir)                                                                            \
	X(RENAME, rename)                                                                          \
	X(RENAME2, rename2)                                                                        \
	X(LINK, link)                                                                              \
	X(OPEN, open)                                                                              \
	X(READ, read)                                                                              \
	X(WRITE, write)                                                                            \
	X(STATFS, statfs)                                                                          \
	X(RELEASE, release)                                                                        \
	X(FSYNC, fsync)                                                                            \
	X(FLUSH, flush)                                                                            \
	X(OPENDIR, opendir)                                                                        \
	X(READDIR, readdir)                                                                        \
	X(READDIRPLUS, readdirplus)                                                                \
	X(RELEASEDIR, releasedir)                                                                  \
	X(FSYNCDIR, fsyncdir)                                                                      \
	X(ACCESS, access)                                                                          \
	X(CREATE, create)                                                                          \
	X(FALLOCATE, fallocate)                                                                    \
	X(LSEEK, lseek)

#define X(op, fn) int vfs_op_##fn(struct vfs *fs, struct vfs_req *r);
VFS_OPS(X)
#undef X

/* Argument parsing helpers (vfs_req.c). Each returns -EINVAL when the
 * request is too short or a name is malformed. */
int vfs_arg(const struct vfs_req *r, size_t size, const void **out);

/* Copies a fixed reply of len bytes into r's output; -ERANGE when it does
 * not fit in out_cap. */
int vfs_reply(struct vfs_req *r, const void *data, size_t len);
/* A NUL-terminated file name starting at byte off of the argument; *next
 * gets the offset after its NUL. Rejects "", ".", "..", '/', > NAME_MAX. */
int vfs_arg_name(const struct vfs_req *r, size_t off, const char **name, size_t *next);
/* A NUL-terminated string (symlink target): non-empty, < PATH_MAX. */
int vfs_arg_string(const struct vfs_req *r, size_t off, const char **s, size_t *next);

#endif
