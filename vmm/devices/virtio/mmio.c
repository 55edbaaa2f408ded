/* virtio-mmio v2 transport (mmio.h; virtio 1.2 §4.2.2 register layout). */
#include "devices/virtio/mmio.h"

#include "core/evloop.h"
#include "core/gmem.h"
#include "core/iobus.h"
#include "smolvm/err.h"
#include "smolvm/vm.h"
#include "devices/virtio/mmio_state.h"
#include "strbuf.h"

#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define REG_MAGIC	   0x000
#define REG_VERSION	   0x004
#define REG_DEVICE_ID	   0x008
#define REG_VENDOR_ID	   0x00c
#define REG_DEV_FEATURES   0x010
#define REG_DEV_FEAT_SEL   0x014
#define REG_DRV_FEATURES   0x020
#define REG_DRV_FEAT_SEL   0x024
#define REG_QUEUE_SEL	   0x030
#define REG_QUEUE_NUM_MAX  0x034
#define REG_QUEUE_NUM	   0x038
#define REG_QUEUE_READY	   0x044
#define REG_QUEUE_NOTIFY   0x050
#define REG_INT_STATUS	   0x060
#define REG_INT_ACK	   0x064
#define REG_STATUS	   0x070
#define REG_QUEUE_DESC_LO  0x080
#define REG_QUEUE_DESC_HI  0x084
#define REG_QUEUE_AVAIL_LO 0x090
#define REG_QUEUE_AVAIL_HI 0x094
#define REG_QUEUE_USED_LO  0x0a0
#define REG_QUEUE_USED_HI  0x0a4
#define REG_SHM_SEL	   0x0ac
#define REG_SHM_LEN_LO	   0x0b0
#define REG_SHM_LEN_HI	   0x0b4
#define REG_CONFIG_GEN	   0x0fc
#define REG_CONFIG	   0x100

#define MMIO_MAGIC   0x74726976 /* "virt" */
#define MMIO_VERSION 2
#define MMIO_VENDOR  0x4c4f4d53 /* "SMOL" */

#define ISR_USED   1u
#define ISR_CONFIG 2u

struct vmmio_queue {
	struct vmmio *t;
	unsigned index;
	uint32_t num; /* as written by the driver; 0: not written (use the max) */
	uint64_t desc, avail, used;
	struct vq vq;
	int notify_fd;	/* eventfd: ioeventfd, or signalled by the MMIO handler */
	bool ioeventfd; /* registered with KVM */
};

struct vmmio {
	struct vm *vm;
	uint64_t base;
	uint32_t gsi;
	const struct virtio_device_ops *ops;
	void *dev;
	pthread_mutex_t lock; /* recursive: ops may call back into us */
	int irq_fd;	      /* irqfd eventfd; -1: KVM_IRQ_LINE pulses */
	uint64_t dev_features, drv_features;
	uint32_t dev_feat_sel, drv_feat_sel, queue_sel;
	uint32_t status, isr, config_gen;
	bool active;
	bool needs_reset;	      /* set DEVICE_NEEDS_RESET once DRIVER_OK is set */
	bool needs_reset_reported;    /* the notice was logged since the last reset */
	unsigned needs_reset_reports; /* notices logged in the device's life */
	struct vmmio_queue q[VIRTIO_MAX_QUEUES];
};

#define VMMIO_NEEDS_RESET_REPORTS 8

static void vmmio_raise(struct vmmio *t, uint32_t bits)
{
	t->isr |= bits;
	if (t->irq_fd >= 0) {
		uint64_t one = 1;
		ssize_t r = write(t->irq_fd, &one, sizeof(one));
		(void)r; /* an overflowing counter still has an edge pending */
	} else {
		vm_irq_line(t->vm, t->gsi, 1);
		vm_irq_line(t->vm, t->gsi, 0);
	}
}

void vmmio_lock(struct vmmio *t)
{
	pthread_mutex_lock(&t->lock);
}

void vmmio_unlock(struct vmmio *t)
{
	pthread_mutex_unlock(&t->lock);
}

struct vq *vmmio_queue(struct vmmio *t, unsigned q)
{
	return q < t->ops->num_queues ? &t->q[q].vq : NULL;
}

