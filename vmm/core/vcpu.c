/* vCPU threads: KVM_RUN, exit dispatch, parking for pause, and the state
 * get/set used by snapshots (vm.h). */
#include "core/gmem.h"
#include "core/vm_internal.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/regs.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

/* The signal that kicks a vCPU thread out of KVM_RUN. Its handler does
 * nothing: the point is the EINTR. */
#define VCPU_KICK_SIGNAL (SIGRTMIN + 1)

static void vcpu_kick_handler(int sig)
{
	(void)sig;
}

int vcpu_signal_setup(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = vcpu_kick_handler;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: KVM_RUN must return EINTR. */
	return sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0 ? -errno : 0;
}

int vcpu_init(struct vm *vm, unsigned idx, struct vmm_err *err)
{
	struct vcpu *v = &vm->vcpus[idx];
	v->vm = vm;
	v->idx = idx;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)idx);
	if (v->fd < 0)
		return vmm_errf(err, -errno, "KVM_CREATE_VCPU %u: %s", idx, strerror(errno));
	void *run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (run == MAP_FAILED) {
		int rc = vmm_errf(err, -errno, "mapping the kvm_run area of vCPU %u: %s", idx,
				  strerror(errno));
		close(v->fd);
		v->fd = -1;
		return rc;
	}
	v->run = run;
	int rc = x86_cpuid_setup(v->fd, vm->cpuid, idx, vm->ncpus);
	if (rc)
		return vmm_errf(err, rc, "KVM_SET_CPUID2 on vCPU %u: %s", idx, strerror(-rc));
	rc = x86_msrs_setup(v->fd);
	if (!rc)
		rc = x86_fpu_setup(v->fd);
	if (rc)
		return vmm_errf(err, rc, "initial MSR/FPU state of vCPU %u: %s", idx,
				strerror(-rc));
	return 0;
}

void vcpu_fini(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, v->vm->run_size);
	if (v->fd >= 0)
		close(v->fd);
	if (v->stats_fd >= 0)
		close(v->stats_fd);
	v->run = NULL;
	v->fd = v->stats_fd = -1;
}

void vcpus_kick(struct vm *vm)
{
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (!v->started)
			continue;
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		pthread_kill(v->thread, VCPU_KICK_SIGNAL);
	}
}

static void vcpu_fail(struct vcpu *v, enum vm_exit_kind kind, const char *what)
{
	char why[200];
	struct kvm_regs regs;
	if (ioctl(v->fd, KVM_GET_REGS, &regs) == 0)
		snprintf(why, sizeof(why), "%s (vCPU %u, rip 0x%llx)", what, v->idx,
			 (unsigned long long)regs.rip);
	else
		snprintf(why, sizeof(why), "%s (vCPU %u)", what, v->idx);
	vm_stop(v->vm, kind, 3, why);
}

/* Handles one exit; false when the vCPU must stop. */
static bool vcpu_handle_exit(struct vcpu *v)
{
	struct kvm_run *r = v->run;
	struct vm *vm = v->vm;
	char what[120];
	switch (r->exit_reason) {
	case KVM_EXIT_IO: {
		uint8_t *data = (uint8_t *)r + r->io.data_offset;
		if (r->io.data_offset > vm->run_size ||
		    (uint64_t)r->io.size * r->io.count > vm->run_size - r->io.data_offset)
			break;
		for (uint32_t i = 0; i < r->io.count; i++, data += r->io.size)
			iobus_dispatch(&vm->pio, r->io.port, data, r->io.size,
				       r->io.direction == KVM_EXIT_IO_OUT);
		return true;
	}
	case KVM_EXIT_MMIO:
		if (r->mmio.len > sizeof(r->mmio.data))
			break;
		iobus_dispatch(&vm->mmio, r->mmio.phys_addr, r->mmio.data, r->mmio.len,
			       r->mmio.is_write);
		return true;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_SHUTDOWN:
		vcpu_fail(v, VM_EXIT_SHUTDOWN, "guest triple fault (KVM_EXIT_SHUTDOWN)");
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		if (r->system_event.type == KVM_SYSTEM_EVENT_RESET ||
		    r->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN) {
			vm_stop(vm, VM_EXIT_RESET, 0, "guest reset or powered off");
			return false;
		}
		snprintf(what, sizeof(what), "guest system event %u", r->system_event.type);
		vcpu_fail(v, VM_EXIT_ERROR, what);
		return false;
	case KVM_EXIT_HLT:
		vcpu_fail(v, VM_EXIT_ERROR, "guest halted with no way to wake up");
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(what, sizeof(what),
			 "KVM could not enter the guest: hardware reason 0x%llx",
			 (unsigned long long)r->fail_entry.hardware_entry_failure_reason);
		vcpu_fail(v, VM_EXIT_ERROR, what);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(what, sizeof(what),
			 "KVM internal error, suberror %u (1: instruction emulation failed)",
			 r->internal.suberror);
		vcpu_fail(v, VM_EXIT_ERROR, what);
		return false;
	default:
		break;
	}
	snprintf(what, sizeof(what), "unhandled KVM exit reason %u", r->exit_reason);
	vcpu_fail(v, VM_EXIT_ERROR, what);
	return false;
}

