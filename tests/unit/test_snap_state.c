/* vcpu.N and vm section codecs: round trip, then every truncation and the
 * hostile records (unknown tag, duplicates, wrong sizes, too many MSRs,
 * bad mp_state, swapped irqchips) refused with a message. */
#include "snapshot/snap_format.h"
#include "snapshot/snap_state.h"
#include "strbuf.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct vcpu_state *sample_vcpu(void)
{
	struct vcpu_state *st = calloc(1, sizeof(*st));
	ck_assert_ptr_nonnull(st);
	st->regs.rip = 0x100123;
	st->regs.rflags = 2;
	st->sregs.cr0 = 0x80050033;
	st->xsave.region[3] = 0xdeadbeef;
	st->xcrs.nr_xcrs = 1;
	st->xcrs.xcrs[0].value = 7;
	st->lapic.regs[0x20] = 1;
	st->mp_state.mp_state = KVM_MP_STATE_HALTED;
	st->events.nmi.pending = 1;
	st->debugregs.dr7 = 0x400;
	st->nmsrs = 3;
	st->msrs[0] = (struct kvm_msr_entry){.index = 0x10, .data = 12345}; /* TSC first */
	st->msrs[1] = (struct kvm_msr_entry){.index = 0x6e0, .data = 99};   /* TSC deadline */
	st->msrs[2] = (struct kvm_msr_entry){.index = 0xc0000080, .data = 0xd01};
	st->ncpuid = 2;
	st->cpuid[0] = (struct kvm_cpuid_entry2){.function = 0, .eax = 0xd};
	st->cpuid[1] = (struct kvm_cpuid_entry2){.function = 1, .ecx = 1u << 31};
	return st;
}

START_TEST(vcpu_roundtrip)
{
	struct vcpu_state *in = sample_vcpu(), *out = calloc(1, sizeof(*out));
	struct strbuf sb = {0};
	struct vmm_err err;
	ck_assert_int_eq(snap_vcpu_encode(in, &sb), 0);
	ck_assert_uint_eq(sb.len % 8, 0);
	ck_assert_msg(snap_vcpu_decode(sb.buf, sb.len, out, &err) == 0, "%s", err.msg);
	/* Both start zeroed (calloc), so padding compares equal too. */
	ck_assert_int_eq(memcmp(in, out, sizeof(*in)),
			 0); // NOLINT(bugprone-suspicious-memory-comparison)
	/* Every truncation fails cleanly. */
	for (size_t l = 0; l < sb.len; l += 4)
		ck_assert_int_eq(snap_vcpu_decode(sb.buf, l, out, &err), -EINVAL);
	sb_release(&sb);
	free(in);
	free(out);
}
END_TEST

/* Encodes a sample, then lets fn damage the bytes. */
static int decode_damaged(void (*fn)(uint8_t *buf, size_t len), struct vmm_err *err)
{
	struct vcpu_state *in = sample_vcpu(), *out = calloc(1, sizeof(*out));
	struct strbuf sb = {0};
	ck_assert_int_eq(snap_vcpu_encode(in, &sb), 0);
	fn((uint8_t *)sb.buf, sb.len);
	int rc = snap_vcpu_decode(sb.buf, sb.len, out, err);
	sb_release(&sb);
	free(in);
	free(out);
	return rc;
}

static void unknown_tag(uint8_t *b, size_t len)
{
	snap_put32(b, 77);
}
static void dup_tag(uint8_t *b, size_t len)
{
	snap_put32(b, 2); /* regs record relabelled as sregs: sregs twice, size wrong */
}
static void regs_short(uint8_t *b, size_t len)
{
	snap_put32(b + 4, (uint32_t)sizeof(struct kvm_regs) - 8);
}
static void huge_len(uint8_t *b, size_t len)
{
	snap_put32(b + 4, 0xfffffff8u);
}

