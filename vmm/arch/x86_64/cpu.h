/* cpu: x86_64 vCPU setup: CPUID, MSRs, FPU, and the registers and page
 * tables for entering a kernel directly in 64-bit long mode. */
#ifndef SMOL_X86_CPU_H
#define SMOL_X86_CPU_H

#include <linux/kvm.h>
#include <stdint.h>

struct gmem;

/* Reads KVM_GET_SUPPORTED_CPUID into a malloc'd struct the caller frees. */
int x86_cpuid_supported(int kvm_fd, struct kvm_cpuid2 **out);

/* Copies `supported` and adjusts it for vCPU idx of ncpus: APIC IDs (leaf
 * 1 EBX, leaf 0xb/0x1f x2APIC IDs), topology (one core per vCPU, one
 * thread per core), the hypervisor bit, no monitor/mwait, no PMU (leaf
 * 0xa), and sets it with KVM_SET_CPUID2 on vcpu_fd. */
int x86_cpuid_setup(int vcpu_fd, const struct kvm_cpuid2 *supported, unsigned idx, unsigned ncpus);

/* Initial MSRs (sysenter/syscall MSRs 0, TSC 0, MISC_ENABLE fast strings,
 * MTRRs default write-back) and the FPU (FCW 0x37f, MXCSR 0x1f80). */
int x86_msrs_setup(int vcpu_fd);
int x86_fpu_setup(int vcpu_fd);

/* Writes the boot GDT and identity page tables (first 4 GiB, 2 MiB pages)
 * into guest memory at the addresses of layout.h. */
int x86_boot_tables(struct gmem *gm);

/* Boot vCPU registers for the 64-bit entry: long mode, paging on, CS/DS
 * from the boot GDT, RIP = entry, RSI = zero page, interrupts off. */
int x86_boot_regs(int vcpu_fd, uint64_t entry, uint64_t zero_page);

#endif
