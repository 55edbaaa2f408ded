/* regs: x86_64 architectural constants shared by the vCPU setup (cpu.c),
 * the snapshot state (core/vcpu.c) and the reading of a stopped guest's
 * page tables (cli/cmd_snapshot.c): control register and EFER bits,
 * page-table entry bits, the MSR numbers we set or look for, and local
 * APIC register offsets (Intel SDM vol. 3A ch. 2, 4 and 11, vol. 4). */
#ifndef SMOL_X86_REGS_H
#define SMOL_X86_REGS_H

#define CR0_PE	       (1ull << 0)
#define CR0_MP	       (1ull << 1)
#define CR0_ET	       (1ull << 4)
#define CR0_NE	       (1ull << 5)
#define CR0_PG	       (1ull << 31)
#define CR4_PAE	       (1ull << 5)
#define CR4_OSFXSR     (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define CR4_LA57       (1ull << 12) /* 5-level paging */
#define EFER_LME       (1ull << 8)
#define EFER_LMA       (1ull << 10)

#define RFLAGS_IF    (1ull << 9) /* interrupts enabled */
#define SEL_RPL_MASK 0x3u	 /* a selector's privilege bits: CS's are the CPL */

#define PTE_PRESENT   (1ull << 0)
#define PTE_RW	      (1ull << 1)
#define PTE_PS	      (1ull << 7) /* a 2 MiB or 1 GiB page, in a PD or PDPT entry */
#define PTE_ADDR_MASK 0x000ffffffffff000ull

#define MSR_IA32_TSC	      0x10u
#define MSR_IA32_SYSENTER_CS  0x174u
#define MSR_IA32_SYSENTER_ESP 0x175u
#define MSR_IA32_SYSENTER_EIP 0x176u
#define MSR_IA32_MISC_ENABLE  0x1a0u
#define MSR_MTRR_DEF_TYPE     0x2ffu
#define MSR_IA32_TSC_DEADLINE 0x6e0u
#define MSR_STAR	      0xc0000081u
#define MSR_LSTAR	      0xc0000082u
#define MSR_CSTAR	      0xc0000083u
#define MSR_SYSCALL_MASK      0xc0000084u
#define MSR_KERNEL_GS_BASE    0xc0000102u

/* Local APIC registers: offsets in its 4 KiB page (KVM_GET_LAPIC). */
#define APIC_LVTT  0x320u /* timer LVT: vector, mask (bit 16), mode (bits 17-18) */
#define APIC_TMICT 0x380u /* timer initial count */
#define APIC_TMCCT 0x390u /* timer current count */

#endif