int vmmio_signal_used(struct vmmio *t, unsigned q)
{
	if (q >= t->ops->num_queues)
		return -EINVAL;
	vmmio_lock(t);
	if (vq_should_notify(&t->q[q].vq))
		vmmio_raise(t, ISR_USED);
	vmmio_unlock(t);
	return 0;
}

int vmmio_config_changed(struct vmmio *t)
{
	vmmio_lock(t);
	t->config_gen++;
	vmmio_raise(t, ISR_CONFIG);
	vmmio_unlock(t);
	return 0;
}

void vmmio_set_needs_reset(struct vmmio *t, const char *why)
{
	vmmio_lock(t);
	/* Once per reset cycle, and at most VMMIO_NEEDS_RESET_REPORTS times in
	 * all: a guest that breaks and resets a device in a loop must not be
	 * able to fill the host's log. */
	if (!t->needs_reset_reported && t->needs_reset_reports < VMMIO_NEEDS_RESET_REPORTS) {
		t->needs_reset_reports++;
		vmm_logf(vm_log(t->vm), "virtio-%s at 0x%llx: %s; the device needs a reset%s",
			 t->ops->name, (unsigned long long)t->base, why,
			 t->needs_reset_reports == VMMIO_NEEDS_RESET_REPORTS
			     ? " (later ones on this device are not reported)"
			     : "");
		t->needs_reset_reported = true;
	}
	t->needs_reset = true;
	/* §2.1.2: only meaningful once the driver is running; before that
	 * it is set when the driver sets DRIVER_OK (vmmio_set_status). */
	if (t->status & VIRTIO_STATUS_DRIVER_OK) {
		t->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
		vmmio_raise(t, ISR_CONFIG);
	}
	vmmio_unlock(t);
}

static void vmmio_reset(struct vmmio *t)
{
	if (t->ops->reset)
		t->ops->reset(t->dev);
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		struct vmmio_queue *q = &t->q[i];
		q->num = 0;
		q->desc = q->avail = q->used = 0;
		vq_reset(&q->vq);
	}
	t->drv_features = 0;
	t->dev_feat_sel = t->drv_feat_sel = t->queue_sel = 0;
	t->status = 0;
	t->isr = 0;
	t->active = false;
	t->needs_reset = false;
	t->needs_reset_reported = false;
}

static void vmmio_queue_ready(struct vmmio *t, struct vmmio_queue *q, uint32_t v)
{
	if (v == 0) {
		vq_reset(&q->vq);
		return;
	}
	if (q->vq.ready)
		return;
	uint32_t num = q->num ? q->num : t->ops->queue_max_size;
	bool event_idx = t->drv_features & VIRTIO_FEAT_RING_EVENT_IDX;
	if (num > t->ops->queue_max_size || vq_setup(&q->vq, vm_gmem(t->vm), (uint16_t)num, q->desc,
						     q->avail, q->used, event_idx)) {
		char why[160];
		snprintf(why, sizeof(why),
			 "driver enabled queue %u with an invalid layout (size %u, desc 0x%llx, "
			 "avail 0x%llx, used 0x%llx)",
			 (unsigned)(q - t->q), num, (unsigned long long)q->desc,
			 (unsigned long long)q->avail, (unsigned long long)q->used);
		vmmio_set_needs_reset(t, why);
	}
}

static void vmmio_set_status(struct vmmio *t, uint32_t v)
{
	if (v == 0) {
		vmmio_reset(t);
		return;
	}
	uint32_t old = t->status;
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
		/* §2.2.2 / §6.1: refuse features we did not offer and legacy
		 * drivers (no VERSION_1) by leaving FEATURES_OK clear. */
		if ((t->drv_features & ~t->dev_features) ||
		    !(t->drv_features & VIRTIO_FEAT_VERSION_1))
			v &= ~VIRTIO_STATUS_FEATURES_OK;
	}
	t->status = v | (old & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	if ((v & VIRTIO_STATUS_DRIVER_OK) && t->needs_reset) {
		t->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
		vmmio_raise(t, ISR_CONFIG);
		return;
	}
	if ((v & VIRTIO_STATUS_DRIVER_OK) && (t->status & VIRTIO_STATUS_FEATURES_OK) &&
	    !t->active) {
		int err = t->ops->activate ? t->ops->activate(t->dev, t, t->drv_features) : 0;
		if (err)
			vmmio_set_needs_reset(t, "device could not be activated");
		else
			t->active = true;
	}
}

