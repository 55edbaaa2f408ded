#include "snap_restore.h"
#include "snap_config.h"
#include "snap_file.h"
#include "snap_fingerprint.h"
#include "snap_format.h"
#include "snap_save.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/gmem.h"
#include "devices/i8042.h"
#include "devices/serial.h"
#include "devices/virtio/mmio.h"
#include "util.h"

/* Everything read from the file before the VM exists. */
struct loaded {
	struct snap_file *f;
	struct snap_config cfg;
	const struct snap_section *mem;
	struct vcpu_state *vcpus; /* cfg.nr_vcpus entries */
	struct vm_state vm;
	bool have_serial;
	struct serial_state serial;
	bool have_i8042;
	struct i8042_state i8042;
	unsigned ndev;
	const struct snap_section *dev[VM_MAX_DEVICES + 4]; /* by device index */
	void *dev_blob[VM_MAX_DEVICES + 4];
	size_t dev_len[VM_MAX_DEVICES + 4];
};

static void loaded_release(struct loaded *l)
{
	for (unsigned i = 0; i < l->ndev; i++)
		free(l->dev_blob[i]);
	free(l->vcpus);
	snap_config_release(&l->cfg);
	snap_file_close(l->f);
}

/* "dev.<name>.<i>" -> i; -1 when the name is not a device section name. */
static int dev_index(const char *name)
{
	const char *dot = strrchr(name, '.');
	uint64_t v;
	if (strncmp(name, "dev.", 4) != 0 || !dot || dot < name + 5 ||
	    util_parse_u64(dot + 1, 0, 64, &v))
		return -1;
	return (int)v;
}

/* The section version this build reads for a type; 0: not checked here
 * (devices version their own blobs). */
static uint32_t section_version(uint32_t type)
{
	static const uint32_t versions[] = {
	    [SNAP_SEC_CONFIG] = SNAP_CONFIG_VERSION,
	    [SNAP_SEC_VCPU] = SNAP_VCPU_VERSION,
	    [SNAP_SEC_VM] = SNAP_VM_VERSION,
	};
	return type < sizeof(versions) / sizeof(versions[0]) ? versions[type] : 0;
}

/* The UART's registers, checked here as serial_restore() will check them,
 * so that a bad blob is refused before any state is set. */
static int load_serial(struct loaded *l, struct vmm_err *err)
{
	const struct snap_section *s = snap_file_find(l->f, SNAP_SERIAL_SECTION);
	if (!s)
		return 0; /* older snapshots: the UART starts from reset */
	if (s->type != SNAP_SEC_LEGACY || s->version != SNAP_SERIAL_VERSION ||
	    s->length != sizeof(l->serial))
		return vmm_errf(err, -EINVAL,
				"%s: section %s: type %u version %u length %" PRIu64
				", expected %u/%u/%zu",
				l->f->path, s->name, s->type, s->version, s->length,
				SNAP_SEC_LEGACY, SNAP_SERIAL_VERSION, sizeof(l->serial));
	void *buf;
	int rc = snap_file_read(l->f, s, SNAP_SEC_LEGACY, &buf, NULL, err);
	if (rc)
		return rc;
	memcpy(&l->serial, buf, sizeof(l->serial));
	free(buf);
	if (l->serial.rx_len > sizeof(l->serial.rx) || l->serial.iir_thre > 1)
		return vmm_errf(err, -EINVAL,
				"%s: section %s: rx_len %u / iir_thre %u out of range", l->f->path,
				s->name, l->serial.rx_len, l->serial.iir_thre);
	l->have_serial = true;
	return 0;
}

/* The keyboard controller's state, checked (i8042_state_check) before any
 * state is set. */
static int load_i8042(struct loaded *l, struct vmm_err *err)
{
	const struct snap_section *s = snap_file_find(l->f, SNAP_I8042_SECTION);
	if (!s)
		return 0; /* older snapshots: the controller starts from reset */
	if (s->type != SNAP_SEC_LEGACY || s->version != SNAP_I8042_VERSION ||
	    s->length != sizeof(l->i8042))
		return vmm_errf(err, -EINVAL,
				"%s: section %s: type %u version %u length %" PRIu64
				", expected %u/%u/%zu",
				l->f->path, s->name, s->type, s->version, s->length,
				SNAP_SEC_LEGACY, SNAP_I8042_VERSION, sizeof(l->i8042));
	void *buf;
	int rc = snap_file_read(l->f, s, SNAP_SEC_LEGACY, &buf, NULL, err);
	if (rc)
		return rc;
	memcpy(&l->i8042, buf, sizeof(l->i8042));
	free(buf);
	if (i8042_state_check(&l->i8042))
		return vmm_errf(err, -EINVAL, "%s: section %s: a state the i8042 cannot be in",
				l->f->path, s->name);
	l->have_i8042 = true;
	return 0;
}

