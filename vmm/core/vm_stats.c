/* vm_stats: KVM's binary per-vCPU statistics (vm_stats.h; the layout is
 * the KVM API's "KVM_GET_STATS_FD": a header, descriptors of name_size
 * byte names, then the data). */
#include "core/vm_stats.h"
#include "core/vm_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int vm_stats_open(struct vm *vm)
{
	int rc = 0;
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (v->stats_fd >= 0)
			continue;
		v->stats_fd = ioctl(v->fd, KVM_GET_STATS_FD, 0);
		if (v->stats_fd < 0) {
			v->stats_fd = -1;
			rc = -errno;
		}
	}
	return rc;
}

/* Reads len bytes at off; -EPROTO when the file is shorter. */
static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t r = pread(fd, buf, len, (off_t)off);
	if (r < 0)
		return -errno;
	return (size_t)r == len ? 0 : -EPROTO;
}

int vm_vcpu_stats(struct vm *vm, unsigned idx, struct vm_stat *out, unsigned max, unsigned *n)
{
	*n = 0;
	if (idx >= vm->ncpus)
		return -EINVAL;
	if (vm->vcpus[idx].stats_fd < 0)
		return -EBADF;
	return vm_stats_read(vm->vcpus[idx].stats_fd, out, max, n);
}

int vm_stats_read(int fd, struct vm_stat *out, unsigned max, unsigned *n)
{
	*n = 0;
	struct kvm_stats_header h;
	int rc = read_at(fd, &h, sizeof(h), 0);
	if (rc)
		return rc;
	/* Bounds that no KVM comes near: they keep the allocations small. */
	if (h.name_size == 0 || h.name_size > 4096 || h.num_desc > 4096)
		return -EPROTO;
	size_t dsize = sizeof(struct kvm_stats_desc) + h.name_size;
	uint8_t *descs = malloc(dsize * h.num_desc);
	if (!descs)
		return -ENOMEM;
	rc = read_at(fd, descs, dsize * h.num_desc, h.desc_offset);
	for (uint32_t i = 0; i < h.num_desc && !rc; i++) {
		const struct kvm_stats_desc *d = (const void *)(descs + i * dsize);
		if ((d->flags & KVM_STATS_TYPE_MASK) != KVM_STATS_TYPE_CUMULATIVE || d->size != 1)
			continue;
		uint64_t value;
		rc = read_at(fd, &value, sizeof(value), (uint64_t)h.data_offset + d->offset);
		if (rc || *n == max)
			continue;
		struct vm_stat *s = &out[(*n)++];
		size_t len = strnlen(d->name, h.name_size);
		if (len >= sizeof(s->name))
			len = sizeof(s->name) - 1;
		memcpy(s->name, d->name, len);
		s->name[len] = '\0';
		s->value = value;
	}
	free(descs);
	return rc;
}
