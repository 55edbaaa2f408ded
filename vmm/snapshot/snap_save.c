#include "snap_save.h"
#include "snap_config.h"
#include "snap_fingerprint.h"
#include "snap_format.h"
#include "snap_state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/gmem.h"
#include "devices/i8042.h"
#include "devices/serial.h"
#include "devices/virtio/mmio.h"
#include "strbuf.h"
#include "util.h"

int snap_dev_section_name(const char *name, unsigned i, char *buf, size_t len)
{
	int n = snprintf(buf, len, "dev.%s.%u", name, i);
	if (n < 0 || (size_t)n >= len || !snap_name_valid(buf))
		return -EINVAL;
	return 0;
}

/* A disk file in the snapshot's own directory is recorded by its name
 * alone, and restore looks for it next to the snapshot (snap_bundle_resolve):
 * the directory can then be renamed or moved whole, as the runner's cache
 * does when it commits an entry built under a temporary name. Any other
 * file is recorded as the path it was opened by. */
static const char *recorded_path(const char *snap_path, const char *path)
{
	const char *slash = strrchr(path, '/'), *snap_slash = strrchr(snap_path, '/');
	if (!slash || !slash[1])
		return path;
	struct stat a, b;
	char dir[4096];
	if (!snap_slash)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(snap_slash - snap_path + 1), snap_path);
	char pdir[4096];
	snprintf(pdir, sizeof(pdir), "%.*s", (int)(slash - path + 1), path);
	if (stat(dir, &a) == 0 && stat(pdir, &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino)
		return slash + 1;
	return path;
}

static int add_file(struct snap_config *cfg, uint32_t role, const char *path,
		    const char *snap_path, struct vmm_err *err)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return vmm_errf(err, -errno, "%s: %s", path, strerror(errno));
	const char *rec = snap_path ? recorded_path(snap_path, path) : path;
	int rc = snap_config_add_file(cfg, role, rec, (uint64_t)st.st_size, 0);
	return rc ? vmm_errf(err, rc, "%s: cannot record it: %s", path, strerror(-rc)) : 0;
}

/* The disk stack of the (single) blk device, from its --disk argument
 * "BASE[,ro][,layer=L]..." (devices/virtio/blk.h). The snapshot refers to
 * these files, so they must not change after it: the writable top layer
 * becomes read-only at the instant of the snapshot (the VM is paused and
 * ends without running again: --exit-after-snapshot) and is marked frozen
 * once the blk device has closed it (snap_ctl_destroy); a base written
 * directly (no layers, not ro) cannot be frozen at all. Forks stack their own layer on
 * top (smolvm restore --disk-layer). */
static int save_disks(const struct vm_config *vc, const char *snap_path, struct snap_config *cfg,
		      char *freeze, size_t freeze_len, struct vmm_err *err)
{
	const char *arg = NULL;
	for (unsigned i = 0; i < vc->ndevices; i++) {
		if (strcmp(vc->devices[i].kind, "blk") != 0)
			continue;
		if (arg)
			return vmm_errf(err, -EOPNOTSUPP,
					"snapshots support one disk; this VM has more");
		arg = vc->devices[i].arg;
	}
	if (!arg)
		return 0;
	char *copy = strdup(arg), *save = NULL, *top = NULL;
	if (!copy)
		return vmm_errf(err, -ENOMEM, "out of memory");
	bool ro = false;
	int rc = 0;
	char *tok = strtok_r(copy, ",", &save);
	if (tok)
		rc = add_file(cfg, SNAP_FILE_DISK_BASE, tok, snap_path, err);
	while (!rc && (tok = strtok_r(NULL, ",", &save))) {
		if (!strcmp(tok, "ro")) {
			ro = true;
		} else if (!strncmp(tok, "layer=", 6)) {
			top = tok + 6;
			rc = add_file(cfg, SNAP_FILE_DISK_LAYER, top, snap_path, err);
		}
	}
	if (!rc && !ro && !top)
		rc = vmm_errf(err, -EOPNOTSUPP,
			      "disk %s takes writes directly; give it a copy-on-write layer "
			      "(--disk BASE,layer=LAYER) so the snapshot can freeze it",
			      arg);
	if (!rc && !ro && !vc->exit_after_snapshot)
		rc = vmm_errf(err, -EOPNOTSUPP,
			      "the disk's top layer %s must be frozen into the snapshot, so the "
			      "VM cannot go on writing it: use --exit-after-snapshot",
			      top);
	if (!rc && !ro && (size_t)snprintf(freeze, freeze_len, "%s", top) >= freeze_len)
		rc = vmm_errf(err, -ENAMETOOLONG, "%s: path too long", top);
	free(copy);
	return rc;
}

