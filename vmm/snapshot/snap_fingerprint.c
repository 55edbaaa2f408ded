#include "snap_fingerprint.h"

#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <string.h>
#include <xxhash.h>

void snap_fp_host_cpu(struct snap_fingerprint *fp)
{
	unsigned a = 0, b = 0, c = 0, d = 0;
	__cpuid(0, a, b, c, d);
	memset(fp->vendor, 0, sizeof(fp->vendor));
	memcpy(fp->vendor, &b, 4);
	memcpy(fp->vendor + 4, &d, 4);
	memcpy(fp->vendor + 8, &c, 4);
	__cpuid(1, a, b, c, d);
	fp->signature = a;
	/* Intel SDM Vol. 2A CPUID leaf 1 "Feature Information": the extended
	 * family is added when the base family is 0xf; the extended model is
	 * prepended when the family is 6 or 0xf. */
	uint32_t base_family = (a >> 8) & 0xf, base_model = (a >> 4) & 0xf;
	fp->family = base_family == 0xf ? base_family + ((a >> 20) & 0xff) : base_family;
	fp->model = (base_family == 6 || base_family == 0xf) ? (((a >> 16) & 0xf) << 4) | base_model
							     : base_model;
	fp->stepping = a & 0xf;
}

int snap_fp_host(int kvm_fd, int vm_fd, struct snap_fingerprint *fp, struct vmm_err *err)
{
	int own_kvm = -1, own_vm = -1, rc = 0;
	memset(fp, 0, sizeof(*fp));
	snap_fp_host_cpu(fp);
	if (kvm_fd < 0) {
		kvm_fd = own_kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
		if (kvm_fd < 0)
			return vmm_errf(err, -errno, "/dev/kvm: %s", strerror(errno));
	}
	int api = ioctl(kvm_fd, KVM_GET_API_VERSION, 0);
	if (api < 0) {
		rc = vmm_errf(err, -errno, "KVM_GET_API_VERSION: %s", strerror(errno));
		goto out;
	}
	fp->kvm_api = (uint32_t)api;
	if (vm_fd < 0) {
		vm_fd = own_vm = ioctl(kvm_fd, KVM_CREATE_VM, 0);
		if (vm_fd < 0) {
			rc = vmm_errf(err, -errno, "KVM_CREATE_VM: %s", strerror(errno));
			goto out;
		}
	}
	int khz = ioctl(vm_fd, KVM_GET_TSC_KHZ, 0);
	if (khz <= 0) {
		rc = vmm_errf(err, khz < 0 ? -errno : -EIO, "KVM_GET_TSC_KHZ: %s",
			      khz < 0 ? strerror(errno) : "zero");
		goto out;
	}
	fp->tsc_khz = (uint32_t)khz;
out:
	if (own_vm >= 0)
		close(own_vm);
	if (own_kvm >= 0)
		close(own_kvm);
	return rc;
}

uint64_t snap_fp_cpuid_hash(const struct kvm_cpuid_entry2 *e, size_t n)
{
	XXH3_state_t *st = XXH3_createState();
	if (!st)
		return 0;
	XXH3_64bits_reset(st);
	for (size_t i = 0; i < n; i++) {
		uint8_t b[28];
		snap_put32(b, e[i].function);
		snap_put32(b + 4, e[i].index);
		snap_put32(b + 8, e[i].flags);
		snap_put32(b + 12, e[i].eax);
		snap_put32(b + 16, e[i].ebx);
		snap_put32(b + 20, e[i].ecx);
		snap_put32(b + 24, e[i].edx);
		XXH3_64bits_update(st, b, sizeof(b));
	}
	uint64_t h = XXH3_64bits_digest(st);
	XXH3_freeState(st);
	return h;
}