static int load(const char *path, bool verify_memory, struct loaded *l, struct vmm_err *err)
{
	int rc = snap_file_open(path, &l->f, err);
	if (rc)
		return rc;
	struct snap_file *f = l->f;
	l->mem = snap_file_find(f, "memory");
	if (!l->mem || l->mem->type != SNAP_SEC_MEMORY)
		return vmm_errf(err, -EINVAL, "%s: no memory section", path);
	void *buf;
	size_t len;
	rc = snap_file_read_named(f, "config", SNAP_SEC_CONFIG, &buf, &len, err);
	if (rc)
		return rc;
	rc = snap_config_decode(buf, len, l->mem->length, &l->cfg, err);
	free(buf);
	if (rc)
		return vmm_err_prefix(err, rc, path);
	l->vcpus = calloc(l->cfg.nr_vcpus, sizeof(*l->vcpus));
	if (!l->vcpus)
		return vmm_errf(err, -ENOMEM, "out of memory");
	unsigned nvcpu_secs = 0;
	for (uint32_t i = 0; i < f->hdr.section_count; i++) {
		const struct snap_section *s = &f->secs[i];
		if (s->type == SNAP_SEC_VCPU)
			nvcpu_secs++;
		if (s->type == SNAP_SEC_DEVICE) {
			int idx = dev_index(s->name);
			if (idx < 0 || idx >= (int)(sizeof(l->dev) / sizeof(l->dev[0])) ||
			    l->dev[idx])
				return vmm_errf(err, -EINVAL,
						"%s: device section %s is misnamed or "
						"duplicated",
						path, s->name);
			l->dev[idx] = s;
		} else if (s->type != SNAP_SEC_CONFIG && s->type != SNAP_SEC_VCPU &&
			   s->type != SNAP_SEC_VM && s->type != SNAP_SEC_MEMORY &&
			   s->type != SNAP_SEC_NOTE && s->type != SNAP_SEC_LEGACY) {
			return vmm_errf(err, -EPROTONOSUPPORT, "%s: section %s has unknown type %u",
					path, s->name, s->type);
		}
		uint32_t want = section_version(s->type);
		if (want && s->version != want)
			return vmm_errf(
			    err, -EPROTONOSUPPORT,
			    "%s: section %s is version %u, this smolvm reads version %u", path,
			    s->name, s->version, want);
	}
	if (nvcpu_secs != l->cfg.nr_vcpus)
		return vmm_errf(err, -EINVAL,
				"%s: config says %u vCPUs but there are %u vcpu sections", path,
				l->cfg.nr_vcpus, nvcpu_secs);
	for (uint32_t i = 0; i < l->cfg.nr_vcpus; i++) {
		char name[32];
		snprintf(name, sizeof(name), "vcpu.%u", i);
		rc = snap_file_read_named(f, name, SNAP_SEC_VCPU, &buf, &len, err);
		if (rc)
			return rc;
		rc = snap_vcpu_decode(buf, len, &l->vcpus[i], err);
		free(buf);
		if (rc)
			return vmm_err_prefix(err, rc, path);
	}
	rc = snap_file_read_named(f, "vm", SNAP_SEC_VM, &buf, &len, err);
	if (rc)
		return rc;
	rc = snap_vm_decode(buf, len, &l->vm, err);
	free(buf);
	if (rc)
		return vmm_err_prefix(err, rc, path);
	while (l->ndev < sizeof(l->dev) / sizeof(l->dev[0]) && l->dev[l->ndev])
		l->ndev++;
	for (unsigned i = l->ndev; i < sizeof(l->dev) / sizeof(l->dev[0]); i++)
		if (l->dev[i])
			return vmm_errf(err, -EINVAL, "%s: device sections skip index %u", path,
					l->ndev);
	for (unsigned i = 0; i < l->ndev; i++) {
		rc = snap_file_read(f, l->dev[i], SNAP_SEC_DEVICE, &l->dev_blob[i], &l->dev_len[i],
				    err);
		if (rc)
			return rc;
	}
	rc = load_serial(l, err);
	if (rc)
		return rc;
	rc = load_i8042(l, err);
	if (rc)
		return rc;
	if (verify_memory)
		return snap_file_verify(f, err);
	return 0;
}

/* Checks that the VM we built can take the saved state. Nothing is
 * changed yet. */
