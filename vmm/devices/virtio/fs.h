/* vfsdev: virtio-fs (virtio 1.2 §5.11) served by the in-VMM FUSE handler
 * (fs/vfs.h). One hiprio queue (FORGET, INTERRUPT) and one request queue;
 * each chain is a FUSE request (readable) followed by room for the reply
 * (writable). No DAX window. */
#ifndef SMOL_VFSDEV_H
#define SMOL_VFSDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct vq;
struct vfs;
struct vfsdev;

/* Parses "TAG=HOSTDIR[,ro]" (TAG 1..36 bytes) and attaches a virtio-fs
 * device serving HOSTDIR to vm. -errno with one line in vm_attach_err(vm)
 * on error. */
int vfsdev_attach(struct vm *vm, const char *arg);

/* ---- transport-free core (fs_req.c), also used by tests ---- */

/* fs is taken over (destroyed with the device, also on failure). */
int vfsdev_create(struct vfs *fs, const char *tag, bool read_only, struct vfsdev **out);
void vfsdev_destroy(struct vfsdev *d);

/* Serves every available request on vq; *pushed says whether anything went
 * on the used ring. -EIO when the queue is broken. */
int vfsdev_process(struct vfsdev *d, struct vq *vq, bool *pushed);

/* The driver reset the device: the FUSE session starts over. */
void vfsdev_reset(struct vfsdev *d);

/* struct virtio_fs_config at off/len. */
void vfsdev_config_read(const struct vfsdev *d, uint32_t off, void *data, uint32_t len);

/* Snapshot blob of the device (tag, ro, then the FUSE session, node table
 * and open handles: vfs_save_state) appended to out, and its validating
 * restore onto a fresh device of the same share (-EINVAL with the reason in
 * err, which may be NULL). */
struct strbuf;
struct vmm_err;
int vfsdev_save(const struct vfsdev *d, struct strbuf *out);
int vfsdev_restore(struct vfsdev *d, const void *blob, size_t len, struct vmm_err *err);
/* vfsdev_restore's checks only; changes nothing. */
int vfsdev_check(const struct vfsdev *d, const void *blob, size_t len, struct vmm_err *err);

#endif