static void set_lo(uint64_t *v, uint32_t x)
{
	*v = (*v & 0xffffffff00000000ull) | x;
}

static void set_hi(uint64_t *v, uint32_t x)
{
	*v = (*v & 0xffffffffull) | ((uint64_t)x << 32);
}

static uint32_t vmmio_reg_read(struct vmmio *t, uint64_t off)
{
	struct vmmio_queue *q = t->queue_sel < t->ops->num_queues ? &t->q[t->queue_sel] : NULL;
	switch (off) {
	case REG_MAGIC:
		return MMIO_MAGIC;
	case REG_VERSION:
		return MMIO_VERSION;
	case REG_DEVICE_ID:
		return t->ops->device_id;
	case REG_VENDOR_ID:
		return MMIO_VENDOR;
	case REG_DEV_FEATURES:
		return t->dev_feat_sel < 2 ? (uint32_t)(t->dev_features >> (32 * t->dev_feat_sel))
					   : 0;
	case REG_QUEUE_NUM_MAX:
		return q ? t->ops->queue_max_size : 0;
	case REG_QUEUE_READY:
		return q ? q->vq.ready : 0;
	case REG_INT_STATUS:
		return t->isr;
	case REG_STATUS:
		return t->status;
	case REG_SHM_LEN_LO:
	case REG_SHM_LEN_HI:
		return 0xffffffff; /* §4.2.2: no shared memory regions */
	case REG_CONFIG_GEN:
		return t->config_gen;
	default:
		return 0;
	}
}

static void vmmio_reg_write(struct vmmio *t, uint64_t off, uint32_t v)
{
	struct vmmio_queue *q = t->queue_sel < t->ops->num_queues ? &t->q[t->queue_sel] : NULL;
	/* §4.2.2.1: queue layout registers may only change while the queue
	 * is not ready; writes then are ignored. */
	bool q_writable = q && !q->vq.ready;
	switch (off) {
	case REG_DEV_FEAT_SEL:
		t->dev_feat_sel = v;
		break;
	case REG_DRV_FEATURES:
		if (t->drv_feat_sel == 0)
			set_lo(&t->drv_features, v);
		else if (t->drv_feat_sel == 1)
			set_hi(&t->drv_features, v);
		break;
	case REG_DRV_FEAT_SEL:
		t->drv_feat_sel = v;
		break;
	case REG_QUEUE_SEL:
		t->queue_sel = v;
		break;
	case REG_QUEUE_NUM:
		if (q_writable)
			q->num = v;
		break;
	case REG_QUEUE_READY:
		if (q)
			vmmio_queue_ready(t, q, v);
		break;
	case REG_QUEUE_NOTIFY:
		/* A write KVM matched with the ioeventfd never gets here; one
		 * that does (no ioeventfd, or a vCPU-less caller) is signalled
		 * the same way, so the device work stays on the event loop. */
		if (v < t->ops->num_queues) {
			uint64_t one = 1;
			ssize_t r = write(t->q[v].notify_fd, &one, sizeof(one));
			(void)r;
		}
		break;
	case REG_INT_ACK:
		t->isr &= ~v;
		break;
	case REG_STATUS:
		vmmio_set_status(t, v);
		break;
	case REG_QUEUE_DESC_LO:
		if (q_writable)
			set_lo(&q->desc, v);
		break;
	case REG_QUEUE_DESC_HI:
		if (q_writable)
			set_hi(&q->desc, v);
		break;
	case REG_QUEUE_AVAIL_LO:
		if (q_writable)
			set_lo(&q->avail, v);
		break;
	case REG_QUEUE_AVAIL_HI:
		if (q_writable)
			set_hi(&q->avail, v);
		break;
	case REG_QUEUE_USED_LO:
		if (q_writable)
			set_lo(&q->used, v);
		break;
	case REG_QUEUE_USED_HI:
		if (q_writable)
			set_hi(&q->used, v);
		break;
	default:
		break; /* read-only or unknown: ignored */
	}
}

