#include "snap_state.h"
#include "snap_format.h"

#include <errno.h>
#include <string.h>

#include "strbuf.h"

enum {
	VCPU_REGS = 1,
	VCPU_SREGS,
	VCPU_XSAVE,
	VCPU_XCRS,
	VCPU_LAPIC,
	VCPU_MP_STATE,
	VCPU_EVENTS,
	VCPU_DEBUGREGS,
	VCPU_MSRS,
	VCPU_CPUID,
	VCPU_NTAGS,
};

enum {
	VM_PIC_MASTER = 1,
	VM_PIC_SLAVE,
	VM_IOAPIC,
	VM_PIT,
	VM_CLOCK,
	VM_NTAGS,
};

#define MSR_REC_SIZE 16u

static const char *const vcpu_tag_names[VCPU_NTAGS] = {"?",	    "regs",  "sregs",	 "xsave",
						       "xcrs",	    "lapic", "mp_state", "events",
						       "debugregs", "msrs",  "cpuid"};
static const char *const vm_tag_names[VM_NTAGS] = {"?",	     "pic_master", "pic_slave",
						   "ioapic", "pit",	   "clock"};

static int put_rec(struct strbuf *out, uint32_t tag, const void *data, size_t len)
{
	uint8_t hdr[8];
	static const uint8_t pad[8];
	snap_put32(hdr, tag);
	snap_put32(hdr + 4, (uint32_t)len);
	int rc = sb_append(out, hdr, sizeof(hdr));
	if (!rc)
		rc = sb_append(out, data, len);
	if (!rc && len % 8)
		rc = sb_append(out, pad, 8 - len % 8);
	return rc;
}

int snap_vcpu_encode(const struct vcpu_state *st, struct strbuf *out)
{
	if (st->nmsrs > VCPU_MAX_MSRS || st->ncpuid > VCPU_MAX_CPUID)
		return -EINVAL;
	int rc = put_rec(out, VCPU_REGS, &st->regs, sizeof(st->regs));
	if (!rc)
		rc = put_rec(out, VCPU_SREGS, &st->sregs, sizeof(st->sregs));
	if (!rc)
		rc = put_rec(out, VCPU_XSAVE, &st->xsave, sizeof(st->xsave));
	if (!rc)
		rc = put_rec(out, VCPU_XCRS, &st->xcrs, sizeof(st->xcrs));
	if (!rc)
		rc = put_rec(out, VCPU_LAPIC, &st->lapic, sizeof(st->lapic));
	if (!rc)
		rc = put_rec(out, VCPU_MP_STATE, &st->mp_state, sizeof(st->mp_state));
	if (!rc)
		rc = put_rec(out, VCPU_EVENTS, &st->events, sizeof(st->events));
	if (!rc)
		rc = put_rec(out, VCPU_DEBUGREGS, &st->debugregs, sizeof(st->debugregs));
	if (rc)
		return rc;
	uint8_t msrs[VCPU_MAX_MSRS * MSR_REC_SIZE];
	memset(msrs, 0, sizeof(msrs));
	for (uint32_t i = 0; i < st->nmsrs; i++) {
		snap_put32(msrs + (size_t)i * MSR_REC_SIZE, st->msrs[i].index);
		snap_put64(msrs + (size_t)i * MSR_REC_SIZE + 8, st->msrs[i].data);
	}
	rc = put_rec(out, VCPU_MSRS, msrs, (size_t)st->nmsrs * MSR_REC_SIZE);
	if (!rc)
		rc = put_rec(out, VCPU_CPUID, st->cpuid, st->ncpuid * sizeof(st->cpuid[0]));
	return rc;
}

/* Walks the records of buf[len], checking framing; calls fn for each. */
typedef int (*rec_fn)(void *ctx, uint32_t tag, const uint8_t *p, uint32_t len, struct vmm_err *err);

static int walk(const void *buf, size_t len, uint32_t ntags, const char *const *names,
		const char *what, rec_fn fn, void *ctx, struct vmm_err *err)
{
	const uint8_t *p = buf;
	size_t pos = 0;
	uint32_t seen = 0;
	while (pos < len) {
		if (len - pos < 8)
			return vmm_errf(err, -EINVAL, "%s state: record header cut off at byte %zu",
					what, pos);
		uint32_t tag = snap_get32(p + pos), rlen = snap_get32(p + pos + 4);
		pos += 8;
		if (tag == 0 || tag >= ntags)
			return vmm_errf(err, -EINVAL, "%s state: unknown record tag %u", what, tag);
		if (seen & (1u << tag))
			return vmm_errf(err, -EINVAL, "%s state: %s appears twice", what,
					names[tag]);
		size_t padded = ((size_t)rlen + 7) & ~(size_t)7;
		if (rlen > len - pos || padded > len - pos)
			return vmm_errf(err, -EINVAL, "%s state: %s (%u bytes) runs past the end",
					what, names[tag], rlen);
		int rc = fn(ctx, tag, p + pos, rlen, err);
		if (rc)
			return rc;
		seen |= 1u << tag;
		pos += padded;
	}
	for (uint32_t t = 1; t < ntags; t++)
		if (!(seen & (1u << t)))
			return vmm_errf(err, -EINVAL, "%s state: %s is missing", what, names[t]);
	return 0;
}

static int fixed(void *dst, size_t want, const uint8_t *p, uint32_t len, const char *what,
		 const char *name, struct vmm_err *err)
{
	if (len != want)
		return vmm_errf(err, -EINVAL, "%s state: %s is %u bytes, expected %zu", what, name,
				len, want);
	memcpy(dst, p, want);
	return 0;
}