/* The config section: VM shape, RAM layout (each region at its offset in
 * the RAM fd, which is also its offset in the memory section) and the files
 * the snapshot depends on. */
static int save_config(struct vm *vm, const char *snap_path, struct snap_writer *w, char *freeze,
		       size_t freeze_len, struct vmm_err *err)
{
	const struct vm_config *vc = vm_config(vm);
	const struct gmem *gm = vm_gmem(vm);
	struct snap_config cfg = {.nr_vcpus = vm_ncpus(vm), .mem_size = gm->ram_size};
	int rc = 0;
	uint64_t base = gm->nregions ? gm->regions[0].fd_offset : 0;
	for (unsigned i = 0; i < gm->nregions; i++)
		cfg.regions[cfg.nr_regions++] = (struct snap_region){
		    gm->regions[i].gpa, gm->regions[i].size, gm->regions[i].fd_offset - base};
	const char *paths[2] = {vc->kernel_path, vc->initrd_path};
	const uint32_t roles[2] = {SNAP_FILE_KERNEL, SNAP_FILE_INITRD};
	for (int i = 0; i < 2 && !rc; i++) {
		struct stat st;
		if (!paths[i])
			continue;
		/* A restored VM has no kernel to record; a booted one does. */
		if (stat(paths[i], &st) < 0) {
			rc = vmm_errf(err, -errno, "%s: %s", paths[i], strerror(errno));
			break;
		}
		rc = snap_config_add_file(&cfg, roles[i], paths[i], (uint64_t)st.st_size, 0);
	}
	if (!rc)
		rc = save_disks(vc, snap_path, &cfg, freeze, freeze_len, err);
	uint8_t *buf = NULL;
	size_t len = 0;
	if (!rc)
		rc = snap_config_encode(&cfg, &buf, &len);
	if (!rc)
		rc = snap_writer_add(w, "config", SNAP_SEC_CONFIG, SNAP_CONFIG_VERSION, buf, len,
				     err);
	free(buf);
	snap_config_release(&cfg);
	return rc;
}

static int save_vcpus(struct vm *vm, struct snap_writer *w, struct snap_fingerprint *fp,
		      struct vmm_err *err)
{
	struct vcpu_state *st = malloc(sizeof(*st));
	struct strbuf sb = {0};
	int rc = 0;
	if (!st)
		return vmm_errf(err, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < vm_ncpus(vm) && !rc; i++) {
		char name[32];
		snprintf(name, sizeof(name), "vcpu.%u", i);
		rc = vcpu_get_state(vm, i, st);
		if (rc) {
			vmm_errf(err, rc, "reading vCPU %u state: %s", i, strerror(-rc));
			break;
		}
		if (i == 0) {
			fp->cpuid_nent = st->ncpuid;
			fp->cpuid_hash = snap_fp_cpuid_hash(st->cpuid, st->ncpuid);
		}
		sb_reset(&sb);
		rc = snap_vcpu_encode(st, &sb);
		if (!rc)
			rc = snap_writer_add(w, name, SNAP_SEC_VCPU, SNAP_VCPU_VERSION, sb.buf,
					     sb.len, err);
	}
	sb_release(&sb);
	free(st);
	return rc;
}

