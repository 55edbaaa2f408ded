/* snap_vcpus: where a vCPU stands, in a few words, for the control
 * socket's `vcpus` request (snap_control.h): enough to tell a guest kernel
 * spinning with interrupts off from an idle guest and from a process that
 * keeps the CPU, without a snapshot. */
#ifndef SMOL_SNAP_VCPUS_H
#define SMOL_SNAP_VCPUS_H

#include <stddef.h>

struct vcpu_state;

/* Writes vCPU idx's state st (borrowed; only regs, sregs, mp_state and
 * events are read) as one line without a newline into buf[len]:
 *   vcpuIDX kernel|user rip 0xHEX rsp 0xHEX if on|off halted|running
 * followed by " irq-pending VECTOR" when an interrupt is being injected.
 * kernel is CPL 0 (CS's privilege bits), anything else is user; halted is
 * KVM_MP_STATE_HALTED. Returns 0, or -ENOSPC when buf was too short (buf
 * then holds a terminated prefix, which the caller must not send). */
int snap_vcpu_describe(const struct vcpu_state *st, unsigned idx, char *buf, size_t len);

#endif