static int vcpu_rec(void *ctx, uint32_t tag, const uint8_t *p, uint32_t len, struct vmm_err *err)
{
	struct vcpu_state *st = ctx;
	const char *n = vcpu_tag_names[tag];
	switch (tag) {
	case VCPU_REGS:
		return fixed(&st->regs, sizeof(st->regs), p, len, "vcpu", n, err);
	case VCPU_SREGS:
		return fixed(&st->sregs, sizeof(st->sregs), p, len, "vcpu", n, err);
	case VCPU_XSAVE:
		return fixed(&st->xsave, sizeof(st->xsave), p, len, "vcpu", n, err);
	case VCPU_XCRS:
		if (fixed(&st->xcrs, sizeof(st->xcrs), p, len, "vcpu", n, err))
			return -EINVAL;
		if (st->xcrs.nr_xcrs > KVM_MAX_XCRS)
			return vmm_errf(err, -EINVAL, "vcpu state: nr_xcrs %u exceeds %d",
					st->xcrs.nr_xcrs, KVM_MAX_XCRS);
		return 0;
	case VCPU_LAPIC:
		return fixed(&st->lapic, sizeof(st->lapic), p, len, "vcpu", n, err);
	case VCPU_MP_STATE:
		if (fixed(&st->mp_state, sizeof(st->mp_state), p, len, "vcpu", n, err))
			return -EINVAL;
		/* linux/kvm.h KVM_MP_STATE_*: RUNNABLE..AP_RESET_HOLD (0..10). */
		if (st->mp_state.mp_state > 10)
			return vmm_errf(err, -EINVAL, "vcpu state: mp_state %u is unknown",
					st->mp_state.mp_state);
		return 0;
	case VCPU_EVENTS:
		return fixed(&st->events, sizeof(st->events), p, len, "vcpu", n, err);
	case VCPU_DEBUGREGS:
		return fixed(&st->debugregs, sizeof(st->debugregs), p, len, "vcpu", n, err);
	case VCPU_MSRS:
		if (len % MSR_REC_SIZE || len / MSR_REC_SIZE > VCPU_MAX_MSRS)
			return vmm_errf(err, -EINVAL,
					"vcpu state: msrs is %u bytes (at most %u entries of %u)",
					len, VCPU_MAX_MSRS, MSR_REC_SIZE);
		st->nmsrs = len / MSR_REC_SIZE;
		for (uint32_t i = 0; i < st->nmsrs; i++) {
			st->msrs[i].index = snap_get32(p + (size_t)i * MSR_REC_SIZE);
			st->msrs[i].reserved = 0;
			st->msrs[i].data = snap_get64(p + (size_t)i * MSR_REC_SIZE + 8);
		}
		return 0;
	case VCPU_CPUID:
		if (len % sizeof(st->cpuid[0]) || len / sizeof(st->cpuid[0]) > VCPU_MAX_CPUID ||
		    len == 0)
			return vmm_errf(err, -EINVAL,
					"vcpu state: cpuid is %u bytes (1..%u entries of %zu)", len,
					VCPU_MAX_CPUID, sizeof(st->cpuid[0]));
		st->ncpuid = (uint32_t)(len / sizeof(st->cpuid[0]));
		memcpy(st->cpuid, p, len);
		return 0;
	}
	return -EINVAL;
}

int snap_vcpu_decode(const void *buf, size_t len, struct vcpu_state *st, struct vmm_err *err)
{
	memset(st, 0, sizeof(*st));
	return walk(buf, len, VCPU_NTAGS, vcpu_tag_names, "vcpu", vcpu_rec, st, err);
}

int snap_vm_encode(const struct vm_state *st, struct strbuf *out)
{
	int rc = put_rec(out, VM_PIC_MASTER, &st->pic_master, sizeof(st->pic_master));
	if (!rc)
		rc = put_rec(out, VM_PIC_SLAVE, &st->pic_slave, sizeof(st->pic_slave));
	if (!rc)
		rc = put_rec(out, VM_IOAPIC, &st->ioapic, sizeof(st->ioapic));
	if (!rc)
		rc = put_rec(out, VM_PIT, &st->pit, sizeof(st->pit));
	if (!rc)
		rc = put_rec(out, VM_CLOCK, &st->clock, sizeof(st->clock));
	return rc;
}

static int vm_rec(void *ctx, uint32_t tag, const uint8_t *p, uint32_t len, struct vmm_err *err)
{
	struct vm_state *st = ctx;
	const char *n = vm_tag_names[tag];
	struct kvm_irqchip *chip = NULL;
	uint32_t want_id = 0;
	switch (tag) {
	case VM_PIC_MASTER:
		chip = &st->pic_master;
		want_id = KVM_IRQCHIP_PIC_MASTER;
		break;
	case VM_PIC_SLAVE:
		chip = &st->pic_slave;
		want_id = KVM_IRQCHIP_PIC_SLAVE;
		break;
	case VM_IOAPIC:
		chip = &st->ioapic;
		want_id = KVM_IRQCHIP_IOAPIC;
		break;
	case VM_PIT:
		return fixed(&st->pit, sizeof(st->pit), p, len, "vm", n, err);
	case VM_CLOCK:
		return fixed(&st->clock, sizeof(st->clock), p, len, "vm", n, err);
	default:
		return -EINVAL;
	}
	if (fixed(chip, sizeof(*chip), p, len, "vm", n, err))
		return -EINVAL;
	if (chip->chip_id != want_id)
		return vmm_errf(err, -EINVAL, "vm state: %s has chip_id %u, expected %u", n,
				chip->chip_id, want_id);
	return 0;
}

int snap_vm_decode(const void *buf, size_t len, struct vm_state *st, struct vmm_err *err)
{
	memset(st, 0, sizeof(*st));
	return walk(buf, len, VM_NTAGS, vm_tag_names, "vm", vm_rec, st, err);
}