static void vmmio_io(void *opaque, uint64_t off, void *data, uint32_t len, bool is_write)
{
	struct vmmio *t = opaque;
	vmmio_lock(t);
	if (off >= REG_CONFIG) {
		uint64_t coff = off - REG_CONFIG;
		bool ok = coff < t->ops->config_size && len <= t->ops->config_size - coff;
		if (!is_write && (!ok || !t->ops->config_read))
			memset(data, 0, len);
		else if (!is_write)
			t->ops->config_read(t->dev, (uint32_t)coff, data, len);
		else if (ok && t->ops->config_write)
			t->ops->config_write(t->dev, (uint32_t)coff, data, len);
	} else if (len == 4 && off % 4 == 0) { /* §4.2.2.2: 32-bit aligned only */
		if (is_write) {
			uint32_t v;
			memcpy(&v, data, 4);
			vmmio_reg_write(t, off, v);
		} else {
			uint32_t v = vmmio_reg_read(t, off);
			memcpy(data, &v, 4);
		}
	} else if (!is_write) {
		memset(data, 0, len);
	}
	vmmio_unlock(t);
}

static void vmmio_notified(void *opaque, uint32_t events)
{
	struct vmmio_queue *q = opaque;
	struct vmmio *t = q->t;
	uint64_t cnt;
	(void)events;
	if (read(q->notify_fd, &cnt, sizeof(cnt)) != sizeof(cnt))
		return;
	vmmio_lock(t);
	if (t->active && q->vq.ready && !q->vq.broken && t->ops->queue_notify)
		t->ops->queue_notify(t->dev, t, q->index);
	if (q->vq.broken)
		vmmio_set_needs_reset(t, "the driver put a malformed descriptor chain on a queue");
	vmmio_unlock(t);
}

