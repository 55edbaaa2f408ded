/* vCPU setup for x86_64 (cpu.h). */
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/layout.h"
#include "arch/x86_64/regs.h"
#include "core/gmem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define CPUID_MAX_ENTRIES 256

int x86_cpuid_supported(int kvm_fd, struct kvm_cpuid2 **out)
{
	struct kvm_cpuid2 *c =
	    calloc(1, sizeof(*c) + CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2));
	if (!c)
		return -ENOMEM;
	c->nent = CPUID_MAX_ENTRIES;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		int err = -errno;
		free(c);
		return err;
	}
	*out = c;
	return 0;
}

int x86_cpuid_setup(int vcpu_fd, const struct kvm_cpuid2 *supported, unsigned idx, unsigned ncpus)
{
	size_t size = sizeof(*supported) + supported->nent * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *c = malloc(size);
	if (!c)
		return -ENOMEM;
	memcpy(c, supported, size);
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		switch (e->function) {
		case 1:
			/* EBX[31:24] initial APIC ID, [23:16] logical count. */
			e->ebx = (e->ebx & 0x0000ffff) | (idx << 24) | ((ncpus & 0xff) << 16);
			e->ecx |= 1u << 31;   /* hypervisor present */
			e->ecx &= ~(1u << 3); /* no MONITOR/MWAIT */
			if (ncpus > 1)
				e->edx |= 1u << 28; /* HTT: the logical count is valid */
			break;
		case 4:
			/* Cache topology: EAX[31:26] cores per package - 1. */
			e->eax = (e->eax & 0x03ffffff) | (((ncpus - 1) & 0x3f) << 26);
			break;
		case 6:	  /* no thermal/power management */
		case 0xa: /* no architectural PMU */
			e->eax = e->ebx = e->ecx = e->edx = 0;
			break;
		case 0xb:
		case 0x1f:
			/* x2APIC topology: level 0 SMT (1 thread), level 1 core. */
			e->edx = idx;
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = 0x100;
			} else if (e->index == 1) {
				unsigned shift = 0;
				while ((1u << shift) < ncpus)
					shift++;
				e->eax = shift;
				e->ebx = ncpus;
				e->ecx = 0x200 | 1;
			} else {
				e->eax = e->ebx = 0;
				e->ecx = e->index;
			}
			break;
		default:
			break;
		}
	}
	int err = ioctl(vcpu_fd, KVM_SET_CPUID2, c) < 0 ? -errno : 0;
	free(c);
	return err;
}

int x86_msrs_setup(int vcpu_fd)
{
	static const struct {
		uint32_t index;
		uint64_t data;
	} init[] = {
	    {MSR_IA32_SYSENTER_CS, 0},
	    {MSR_IA32_SYSENTER_ESP, 0},
	    {MSR_IA32_SYSENTER_EIP, 0},
	    {MSR_STAR, 0},
	    {MSR_CSTAR, 0},
	    {MSR_KERNEL_GS_BASE, 0},
	    {MSR_SYSCALL_MASK, 0},
	    {MSR_LSTAR, 0},
	    {MSR_IA32_TSC, 0},
	    {MSR_IA32_MISC_ENABLE, 1},		 /* fast string operations */
	    {MSR_MTRR_DEF_TYPE, (1u << 11) | 6}, /* MTRRs on, default write-back */
	};
	size_t n_init = sizeof(init) / sizeof(init[0]);
	struct kvm_msrs *m = calloc(1, sizeof(*m) + n_init * sizeof(struct kvm_msr_entry));
	if (!m)
		return -ENOMEM;
	m->nmsrs = (uint32_t)n_init;
	for (unsigned i = 0; i < n_init; i++) {
		m->entries[i].index = init[i].index;
		m->entries[i].data = init[i].data;
	}
	int n = ioctl(vcpu_fd, KVM_SET_MSRS, m);
	int err = n < 0 ? -errno : 0;
	free(m);
	if (err)
		return err;
	/* KVM_SET_MSRS returns how many it set; some (MTRRs) may be refused
	 * by a hypervisor that does not model them, which a kernel tolerates. */
	return 0;
}

int x86_fpu_setup(int vcpu_fd)
{
	struct kvm_fpu fpu;
	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	return ioctl(vcpu_fd, KVM_SET_FPU, &fpu) < 0 ? -errno : 0;
}

int x86_boot_tables(struct gmem *gm)
{
	/* GDT: null, null, code64 (0x10), data (0x18): the Linux boot
	 * protocol's __BOOT_CS / __BOOT_DS. */
	static const uint64_t gdt[] = {0, 0, 0x00af9b000000ffffull, 0x00cf93000000ffffull};
	int err = gmem_write(gm, X86_GDT_ADDR, gdt, sizeof(gdt));
	if (err)
		return err;
	/* PML4[0] -> PDPT; PDPT[0..3] -> PD pages; each PD maps 1 GiB with
	 * 2 MiB pages (present | writable | PS). */
	err = gmem_write_u64(gm, X86_PML4, X86_PDPT | PTE_PRESENT | PTE_RW);
	for (uint64_t i = 0; i < 4 && !err; i++)
		err = gmem_write_u64(gm, X86_PDPT + 8 * i,
				     (X86_PD + 0x1000 * i) | PTE_PRESENT | PTE_RW);
	for (uint64_t i = 0; i < (uint64_t)4 * 512 && !err; i++) /* 4 PD pages of 512 entries */
		err = gmem_write_u64(gm, X86_PD + 8 * i, (i << 21) | PTE_PRESENT | PTE_RW | PTE_PS);
	return err;
}

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, uint8_t l, uint8_t db)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = 0;
	s->db = db;
	s->s = 1;
	s->l = l;
	s->g = 1;
}

int x86_boot_regs(int vcpu_fd, uint64_t entry, uint64_t zero_page)
{
	struct kvm_sregs sregs;
	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	seg(&sregs.cs, X86_BOOT_CS, 0xb, 1, 0);
	seg(&sregs.ds, X86_BOOT_DS, 0x3, 0, 1);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	/* A busy 64-bit TSS: VMX refuses to enter with an unusable TR. */
	memset(&sregs.tr, 0, sizeof(sregs.tr));
	sregs.tr.limit = 0xffff;
	sregs.tr.type = 0xb;
	sregs.tr.present = 1;
	sregs.gdt.base = X86_GDT_ADDR;
	sregs.gdt.limit = 4 * 8 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_PG;
	sregs.cr3 = X86_PML4;
	sregs.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	sregs.efer = EFER_LME | EFER_LMA;
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;
	struct kvm_regs regs;
	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	regs.rip = entry;
	regs.rsi = zero_page;
	return ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0 ? -errno : 0;
}