/* Parks while a pause is requested; false when the VM is stopping. */
static bool vcpu_checkpoint(struct vcpu *v)
{
	struct vm *vm = v->vm;
	/* Before parking, a vCPU whose last exit was port or MMIO I/O goes back
	 * into KVM_RUN with immediate_exit set: KVM completes that instruction
	 * (stores an IN or MMIO read result, advances RIP) and returns -EINTR
	 * without running the guest. Only then is the state that a snapshot
	 * reads consistent (KVM API, "immediate_exit"); otherwise a restore
	 * would execute the I/O instruction a second time. */
	pthread_mutex_lock(&vm->lock);
	bool pausing = vm->pause_req && !vm->stop;
	pthread_mutex_unlock(&vm->lock);
	if (pausing &&
	    (v->run->exit_reason == KVM_EXIT_IO || v->run->exit_reason == KVM_EXIT_MMIO)) {
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		ioctl(v->fd, KVM_RUN, 0);
		__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
		v->run->exit_reason = KVM_EXIT_INTR;
	}
	pthread_mutex_lock(&vm->lock);
	while (vm->pause_req && !vm->stop) {
		vm->nparked++;
		pthread_cond_broadcast(&vm->cond);
		pthread_cond_wait(&vm->cond, &vm->lock);
		vm->nparked--;
	}
	bool go = !vm->stop;
	pthread_mutex_unlock(&vm->lock);
	return go;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	while (vcpu_checkpoint(v)) {
		int ret = ioctl(v->fd, KVM_RUN, 0);
		if (ret < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
				continue;
			}
			char why[120];
			snprintf(why, sizeof(why), "KVM_RUN on vCPU %u failed: %s", v->idx,
				 strerror(errno));
			vm_stop(vm, VM_EXIT_ERROR, 3, why);
			break;
		}
		if (!vm->first_exit_ns)
			__atomic_store_n(&vm->first_exit_ns, util_now_ns(), __ATOMIC_RELAXED);
		if (!vcpu_handle_exit(v))
			break;
	}
	pthread_mutex_lock(&vm->lock);
	vm->nactive--;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	return NULL;
}

int vcpu_start(struct vcpu *v)
{
	int err = pthread_create(&v->thread, NULL, vcpu_thread, v);
	if (err)
		return -err;
	v->started = true;
	return 0;
}

/* ---- state for snapshots ---- */

/* MSRs saved per vCPU: every MSR that KVM_GET_MSR_INDEX_LIST reports as
 * saveable and this vCPU can read, with TSC moved first and TSC_DEADLINE
 * last so that a restore writes them in the order KVM needs (a deadline is
 * relative to the TSC it was armed against). */

static int vcpu_msr_indices(int kvm_fd, uint32_t *idx, uint32_t max, uint32_t *out_n)
{
	struct kvm_msr_list *l = calloc(1, sizeof(*l) + 1024 * sizeof(uint32_t));
	if (!l)
		return -ENOMEM;
	l->nmsrs = 1024;
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
		int err = -errno;
		free(l);
		return err;
	}
	uint32_t n = 0;
	bool deadline = false;
	idx[n++] = MSR_IA32_TSC;
	for (uint32_t i = 0; i < l->nmsrs && n < max; i++) {
		if (l->indices[i] == MSR_IA32_TSC)
			continue;
		if (l->indices[i] == MSR_IA32_TSC_DEADLINE) {
			deadline = true;
			continue;
		}
		idx[n++] = l->indices[i];
	}
	if (deadline && n < max)
		idx[n++] = MSR_IA32_TSC_DEADLINE;
	free(l);
	*out_n = n;
	return 0;
}

static bool vm_is_paused_or_idle(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	bool ok = !vm->running || vm->nactive == 0 || (vm->pause_req && vm->nparked == vm->nactive);
	pthread_mutex_unlock(&vm->lock);
	return ok;
}

#define IOC(fd, req, arg)                                                                          \
	do {                                                                                       \
		if (ioctl((fd), (req), (arg)) < 0)                                                 \
			return -errno;                                                             \
	} while (0)

