/* vblk: virtio-blk (virtio 1.2 §5.2) over a layered copy-on-write disk
 * (disk/disk.h). One request queue; IN, OUT, FLUSH, GET_ID, DISCARD and
 * WRITE_ZEROES; a read-only disk offers VIRTIO_BLK_F_RO and answers every
 * write with VIRTIO_BLK_S_IOERR. Requests run synchronously on the event-loop
 * thread. */
#ifndef SMOL_VBLK_H
#define SMOL_VBLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct vq;
struct disk;
struct vblk;
struct strbuf;
struct vmm_err;

/* Parses "PATH[,ro][,layer=LAYER]..." (layers bottom to top), opens the
 * disk and attaches a virtio-blk device to vm. On a bad arg or an unusable
 * disk returns -errno with one line naming the option and value in
 * vm_attach_err(vm). */
int vblk_attach(struct vm *vm, const char *arg);

/* ---- the transport-free core (blk_req.c), also used by tests ---- */

/* Creates a device state around disk, which is taken over (destroyed with
 * the device, also on failure). */
int vblk_create(struct disk *disk, struct vblk **out);
void vblk_destroy(struct vblk *b);

/* Pops and completes every available request on vq. *pushed says whether
 * anything went on the used ring (the caller then signals). Returns 0, or
 * -EIO when the queue is broken (the caller sets DEVICE_NEEDS_RESET). */
int vblk_process(struct vblk *b, struct vq *vq, bool *pushed);

/* Feature bits this device offers (virtio 1.2 §5.2.3). */
uint64_t vblk_features(const struct vblk *b);

/* Reads the config space (struct virtio_blk_config) at off/len. */
void vblk_config_read(const struct vblk *b, uint32_t off, void *data, uint32_t len);

/* Snapshot blob (16 bytes, little endian: u32 version, u32 read_only, u64
 * capacity in sectors): what the guest driver has seen of the disk. save
 * appends it to out (0 or -ENOMEM); check refuses (-EINVAL, with the reason
 * in err, which may be NULL) a blob that is malformed or was saved with a
 * disk of another size or writability. */
int vblk_state_save(uint64_t capacity, bool read_only, struct strbuf *out);
int vblk_state_check(const void *blob, size_t len, uint64_t capacity, bool read_only,
		     struct vmm_err *err);

#endif