START_TEST(vcpu_hostile)
{
	struct vmm_err err;
	ck_assert_int_eq(decode_damaged(unknown_tag, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "unknown record tag 77"));
	ck_assert_int_eq(decode_damaged(dup_tag, &err), -EINVAL);
	ck_assert_int_eq(decode_damaged(regs_short, &err), -EINVAL);
	ck_assert_int_eq(decode_damaged(huge_len, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "past the end"));

	struct vcpu_state *st = sample_vcpu(), *out = calloc(1, sizeof(*out));
	struct strbuf sb = {0};
	st->mp_state.mp_state = 99;
	ck_assert_int_eq(snap_vcpu_encode(st, &sb), 0);
	ck_assert_int_eq(snap_vcpu_decode(sb.buf, sb.len, out, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "mp_state"));
	sb_reset(&sb);
	st->mp_state.mp_state = 0;
	st->xcrs.nr_xcrs = 1000;
	ck_assert_int_eq(snap_vcpu_encode(st, &sb), 0);
	ck_assert_int_eq(snap_vcpu_decode(sb.buf, sb.len, out, &err), -EINVAL);
	sb_reset(&sb);
	st->xcrs.nr_xcrs = 1;
	st->ncpuid = 0; /* a vCPU without CPUID is not restorable */
	ck_assert_int_eq(snap_vcpu_encode(st, &sb), 0);
	ck_assert_int_eq(snap_vcpu_decode(sb.buf, sb.len, out, &err), -EINVAL);
	sb_reset(&sb);
	st->nmsrs = VCPU_MAX_MSRS + 1;
	ck_assert_int_eq(snap_vcpu_encode(st, &sb), -EINVAL);
	/* A missing record. */
	st->nmsrs = 1;
	st->ncpuid = 1;
	ck_assert_int_eq(snap_vcpu_encode(st, &sb), 0);
	size_t cut = sb.len - 8 - ((sizeof(st->cpuid[0]) + 7) & ~7ul);
	ck_assert_int_eq(snap_vcpu_decode(sb.buf, cut, out, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "cpuid is missing"));
	sb_release(&sb);
	free(st);
	free(out);
}
END_TEST

START_TEST(vm_roundtrip_and_hostile)
{
	struct vm_state in, out;
	memset(&in, 0, sizeof(in));
	in.pic_master.chip_id = KVM_IRQCHIP_PIC_MASTER;
	in.pic_slave.chip_id = KVM_IRQCHIP_PIC_SLAVE;
	in.ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
	in.pit.channels[0].count = 0x10000;
	in.clock.clock = 123456789;
	in.clock.flags = KVM_CLOCK_TSC_STABLE;
	struct strbuf sb = {0};
	struct vmm_err err;
	ck_assert_int_eq(snap_vm_encode(&in, &sb), 0);
	ck_assert_msg(snap_vm_decode(sb.buf, sb.len, &out, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(memcmp(&in, &out, sizeof(in)),
			 0); // NOLINT(bugprone-suspicious-memory-comparison)
	for (size_t l = 0; l < sb.len; l += 8)
		ck_assert_int_eq(snap_vm_decode(sb.buf, l, &out, &err), -EINVAL);
	sb_reset(&sb);
	in.ioapic.chip_id = KVM_IRQCHIP_PIC_MASTER;
	ck_assert_int_eq(snap_vm_encode(&in, &sb), 0);
	ck_assert_int_eq(snap_vm_decode(sb.buf, sb.len, &out, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "ioapic"));
	sb_release(&sb);
	/* A vcpu blob is not a vm blob. */
	struct vcpu_state *v = sample_vcpu();
	ck_assert_int_eq(snap_vcpu_encode(v, &sb), 0);
	ck_assert_int_eq(snap_vm_decode(sb.buf, sb.len, &out, &err), -EINVAL);
	sb_release(&sb);
	free(v);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("snap_state");
	TCase *tc = tcase_create("state");
	tcase_add_test(tc, vcpu_roundtrip);
	tcase_add_test(tc, vcpu_hostile);
	tcase_add_test(tc, vm_roundtrip_and_hostile);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return smol_check_run(suite());
}