int snap_fp_compare(const struct snap_fingerprint *saved, const struct snap_fingerprint *host,
		    bool tsc_scaling, struct vmm_err *warn, struct vmm_err *err)
{
	if (warn)
		warn->msg[0] = '\0';
	if (strcmp(saved->vendor, host->vendor) != 0)
		return vmm_errf(err, -EXDEV,
				"snapshot was taken on a %s CPU, this host is %s: re-create the "
				"snapshot on this host",
				saved->vendor, host->vendor);
	if (saved->family != host->family || saved->model != host->model)
		return vmm_errf(
		    err, -EXDEV,
		    "snapshot was taken on CPU family %#x model %#x, this host is family "
		    "%#x model %#x: re-create the snapshot on this host",
		    saved->family, saved->model, host->family, host->model);
	if (saved->kvm_api != host->kvm_api)
		return vmm_errf(err, -EXDEV, "snapshot needs KVM API %u, this host has %u",
				saved->kvm_api, host->kvm_api);
	if (saved->tsc_khz != host->tsc_khz && !tsc_scaling) {
		/* Without TSC scaling the guest would see its clocksource change
		 * speed; allow only the jitter of the host's own calibration. */
		uint32_t d = saved->tsc_khz > host->tsc_khz ? saved->tsc_khz - host->tsc_khz
							    : host->tsc_khz - saved->tsc_khz;
		if ((uint64_t)d * 10000 > host->tsc_khz) /* more than 100 ppm */
			return vmm_errf(
			    err, -EXDEV,
			    "snapshot's guest TSC runs at %u kHz, this host's at %u kHz "
			    "and KVM cannot scale it (no KVM_CAP_TSC_CONTROL)",
			    saved->tsc_khz, host->tsc_khz);
	}
	if (saved->stepping != host->stepping && warn)
		vmm_errf(warn, 0,
			 "snapshot was taken on CPU stepping %u, this host is stepping %u; the "
			 "guest's CPU features are checked one by one",
			 saved->stepping, host->stepping);
	return 0;
}

static const struct kvm_cpuid_entry2 *find_leaf(const struct kvm_cpuid_entry2 *e, size_t n,
						uint32_t fn, uint32_t idx)
{
	for (size_t i = 0; i < n; i++)
		if (e[i].function == fn &&
		    (!(e[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e[i].index == idx))
			return &e[i];
	return NULL;
}

static const struct {
	uint32_t fn, idx;
	int reg;	 /* 0 eax, 1 ebx, 2 ecx, 3 edx */
	uint32_t ignore; /* bits KVM/the VMM sets regardless of host support */
} feature_regs[] = {
    /* Leaf 1 ecx bit 31 (hypervisor) and bit 27 (OSXSAVE, mirrors CR4) are
     * set by software, not by the host CPU. Leaf 1 edx bit 9 is the APIC. */
    {1, 0, 2, (1u << 31) | (1u << 27) | (1u << 24)}, /* 24: TSC-deadline, emulated */
    {1, 0, 3, 1u << 9},
    {6, 0, 0, 0},
    {7, 0, 1, 0},
    {7, 0, 2, 1u << 4}, /* OSPKE mirrors CR4 */
    {7, 0, 3, 0},
    {7, 1, 0, 0},
    {0xd, 1, 0, 0},
    {0x80000001, 0, 2, 0},
    {0x80000001, 0, 3, 0},
    {0x80000007, 0, 3, 0},
    {0x80000008, 0, 1, 0},
};

static uint32_t reg_of(const struct kvm_cpuid_entry2 *e, int reg)
{
	return reg == 0 ? e->eax : reg == 1 ? e->ebx : reg == 2 ? e->ecx : e->edx;
}

int snap_fp_cpuid_check(const struct kvm_cpuid_entry2 *saved, size_t nsaved,
			const struct kvm_cpuid_entry2 *host, size_t nhost, struct vmm_err *err)
{
	static const char regname[4][4] = {"eax", "ebx", "ecx", "edx"};
	for (size_t i = 0; i < sizeof(feature_regs) / sizeof(feature_regs[0]); i++) {
		const struct kvm_cpuid_entry2 *s =
		    find_leaf(saved, nsaved, feature_regs[i].fn, feature_regs[i].idx);
		if (!s)
			continue;
		const struct kvm_cpuid_entry2 *h =
		    find_leaf(host, nhost, feature_regs[i].fn, feature_regs[i].idx);
		uint32_t want = reg_of(s, feature_regs[i].reg) & ~feature_regs[i].ignore;
		uint32_t have = h ? reg_of(h, feature_regs[i].reg) : 0;
		uint32_t missing = want & ~have;
		if (missing) {
			int bit = __builtin_ctz(missing);
			return vmm_errf(
			    err, -EXDEV,
			    "the guest was given CPUID leaf %#x.%u %s bit %d, which this "
			    "host's KVM does not support: re-create the snapshot on this "
			    "host",
			    feature_regs[i].fn, feature_regs[i].idx, regname[feature_regs[i].reg],
			    bit);
		}
	}
	return 0;
}
