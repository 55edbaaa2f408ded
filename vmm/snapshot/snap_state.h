/* snap_state: the "vcpu.N" and "vm" section blobs.
 *
 * Both are a sequence of records { u32 tag, u32 len, len bytes, zero pad to
 * 8 }. Record payloads are KVM's own uapi structs (linux/kvm.h), whose
 * layout is fixed little-endian ABI on x86_64, except MSRs, stored as
 * { u32 index, u32 0, u64 value } entries, and CPUID, stored as raw
 * kvm_cpuid_entry2 entries. Every tag is required exactly once; unknown
 * tags, wrong lengths and over-long lists are refused before anything is
 * applied. */
#ifndef SMOL_SNAP_STATE_H
#define SMOL_SNAP_STATE_H

#include "smolvm/err.h"

#include "smolvm/vm.h"

#include <stddef.h>
#include <stdint.h>

#define SNAP_VCPU_VERSION 1
#define SNAP_VM_VERSION	  1

struct strbuf;

/* Appends the encoding of st to out. */
int snap_vcpu_encode(const struct vcpu_state *st, struct strbuf *out);

/* Decodes and validates buf[len] into *st (fully overwritten). */
int snap_vcpu_decode(const void *buf, size_t len, struct vcpu_state *st, struct vmm_err *err);

int snap_vm_encode(const struct vm_state *st, struct strbuf *out);
int snap_vm_decode(const void *buf, size_t len, struct vm_state *st, struct vmm_err *err);

#endif
