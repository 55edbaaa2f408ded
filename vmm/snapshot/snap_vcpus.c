#include "snap_vcpus.h"

#include <errno.h>
#include <stdio.h>

#include "arch/x86_64/regs.h"
#include "smolvm/vm.h"

int snap_vcpu_describe(const struct vcpu_state *st, unsigned idx, char *buf, size_t len)
{
	if (!len)
		return -ENOSPC;
	/* Intel SDM vol. 3A §5.5: the CPL is CS's RPL field (bits 0-1). */
	bool kernel = (st->sregs.cs.selector & SEL_RPL_MASK) == 0;
	bool if_on = (st->regs.rflags & RFLAGS_IF) != 0;
	bool halted = st->mp_state.mp_state == KVM_MP_STATE_HALTED;
	char irq[24] = "";
	if (st->events.interrupt.injected)
		snprintf(irq, sizeof(irq), " irq-pending %u", (unsigned)st->events.interrupt.nr);
	int n = snprintf(buf, len, "vcpu%u %s rip 0x%llx rsp 0x%llx if %s %s%s", idx,
			 kernel ? "kernel" : "user", (unsigned long long)st->regs.rip,
			 (unsigned long long)st->regs.rsp, if_on ? "on" : "off",
			 halted ? "halted" : "running", irq);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}
