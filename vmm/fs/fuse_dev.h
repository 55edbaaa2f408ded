/* fuse_dev: serve a vfs over the host kernel's /dev/fuse, so the real Linux
 * FUSE client exercises the same handler virtio-fs uses. Needs root (or
 * CAP_SYS_ADMIN) for mount(2); no fusermount. */
#ifndef SMOL_FUSE_DEV_H
#define SMOL_FUSE_DEV_H

#include <stdbool.h>
#include <stddef.h>

struct vfs;
struct vmm_err;

/* Opens /dev/fuse and mounts it on mountpoint (type "fuse", with
 * default_permissions and allow_other; MS_RDONLY when read_only). *out_fd
 * is the connection, owned by the caller. On failure returns -errno with
 * one line in err (may be NULL; smolvm/err.h): -ENODEV/-ENOENT when
 * /dev/fuse is missing, -EPERM when mounting is not allowed. */
int fuse_dev_mount(const char *mountpoint, bool read_only, int *out_fd, struct vmm_err *err);

/* Reads requests from fd and answers them until the file system is
 * unmounted (ENODEV) or the client sends DESTROY. Returns 0 then, or -errno
 * on an unexpected device error. fs and fd are borrowed. */
int fuse_dev_serve(struct vfs *fs, int fd);

#endif
