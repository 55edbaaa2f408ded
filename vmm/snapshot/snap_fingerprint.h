/* snap_fingerprint: what a snapshot needs from the host that restores it.
 *
 * Saved in the header: the host CPU's vendor, family, model and stepping,
 * the guest TSC frequency, the KVM API version and a hash of the guest CPUID
 * table. On restore the saved fingerprint is compared with this host's and
 * every feature bit the guest was shown is checked against what this host's
 * KVM supports: a guest that already decided to use an instruction must not
 * wake up on a CPU without it. */
#ifndef SMOL_SNAP_FINGERPRINT_H
#define SMOL_SNAP_FINGERPRINT_H

#include "snap_format.h"

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>

/* Fills vendor, signature, family, model, stepping from the host's CPUID
 * (the cpuid instruction, leaves 0 and 1). Never fails. */
void snap_fp_host_cpu(struct snap_fingerprint *fp);

/* Fills a complete host fingerprint except the CPUID fields: the CPU
 * (snap_fp_host_cpu), KVM_GET_API_VERSION on kvm_fd and KVM_GET_TSC_KHZ on
 * vm_fd (the VM's default guest TSC rate). With kvm_fd / vm_fd -1, opens
 * /dev/kvm and a throwaway VM itself. */
int snap_fp_host(int kvm_fd, int vm_fd, struct snap_fingerprint *fp, struct vmm_err *err);

/* Hash of a guest CPUID table: every entry's function, index, flags and
 * registers, little-endian, in table order. */
uint64_t snap_fp_cpuid_hash(const struct kvm_cpuid_entry2 *e, size_t n);

/* Compares the fingerprint saved in a snapshot with this host's (both
 * complete). Refuses (-EXDEV) a different vendor, family or model, a
 * different KVM API version, and a different TSC frequency unless
 * tsc_scaling says the host can run the guest at the saved frequency.
 * A different stepping is allowed (the CPUID feature check decides) and
 * reported through *warn when warn is not NULL (empty otherwise). */
int snap_fp_compare(const struct snap_fingerprint *saved, const struct snap_fingerprint *host,
		    bool tsc_scaling, struct vmm_err *warn, struct vmm_err *err);

/* Checks that every feature bit in the guest CPUID table saved[] (leaves 1,
 * 6, 7.0, 7.1, 0xd.1, 0x80000001, 0x80000007, 0x80000008) is also set in
 * host[], the table a fresh vCPU on this host gets. -EXDEV naming leaf,
 * register and bit otherwise. */
int snap_fp_cpuid_check(const struct kvm_cpuid_entry2 *saved, size_t nsaved,
			const struct kvm_cpuid_entry2 *host, size_t nhost, struct vmm_err *err);

#endif