static int check_host_and_shape(const struct loaded *l, struct vm *vm, struct vmm_err *warn,
				struct vmm_err *err)
{
	const char *path = l->f->path;
	struct snap_fingerprint host;
	int rc = snap_fp_host(vm_kvm_fd(vm), vm_fd(vm), &host, err);
	if (rc)
		return rc;
	/* No TSC scaling yet (KVM_SET_TSC_KHZ per vCPU): a host whose TSC runs
	 * at another rate is refused even when KVM could scale it. */
	rc = snap_fp_compare(&l->f->hdr.fp, &host, false, warn, err);
	if (rc)
		return vmm_err_prefix(err, rc, path);
	if (warn && warn->msg[0])
		vmm_err_prefix(warn, 0, path);
	/* What a fresh vCPU of this VM sees is the reference, not
	 * KVM_GET_SUPPORTED_CPUID: some hypervisors (PVM) widen the CPUID
	 * table on KVM_SET_CPUID2 with host bits the supported list omits. */
	struct kvm_cpuid_entry2 *fresh = calloc(VCPU_MAX_CPUID, sizeof(*fresh));
	uint32_t nfresh = 0;
	if (!fresh)
		return vmm_errf(err, -ENOMEM, "out of memory");
	rc = vcpu_get_cpuid(vm, 0, fresh, VCPU_MAX_CPUID, &nfresh);
	if (rc) {
		free(fresh);
		return vmm_errf(err, rc, "reading a fresh vCPU's CPUID: %s", strerror(-rc));
	}
	for (uint32_t i = 0; i < l->cfg.nr_vcpus && !rc; i++)
		rc = snap_fp_cpuid_check(l->vcpus[i].cpuid, l->vcpus[i].ncpuid, fresh, nfresh, err);
	free(fresh);
	if (rc)
		return vmm_err_prefix(err, rc, path);
	const struct gmem *gm = vm_gmem(vm);
	if (gm->nregions != l->cfg.nr_regions)
		return vmm_errf(err, -EINVAL, "%s: %u RAM regions saved, this smolvm lays out %u",
				path, l->cfg.nr_regions, gm->nregions);
	for (unsigned i = 0; i < gm->nregions; i++) {
		const struct snap_region *r = &l->cfg.regions[i];
		if (r->gpa != gm->regions[i].gpa || r->size != gm->regions[i].size ||
		    r->mem_offset != gm->regions[i].fd_offset)
			return vmm_errf(err, -EINVAL,
					"%s: RAM region %u is gpa %#" PRIx64 "+%#" PRIx64
					" in the snapshot but %#" PRIx64 "+%#" PRIx64 " here",
					path, i, r->gpa, r->size, gm->regions[i].gpa,
					gm->regions[i].size);
	}
	if (vm_virtio_count(vm) != l->ndev)
		return vmm_errf(err, -EINVAL,
				"%s: the snapshot has %u virtio devices, this restore creates %u: "
				"give the same devices (--disk-layer, --vsock, --share) as the "
				"saved VM had",
				path, l->ndev, vm_virtio_count(vm));
	for (unsigned i = 0; i < l->ndev; i++) {
		char want[SNAP_NAME_MAX + 1];
		if (snap_dev_section_name(vmmio_ops(vm_virtio(vm, i))->name, i, want,
					  sizeof(want)) ||
		    strcmp(want, l->dev[i]->name) != 0)
			return vmm_errf(err, -EINVAL,
					"%s: device %u is %s in the snapshot but %s here", path, i,
					l->dev[i]->name, want);
	}
	return 0;
}

/* "<file>: section dev.<kind>.<i>: " in front of a device's reason. */
static int dev_fail(const struct loaded *l, unsigned i, int rc, struct vmm_err *err)
{
	char where[VMM_ERR_MAX];
	snprintf(where, sizeof(where), "%s: section %s", l->f->path, l->dev[i]->name);
	return vmm_err_prefix(err, rc, where);
}

/* Every device blob, transport and device part, checked against the
 * device it will go to before any state is applied: a corrupt or foreign
 * blob fails the restore before KVM has seen a vCPU register. */
static int check_devices(const struct loaded *l, struct vm *vm, struct vmm_err *err)
{
	for (unsigned i = 0; i < l->ndev; i++) {
		int rc = vmmio_restore_check(vm_virtio(vm, i), l->dev_blob[i], l->dev_len[i], err);
		if (rc)
			return dev_fail(l, i, rc, err);
	}
	return 0;
}

/* Replaces the VM's fresh (empty, never touched) anonymous RAM with a private
 * mapping of the snapshot's memory section at the same host address, so
 * the KVM memory slots stay valid and guest pages come from the page cache
 * copy-on-write. gmem then describes the file mapping, so a snapshot of
 * this VM reads every page (its private copies included). */
static int map_memory(const struct loaded *l, struct vm *vm, struct vmm_err *err)
{
	struct gmem *gm = vm_gmem(vm);
	int fd = dup(l->f->fd);
	if (fd < 0)
		return vmm_errf(err, -errno, "dup: %s", strerror(errno));
	void *p = mmap(gm->map, gm->ram_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, fd, (off_t)l->mem->offset);
	if (p == MAP_FAILED) {
		int rc = -errno;
		close(fd);
		return vmm_errf(err, rc, "%s: mapping the memory section: %s", l->f->path,
				strerror(-rc));
	}
	if (gm->fd >= 0)
		close(gm->fd);
	gm->fd = fd;
	gm->private_map = true;
	for (unsigned i = 0; i < gm->nregions; i++)
		gm->regions[i].fd_offset += l->mem->offset;
	return 0;
}

