/* vmmio: the virtio-mmio transport, version 2 (virtio 1.2 §4.2).
 *
 * One transport instance wraps one device (virtio.h) in a 4 KiB MMIO window
 * with one interrupt line. Queue notifications arrive through an ioeventfd
 * per queue (KVM_IOEVENTFD with a datamatch on the queue index; if KVM
 * refuses, the QueueNotify register write signals the same eventfd from the
 * vCPU thread) and are dispatched on the event-loop thread. Interrupts go
 * out through an irqfd (edge-triggered GSI on the IOAPIC).
 *
 * The driver's register writes are validated here once: queue addresses and
 * sizes when QueueReady is set (vq_setup), feature bits against what was
 * offered when FEATURES_OK is set (§2.2.2: FEATURES_OK stays clear if the
 * driver asked for more), status transitions. A queue that turns broken
 * sets DEVICE_NEEDS_RESET and a config-change interrupt (§2.1.2). */
#ifndef SMOL_VMMIO_H
#define SMOL_VMMIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/virtio/queue.h"
#include "devices/virtio/virtio.h"

struct vm;
struct strbuf;
struct vmm_err;

#define VMMIO_WINDOW_SIZE 0x1000u

struct vmmio;

/* Creates the transport for (ops, dev) in the window at `base` with
 * interrupt `gsi`, registers it on the VM's MMIO bus, its ioeventfds with
 * KVM and the event loop, and its irqfd. dev is taken over: on success it is
 * destroyed with the transport; on failure ops->destroy(dev) has already
 * been called. vm is borrowed and must outlive the transport.
 * Most callers want vm_add_virtio() (vm.h), which picks base and gsi. */
int vmmio_create(struct vm *vm, uint64_t base, uint32_t gsi, const struct virtio_device_ops *ops,
		 void *dev, struct vmmio **out);

/* Unregisters and frees; destroys the device. NULL is a no-op. */
void vmmio_destroy(struct vmmio *t);

/* The queue q (0..num_queues-1) of t; NULL if out of range. Borrowed. */
struct vq *vmmio_queue(struct vmmio *t, unsigned q);

/* After vq_push()es on queue q: raises the interrupt if the driver wants
 * one (vq_should_notify). Returns 0 or -errno from the irqfd write. */
int vmmio_signal_used(struct vmmio *t, unsigned q);

/* Raises a configuration-change interrupt (§2.1.2 / §4.2.2 InterruptStatus
 * bit 1), e.g. after the device changed its config space. */
int vmmio_config_changed(struct vmmio *t);

/* Marks the device as needing a reset (DEVICE_NEEDS_RESET) and tells the
 * driver through a config-change interrupt. Use on an unrecoverable device
 * error or garbage from the driver. why goes to the VM's log sink
 * (vm_log) once per reset cycle, and at most 8 times in the device's life,
 * the 8th saying that later ones are not reported. */
void vmmio_set_needs_reset(struct vmmio *t, const char *why);

/* The transport lock; see virtio.h "Threading and locking". */
void vmmio_lock(struct vmmio *t);
void vmmio_unlock(struct vmmio *t);

/* Accessors (borrowed). */
const struct gmem *vmmio_gmem(const struct vmmio *t);
void *vmmio_device(const struct vmmio *t);
const struct virtio_device_ops *vmmio_ops(const struct vmmio *t);
uint64_t vmmio_base(const struct vmmio *t);
uint32_t vmmio_gsi(const struct vmmio *t);

/* Snapshot: appends transport state (fixed-width LE: version, features
 * offered/selected, status, ISR, config generation, every queue's
 * vq_state) followed by the device's own save() blob to out.
 * Call with the VM paused. */
int vmmio_save(struct vmmio *t, struct strbuf *out);

/* Validates blob completely (version, sizes, queue addresses via vq
 * validation, feature bits within those offered) and only then applies it
 * and calls the device's restore() with the device part. If the device was
 * active, it is re-activated. -EINVAL with err (may be NULL) naming the
 * device, its window and the field on a mismatch, or carrying the device's
 * own reason: a blob that fails validation changes nothing; if the device's
 * own restore() fails, the transport is left reset. */
int vmmio_restore(struct vmmio *t, const void *blob, size_t len, struct vmm_err *err);

/* Every check vmmio_restore makes, the device's own (ops->check)
 * included, and nothing applied: 0, or -EINVAL with err as above. */
int vmmio_restore_check(struct vmmio *t, const void *blob, size_t len, struct vmm_err *err);

#endif