static int save_vm_and_devices(struct vm *vm, struct snap_writer *w, struct vmm_err *err)
{
	struct vm_state vs;
	struct strbuf sb = {0};
	int rc = vm_get_state(vm, &vs);
	if (rc)
		return vmm_errf(err, rc, "reading VM state (irqchip, PIT, clock): %s",
				strerror(-rc));
	rc = snap_vm_encode(&vs, &sb);
	if (!rc)
		rc = snap_writer_add(w, "vm", SNAP_SEC_VM, SNAP_VM_VERSION, sb.buf, sb.len, err);
	for (unsigned i = 0; i < vm_virtio_count(vm) && !rc; i++) {
		struct vmmio *t = vm_virtio(vm, i);
		char name[SNAP_NAME_MAX + 1];
		if (snap_dev_section_name(vmmio_ops(t)->name, i, name, sizeof(name))) {
			rc = vmm_errf(err, -EINVAL, "device %u: name \"%s\" cannot name a section",
				      i, vmmio_ops(t)->name);
			break;
		}
		sb_reset(&sb);
		rc = vmmio_save(t, &sb);
		if (rc) {
			vmm_errf(err, rc, "saving device %s: %s", name, strerror(-rc));
			break;
		}
		rc = snap_writer_add(w, name, SNAP_SEC_DEVICE, 1, sb.buf, sb.len, err);
	}
	if (!rc && vm_serial(vm)) {
		/* The UART's registers: a Linux guest's 8250 driver waits for the
		 * THRE interrupt it enabled in IER. */
		struct serial_state ss;
		memset(&ss, 0, sizeof(ss));
		serial_save(vm_serial(vm), &ss);
		rc = snap_writer_add(w, SNAP_SERIAL_SECTION, SNAP_SEC_LEGACY, SNAP_SERIAL_VERSION,
				     &ss, sizeof(ss), err);
	}
	if (!rc && vm_i8042(vm)) {
		/* The keyboard controller's CTR (interrupt enables) and any byte
		 * still waiting for the guest. */
		struct i8042_state ks;
		i8042_save(vm_i8042(vm), &ks);
		rc = snap_writer_add(w, SNAP_I8042_SECTION, SNAP_SEC_LEGACY, SNAP_I8042_VERSION,
				     &ks, sizeof(ks), err);
	}
	sb_release(&sb);
	return rc;
}

int snap_save(struct vm *vm, const char *path, struct snap_save_stats *stats, struct vmm_err *err)
{
	uint64_t t0 = util_now_ns();
	struct snap_writer *w = NULL;
	struct snap_fingerprint fp;
	struct snap_save_stats local = {0};
	int rc = snap_fp_host(vm_kvm_fd(vm), vm_fd(vm), &fp, err);
	if (!rc)
		rc = snap_writer_create(path, &w, err);
	if (!rc)
		rc = save_config(vm, path, w, local.freeze_path, sizeof(local.freeze_path), err);
	if (!rc)
		rc = save_vcpus(vm, w, &fp, err);
	if (!rc)
		rc = save_vm_and_devices(vm, w, err);
	if (!rc) {
		const struct gmem *gm = vm_gmem(vm);
		struct snap_mem_range r[GMEM_MAX_REGIONS];
		/* The memory section is the RAM file's content from the first
		 * region on (offset 0 of a memfd; the memory section's offset in a
		 * snapshot a restored VM maps), so region i must follow region i-1
		 * there; the config's mem_offset is relative to that start. */
		uint64_t base = gm->nregions ? gm->regions[0].fd_offset : 0, off = base;
		for (unsigned i = 0; i < gm->nregions && !rc; i++) {
			if (gm->regions[i].fd_offset != off)
				rc = vmm_errf(err, -EINVAL,
					      "RAM region %u is not contiguous in its backing file",
					      i);
			r[i] = (struct snap_mem_range){.host = gm->regions[i].host,
						       .len = gm->regions[i].size,
						       .hole_fd = gm->fd,
						       .hole_off = gm->regions[i].fd_offset,
						       .private_file = gm->private_map,
						       .anonymous = gm->fd < 0};
			off += gm->regions[i].size;
		}
		uint64_t m0 = util_now_ns();
		if (!rc)
			rc = snap_writer_add_memory(w, 1, r, gm->nregions, &local.mem, err);
		local.memory_ns = util_now_ns() - m0;
	}
	if (!rc)
		rc = snap_writer_commit(w, &fp, err);
	snap_writer_destroy(w);
	if (rc)
		return vmm_err_prefix(err, rc, path);
	local.total_ns = util_now_ns() - t0;
	struct stat st;
	if (stat(path, &st) == 0) {
		local.file_apparent = (uint64_t)st.st_size;
		local.file_allocated = (uint64_t)st.st_blocks * 512u;
	}
	if (stats)
		*stats = local;
	else if (local.freeze_path[0])
		return vmm_errf(err, -EINVAL, "%s: the caller must freeze disk layer %s", path,
				local.freeze_path);
	return 0;
}