static int apply_state(const struct loaded *l, struct vm *vm, struct vmm_err *err)
{
	const char *path = l->f->path;
	int rc = vm_set_state(vm, &l->vm);
	if (rc)
		return vmm_errf(err, rc, "%s: restoring irqchip/PIT/clock: %s", path,
				strerror(-rc));
	for (uint32_t i = 0; i < l->cfg.nr_vcpus; i++) {
		rc = vcpu_set_state(vm, i, &l->vcpus[i]);
		if (rc)
			return vmm_errf(err, rc, "%s: KVM refused the state of vCPU %u: %s", path,
					i, strerror(-rc));
	}
	if (l->have_serial && vm_serial(vm)) {
		rc = serial_restore(vm_serial(vm), &l->serial);
		if (rc)
			return vmm_errf(err, rc, "%s: the UART refused its saved state", path);
	}
	if (l->have_i8042 && vm_i8042(vm)) {
		rc = i8042_restore(vm_i8042(vm), &l->i8042);
		if (rc)
			return vmm_errf(err, rc, "%s: the i8042 refused its saved state", path);
	}
	for (unsigned i = 0; i < l->ndev; i++) {
		rc = vmmio_restore(vm_virtio(vm, i), l->dev_blob[i], l->dev_len[i], err);
		if (rc)
			return dev_fail(l, i, rc, err);
	}
	return 0;
}

/* Puts the restore's device specs in the order of the saved device
 * sections ("dev.<kind>.<i>": the kinds of devices.def are the ops names),
 * whatever order the command line gave them in, since `smolvm run`
 * attached them in its own command-line order. Specs that match no saved
 * device go last, where the device-set check names them. */
static void order_devices(const struct loaded *l, const struct snap_restore_opts *o,
			  struct vm_config *vc)
{
	bool used[VM_MAX_DEVICES] = {false};
	for (unsigned d = 0; d < l->ndev; d++) {
		const char *kind = l->dev[d]->name + 4; /* after "dev." */
		size_t klen = strcspn(kind, ".");
		for (unsigned i = 0; i < o->ndevices; i++) {
			if (used[i] || strlen(o->devices[i].kind) != klen ||
			    strncmp(o->devices[i].kind, kind, klen) != 0)
				continue;
			used[i] = true;
			vc->devices[vc->ndevices++] = o->devices[i];
			break;
		}
	}
	for (unsigned i = 0; i < o->ndevices; i++)
		if (!used[i])
			vc->devices[vc->ndevices++] = o->devices[i];
}

int snap_restore(const struct snap_restore_opts *o, struct vm **out,
		 struct snap_restore_times *times, struct vmm_err *warn, struct vmm_err *err)
{
	struct snap_restore_times t = {.start_ns = util_now_ns()};
	if (warn)
		warn->msg[0] = '\0';
	struct loaded l;
	struct vm *vm = NULL;
	memset(&l, 0, sizeof(l));
	int rc = load(o->path, o->verify_memory, &l, err);
	if (rc)
		goto fail;
	t.validated_ns = util_now_ns();

	struct vm_config vc;
	vm_config_init(&vc);
	vc.mem_bytes = l.cfg.mem_size;
	vc.ncpus = l.cfg.nr_vcpus;
	vc.serial = o->serial;
	vc.serial_path = o->serial_path;
	vc.control_path = o->control_path;
	vc.snapshot_on_checkpoint = o->snapshot_on_checkpoint;
	vc.exit_after_snapshot = o->exit_after_snapshot;
	vc.restore_path = o->path;
	vc.log = o->log;
	/* The rng is the core's default device; it exists iff it was saved. */
	vc.rng = l.ndev > 0 && !strncmp(l.dev[0]->name, "dev.rng.", 8);
	order_devices(&l, o, &vc);
	rc = vm_create(&vc, &vm, err);
	if (rc) {
		vmm_err_prefix(err, rc, o->path);
		goto fail;
	}
	rc = check_host_and_shape(&l, vm, warn, err);
	if (!rc)
		rc = check_devices(&l, vm, err);
	if (!rc)
		rc = map_memory(&l, vm, err);
	t.created_ns = util_now_ns();
	if (!rc)
		rc = apply_state(&l, vm, err);
	if (rc)
		goto fail;
	t.done_ns = util_now_ns();
	loaded_release(&l);
	if (times)
		*times = t;
	*out = vm;
	return 0;
fail:
	vm_destroy(vm);
	loaded_release(&l);
	return rc;
}
