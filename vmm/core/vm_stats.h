/* KVM's own counters for each vCPU (KVM_GET_STATS_FD, the binary stats of
 * Linux 5.14+): the exits that KVM handles without the VMM (nested page
 * faults, halts, interrupts, MSRs, CPUID) beside those it hands over (port
 * and MMIO I/O), so `SMOLVM_TIMINGS=1` can say where a guest's time went.
 * The stats files are opened before the seccomp filter goes on and read
 * with pread afterwards. */
#ifndef SMOL_VM_STATS_H
#define SMOL_VM_STATS_H

#include <stdint.h>

struct vm;

#define VM_STAT_NAME_MAX 48

struct vm_stat {
	char name[VM_STAT_NAME_MAX]; /* KVM's name, e.g. "exits", "pf_taken" */
	uint64_t value;
};

/* Opens the stats file of every vCPU (closed by vm_destroy). -errno
 * (-ENOTTY: a KVM without binary stats) when one cannot be opened; the
 * others stay open. */
int vm_stats_open(struct vm *vm);

/* Reads vCPU idx's cumulative single-value counters into out (at most max;
 * the rest are dropped) and their count into *n. -EBADF before
 * vm_stats_open, -EPROTO when the file's layout is not what the KVM API
 * documents (every offset and size is checked against the bytes read). */
int vm_vcpu_stats(struct vm *vm, unsigned idx, struct vm_stat *out, unsigned max, unsigned *n);

/* The same from any file in that layout (fd borrowed), for tests. */
int vm_stats_read(int fd, struct vm_stat *out, unsigned max, unsigned *n);

#endif
