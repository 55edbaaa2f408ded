/* vfs: a FUSE file-system server for one shared host directory.
 *
 * The request handler is independent of the transport: virtio-fs hands it
 * the readable part of a descriptor chain, `smolvm fuse-serve` what it read
 * from /dev/fuse. Every request is hostile and validated once, at the
 * boundary (vfs_req.c): header length, per-opcode argument size, names
 * NUL-terminated, non-empty, at most NAME_MAX, without '/', not "." or "..".
 *
 * Confinement: each node (FUSE inode) holds an O_PATH fd; a name is only ever
 * resolved with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) from its
 * parent's fd, and a node is re-opened for I/O through /proc/self/fd (as
 * virtiofsd does) only after checking it is a regular file or directory.
 * `..`, absolute symlinks and symlinks that climb out never reach past the
 * share's root. A read-only share answers every modifying opcode with EROFS.
 *
 * Files are created with the server's own credentials (the FUSE request's
 * uid/gid are not assumed); permission checks belong to the client
 * (mount with default_permissions).
 *
 * Not thread-safe: one vfs is driven by one thread. */
#ifndef SMOL_VFS_H
#define SMOL_VFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vfs;
struct vmm_err;

/* Largest WRITE payload / READ size we negotiate (FUSE INIT max_write). */
#define VFS_MAX_IO 131072u
/* A buffer this large holds any request or reply we accept or produce. */
#define VFS_BUF_SIZE (VFS_MAX_IO + 8192u)

struct vfs_limits {
	uint32_t max_nodes;   /* live FUSE inodes; default 1 << 20 */
	uint32_t max_handles; /* open files/dirs; default 65536 */
};

/* Opens root_dir (which must be a directory) as the share's root. With
 * read_only every modifying request fails with EROFS. limits may be NULL for
 * the defaults. On failure returns -errno with one line in err (may be
 * NULL; smolvm/err.h) naming the directory. */
int vfs_create(const char *root_dir, bool read_only, const struct vfs_limits *limits,
	       struct vfs **out, struct vmm_err *err);

/* Closes every node and handle. NULL is a no-op. */
void vfs_destroy(struct vfs *fs);

/* Handles one request of req_len bytes. On return *reply_len is the length
 * of the reply written to reply (at most reply_cap), or 0 when the opcode
 * takes no reply (FORGET, BATCH_FORGET). Returns 0 when a reply (possibly an
 * error reply) was produced or none was due; -EINVAL when the request is too
 * short to carry a header or its header length disagrees with req_len (there
 * is nothing safe to reply to); -ENOBUFS when reply_cap cannot hold even an
 * error reply (at least 16 bytes are needed). */
int vfs_handle(struct vfs *fs, const void *req, size_t req_len, void *reply, size_t reply_cap,
	       size_t *reply_len);

/* True once the client sent FUSE_DESTROY (the /dev/fuse loop then ends). */
bool vfs_destroyed(const struct vfs *fs);

/* Snapshots. vfs_save_state appends the FUSE session (protocol minor, 0
 * before INIT), every live node (id, lookup count, path below the share
 * root) and every open handle (id, node, open flags) to out. Nodes whose
 * file was deleted or moved out of the share are left out.
 *
 * vfs_restore_state, on a fresh vfs of the same share, validates the whole
 * blob first (-EINVAL and one line in err, which may be NULL, on anything
 * malformed: lengths,
 * ids out of range, bad flags), then re-resolves each path beneath the root
 * with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS)
 * and re-opens each handle, keeping the guest's ids. Files that vanished on
 * the host meanwhile are skipped: the guest gets ENOENT / EBADF for them. */
struct strbuf;
int vfs_save_state(const struct vfs *fs, struct strbuf *out);
int vfs_restore_state(struct vfs *fs, const void *blob, size_t len, struct vmm_err *err);
/* vfs_restore_state's validation alone; changes nothing. */
int vfs_check_state(const struct vfs *fs, const void *blob, size_t len, struct vmm_err *err);

/* Back to the state right after vfs_create (the device was reset): every
 * node but the root and every handle closed, INIT needed again. */
void vfs_reset(struct vfs *fs);

/* Number of live nodes (root included) and open handles, for tests. */
void vfs_counts(const struct vfs *fs, uint32_t *nodes, uint32_t *handles);

/* Raises RLIMIT_NOFILE: every live node holds an fd, and a client listing a
 * 10 000-entry directory keeps that many. With CAP_SYS_RESOURCE both limits
 * go up to fs.nr_open (at most what the default limits need), else the soft
 * limit to the hard one. */
int vfs_raise_nofile(void);

#endif