static int vmmio_ioeventfd(struct vmmio *t, struct vmmio_queue *q, bool assign)
{
	struct kvm_ioeventfd io = {
	    .datamatch = q->index,
	    .addr = t->base + REG_QUEUE_NOTIFY,
	    .len = 4,
	    .fd = q->notify_fd,
	    .flags = KVM_IOEVENTFD_FLAG_DATAMATCH | (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};
	return ioctl(vm_fd(t->vm), KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

static void vmmio_free(struct vmmio *t)
{
	for (unsigned i = 0; i < t->ops->num_queues; i++) {
		struct vmmio_queue *q = &t->q[i];
		if (q->notify_fd < 0)
			continue;
		evloop_del(vm_evloop(t->vm), q->notify_fd);
		if (q->ioeventfd)
			vmmio_ioeventfd(t, q, false);
		close(q->notify_fd);
	}
	if (t->irq_fd >= 0) {
		struct kvm_irqfd irqfd = {
		    .fd = (uint32_t)t->irq_fd, .gsi = t->gsi, .flags = KVM_IRQFD_FLAG_DEASSIGN};
		ioctl(vm_fd(t->vm), KVM_IRQFD, &irqfd);
		close(t->irq_fd);
	}
	if (t->ops->destroy)
		t->ops->destroy(t->dev);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

int vmmio_create(struct vm *vm, uint64_t base, uint32_t gsi, const struct virtio_device_ops *ops,
		 void *dev, struct vmmio **out)
{
	if (ops->num_queues == 0 || ops->num_queues > VIRTIO_MAX_QUEUES ||
	    ops->queue_max_size == 0 || ops->queue_max_size > VQ_MAX_SIZE ||
	    (ops->queue_max_size & (ops->queue_max_size - 1)) ||
	    ops->config_size > VMMIO_WINDOW_SIZE - REG_CONFIG) {
		if (ops->destroy)
			ops->destroy(dev);
		return -EINVAL;
	}
	struct vmmio *t = calloc(1, sizeof(*t));
	if (!t) {
		if (ops->destroy)
			ops->destroy(dev);
		return -ENOMEM;
	}
	t->vm = vm;
	t->base = base;
	t->gsi = gsi;
	t->ops = ops;
	t->dev = dev;
	t->irq_fd = -1;
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&t->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		t->q[i].t = t;
		t->q[i].index = i;
		t->q[i].notify_fd = -1;
		vq_reset(&t->q[i].vq);
	}
	t->dev_features = (ops->features ? ops->features(dev) : 0) | VIRTIO_FEAT_VERSION_1;
	int err = 0;
	for (unsigned i = 0; i < ops->num_queues && !err; i++) {
		struct vmmio_queue *q = &t->q[i];
		q->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (q->notify_fd < 0) {
			err = -errno;
			break;
		}
		/* Without ioeventfd the MMIO write handler signals the same fd. */
		q->ioeventfd = vmmio_ioeventfd(t, q, true) == 0;
		err = evloop_add(vm_evloop(vm), q->notify_fd, EPOLLIN, vmmio_notified, q);
	}
	if (!err) {
		int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fd >= 0) {
			struct kvm_irqfd irqfd = {.fd = (uint32_t)fd, .gsi = gsi};
			if (ioctl(vm_fd(vm), KVM_IRQFD, &irqfd) == 0)
				t->irq_fd = fd;
			else
				close(fd); /* fall back to KVM_IRQ_LINE pulses */
		}
		err = iobus_register(vm_mmio_bus(vm), base, VMMIO_WINDOW_SIZE, vmmio_io, t);
	}
	if (err) {
		vmmio_free(t);
		return err;
	}
	*out = t;
	return 0;
}

void vmmio_destroy(struct vmmio *t)
{
	if (!t)
		return;
	iobus_unregister(vm_mmio_bus(t->vm), t->base);
	vmmio_free(t);
}

const struct gmem *vmmio_gmem(const struct vmmio *t)
{
	return vm_gmem(t->vm);
}

void *vmmio_device(const struct vmmio *t)
{
	return t->dev;
}

const struct virtio_device_ops *vmmio_ops(const struct vmmio *t)
{
	return t->ops;
}

uint64_t vmmio_base(const struct vmmio *t)
{
	return t->base;
}

uint32_t vmmio_gsi(const struct vmmio *t)
{
	return t->gsi;
}

int vmmio_save(struct vmmio *t, struct strbuf *out)
{
	struct vmmio_state st = {0};
	struct strbuf dev = {0};
	vmmio_lock(t);
	st.device_id = t->ops->device_id;
	st.num_queues = t->ops->num_queues;
	st.dev_features = t->dev_features;
	st.drv_features = t->drv_features;
	st.status = t->status;
	st.isr = t->isr;
	st.config_gen = t->config_gen;
	st.dev_feat_sel = t->dev_feat_sel;
	st.drv_feat_sel = t->drv_feat_sel;
	st.queue_sel = t->queue_sel;
	st.active = t->active;
	for (unsigned i = 0; i < t->ops->num_queues; i++) {
		st.q[i].num = t->q[i].num;
		vq_save(&t->q[i].vq, &st.q[i].vq);
		/* Layout registers of a not-ready queue live outside the vq. */
		st.q[i].vq.desc_gpa = t->q[i].desc;
		st.q[i].vq.avail_gpa = t->q[i].avail;
		st.q[i].vq.used_gpa = t->q[i].used;
	}
	int err = t->ops->save ? t->ops->save(t->dev, &dev) : 0;
	if (!err && dev.len > UINT32_MAX)
		err = -EOVERFLOW;
	if (!err) {
		st.dev_blob = (const uint8_t *)dev.buf;
		st.dev_len = (uint32_t)dev.len;
		err = vmmio_state_encode(&st, out);
	}
	sb_release(&dev);
	vmmio_unlock(t);
	return err;
}

static int restore_fail(const struct vmmio *t, struct vmm_err *err, const char *what)
{
	return vmm_errf(err, -EINVAL, "virtio-%s at 0x%llx: %s", t->ops->name,
			(unsigned long long)t->base, what);
}

/* The device's own reason, with its window in front. */
static int device_fail(const struct vmmio *t, struct vmm_err *err, int rc)
{
	char where[64];
	snprintf(where, sizeof(where), "virtio-%s at 0x%llx", t->ops->name,
		 (unsigned long long)t->base);
	return vmm_err_prefix(err, rc, where);
}

/* The checks of vmmio_restore, on scratch structs only. */
static int restore_validate(struct vmmio *t, const void *blob, size_t len, struct vmmio_state *out,
			    struct vmm_err *err)
{
	struct vmmio_state h = {0};
	const char *why;
	if (vmmio_state_decode(blob, len, t->ops->num_queues, &h, &why))
		return restore_fail(t, err, why);
	if (h.device_id != t->ops->device_id)
		return restore_fail(t, err,
				    "device type or queue count differs from this VM's device");
	if (h.dev_features != t->dev_features || (h.drv_features & ~h.dev_features))
		return restore_fail(t, err, "feature bits differ from what this device offers");
	if (h.active > 1 || h.status > 0xff)
		return restore_fail(t, err, "status field out of range");
	/* Validate every queue on scratch structs before touching live state. */
	for (unsigned i = 0; i < h.num_queues; i++) {
		struct vq scratch;
		if (h.q[i].num > t->ops->queue_max_size ||
		    vq_restore(&scratch, vm_gmem(t->vm), &h.q[i].vq))
			return restore_fail(t, err, "a queue's size or ring addresses are invalid");
	}
	if (!t->ops->restore && h.dev_len)
		return restore_fail(t, err, "device has no state but the blob has some");
	*out = h;
	return 0;
}

int vmmio_restore_check(struct vmmio *t, const void *blob, size_t len, struct vmm_err *err)
{
	struct vmmio_state h = {0};
	int rc = restore_validate(t, blob, len, &h, err);
	if (!rc && t->ops->check && (rc = t->ops->check(t->dev, h.dev_blob, h.dev_len, err))) {
		device_fail(t, err, rc);
	}
	return rc;
}

int vmmio_restore(struct vmmio *t, const void *blob, size_t len, struct vmm_err *err)
{
	struct vmmio_state h = {0};
	int rc = restore_validate(t, blob, len, &h, err);
	if (rc)
		return rc;
	vmmio_lock(t);
	vmmio_reset(t);
	if (t->ops->restore && (rc = t->ops->restore(t->dev, h.dev_blob, h.dev_len, err))) {
		device_fail(t, err, rc);
	}
	if (rc) {
		vmmio_unlock(t);
		return rc;
	}
	for (unsigned i = 0; i < h.num_queues; i++) {
		struct vmmio_queue *q = &t->q[i];
		q->num = h.q[i].num;
		q->desc = h.q[i].vq.desc_gpa;
		q->avail = h.q[i].vq.avail_gpa;
		q->used = h.q[i].vq.used_gpa;
		vq_restore(&q->vq, vm_gmem(t->vm), &h.q[i].vq);
	}
	t->drv_features = h.drv_features;
	t->dev_feat_sel = h.dev_feat_sel;
	t->drv_feat_sel = h.drv_feat_sel;
	t->queue_sel = h.queue_sel;
	t->status = h.status;
	t->isr = h.isr;
	t->config_gen = h.config_gen;
	if (h.active && t->ops->activate && (rc = t->ops->activate(t->dev, t, t->drv_features)))
		vmm_errf(err, rc, "virtio-%s at 0x%llx: re-activating the restored device: %s",
			 t->ops->name, (unsigned long long)t->base, strerror(-rc));
	t->active = h.active && !rc;
	/* A kick the guest gave just before the snapshot may never have been
	 * handled (the eventfd was still unread when the vCPUs paused). With
	 * VIRTIO_F_EVENT_IDX the driver does not kick again for buffers the
	 * device has not caught up with (virtio 1.2 §2.7.10), so such a queue
	 * would stall for good: handle what every queue holds now. */
	for (unsigned i = 0; t->active && i < h.num_queues; i++) {
		struct vmmio_queue *q = &t->q[i];
		if (q->vq.ready && !q->vq.broken && t->ops->queue_notify)
			t->ops->queue_notify(t->dev, t, q->index);
		if (q->vq.broken)
			vmmio_set_needs_reset(
			    t, "a restored queue holds a malformed descriptor chain");
	}
	vmmio_unlock(t);
	return rc;
}
