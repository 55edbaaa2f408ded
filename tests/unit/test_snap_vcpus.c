/* The control socket's `vcpus` line (snapshot/snap_vcpus.h): kernel or
 * user from CS's privilege bits, the interrupt flag, halted or running,
 * a pending interrupt, and a buffer too short for the line refused. */
#include "snapshot/snap_vcpus.h"
#include "smolvm/vm.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct vcpu_state *vcpu(uint16_t cs, uint64_t rip, uint64_t rsp, uint64_t rflags,
			       uint32_t mp_state)
{
	struct vcpu_state *st = calloc(1, sizeof(*st));
	ck_assert_ptr_nonnull(st);
	st->sregs.cs.selector = cs;
	st->sregs.cs.dpl = cs & 3;
	st->regs.rip = rip;
	st->regs.rsp = rsp;
	st->regs.rflags = rflags;
	st->mp_state.mp_state = mp_state;
	return st;
}

START_TEST(kernel_spinning_interrupts_off)
{
	struct vcpu_state *st =
	    vcpu(0x10, 0xffffffff810a1234ull, 0xffffc90000003f28ull, 0x2, KVM_MP_STATE_RUNNABLE);
	char buf[160];
	ck_assert_int_eq(snap_vcpu_describe(st, 0, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "vcpu0 kernel rip 0xffffffff810a1234 rsp 0xffffc90000003f28 if off "
			      "running");
	free(st);
}
END_TEST

START_TEST(user_running_and_halted_idle)
{
	struct vcpu_state *st = vcpu(0x33, 0x401136, 0x7ffd1000, 0x246, KVM_MP_STATE_RUNNABLE);
	char buf[160];
	ck_assert_int_eq(snap_vcpu_describe(st, 3, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "vcpu3 user rip 0x401136 rsp 0x7ffd1000 if on running");
	free(st);
	/* The idle loop: HLT with interrupts on, in the kernel. */
	st = vcpu(0x10, 0xffffffff81c0e2ab, 0xffffffff82803e98, 0x246, KVM_MP_STATE_HALTED);
	ck_assert_int_eq(snap_vcpu_describe(st, 1, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "vcpu1 kernel rip 0xffffffff81c0e2ab rsp 0xffffffff82803e98 if on "
			      "halted");
	free(st);
}
END_TEST

START_TEST(irq_pending)
{
	struct vcpu_state *st = vcpu(0x10, 0x1000, 0x2000, 0x202, KVM_MP_STATE_RUNNABLE);
	st->events.interrupt.injected = 1;
	st->events.interrupt.nr = 236;
	char buf[160];
	ck_assert_int_eq(snap_vcpu_describe(st, 0, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "vcpu0 kernel rip 0x1000 rsp 0x2000 if on running irq-pending 236");
	free(st);
}
END_TEST

START_TEST(short_buffer)
{
	struct vcpu_state *st = vcpu(0x33, 0x401136, 0x7ffd1000, 0x246, KVM_MP_STATE_RUNNABLE);
	char buf[16];
	ck_assert_int_eq(snap_vcpu_describe(st, 0, buf, sizeof(buf)), -ENOSPC);
	ck_assert_uint_lt(strlen(buf), sizeof(buf));
	ck_assert_int_eq(snap_vcpu_describe(st, 0, buf, 0), -ENOSPC);
	free(st);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("snap_vcpus");
	TCase *tc = tcase_create("describe");
	tcase_add_test(tc, kernel_spinning_interrupts_off);
	tcase_add_test(tc, user_running_and_halted_idle);
	tcase_add_test(tc, irq_pending);
	tcase_add_test(tc, short_buffer);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return smol_check_run(suite());
}