int vcpu_get_state(struct vm *vm, unsigned idx, struct vcpu_state *st)
{
	if (idx >= vm->ncpus)
		return -EINVAL;
	if (!vm_is_paused_or_idle(vm))
		return -EBUSY;
	int fd = vm->vcpus[idx].fd;
	memset(st, 0, sizeof(*st));
	IOC(fd, KVM_GET_MP_STATE, &st->mp_state);
	IOC(fd, KVM_GET_REGS, &st->regs);
	IOC(fd, KVM_GET_SREGS, &st->sregs);
	IOC(fd, KVM_GET_XSAVE, (struct kvm_xsave *)&st->xsave);
	IOC(fd, KVM_GET_XCRS, &st->xcrs);
	IOC(fd, KVM_GET_LAPIC, &st->lapic);
	IOC(fd, KVM_GET_VCPU_EVENTS, &st->events);
	IOC(fd, KVM_GET_DEBUGREGS, &st->debugregs);
	struct kvm_msrs *m = calloc(1, sizeof(*m) + sizeof(struct kvm_msr_entry));
	struct kvm_cpuid2 *c =
	    calloc(1, sizeof(*c) + VCPU_MAX_CPUID * sizeof(struct kvm_cpuid_entry2));
	int err = 0;
	if (!m || !c) {
		err = -ENOMEM;
		goto out;
	}
	uint32_t list[VCPU_MAX_MSRS], nlist = 0;
	err = vcpu_msr_indices(vm->kvm_fd, list, VCPU_MAX_MSRS, &nlist);
	if (err)
		goto out;
	for (uint32_t i = 0; i < nlist; i++) {
		/* One at a time: KVM stops at the first MSR it cannot read
		 * (e.g. PMU MSRs of a vCPU without a PMU), which is skipped. */
		m->nmsrs = 1;
		m->entries[0] = (struct kvm_msr_entry){.index = list[i]};
		if (ioctl(fd, KVM_GET_MSRS, m) == 1 && st->nmsrs < VCPU_MAX_MSRS)
			st->msrs[st->nmsrs++] = m->entries[0];
	}
	c->nent = VCPU_MAX_CPUID;
	if (ioctl(fd, KVM_GET_CPUID2, c) < 0) {
		err = -errno;
		goto out;
	}
	st->ncpuid = c->nent;
	memcpy(st->cpuid, c->entries, sizeof(c->entries[0]) * c->nent);
out:
	free(c);
	free(m);
	return err;
}

int vcpu_get_cpuid(struct vm *vm, unsigned idx, struct kvm_cpuid_entry2 *out, uint32_t max,
		   uint32_t *n)
{
	if (idx >= vm->ncpus)
		return -EINVAL;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + max * sizeof(struct kvm_cpuid_entry2));
	if (!c)
		return -ENOMEM;
	c->nent = max;
	int err = ioctl(vm->vcpus[idx].fd, KVM_GET_CPUID2, c) < 0 ? -errno : 0;
	if (!err) {
		memcpy(out, c->entries, c->nent * sizeof(c->entries[0]));
		*n = c->nent;
	}
	free(c);
	return err;
}

int vcpu_set_state(struct vm *vm, unsigned idx, const struct vcpu_state *st)
{
	if (idx >= vm->ncpus || st->nmsrs > VCPU_MAX_MSRS || st->ncpuid > VCPU_MAX_CPUID)
		return -EINVAL;
	if (!vm_is_paused_or_idle(vm))
		return -EBUSY;
	int fd = vm->vcpus[idx].fd;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + st->ncpuid * sizeof(struct kvm_cpuid_entry2));
	struct kvm_msrs *m = calloc(1, sizeof(*m) + st->nmsrs * sizeof(struct kvm_msr_entry));
	int err = 0;
	if (!c || !m) {
		err = -ENOMEM;
		goto out;
	}
	c->nent = st->ncpuid;
	memcpy(c->entries, st->cpuid, sizeof(c->entries[0]) * st->ncpuid);
	m->nmsrs = st->nmsrs;
	memcpy(m->entries, st->msrs, sizeof(m->entries[0]) * st->nmsrs);
	/* Order: CPUID; MP state; regs before events; sregs before LAPIC;
	 * LAPIC before MSRs; TSC (first in the list) before TSC_DEADLINE. */
	if (ioctl(fd, KVM_SET_CPUID2, c) < 0 || ioctl(fd, KVM_SET_MP_STATE, &st->mp_state) < 0 ||
	    ioctl(fd, KVM_SET_REGS, &st->regs) < 0 || ioctl(fd, KVM_SET_SREGS, &st->sregs) < 0 ||
	    ioctl(fd, KVM_SET_XSAVE, (const struct kvm_xsave *)&st->xsave) < 0 ||
	    ioctl(fd, KVM_SET_XCRS, &st->xcrs) < 0 || ioctl(fd, KVM_SET_LAPIC, &st->lapic) < 0) {
		err = -errno;
		goto out;
	}
	int n = ioctl(fd, KVM_SET_MSRS, m);
	if (n < 0) {
		err = -errno;
		goto out;
	}
	if ((uint32_t)n != st->nmsrs) {
		err = -EINVAL; /* KVM refused MSR st->msrs[n] */
		goto out;
	}
	if (ioctl(fd, KVM_SET_VCPU_EVENTS, &st->events) < 0 ||
	    ioctl(fd, KVM_SET_DEBUGREGS, &st->debugregs) < 0) {
		err = -errno;
		goto out;
	}
	/* Tell a kvmclock guest that it was stopped (PVCLOCK_GUEST_STOPPED), so
	 * its soft-lockup watchdog does not fire on the first tick after a
	 * restore. EINVAL when the guest set up no kvmclock: nothing to tell. */
	ioctl(fd, KVM_KVMCLOCK_CTRL, 0);
out:
	free(m);
	free(c);
	return err;
}
